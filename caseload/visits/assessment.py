"""The structured parts of a progress note, in every format: a risk assessment and a brief
mental status exam. Both optional; what is filled in is signed with the note (its hash).

Stored as small JSON objects on the note: `risk_assessment` {item: choice or text} and
`mental_status` {domain: {"choice": …, "text": …}}. Only known items and choices are kept, so
what was signed can always be shown with its labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Protective factors and the MSE's free text: a line or two each.
TEXT_MAX = 1000


@dataclass(frozen=True)
class Item:
    key: str
    label: str
    choices: tuple[tuple[str, str], ...]  # () for free text

    @property
    def is_text(self) -> bool:
        return not self.choices

    def label_of(self, value: str) -> str:
        return dict(self.choices).get(value, value)


YES_NO = (("no", "No"), ("yes", "Yes"))
IDEATION = (("none", "None"), ("passive", "Passive"), ("active", "Active"))

RISK_ITEMS: tuple[Item, ...] = (
    Item("suicidal_ideation", "Suicidal ideation", IDEATION),
    Item("plan", "Suicide plan", YES_NO),
    Item("intent", "Intent to act", YES_NO),
    Item("access_to_means", "Access to means", YES_NO),
    Item("homicidal_ideation", "Homicidal ideation", IDEATION),
    Item(
        "self_harm",
        "Self-harm",
        (("none", "None"), ("past", "In the past"), ("recent", "Recent or current")),
    ),
    Item("protective_factors", "Protective factors", ()),
    Item("risk_level", "Risk level", (("low", "Low"), ("moderate", "Moderate"), ("high", "High"))),
    Item("safety_plan_reviewed", "Safety plan reviewed", YES_NO),
)

MSE_DOMAINS: tuple[Item, ...] = (
    Item(
        "appearance",
        "Appearance",
        (
            ("appropriate", "Appropriate, well groomed"),
            ("dishevelled", "Dishevelled"),
            ("unkempt", "Unkempt"),
            ("bizarre", "Bizarre"),
        ),
    ),
    Item(
        "behaviour",
        "Behaviour",
        (
            ("cooperative", "Cooperative"),
            ("guarded", "Guarded"),
            ("agitated", "Agitated"),
            ("withdrawn", "Withdrawn"),
            ("retarded", "Psychomotor slowing"),
        ),
    ),
    Item(
        "speech",
        "Speech",
        (
            ("normal", "Normal rate and volume"),
            ("pressured", "Pressured"),
            ("slowed", "Slowed"),
            ("soft", "Soft"),
            ("loud", "Loud"),
        ),
    ),
    Item(
        "mood",
        "Mood",
        (
            ("euthymic", "Euthymic"),
            ("depressed", "Depressed"),
            ("anxious", "Anxious"),
            ("irritable", "Irritable"),
            ("elevated", "Elevated"),
        ),
    ),
    Item(
        "affect",
        "Affect",
        (
            ("congruent", "Full, congruent"),
            ("restricted", "Restricted"),
            ("blunted", "Blunted"),
            ("flat", "Flat"),
            ("labile", "Labile"),
            ("incongruent", "Incongruent"),
        ),
    ),
    Item(
        "thought_process",
        "Thought process",
        (
            ("linear", "Linear, goal-directed"),
            ("circumstantial", "Circumstantial"),
            ("tangential", "Tangential"),
            ("loose", "Loose associations"),
            ("flight", "Flight of ideas"),
        ),
    ),
    Item(
        "thought_content",
        "Thought content",
        (
            ("unremarkable", "Unremarkable"),
            ("preoccupied", "Preoccupations"),
            ("obsessions", "Obsessions"),
            ("delusions", "Delusions"),
            ("suicidal", "Suicidal thoughts"),
            ("homicidal", "Homicidal thoughts"),
        ),
    ),
    Item(
        "perception",
        "Perception",
        (
            ("no_disturbance", "No disturbance"),
            ("hallucinations", "Hallucinations"),
            ("illusions", "Illusions"),
            ("depersonalisation", "Depersonalisation"),
        ),
    ),
    Item(
        "cognition",
        "Cognition",
        (
            ("intact", "Alert, oriented, intact"),
            ("attention", "Impaired attention"),
            ("memory", "Impaired memory"),
            ("disoriented", "Disoriented"),
        ),
    ),
    Item("insight", "Insight", (("good", "Good"), ("fair", "Fair"), ("poor", "Poor"))),
    Item("judgment", "Judgment", (("good", "Good"), ("fair", "Fair"), ("poor", "Poor"))),
)


class AssessmentError(ValueError):
    """An unknown choice or an overlong text; `field` is the form field's name."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def clean_risk(raw: dict[str, Any]) -> dict[str, str]:
    """The risk assessment as stored: known items, known choices, blanks left out."""
    cleaned: dict[str, str] = {}
    for item in RISK_ITEMS:
        value = str(raw.get(item.key) or "").strip()
        if not value:
            continue
        if item.is_text:
            if len(value) > TEXT_MAX:
                raise AssessmentError(
                    f"{item.label}: {TEXT_MAX} characters at most.", f"risk_{item.key}"
                )
        elif value not in dict(item.choices):
            raise AssessmentError(f"{item.label}: choose one of the options.", f"risk_{item.key}")
        cleaned[item.key] = value
    return cleaned


def clean_mental_status(raw: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The mental status exam as stored: per domain a known choice and/or a short text."""
    cleaned: dict[str, dict[str, str]] = {}
    for domain in MSE_DOMAINS:
        given = raw.get(domain.key) or {}
        choice = str(given.get("choice") or "").strip()
        text = str(given.get("text") or "").strip()
        if choice and choice not in dict(domain.choices):
            raise AssessmentError(
                f"{domain.label}: choose one of the options.", f"mse_{domain.key}"
            )
        if len(text) > TEXT_MAX:
            raise AssessmentError(
                f"{domain.label}: {TEXT_MAX} characters at most.", f"mse_{domain.key}_text"
            )
        if choice or text:
            cleaned[domain.key] = {"choice": choice, "text": text}
    return cleaned


def risk_from_post(data: Any) -> dict[str, str]:
    return {item.key: data.get(f"risk_{item.key}", "") for item in RISK_ITEMS}


def mental_status_from_post(data: Any) -> dict[str, dict[str, str]]:
    return {
        domain.key: {
            "choice": data.get(f"mse_{domain.key}", ""),
            "text": data.get(f"mse_{domain.key}_text", ""),
        }
        for domain in MSE_DOMAINS
    }


def needs_safety_plan(risk: dict[str, str]) -> bool:
    """High risk without a documented safety plan review."""
    return risk.get("risk_level") == "high" and risk.get("safety_plan_reviewed") != "yes"


def risk_rows(risk: dict[str, str]) -> list[dict[str, Any]]:
    """Every risk item with its stored value and label, for the form and the signed note."""
    return [
        {
            "item": item,
            "name": f"risk_{item.key}",
            "value": risk.get(item.key, ""),
            "shown": item.label_of(risk.get(item.key, "")),
        }
        for item in RISK_ITEMS
    ]


def mental_status_rows(mental_status: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    rows = []
    for domain in MSE_DOMAINS:
        given = mental_status.get(domain.key, {})
        rows.append(
            {
                "item": domain,
                "name": f"mse_{domain.key}",
                "choice": given.get("choice", ""),
                "text": given.get("text", ""),
                "shown": domain.label_of(given.get("choice", "")),
            }
        )
    return rows

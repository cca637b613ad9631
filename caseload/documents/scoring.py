"""Scoring of the standard questionnaires, by their published rules.

PHQ-9 (Kroenke, Spitzer & Williams 2001): nine items scored 0–3, total 0–27; severity
1–4 minimal, 5–9 mild, 10–14 moderate, 15–19 moderately severe, 20–27 severe (0 is "none-
minimal" in the published table; shown here as minimal). Any answer above 0 on item 9
(thoughts of being better off dead or of self-harm) needs the clinician's attention at once,
whatever the total.

GAD-7 (Spitzer, Kroenke, Williams & Löwe 2006): seven items scored 0–3, total 0–21; severity
0–4 minimal, 5–9 mild, 10–14 moderate, 15–21 severe.

The "how difficult" question that closes both is not part of the score.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caseload.documents.fields import crisis_answered


@dataclass(frozen=True)
class Scale:
    key: str
    name: str
    items: tuple[str, ...]
    bands: tuple[tuple[int, int, str], ...]  # (lowest, highest, severity), inclusive
    flag_items: tuple[str, ...] = ()

    @property
    def maximum(self) -> int:
        return 3 * len(self.items)


PHQ9 = Scale(
    key="phq9",
    name="PHQ-9",
    items=tuple(f"q{n}" for n in range(1, 10)),
    bands=(
        (0, 4, "Minimal"),
        (5, 9, "Mild"),
        (10, 14, "Moderate"),
        (15, 19, "Moderately severe"),
        (20, 27, "Severe"),
    ),
    flag_items=("q9",),
)
GAD7 = Scale(
    key="gad7",
    name="GAD-7",
    items=tuple(f"q{n}" for n in range(1, 8)),
    bands=((0, 4, "Minimal"), (5, 9, "Mild"), (10, 14, "Moderate"), (15, 21, "Severe")),
)
SCALES = {scale.key: scale for scale in (PHQ9, GAD7)}


@dataclass(frozen=True)
class Score:
    total: int
    severity: str
    flagged: bool


def severity(scale: Scale, total: int) -> str:
    for low, high, name in scale.bands:
        if low <= total <= high:
            return name
    raise ValueError(f"{scale.name} total {total} is outside 0–{scale.maximum}.")


def score(scale_key: str, answers: dict[str, Any]) -> Score:
    """Score complete answers; ValueError when an item is missing or out of range."""
    scale = SCALES[scale_key]
    values: dict[str, int] = {}
    for item in scale.items:
        try:
            value = int(answers[item])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{scale.name}: item {item} is not answered.") from None
        if not 0 <= value <= 3:
            raise ValueError(f"{scale.name}: item {item} must be 0–3, not {value}.")
        values[item] = value
    total = sum(values.values())
    flagged = any(values[item] > 0 for item in scale.flag_items)
    return Score(total=total, severity=severity(scale, total), flagged=flagged)


def needs_crisis_response(
    scale_key: str, fields: list[dict[str, Any]], answers: dict[str, Any]
) -> bool:
    """The answers call for the crisis response at once: a flag item (PHQ-9 item 9) above 0,
    or a safety question answered "yes". Reads the answers only, never a stored score."""
    scale = SCALES.get(scale_key)
    if scale is not None:
        for item in scale.flag_items:
            try:
                if int(answers.get(item) or 0) > 0:
                    return True
            except (TypeError, ValueError):
                continue
    return crisis_answered(fields, answers)

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from caseload.lib.fields import CalendarDateField

LENGTHS = [("short", "Short"), ("medium", "Medium"), ("long", "Long")]
TONES = [
    ("professional", "Professional"),
    ("conversational", "Conversational"),
    ("clinical", "Clinical"),
]
FORMATS = [
    ("structured", "Structured"),
    ("narrative", "Narrative"),
    ("bullet_points", "Bullet Points"),
]

# What each choice does, shown under it (the knowledge-base generator's behaviour).
OPTION_HINTS = {
    "short": "Key problems, goals and objectives only.",
    "medium": "The usual detail, with some history.",
    "long": "More goals and objectives, each with its rationale.",
    "professional": "Third person: “The client will…”.",
    "conversational": "Second person, to share: “You will…”.",
    "clinical": "Terse clinical terms and abbreviations.",
    "structured": "Headings with paragraphs and lists.",
    "narrative": "Flowing paragraphs under each heading.",
    "bullet_points": "Short bullets under each heading.",
}
_OPTION_LABELS = {
    "length": dict(LENGTHS),
    "tone": dict(TONES),
    "format": dict(FORMATS),
}


def options_label(options: dict[str, Any] | None) -> str:
    """A generation's stored options as shown: "Long · Conversational · Bullet Points"."""
    if not options:
        return ""
    parts = [
        labels.get(str(options.get(name)), str(options.get(name)).replace("_", " ").capitalize())
        for name, labels in _OPTION_LABELS.items()
        if options.get(name)
    ]
    return " · ".join(parts)


class HintedRadioSelect(forms.RadioSelect):
    """Radio buttons whose choices each carry a one-line hint, tied by aria-describedby."""

    def create_option(
        self,
        name: str,
        value: Any,
        label: Any,
        selected: Any,
        index: int,
        subindex: int | None = None,
        attrs: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        hint = OPTION_HINTS.get(str(value), "")
        option["hint"] = hint
        if hint and option["attrs"].get("id"):
            option["attrs"]["aria-describedby"] = f"{option['attrs']['id']}_hint"
        return option


class PlanEditorForm(forms.Form):
    """The plan's text (HTML from the editor, sanitised by the service) and, when new, its dates."""

    title = forms.CharField(label="Title", max_length=200, initial="Treatment plan")
    html = forms.CharField(
        label="Plan",
        max_length=200_000,
        widget=forms.Textarea(attrs={"rows": 18}),
        error_messages={"required": "Write the plan before saving it."},
    )
    effective_date = CalendarDateField(
        label="Effective date", widget=forms.DateInput(attrs={"type": "date"})
    )
    review_date = CalendarDateField(
        label="Review by",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The plan expires on this date. Empty: 90 days after the effective date.",
    )
    source = forms.CharField(required=False, max_length=40, widget=forms.HiddenInput)
    generation = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, existing: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("effective_date", timezone.localdate())
        super().__init__(*args, **kwargs)
        if existing:
            for name in ("title", "effective_date", "review_date"):
                del self.fields[name]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        effective, review = data.get("effective_date"), data.get("review_date")
        if effective and review and review <= effective:
            self.add_error("review_date", "The review date must be after the effective date.")
        return data


class PlanDatesForm(forms.Form):
    effective_date = CalendarDateField(
        label="Effective date", widget=forms.DateInput(attrs={"type": "date"})
    )
    review_date = CalendarDateField(
        label="Review by", widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        effective, review = data.get("effective_date"), data.get("review_date")
        if effective and review and review <= effective:
            self.add_error("review_date", "The review date must be after the effective date.")
        return data


class GenerateForm(forms.Form):
    length = forms.ChoiceField(
        label="Length", choices=LENGTHS, initial="medium", widget=HintedRadioSelect
    )
    tone = forms.ChoiceField(
        label="Tone", choices=TONES, initial="professional", widget=HintedRadioSelect
    )
    format = forms.ChoiceField(
        label="Format", choices=FORMATS, initial="structured", widget=HintedRadioSelect
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "id_generate_%s")  # unique beside the page's other forms
        super().__init__(*args, **kwargs)

"""Forms for assigning documents, signing them, and the form builder (DOC-1 … DOC-3)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from caseload.documents.fields import NUMBER_LIMIT, SCALE_LIMITS, FieldType

MAX_QUESTIONS = 60


class AssignForm(forms.Form):
    templates = forms.MultipleChoiceField(
        label="Documents",
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one document."},
    )
    due_date = forms.DateField(
        label="Due date",
        required=False,
        help_text="Optional.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args: Any, choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["templates"].choices = choices  # type: ignore[attr-defined]

    def clean_due_date(self) -> Any:
        due = self.cleaned_data["due_date"]
        if due is not None and due < timezone.localdate():
            raise ValidationError("The due date can't be in the past.")
        return due


class ScheduleForm(forms.Form):
    """Measurement-based care: a questionnaire that recurs (decision 0026)."""

    questionnaire = forms.ChoiceField(
        label="Questionnaire",
        choices=[("phq9", "PHQ-9"), ("gad7", "GAD-7")],
        error_messages={
            "required": "Choose the questionnaire.",
            "invalid_choice": "Choose the PHQ-9 or the GAD-7.",
        },
    )
    cadence = forms.ChoiceField(
        label="Repeat",
        choices=[("weeks", "Every N weeks"), ("before_session", "Before each session")],
        widget=forms.RadioSelect,
        initial="weeks",
        error_messages={"required": "Choose how often.", "invalid_choice": "Choose how often."},
    )
    every_weeks = forms.IntegerField(
        label="Every how many weeks",
        required=False,
        min_value=1,
        max_value=12,
        initial=2,
        error_messages={
            "min_value": "Repeat every 1 to 12 weeks.",
            "max_value": "Repeat every 1 to 12 weeks.",
        },
    )


class SignatureForm(forms.Form):
    typed_name = forms.CharField(
        label="Type your full name to sign",
        max_length=200,
        error_messages={"required": "Type your full name to sign."},
    )
    consent = forms.BooleanField(
        label="I agree that typing my name is my electronic signature on this document.",
        error_messages={"required": "Tick the box to agree to sign electronically."},
    )


class TemplateForm(forms.Form):
    title = forms.CharField(label="Title", max_length=200)
    intro = forms.CharField(
        label="Introduction",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown above the questions.",
    )


class FieldSpecForm(forms.Form):
    """One question in the form builder."""

    label = forms.CharField(
        label="Question",
        max_length=500,
        error_messages={"required": "Write the question, or tick “Remove this question”."},
    )
    type = forms.ChoiceField(label="Type", choices=FieldType.CHOICES)
    help = forms.CharField(label="Help text", max_length=500, required=False)
    required = forms.BooleanField(label="Required", required=False, initial=True)
    options = forms.CharField(
        label="Options",
        max_length=10_000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For single and multiple choice: one option per line.",
    )
    min = forms.IntegerField(
        label="Lowest",
        required=False,
        help_text="For a scale (1 to 5 when left empty) or a number.",
    )
    max = forms.IntegerField(label="Highest", required=False)
    min_label = forms.CharField(label="Label of the lowest", max_length=100, required=False)
    max_label = forms.CharField(label="Label of the highest", max_length=100, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("type")
        if kind in FieldType.WITH_OPTIONS:
            lines = [line.strip() for line in data.get("options", "").splitlines() if line.strip()]
            if len(lines) < 2:
                self.add_error("options", "Give at least two options, one per line.")
            elif len(set(lines)) != len(lines):
                self.add_error("options", "Each option must be different.")
            elif any(len(line) > 200 for line in lines):
                self.add_error("options", "Keep each option to 200 characters.")
        low, high = data.get("min"), data.get("max")
        if kind == FieldType.SCALE and low is None and high is None:
            data["min"], data["max"] = 1, 5  # the usual five-point scale
            low, high = 1, 5
        if kind == FieldType.SCALE:
            if low is None or high is None:
                self.add_error("min", "Give the lowest and highest points of the scale.")
            elif not SCALE_LIMITS[0] <= low < high <= SCALE_LIMITS[1]:
                self.add_error(
                    "min",
                    f"A scale runs from {SCALE_LIMITS[0]} to {SCALE_LIMITS[1]}, lowest first.",
                )
        if kind == FieldType.NUMBER:
            if any(v is not None and abs(v) > NUMBER_LIMIT for v in (low, high)):
                self.add_error(
                    "min", f"Keep the limits between -{NUMBER_LIMIT} and {NUMBER_LIMIT}."
                )
            elif low is not None and high is not None and low > high:
                self.add_error("min", "The lowest value is larger than the highest.")
        return data

    def spec(self) -> dict[str, Any]:
        data = self.cleaned_data
        spec: dict[str, Any] = {
            "type": data["type"],
            "label": data["label"],
            "help": data.get("help", ""),
            "required": data.get("required", False),
        }
        if data["type"] in FieldType.WITH_OPTIONS:
            lines = [line.strip() for line in data["options"].splitlines() if line.strip()]
            spec["options"] = [{"value": str(n), "label": text} for n, text in enumerate(lines, 1)]
        if data["type"] in (FieldType.SCALE, FieldType.NUMBER):
            spec.update(min=data.get("min"), max=data.get("max"))
        if data["type"] == FieldType.SCALE:
            spec.update(min_label=data.get("min_label", ""), max_label=data.get("max_label", ""))
        return spec


class BaseFieldSpecFormSet(forms.BaseFormSet[FieldSpecForm]):
    def add_fields(self, form: FieldSpecForm, index: int | None) -> None:
        super().add_fields(form, index)
        if "ORDER" in form.fields:
            form.fields["ORDER"].label = "Position"
            form.fields["ORDER"].help_text = "Change the numbers to reorder the questions."


FieldSpecFormSet = forms.formset_factory(
    FieldSpecForm,
    formset=BaseFieldSpecFormSet,
    extra=0,
    can_delete=True,
    can_order=True,
    min_num=1,
    validate_min=True,
    max_num=MAX_QUESTIONS,
    validate_max=True,
)


def initial_from_specs(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The builder's rows for an existing version."""
    rows = []
    for spec in specs:
        row = {key: spec.get(key) for key in ("label", "type", "help", "required", "min", "max")}
        row.update(min_label=spec.get("min_label", ""), max_label=spec.get("max_label", ""))
        row["options"] = "\n".join(option["label"] for option in spec.get("options", []))
        rows.append(row)
    return rows

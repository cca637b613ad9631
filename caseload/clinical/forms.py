from __future__ import annotations

from django import forms
from django.db import models

from caseload.clinical.models import DiagnosisStatus, Medication
from caseload.lib.fields import PastDateField


class DiagnosisAddForm(forms.Form):
    code = forms.CharField(
        label="Diagnosis",
        max_length=80,
        help_text="Type a code (F41.1) or words (generalized anxiety) and pick a billable code.",
        error_messages={"required": "Choose a diagnosis."},
    )
    is_primary = forms.BooleanField(label="Primary diagnosis", required=False)
    onset_date = PastDateField(label="Onset", required=False)

    def clean_code(self) -> str:
        # The picker submits "F41.1"; a typed "F41.1 Generalized anxiety disorder" also works.
        code: str = self.cleaned_data["code"]
        return code.strip().split(" ")[0]


# Plain forms, not ModelForms: a ModelForm would run the model's check constraints and show
# their raw names ("Constraint … is violated"); the services say it in words, on the field.
class DiagnosisUpdateForm(forms.Form):
    status = forms.ChoiceField(choices=DiagnosisStatus.choices)
    is_primary = forms.BooleanField(label="Primary diagnosis", required=False)
    onset_date = PastDateField(label="Onset", required=False)
    resolved_date = PastDateField(label="Resolved", required=False)


def _length(name: str) -> int:
    """The model's max_length, so the form refuses what the column can't hold."""
    field = Medication._meta.get_field(name)
    assert isinstance(field, models.CharField) and field.max_length is not None
    return field.max_length


class MedicationForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=_length("name"),
        error_messages={"required": "Enter the medication's name."},
    )
    dose = forms.CharField(label="Dose", max_length=_length("dose"), required=False)
    frequency = forms.CharField(label="Frequency", max_length=_length("frequency"), required=False)
    prescriber = forms.CharField(
        label="Prescriber", max_length=_length("prescriber"), required=False
    )
    start_date = forms.DateField(
        label="Start date", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    stop_date = forms.DateField(
        label="Stop date", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class ClinicalSummaryForm(forms.Form):
    presenting_concerns = forms.CharField(
        label="Presenting concerns",
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    mental_health_history = forms.CharField(
        label="Mental health history",
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

from __future__ import annotations

from django import forms

from caseload.clinical.models import Diagnosis, DiagnosisStatus, Medication
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
        return self.cleaned_data["code"].strip().split(" ")[0]


class DiagnosisUpdateForm(forms.ModelForm):
    onset_date = PastDateField(label="Onset", required=False)
    resolved_date = PastDateField(label="Resolved", required=False)
    status = forms.ChoiceField(choices=DiagnosisStatus.choices)

    class Meta:
        model = Diagnosis
        fields = ["status", "is_primary", "onset_date", "resolved_date"]
        labels = {"is_primary": "Primary diagnosis"}


class MedicationForm(forms.ModelForm):
    start_date = forms.DateField(
        label="Start date", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    stop_date = forms.DateField(
        label="Stop date", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    class Meta:
        model = Medication
        fields = ["name", "dose", "frequency", "prescriber", "start_date", "stop_date"]
        error_messages = {"name": {"required": "Enter the medication's name."}}


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

from __future__ import annotations

from django import forms

from caseload.practices.models import Practice


class PracticeSettingsForm(forms.ModelForm[Practice]):
    class Meta:
        model = Practice
        fields = [
            "name",
            "time_zone",
            "billing_enabled",
            "child_accounts_enabled",
            "phone",
            "crisis_text",
        ]
        labels = {
            "phone": "Practice phone",
            "crisis_text": "Crisis text",
            "billing_enabled": "Billing enabled",
            "child_accounts_enabled": "Child accounts enabled",
        }

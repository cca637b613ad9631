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
            "staff_two_factor_required",
            "phone",
            "crisis_text",
            "booking_requests_enabled",
            "booking_weeks_ahead",
            "cancellation_window_hours",
            "reminders",
            "sms_reminders_enabled",
            "telehealth_url_template",
        ]
        labels = {
            "phone": "Practice phone",
            "crisis_text": "Crisis text",
            "billing_enabled": "Billing enabled",
            "child_accounts_enabled": "Child accounts enabled",
            "staff_two_factor_required": "Require two-factor sign-in for staff",
        }
        help_texts = {
            "staff_two_factor_required": (
                "Clinicians, supervisors and practice admins sign in with an authenticator app "
                "or a security key (passkey) as well as their password. Clients and guardians "
                "are not affected."
            ),
        }

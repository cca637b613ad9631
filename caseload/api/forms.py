from __future__ import annotations

from django import forms

from caseload.api.models import TokenScope
from caseload.api.services import EXPIRY_DAYS


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="What uses it, e.g. “Calendar sync”.", strip=True
    )
    scope = forms.ChoiceField(
        choices=TokenScope.choices, initial=TokenScope.READ, widget=forms.RadioSelect
    )
    expires_in_days = forms.TypedChoiceField(
        label="Expires in",
        choices=[(days, f"{days} days") for days in EXPIRY_DAYS],
        coerce=int,
        initial=90,
    )

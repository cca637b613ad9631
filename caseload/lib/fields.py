"""Form fields shared across apps."""

from __future__ import annotations

from typing import Any

import phonenumbers
from django import forms
from django.conf import settings
from django.utils import timezone


class PhoneField(forms.CharField):
    """A phone number, parsed and stored in international format (+1 415 555 0100)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 32)
        kwargs.setdefault("help_text", "Include the country code for numbers outside the US.")
        super().__init__(**kwargs)

    def clean(self, value: Any) -> str:
        value = super().clean(value)
        if not value:
            return ""
        try:
            number = phonenumbers.parse(value, settings.PHONE_DEFAULT_REGION)
        except phonenumbers.NumberParseException:
            raise forms.ValidationError("Enter a phone number, such as (415) 555-0100.") from None
        if not phonenumbers.is_valid_number(number):
            raise forms.ValidationError("This phone number doesn't exist. Check the digits.")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


class PastDateField(forms.DateField):
    """A date that cannot be in the future (a birth date, an onset date)."""

    widget = forms.DateInput(attrs={"type": "date"})

    def clean(self, value: Any) -> Any:
        value = super().clean(value)
        if value and value > timezone.localdate():
            raise forms.ValidationError("This date is in the future.")
        if value and value.year < 1900:
            raise forms.ValidationError("Enter a date after 1900.")
        return value

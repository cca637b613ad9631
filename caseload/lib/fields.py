"""Form fields shared across apps."""

from __future__ import annotations

from datetime import date
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


#: Dates a record can carry (a session, a plan): far enough for any record, and clear of the
#: ends of the calendar (a time on 31 December 9999 west of UTC can't be converted to UTC at
#: all; a plan's default review date 90 days after it would overflow).
FIRST_DATE = date(1900, 1, 1)
LAST_DATE = date(2199, 12, 31)
OUT_OF_RANGE = f"Choose a date between {FIRST_DATE:%-d %B %Y} and {LAST_DATE:%-d %B %Y}."


class CalendarDateField(forms.DateField):
    """A date between `FIRST_DATE` and `LAST_DATE`; anything else is a field error."""

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value is not None and not FIRST_DATE <= value <= LAST_DATE:
            raise forms.ValidationError(OUT_OF_RANGE, code="out_of_range")


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

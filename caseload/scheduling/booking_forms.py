"""The portal's session request form: one of the offered times, as an ISO 8601 instant."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django import forms


class BookingRequestForm(forms.Form):
    """The chosen free time. Whether it is still free is the service's question."""

    starts_at = forms.CharField(max_length=40, widget=forms.HiddenInput)

    def clean_starts_at(self) -> Any:
        value = self.cleaned_data["starts_at"].strip()
        try:
            starts_at = datetime.fromisoformat(value)
            if starts_at.tzinfo is None:
                raise ValueError("a time without its offset")
            # An offset can push a time at the ends of the calendar out of range.
            return starts_at.astimezone(UTC)
        except (ValueError, OverflowError):
            raise forms.ValidationError("Choose one of the times offered.") from None

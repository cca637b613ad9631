from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django import forms

from caseload.lib.fields import OUT_OF_RANGE, CalendarDateField
from caseload.visits.models import Modality, NoteFormat, SessionStatus

CLOCKS_FORWARD = "The clocks go forward at this time that day. Choose another time."


def local_datetime(day: date, clock: time, zone: ZoneInfo) -> datetime | None:
    """`day` at `clock` in `zone`, or None for a time the clocks skip that day. Raises
    `forms.ValidationError` for a time that can't be converted to UTC (the calendar's ends)."""
    local = datetime.combine(day, clock, tzinfo=zone)
    try:
        back = local.astimezone(UTC).astimezone(zone)
    except OverflowError:
        raise forms.ValidationError(OUT_OF_RANGE) from None
    if back.time() != clock:
        return None
    return local


class SessionForm(forms.Form):
    """Schedule or reschedule a session: a date and a start time in the practice's time zone,
    duration and modality (the calendar's forms build on it)."""

    date = CalendarDateField(
        label="Date",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"required": "Choose the date."},
    )
    time = forms.TimeField(
        label="Start time",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={"required": "Choose the start time."},
    )
    duration_minutes = forms.IntegerField(
        label="Duration (minutes)",
        initial=50,
        min_value=5,
        max_value=480,
        error_messages={
            "required": "Give the duration in minutes.",
            "min_value": "A session lasts at least 5 minutes.",
            "max_value": "A session lasts at most 8 hours.",
        },
    )
    modality = forms.ChoiceField(
        label="Modality", choices=Modality.choices, initial=Modality.IN_PERSON
    )
    allow_overlap = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, time_zone: ZoneInfo, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.time_zone = time_zone

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        day, clock = cleaned.get("date"), cleaned.get("time")
        if day and clock:
            try:
                if local_datetime(day, clock, self.time_zone) is None:
                    self.add_error("time", CLOCKS_FORWARD)
            except forms.ValidationError as error:
                self.add_error("date", error)
        return cleaned

    def starts_at(self) -> datetime:
        return datetime.combine(
            self.cleaned_data["date"], self.cleaned_data["time"], tzinfo=self.time_zone
        )


class SessionOutcomeForm(forms.Form):
    status = forms.ChoiceField(label="Status", choices=SessionStatus.choices)
    mood_score = forms.IntegerField(
        label="Mood (1 to 10)",
        required=False,
        min_value=1,
        max_value=10,
        error_messages={
            "min_value": "Mood is scored from 1 to 10.",
            "max_value": "Mood is scored from 1 to 10.",
        },
    )
    allow_overlap = forms.BooleanField(
        label="Set it back although it overlaps another session", required=False
    )


class NoteForm(forms.Form):
    """The note's format; its sections arrive as `section_<key>` fields."""

    format = forms.ChoiceField(label="Format", choices=NoteFormat.choices)

    def content(self, data: Any) -> dict[str, str]:
        return {
            key.removeprefix("section_"): value
            for key, value in data.items()
            if key.startswith("section_")
        }


class AddendumForm(forms.Form):
    text = forms.CharField(
        label="Addendum",
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Write the addendum."},
    )


class SendBackForm(forms.Form):
    comment = forms.CharField(
        label="What should change?",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Say what should change."},
    )

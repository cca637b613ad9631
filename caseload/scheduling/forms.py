"""Forms of the calendar: schedule (once or repeating), move a session or its series, working
hours and blocked times. Times are typed in the practice's time zone."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django import forms

from caseload.lib.fields import CalendarDateField
from caseload.scheduling.models import MAX_OCCURRENCES, Frequency
from caseload.visits.forms import SessionForm, local_datetime

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

NO_REPEAT = "none"
REPEAT_CHOICES = [(NO_REPEAT, "Does not repeat"), *Frequency.choices]
ENDS_CHOICES = [("until", "On a date"), ("count", "After a number of sessions")]


class ScheduleForm(SessionForm):
    """Schedule one session or a series for one of the therapist's own clients."""

    client = forms.ChoiceField(label="Client", error_messages={"required": "Choose the client."})
    repeat = forms.ChoiceField(label="Repeat", choices=REPEAT_CHOICES, initial=NO_REPEAT)
    ends = forms.ChoiceField(
        label="Ends", choices=ENDS_CHOICES, initial="count", widget=forms.RadioSelect
    )
    until = CalendarDateField(
        label="End date", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    count = forms.IntegerField(
        label="Number of sessions",
        required=False,
        min_value=1,
        max_value=MAX_OCCURRENCES,
        initial=6,
        error_messages={
            "min_value": "A series has at least 1 session.",
            "max_value": f"A series has at most {MAX_OCCURRENCES} sessions.",
        },
    )

    field_order = ["client", "date", "time", "duration_minutes", "modality", "repeat", "ends"]

    def __init__(
        self, *args: Any, time_zone: ZoneInfo, clients: list[tuple[str, str]], **kwargs: Any
    ) -> None:
        super().__init__(*args, time_zone=time_zone, **kwargs)
        field = self.fields["client"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "Choose a client"), *clients]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("repeat", NO_REPEAT) == NO_REPEAT:
            return cleaned
        if cleaned.get("ends") == "until":
            until = cleaned.get("until")
            if until is None and "until" not in self.errors:
                self.add_error("until", "Choose the date the series ends.")
            elif until is not None and cleaned.get("date") and until < cleaned["date"]:
                self.add_error("until", "The series can't end before its first session.")
        elif cleaned.get("count") is None and "count" not in self.errors:
            self.add_error("count", "Say after how many sessions the series ends.")
        return cleaned

    @property
    def frequency(self) -> str | None:
        repeat = self.cleaned_data["repeat"]
        return None if repeat == NO_REPEAT else repeat

    def end_rule(self) -> tuple[date | None, int | None]:
        if self.cleaned_data["ends"] == "until":
            return self.cleaned_data["until"], None
        return None, self.cleaned_data["count"]


SCOPE_CHOICES = [("this", "This session"), ("following", "This and following")]


class MoveForm(SessionForm):
    """Change one session, or it and the later ones of its series."""

    scope = forms.ChoiceField(
        label="Apply to", choices=SCOPE_CHOICES, initial="this", widget=forms.RadioSelect
    )


class CancelForm(forms.Form):
    scope = forms.ChoiceField(label="Cancel", choices=SCOPE_CHOICES, initial="this")


def _working_hours_fields() -> dict[str, forms.Field]:
    fields: dict[str, forms.Field] = {}
    for weekday, name in enumerate(WEEKDAYS):
        for part in (1, 2):
            later = " (second span)" if part == 2 else ""
            for end in ("start", "end"):
                label = f"{name} {end}{later}"
                fields[f"day{weekday}_{end}{part}"] = forms.TimeField(
                    label=label,
                    required=False,
                    widget=forms.TimeInput(
                        attrs={"type": "time", "aria-label": label}, format="%H:%M"
                    ),
                )
    return fields


class WorkingHoursForm(forms.Form):
    """A row per weekday: up to two spans (a morning and an afternoon); empty is not working."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields.update(_working_hours_fields())

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for weekday, name in enumerate(WEEKDAYS):
            spans = []
            for part in (1, 2):
                start = cleaned.get(f"day{weekday}_start{part}")
                end = cleaned.get(f"day{weekday}_end{part}")
                if start is None and end is None:
                    continue
                if start is None or end is None:
                    self.add_error(
                        f"day{weekday}_start{part}" if start is None else f"day{weekday}_end{part}",
                        f"Give both the start and the end on {name}, or neither.",
                    )
                elif end <= start:
                    self.add_error(f"day{weekday}_end{part}", f"End after the start on {name}.")
                else:
                    spans.append((start, end))
            spans.sort()
            if len(spans) == 2 and spans[1][0] < spans[0][1]:
                self.add_error(f"day{weekday}_start2", f"The two spans on {name} overlap.")
        return cleaned

    def days(self) -> dict[int, list[tuple[time, time]]]:
        found: dict[int, list[tuple[time, time]]] = {}
        for weekday in range(7):
            for part in (1, 2):
                start = self.cleaned_data.get(f"day{weekday}_start{part}")
                end = self.cleaned_data.get(f"day{weekday}_end{part}")
                if start is not None and end is not None:
                    found.setdefault(weekday, []).append((start, end))
        return found

    def rows(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [
            (
                name,
                [
                    self[f"day{weekday}_start1"],
                    self[f"day{weekday}_end1"],
                    self[f"day{weekday}_start2"],
                    self[f"day{weekday}_end2"],
                ],
            )
            for weekday, name in enumerate(WEEKDAYS)
        ]


class BlockedTimeForm(forms.Form):
    start_date = CalendarDateField(
        label="From date",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"required": "Choose the first day."},
    )
    start_time = forms.TimeField(
        label="From time",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={"required": "Choose the start time."},
    )
    end_date = CalendarDateField(
        label="Until date",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"required": "Choose the last day."},
    )
    end_time = forms.TimeField(
        label="Until time",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={"required": "Choose the end time."},
    )
    reason = forms.CharField(
        label="Reason",
        max_length=120,
        required=False,
        help_text="For you only (e.g. training, leave). No client names.",
    )

    def __init__(self, *args: Any, time_zone: ZoneInfo, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.time_zone = time_zone

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not all(cleaned.get(name) for name in ("start_date", "start_time", "end_date")):
            return cleaned
        if cleaned.get("end_time") is None:
            return cleaned
        for day, clock, field in (
            (cleaned["start_date"], cleaned["start_time"], "start_date"),
            (cleaned["end_date"], cleaned["end_time"], "end_date"),
        ):
            try:
                local_datetime(day, clock, self.time_zone)
            except forms.ValidationError as error:
                self.add_error(field, error)
                return cleaned
        if self.ends_at() <= self.starts_at():
            self.add_error("end_time", "The blocked time ends after it starts.")
        return cleaned

    def starts_at(self) -> datetime:
        data = self.cleaned_data
        return datetime.combine(data["start_date"], data["start_time"], tzinfo=self.time_zone)

    def ends_at(self) -> datetime:
        data = self.cleaned_data
        return datetime.combine(data["end_date"], data["end_time"], tzinfo=self.time_zone)

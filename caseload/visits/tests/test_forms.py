"""The session form (also the base of the calendar's forms) turns any date or time it can't
place into a field error: the calendar's ends and the hour the clocks skip."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from caseload.visits.forms import CLOCKS_FORWARD, OUT_OF_RANGE, SessionForm

NEW_YORK = ZoneInfo("America/New_York")


def form(day: str, clock: str) -> SessionForm:
    data = {"date": day, "time": clock, "duration_minutes": "50", "modality": "in_person"}
    return SessionForm(data, time_zone=NEW_YORK)


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1899-12-31", "2200-01-01"])
def test_a_date_outside_the_calendar_is_a_field_error(day: str) -> None:
    bound = form(day, "23:00")
    assert not bound.is_valid()
    assert bound.errors["date"] == [OUT_OF_RANGE]


def test_a_time_the_clocks_skip_is_a_field_error() -> None:
    bound = form("2027-03-14", "02:30")  # New York springs forward at 2:00
    assert not bound.is_valid()
    assert bound.errors["time"] == [CLOCKS_FORWARD]


def test_a_valid_time_starts_in_the_practice_zone() -> None:
    bound = form("2027-03-15", "10:00")
    assert bound.is_valid(), bound.errors
    assert bound.starts_at().utcoffset().total_seconds() == -4 * 3600

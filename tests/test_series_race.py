"""A series never double-books when two requests race (SCH-1, SECURITY R1).

Both requests check for overlaps and then insert; `visits.services.lock_calendar`, taken first
by every service that adds or moves sessions, makes the second wait for the first to commit
and then see its sessions. PostgreSQL only (SQLite serialises writers anyway).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from caseload.scheduling import recurrence
from caseload.visits import services as visit_services
from caseload.visits.models import TherapySession
from tests.factories import active_relationship
from tests.test_races import Gate, run_together, split

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row-level races need PostgreSQL; SQLite locks the whole database instead")


def next_monday() -> datetime:
    today = timezone.localdate(timezone=NEW_YORK)
    monday = today - timedelta(days=today.weekday()) + timedelta(weeks=1)
    return datetime(monday.year, monday.month, monday.day, 10, tzinfo=NEW_YORK)


def series_of(relationship, starts_at):
    return lambda: recurrence.series_create(
        relationship=relationship,
        actor=relationship.therapist,
        starts_at=starts_at,
        duration_minutes=50,
        modality="in_person",
        frequency="weekly",
        count=6,
    )


def test_two_overlapping_series_at_once_make_one(therapist, active_client):
    other = active_relationship(therapist, full_name="Leo Park", email="leo@example.com")
    monday = next_monday()

    with Gate(TherapySession, timeout=2):
        outcomes = run_together(
            series_of(active_client, monday),
            series_of(other, monday + timedelta(weeks=3, minutes=20)),
        )

    ok, failed = split(outcomes)
    assert len(ok) == 1, outcomes
    assert [type(error) for error in failed] == [recurrence.SeriesOverlapWarning], outcomes
    assert TherapySession.objects.count() == 6


def test_a_series_and_a_single_session_at_once_never_both_book(therapist, active_client):
    other = active_relationship(therapist, full_name="Leo Park", email="leo@example.com")
    monday = next_monday()

    def single():
        return visit_services.session_schedule(
            relationship=other,
            actor=therapist,
            starts_at=monday + timedelta(weeks=2),
            duration_minutes=50,
            modality="in_person",
        )

    with Gate(TherapySession, timeout=2):
        outcomes = run_together(series_of(active_client, monday), single)

    ok, failed = split(outcomes)
    assert len(ok) == 1, outcomes
    assert len(failed) == 1 and isinstance(failed[0], visit_services.OverlapWarning), outcomes
    assert TherapySession.objects.count() in (1, 6)

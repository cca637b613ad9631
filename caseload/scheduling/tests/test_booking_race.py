"""Booking under concurrent requests (SCH-2, SECURITY R1): the therapist's calendar lock makes
racing requests, approvals and the therapist's own scheduling take turns, so a time is never
given twice. Threads with their own connections; PostgreSQL only (SQLite locks the database).

The gate holds each thread at its first save until the other thread has reached its own: with
the calendar lock taken first, the second never arrives while the first holds the lock, so
the gate gives up (`gate.met` stays False) and the two run one after the other.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from caseload.scheduling import booking
from caseload.scheduling.booking import ALREADY_PENDING, NOT_FREE, BookingError
from caseload.scheduling.models import BookingRequest, BookingStatus
from caseload.scheduling.tests.booking_helpers import ready
from caseload.visits import services as visits
from caseload.visits.models import TherapySession
from tests.test_races import Gate, run_together, split

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row-level races need PostgreSQL; SQLite locks the whole database instead")


def ask(relationship: Any, actor: Any, starts_at: Any) -> Any:
    return lambda: booking.booking_request_create(
        relationship=relationship, actor=actor, starts_at=starts_at
    )


def test_two_clients_racing_for_one_time_one_gets_it(
    active_client, client_user, child_client, guardian_user
):
    starts_at = ready(active_client)[0]

    with Gate(BookingRequest, timeout=2) as gate:
        outcomes = run_together(
            ask(active_client, client_user, starts_at), ask(child_client, guardian_user, starts_at)
        )

    made, refused = split(outcomes)
    assert len(made) == 1
    assert [str(error) for error in refused] == [NOT_FREE]
    assert not gate.met  # the lock made them take turns
    assert BookingRequest.objects.filter(starts_at=starts_at).count() == 1


def test_one_client_in_two_tabs_gets_one_pending_request(active_client, client_user):
    free = ready(active_client)

    outcomes = run_together(
        ask(active_client, client_user, free[0]), ask(active_client, client_user, free[1])
    )

    made, refused = split(outcomes)
    assert len(made) == 1
    assert [str(error) for error in refused] == [ALREADY_PENDING]
    assert BookingRequest.objects.filter(status=BookingStatus.PENDING).count() == 1


def test_an_approval_racing_the_therapists_own_booking_never_double_books(
    active_client, client_user, child_client, therapist
):
    starts_at = ready(active_client)[0]
    made = booking.booking_request_create(
        relationship=active_client, actor=client_user, starts_at=starts_at
    )

    outcomes = run_together(
        lambda: booking.booking_request_approve(booking=made, actor=therapist),
        lambda: visits.session_schedule(
            relationship=child_client,
            actor=therapist,
            starts_at=starts_at,
            duration_minutes=50,
            modality="in_person",
        ),
    )

    done, refused = split(outcomes)
    assert len(done) == 1 and len(refused) == 1
    assert isinstance(refused[0], (BookingError, visits.OverlapWarning))
    assert TherapySession.objects.filter(starts_at=starts_at).count() == 1
    assert timezone.now() < starts_at

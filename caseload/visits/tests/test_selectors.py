"""Reads for sessions and notes: needs-attention counts, the supervisor's queue, the agenda
and the client-scoped session lookup (SECURITY A3)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.http import Http404
from django.utils import timezone

from caseload.clients import services as client_services
from caseload.clients.models import CareRelationship
from caseload.visits import services
from caseload.visits.models import ProgressNote, SessionStatus, TherapySession
from caseload.visits.selectors import (
    get_session_for_relationship,
    note_for_session,
    notes_awaiting_cosignature,
    session_note,
    therapist_agenda,
    unsigned_past_sessions_q,
)
from caseload.workspace.selectors import ClientListParams, client_list
from tests.factories import active_relationship, staff

ZONE = ZoneInfo("America/New_York")
SOAP = {"subjective": "S", "objective": "O", "assessment": "A", "plan": "P"}


def at(relationship: CareRelationship, starts_at: datetime, **values: Any) -> TherapySession:
    session = services.session_schedule(
        relationship=relationship,
        actor=relationship.therapist,
        starts_at=starts_at,
        duration_minutes=50,
        modality="in_person",
        allow_overlap=True,
    )
    if values:
        services.session_update(
            session=session, actor=session.relationship.therapist, values=values, allow_overlap=True
        )
    return session


def days_ago(days: int, hour: int = 10) -> datetime:
    return (timezone.now() - timedelta(days=days)).replace(
        hour=hour, minute=0, second=0, microsecond=0
    )


def with_note(session: TherapySession, *, sign_as: Any = None, cosign_as: Any = None) -> Any:
    note = services.note_save_draft(
        session=session, actor=session.relationship.therapist, note_format="soap", content=SOAP
    )
    if sign_as is not None:
        services.note_sign(note=note, actor=sign_as)
    if cosign_as is not None:
        services.note_cosign(note=note, actor=cosign_as)
    return session


def badges(user: Any) -> dict[str, tuple[int, int]]:
    return {
        row.client.full_name: (row.notes_due, row.notes_to_cosign)
        for row in client_list(user, ClientListParams())
    }


# Unsigned past sessions -----------------------------------------------------------------
def test_unsigned_past_sessions_are_past_sessions_without_a_signed_note(
    active_client: CareRelationship, therapist: Any, supervisor: Any
) -> None:
    due = {
        at(active_client, days_ago(9)),  # scheduled, no note
        at(active_client, days_ago(8), status=SessionStatus.COMPLETED),  # completed, no note
        with_note(at(active_client, days_ago(7))),  # draft only
    }
    not_due = {
        at(active_client, days_ago(6), status=SessionStatus.CANCELLED),
        at(active_client, days_ago(5), status=SessionStatus.NO_SHOW),
        at(active_client, timezone.now() + timedelta(days=2)),  # future
        with_note(at(active_client, days_ago(4)), sign_as=therapist),
        with_note(at(active_client, days_ago(3)), sign_as=therapist, cosign_as=supervisor),
    }

    found = set(TherapySession.objects.filter(unsigned_past_sessions_q()))

    assert found == due
    assert not found & not_due


def test_a_session_is_due_once_its_start_has_passed(active_client: CareRelationship) -> None:
    session = at(active_client, datetime(2026, 3, 2, 15, 0, tzinfo=UTC))
    before = datetime(2026, 3, 2, 14, 59, tzinfo=UTC)
    after = datetime(2026, 3, 2, 15, 1, tzinfo=UTC)
    assert not TherapySession.objects.filter(unsigned_past_sessions_q(before)).exists()
    assert list(TherapySession.objects.filter(unsigned_past_sessions_q(after))) == [session]


def test_client_list_badges_count_notes_due_and_notes_to_cosign(
    active_client: CareRelationship,
    child_client: CareRelationship,
    therapist: Any,
    supervisor: Any,
) -> None:
    at(active_client, days_ago(9))
    with_note(at(active_client, days_ago(8)))
    with_note(at(active_client, days_ago(7)), sign_as=therapist)
    with_note(at(active_client, days_ago(6)), sign_as=therapist)
    with_note(at(active_client, days_ago(5)), sign_as=therapist, cosign_as=supervisor)
    at(active_client, days_ago(4), status=SessionStatus.CANCELLED)
    at(child_client, timezone.now() + timedelta(days=1))

    expected = {"Maya Patel": (2, 2), "Ava Okafor": (0, 0)}
    assert badges(therapist) == expected
    assert badges(supervisor) == expected  # the supervisor sees the same counts


def test_client_list_badges_cost_no_extra_queries_per_client(
    therapist: Any, django_assert_num_queries: Any
) -> None:
    for n in range(5):
        relationship = active_relationship(
            therapist, full_name=f"Client {n}", email=f"c{n}@example.com"
        )
        with_note(at(relationship, days_ago(2 + n)), sign_as=therapist)
        at(relationship, days_ago(10 + n))
    with django_assert_num_queries(1):
        rows = list(client_list(therapist, ClientListParams()))
    assert [(row.notes_due, row.notes_to_cosign) for row in rows] == [(1, 1)] * 5


# The supervisor's queue -----------------------------------------------------------------
def test_notes_awaiting_cosignature_lists_only_supervisees_signed_notes(
    active_client: CareRelationship,
    therapist: Any,
    supervisor: Any,
    colleague: Any,
    practice: Any,
) -> None:
    first = with_note(at(active_client, days_ago(9)), sign_as=therapist)
    second = with_note(at(active_client, days_ago(8)), sign_as=therapist)
    with_note(at(active_client, days_ago(7)))  # draft
    with_note(at(active_client, days_ago(6)), sign_as=therapist, cosign_as=supervisor)
    bobs_client = active_relationship(colleague, full_name="Noor Ali", email="noor@example.com")
    with_note(at(bobs_client, days_ago(5)), sign_as=colleague)  # bob isn't supervised by them

    queue = list(notes_awaiting_cosignature(supervisor))

    assert [note.session for note in queue] == [first, second]  # oldest signature first
    other = staff(practice, "supervisor", email="grace@example.com")
    assert list(notes_awaiting_cosignature(other)) == []


def test_notes_of_a_removed_client_leave_the_queue(
    active_client: CareRelationship, therapist: Any, supervisor: Any
) -> None:
    with_note(at(active_client, days_ago(3)), sign_as=therapist)
    assert notes_awaiting_cosignature(supervisor).count() == 1

    client_services.relationship_remove(relationship=active_client, actor=active_client.therapist)

    assert notes_awaiting_cosignature(supervisor).count() == 0


def test_queue_is_one_query_however_long(
    active_client: CareRelationship,
    therapist: Any,
    supervisor: Any,
    django_assert_num_queries: Any,
) -> None:
    for n in range(4):
        with_note(at(active_client, days_ago(n + 1)), sign_as=therapist)
    queue = notes_awaiting_cosignature(supervisor)
    with django_assert_num_queries(1):
        names = [(n.session.relationship.client.full_name, n.signed_by.email) for n in list(queue)]
    assert names == [("Maya Patel", "alice@example.com")] * 4


# Client-scoped lookup (A3) --------------------------------------------------------------
def test_get_session_for_relationship_returns_the_clients_own_session(
    active_client: CareRelationship,
) -> None:
    session = at(active_client, days_ago(1))
    assert get_session_for_relationship(active_client, session.public_id) == session


def test_get_session_for_relationship_refuses_another_clients_session(
    active_client: CareRelationship, child_client: CareRelationship
) -> None:
    theirs = at(child_client, days_ago(1))
    with pytest.raises(Http404):
        get_session_for_relationship(active_client, theirs.public_id)
    with pytest.raises(Http404):
        get_session_for_relationship(active_client, uuid.uuid4())


# The session's note -----------------------------------------------------------------------
def test_session_note_before_the_first_save_offers_the_asked_format_or_soap(
    active_client: CareRelationship,
) -> None:
    session = at(active_client, days_ago(2))

    assert note_for_session(session) is None
    for asked, shown in (("dap", "dap"), ("narrative", "soap"), (None, "soap")):
        empty = session_note(session, requested_format=asked)
        assert (empty.note, empty.format, empty.addenda, empty.events) == (None, shown, [], [])
        assert {section["text"] for section in empty.sections} == {""}
    assert [s["key"] for s in session_note(session, requested_format="dap").sections] == [
        "data",
        "assessment",
        "plan",
    ]


def test_session_note_shows_the_stored_note_whatever_format_is_asked(
    active_client: CareRelationship, therapist: Any
) -> None:
    session = with_note(at(active_client, days_ago(2)), sign_as=therapist)
    services.note_add_addendum(
        note=ProgressNote.objects.get(), actor=therapist, text="Called back."
    )

    shown = session_note(session, requested_format="dap")

    assert shown.note == note_for_session(session) == ProgressNote.objects.get()
    assert shown.format == "soap"
    assert [section["text"] for section in shown.sections] == ["S", "O", "A", "P"]
    assert [addendum.text for addendum in shown.addenda] == ["Called back."]
    assert [event.kind for event in shown.events] == ["signed", "addendum"]


# Agenda ---------------------------------------------------------------------------------
MONDAY = date(2026, 3, 2)


def test_agenda_day_is_the_practice_day_not_the_utc_day(
    active_client: CareRelationship, therapist: Any
) -> None:
    late = at(active_client, datetime(2026, 3, 2, 23, 30, tzinfo=ZONE))
    assert late.starts_at.astimezone(UTC).date() == date(2026, 3, 3)  # Tuesday in UTC

    monday = therapist_agenda(therapist, day=MONDAY, span_days=1, tz=ZONE)
    tuesday = therapist_agenda(therapist, day=MONDAY + timedelta(days=1), span_days=1, tz=ZONE)

    assert monday.sessions == [late]
    assert tuesday.sessions == []
    assert [(entry.day, entry.sessions) for entry in monday.days] == [
        (MONDAY, [(late.starts_at.astimezone(ZONE), late)])
    ]
    assert [(entry.day, entry.sessions) for entry in tuesday.days] == [
        (MONDAY + timedelta(days=1), [])
    ]
    assert (monday.start, monday.end) == (MONDAY, MONDAY + timedelta(days=1))


def test_agenda_day_starts_at_local_midnight(
    active_client: CareRelationship, therapist: Any
) -> None:
    early = at(active_client, datetime(2026, 3, 3, 0, 30, tzinfo=ZONE))  # 05:30 UTC Tuesday
    sunday_evening = at(active_client, datetime(2026, 3, 1, 22, 0, tzinfo=ZONE))  # Mon UTC
    monday = therapist_agenda(therapist, day=MONDAY, span_days=1, tz=ZONE)
    assert early not in monday.sessions and sunday_evening not in monday.sessions


def test_agenda_week_spans_seven_local_days_across_a_dst_change(
    active_client: CareRelationship, child_client: CareRelationship, therapist: Any
) -> None:
    # US clocks go forward on Sunday 8 March 2026; the week still ends at local midnight.
    sessions = [
        at(child_client, datetime(2026, 3, 8, 23, 30, tzinfo=ZONE)),
        at(active_client, datetime(2026, 3, 4, 12, 0, tzinfo=ZONE)),
        at(active_client, datetime(2026, 3, 2, 0, 0, tzinfo=ZONE)),
    ]
    at(active_client, datetime(2026, 3, 9, 0, 0, tzinfo=ZONE))  # next Monday
    at(active_client, datetime(2026, 3, 1, 23, 59, tzinfo=ZONE))  # the Sunday before

    week = therapist_agenda(therapist, day=MONDAY, span_days=7, tz=ZONE)

    assert week.sessions == sorted(sessions, key=lambda s: s.starts_at)
    assert week.end == date(2026, 3, 9)
    by_day = {entry.day: [session for _, session in entry.sessions] for entry in week.days}
    assert list(by_day) == [MONDAY + timedelta(days=offset) for offset in range(7)]
    assert by_day[date(2026, 3, 8)] == [sessions[0]]  # 23:30 local, not Monday in UTC
    assert by_day[date(2026, 3, 4)] == [sessions[1]]
    assert by_day[MONDAY] == [sessions[2]]
    assert sum(len(day) for day in by_day.values()) == 3


def test_agenda_shows_only_this_therapists_open_clients(
    active_client: CareRelationship,
    child_client: CareRelationship,
    therapist: Any,
    colleague: Any,
) -> None:
    mine = at(active_client, datetime(2026, 3, 2, 9, 0, tzinfo=ZONE))
    removed = at(child_client, datetime(2026, 3, 2, 11, 0, tzinfo=ZONE))
    client_services.relationship_remove(relationship=child_client, actor=child_client.therapist)
    bobs_client = active_relationship(colleague, full_name="Noor Ali", email="noor@example.com")
    bobs = at(bobs_client, datetime(2026, 3, 2, 9, 0, tzinfo=ZONE))

    day = therapist_agenda(therapist, day=MONDAY, span_days=1, tz=ZONE)

    assert day.sessions == [mine]
    assert removed not in day.sessions
    assert therapist_agenda(colleague, day=MONDAY, span_days=1, tz=ZONE).sessions == [bobs]


def test_signed_notes_on_the_agenda_come_with_the_sessions(
    active_client: CareRelationship, therapist: Any, django_assert_num_queries: Any
) -> None:
    for hour in (9, 11, 13):
        with_note(at(active_client, datetime(2026, 3, 2, hour, 0, tzinfo=ZONE)), sign_as=therapist)
    with django_assert_num_queries(1):
        day = therapist_agenda(therapist, day=MONDAY, span_days=1, tz=ZONE)
        states = [(s.relationship.client.full_name, s.note.status) for s in day.sessions]
    assert states == [("Maya Patel", "signed")] * 3
    assert ProgressNote.objects.count() == 3

"""Sessions and progress notes (SN-1 … SN-3) and the supervisor's review, through the services.

Each test drives the real services against the database; nothing of ours is mocked.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from caseload.audit.models import AuditEvent
from caseload.clients import services as client_services
from caseload.clients.models import CareRelationship
from caseload.lib.http import AuditContext
from caseload.visits import services
from caseload.visits.models import (
    NoteEvent,
    NoteEventKind,
    NoteFormat,
    NoteStatus,
    ProgressNote,
    SessionStatus,
    TherapySession,
)
from caseload.visits.services import OverlapWarning, VisitError
from tests.factories import staff

ZONE = ZoneInfo("America/New_York")  # the practice fixture's time zone
SOAP = {
    "subjective": "Reports better sleep.",
    "objective": "Calm, good eye contact.",
    "assessment": "Anxiety lower than last month.",
    "plan": "Continue CBT; breathing practice daily.",
}


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZONE)  # type: ignore[misc]


def schedule(
    relationship: CareRelationship,
    starts_at: datetime,
    duration: int = 50,
    *,
    allow_overlap: bool = False,
) -> TherapySession:
    return services.session_schedule(
        relationship=relationship,
        actor=relationship.therapist,
        starts_at=starts_at,
        duration_minutes=duration,
        modality="in_person",
        allow_overlap=allow_overlap,
    )


def draft(
    session: TherapySession, content: dict[str, Any] | None = None, note_format: str = "soap"
) -> ProgressNote:
    return services.note_save_draft(
        session=session,
        actor=session.relationship.therapist,
        note_format=note_format,
        content=SOAP if content is None else content,
    )


def update(
    session: TherapySession, values: dict[str, Any], *, allow_overlap: bool = False
) -> TherapySession:
    return services.session_update(
        session=session,
        actor=session.relationship.therapist,
        values=values,
        allow_overlap=allow_overlap,
    )


@pytest.fixture
def session(active_client: CareRelationship) -> TherapySession:
    return schedule(active_client, local(2026, 3, 2, 10, 0))


@pytest.fixture
def signed(session: TherapySession, therapist: Any) -> ProgressNote:
    return services.note_sign(note=draft(session), actor=therapist)


@pytest.fixture
def other_supervisor(practice: Any) -> Any:
    return staff(practice, "supervisor", email="grace@example.com", full_name="Grace Hall")


def stored(note: ProgressNote) -> ProgressNote:
    return ProgressNote.objects.get(pk=note.pk)


# Scheduling -----------------------------------------------------------------------------
def test_schedule_stores_utc_from_a_time_in_the_practice_zone(
    active_client: CareRelationship,
) -> None:
    winter = schedule(active_client, local(2026, 1, 12, 9, 0))
    summer = schedule(active_client, local(2026, 7, 13, 9, 0))

    winter.refresh_from_db()
    summer.refresh_from_db()
    assert winter.starts_at == datetime(2026, 1, 12, 14, 0, tzinfo=UTC)  # EST, UTC-5
    assert summer.starts_at == datetime(2026, 7, 13, 13, 0, tzinfo=UTC)  # EDT, UTC-4
    assert winter.starts_at.utcoffset() == timedelta(0)
    assert TherapySession.objects.filter(starts_at=datetime(2026, 1, 12, 14, 0, tzinfo=UTC)).get()
    assert (winter.status, winter.duration_minutes) == (SessionStatus.SCHEDULED, 50)


def test_schedule_refuses_a_naive_time(active_client: CareRelationship) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        schedule(active_client, datetime(2026, 1, 12, 9, 0))
    assert TherapySession.objects.count() == 0


@pytest.mark.parametrize(
    ("duration", "modality", "field"),
    [
        (4, "in_person", "duration_minutes"),
        (481, "in_person", "duration_minutes"),
        (50, "carrier_pigeon", "modality"),
    ],
)
def test_schedule_refuses_bad_duration_or_modality(
    active_client: CareRelationship, duration: int, modality: str, field: str
) -> None:
    with pytest.raises(VisitError) as refused:
        services.session_schedule(
            relationship=active_client,
            actor=active_client.therapist,
            starts_at=local(2026, 1, 12, 9, 0),
            duration_minutes=duration,
            modality=modality,
        )
    assert refused.value.field == field
    assert TherapySession.objects.count() == 0


def test_schedule_is_audited(active_client: CareRelationship, therapist: Any) -> None:
    session = schedule(active_client, local(2026, 1, 12, 9, 0))
    event = AuditEvent.objects.get(action="session.schedule")
    assert (event.actor, event.client, event.object_id) == (
        therapist,
        active_client.client,
        str(session.public_id),
    )


def test_audit_records_whoever_acts_and_where_the_action_came_from(
    active_client: CareRelationship, therapist: Any
) -> None:
    where = AuditContext(ip_address="203.0.113.7", request_id="req-42", user_agent="Firefox")
    before = AuditEvent.objects.count()
    session = services.session_schedule(
        relationship=active_client,
        actor=therapist,
        starts_at=local(2026, 1, 12, 9, 0),
        duration_minutes=50,
        modality="in_person",
        audit_context=where,
    )
    services.note_save_and_sign(
        session=session,
        actor=therapist,
        note_format="soap",
        content=SOAP,
        audit_context=where,
    )

    events = AuditEvent.objects.order_by("id")[before:]
    assert [event.action for event in events] == ["session.schedule", "note.create", "note.sign"]
    for event in events:
        assert (event.actor, event.ip_address, event.request_id, event.user_agent) == (
            therapist,
            "203.0.113.7",
            "req-42",
            "Firefox",
        )


@pytest.mark.parametrize("who", ["supervisor", "colleague", "client_user"])
def test_only_the_clients_therapist_can_schedule(
    active_client: CareRelationship, who: str, request: pytest.FixtureRequest
) -> None:
    with pytest.raises(VisitError, match="Only the client's therapist can schedule"):
        services.session_schedule(
            relationship=active_client,
            actor=request.getfixturevalue(who),
            starts_at=local(2026, 1, 12, 9, 0),
            duration_minutes=50,
            modality="in_person",
        )
    assert TherapySession.objects.count() == 0
    assert not AuditEvent.objects.filter(action="session.schedule").exists()


@pytest.mark.parametrize("who", ["supervisor", "colleague", "client_user"])
def test_only_the_clients_therapist_can_update_a_session(
    session: TherapySession, who: str, request: pytest.FixtureRequest
) -> None:
    with pytest.raises(VisitError, match="Only the client's therapist can update"):
        services.session_update(
            session=session,
            actor=request.getfixturevalue(who),
            values={"status": SessionStatus.COMPLETED, "mood_score": 3},
        )
    session.refresh_from_db()
    assert (session.status, session.mood_score) == (SessionStatus.SCHEDULED, None)


def test_overlap_with_another_clients_session_warns_and_lists_it(
    session: TherapySession, child_client: CareRelationship
) -> None:
    with pytest.raises(OverlapWarning) as warned:
        schedule(child_client, local(2026, 3, 2, 10, 30))

    assert warned.value.overlapping == [session]
    assert TherapySession.objects.count() == 1


def test_overlap_warning_survives_a_context_manager(
    session: TherapySession, child_client: CareRelationship
) -> None:
    @contextmanager
    def around() -> Any:
        yield

    with pytest.raises(OverlapWarning), around():
        schedule(child_client, local(2026, 3, 2, 10, 30))


@pytest.mark.parametrize(
    ("start", "duration"),
    [
        ((2026, 3, 2, 9, 30), 50),  # ends inside the session
        ((2026, 3, 2, 10, 49), 30),  # starts in its last minute
        ((2026, 3, 2, 10, 10), 10),  # inside it
        ((2026, 3, 2, 8, 0), 240),  # around it
        ((2026, 3, 2, 2, 30), 480),  # an eight-hour block ending inside it
    ],
)
def test_every_kind_of_overlap_warns(
    session: TherapySession,
    child_client: CareRelationship,
    start: tuple[int, ...],
    duration: int,
) -> None:
    with pytest.raises(OverlapWarning) as warned:
        schedule(child_client, local(*start), duration)
    assert warned.value.overlapping == [session]


def test_allow_overlap_schedules_anyway(
    session: TherapySession, child_client: CareRelationship
) -> None:
    second = schedule(child_client, local(2026, 3, 2, 10, 30), allow_overlap=True)
    assert TherapySession.objects.filter(pk__in=[session.pk, second.pk]).count() == 2


@pytest.mark.parametrize(
    "start", [(2026, 3, 2, 10, 50), (2026, 3, 2, 9, 10)], ids=["right-after", "right-before"]
)
def test_touching_end_to_start_is_not_an_overlap(
    session: TherapySession, child_client: CareRelationship, start: tuple[int, ...]
) -> None:
    schedule(child_client, local(*start))  # 50 minutes: 9:10-10:00 or 10:50-11:40
    assert TherapySession.objects.count() == 2


@pytest.mark.parametrize("status", [SessionStatus.CANCELLED, SessionStatus.NO_SHOW])
def test_cancelled_and_no_show_sessions_do_not_count_as_overlaps(
    session: TherapySession, child_client: CareRelationship, status: str
) -> None:
    update(session, {"status": status})
    schedule(child_client, local(2026, 3, 2, 10, 0))
    assert TherapySession.objects.count() == 2


def test_another_therapists_sessions_do_not_overlap(
    session: TherapySession, colleague: Any
) -> None:
    from tests.factories import active_relationship

    bobs_client = active_relationship(colleague, full_name="Noor Ali", email="noor@example.com")
    schedule(bobs_client, local(2026, 3, 2, 10, 0))
    assert TherapySession.objects.count() == 2


def test_moving_a_session_onto_another_warns_but_not_onto_itself(
    session: TherapySession, child_client: CareRelationship
) -> None:
    later = schedule(child_client, local(2026, 3, 2, 12, 0))

    # Ten minutes later still overlaps its own old slot: that's not a warning.
    update(later, {"starts_at": local(2026, 3, 2, 12, 10)})
    with pytest.raises(OverlapWarning) as warned:
        update(later, {"starts_at": local(2026, 3, 2, 10, 20)})
    assert warned.value.overlapping == [session]
    later.refresh_from_db()
    assert later.starts_at == local(2026, 3, 2, 12, 10)

    update(later, {"starts_at": local(2026, 3, 2, 10, 20)}, allow_overlap=True)
    later.refresh_from_db()
    assert later.starts_at == local(2026, 3, 2, 10, 20)


def test_archived_client_cannot_be_scheduled(active_client: CareRelationship) -> None:
    client_services.relationship_archive(relationship=active_client, actor=active_client.therapist)
    active_client.refresh_from_db()
    with pytest.raises(VisitError, match=r"^Restore this client before changing their record\.$"):
        schedule(active_client, local(2026, 3, 2, 10, 0))
    assert TherapySession.objects.count() == 0


def test_archived_client_keeps_sessions_and_notes_as_they_are(
    signed: ProgressNote, session: TherapySession, therapist: Any
) -> None:
    relationship = session.relationship
    client_services.relationship_archive(relationship=relationship, actor=therapist)
    session.refresh_from_db()

    with pytest.raises(VisitError, match="Restore this client"):
        update(session, {"mood_score": 6})
    with pytest.raises(VisitError, match="Restore this client"):
        draft(session, {"subjective": "After archiving."})
    session.refresh_from_db()
    assert session.mood_score is None
    assert stored(signed).content == SOAP


# Outcome and mood -----------------------------------------------------------------------
def test_update_records_status_and_mood_and_audits_field_names(session: TherapySession) -> None:
    update(session, {"status": SessionStatus.COMPLETED, "mood_score": 7})

    session.refresh_from_db()
    assert (session.status, session.mood_score) == (SessionStatus.COMPLETED, 7)
    event = AuditEvent.objects.filter(action="session.update").get()
    assert event.detail == {"fields": ["status", "mood_score"]}


@pytest.mark.parametrize("mood", [0, 11, -3, "7", True])
def test_mood_outside_one_to_ten_is_refused(session: TherapySession, mood: Any) -> None:
    update(session, {"mood_score": 5})

    with pytest.raises(VisitError) as refused:
        update(session, {"mood_score": mood})

    assert refused.value.field == "mood_score"
    session.refresh_from_db()
    assert session.mood_score == 5


@pytest.mark.parametrize("mood", [1, 10, None])
def test_mood_bounds_and_clearing_are_accepted(session: TherapySession, mood: int | None) -> None:
    update(session, {"mood_score": 4})
    update(session, {"mood_score": mood})
    session.refresh_from_db()
    assert session.mood_score == mood


@pytest.mark.parametrize("status", [SessionStatus.COMPLETED, SessionStatus.NO_SHOW])
def test_a_session_that_has_not_started_is_neither_completed_nor_a_no_show(
    active_client: CareRelationship, status: str
) -> None:
    coming = schedule(active_client, timezone.now() + timedelta(days=3))

    with pytest.raises(VisitError) as refused:
        update(coming, {"status": status, "mood_score": 5})

    assert refused.value.field == "status"
    assert "hasn't started yet" in str(refused.value)
    coming.refresh_from_db()
    assert (coming.status, coming.mood_score) == (SessionStatus.SCHEDULED, None)
    update(coming, {"status": SessionStatus.CANCELLED})  # cancelling ahead is what it is for
    coming.refresh_from_db()
    assert coming.status == SessionStatus.CANCELLED


def test_a_completed_session_is_not_moved_into_the_future(session: TherapySession) -> None:
    update(session, {"status": SessionStatus.COMPLETED})

    with pytest.raises(VisitError, match="marked Completed can't be moved to a time"):
        update(session, {"starts_at": timezone.now() + timedelta(days=2)})


def test_unknown_status_is_refused(session: TherapySession) -> None:
    with pytest.raises(VisitError) as refused:
        update(session, {"status": "postponed"})
    assert refused.value.field == "status"
    session.refresh_from_db()
    assert session.status == SessionStatus.SCHEDULED


def test_database_refuses_a_mood_outside_one_to_ten(session: TherapySession) -> None:
    for mood in (0, 11):
        with pytest.raises(IntegrityError), transaction.atomic():
            TherapySession.objects.filter(pk=session.pk).update(mood_score=mood)
    session.refresh_from_db()
    assert session.mood_score is None


# Drafting -------------------------------------------------------------------------------
def test_draft_is_created_then_autosaved_in_place(session: TherapySession) -> None:
    first = draft(session, {"subjective": "Reports better sleep."})
    second = draft(session, {**SOAP, "subjective": "Reports better sleep, fewer nightmares."})

    assert first.pk == second.pk
    note = stored(first)
    assert note.status == NoteStatus.DRAFT
    assert note.content["subjective"] == "Reports better sleep, fewer nightmares."
    assert note.content["plan"] == SOAP["plan"]
    assert note.signed_by is None and note.signed_at is None and note.content_sha256 == ""
    actions = list(
        AuditEvent.objects.filter(action__startswith="note.")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["note.create", "note.save_draft"]
    assert "nightmares" not in str(list(AuditEvent.objects.values()))


@pytest.mark.parametrize(
    ("note_format", "sections"),
    [
        (NoteFormat.SOAP, ["subjective", "objective", "assessment", "plan"]),
        (NoteFormat.DAP, ["data", "assessment", "plan"]),
        (NoteFormat.BIRP, ["behavior", "intervention", "response", "plan"]),
        (NoteFormat.FREE_TEXT, ["note"]),
    ],
)
def test_sections_follow_the_format_and_unknown_keys_are_dropped(
    session: TherapySession, note_format: str, sections: list[str]
) -> None:
    content = {key: f"text for {key}" for key in sections}
    content |= {"signed_by": "someone", "status": "signed", "extra": "dropped"}

    note = draft(session, content, note_format)

    note = stored(note)
    assert note.content == {key: f"text for {key}" for key in sections}  # jsonb: no key order
    assert [section["key"] for section in note.sections()] == sections  # format order
    assert note.status == NoteStatus.DRAFT and note.signed_by is None


def test_missing_sections_are_empty_and_values_become_text(session: TherapySession) -> None:
    note = draft(session, {"subjective": None, "objective": 42})
    assert stored(note).content == {
        "subjective": "",
        "objective": "42",
        "assessment": "",
        "plan": "",
    }


def test_changing_a_drafts_format_reshapes_its_sections(session: TherapySession) -> None:
    draft(session)
    note = draft(session, {"data": "d", "subjective": "gone"}, "dap")
    assert stored(note).content == {"data": "d", "assessment": "", "plan": ""}


def test_unknown_format_is_refused(session: TherapySession) -> None:
    with pytest.raises(VisitError) as refused:
        draft(session, {"note": "x"}, "narrative")
    assert refused.value.field == "format"
    assert ProgressNote.objects.count() == 0


# Signing --------------------------------------------------------------------------------
def test_signing_records_who_when_and_the_hash(session: TherapySession, therapist: Any) -> None:
    note = draft(session)
    before = timezone.now()

    services.note_sign(note=note, actor=therapist)

    note = stored(note)
    assert note.status == NoteStatus.SIGNED and note.is_locked
    assert note.signed_by == therapist
    assert before <= note.signed_at <= timezone.now()
    assert len(note.content_sha256) == 64
    assert note.content_sha256 == note.compute_hash()
    assert note.verify()
    assert list(note.events.values_list("kind", "actor")) == [(NoteEventKind.SIGNED, therapist.pk)]
    assert AuditEvent.objects.filter(action="note.sign", actor=therapist).count() == 1


def test_signing_an_empty_note_is_refused(session: TherapySession, therapist: Any) -> None:
    note = draft(session, {"subjective": "  ", "plan": "\n"})

    with pytest.raises(VisitError, match="Write the note"):
        services.note_sign(note=note, actor=therapist)

    note = stored(note)
    assert note.status == NoteStatus.DRAFT and note.signed_by is None
    assert not NoteEvent.objects.exists()


@pytest.mark.parametrize("who", ["supervisor", "colleague", "client_user"])
def test_only_the_clients_therapist_can_write_the_draft(
    session: TherapySession, who: str, request: pytest.FixtureRequest
) -> None:
    draft(session, {"subjective": "The therapist's words."})
    for save in (services.note_save_draft, services.note_save_and_sign):
        with pytest.raises(VisitError, match="Only the client's therapist can write"):
            save(
                session=session,
                actor=request.getfixturevalue(who),
                note_format="soap",
                content={"subjective": "Someone else's words."},
            )
    note = ProgressNote.objects.get(session=session)
    assert note.content["subjective"] == "The therapist's words."
    assert note.status == NoteStatus.DRAFT


@pytest.mark.parametrize("who", ["supervisor", "colleague", "client_user"])
def test_only_the_clients_therapist_can_sign(
    session: TherapySession, who: str, request: pytest.FixtureRequest
) -> None:
    note = draft(session)
    with pytest.raises(VisitError, match="Only the client's therapist"):
        services.note_sign(note=note, actor=request.getfixturevalue(who))
    assert stored(note).status == NoteStatus.DRAFT


def test_save_and_sign_signs_exactly_what_was_written(
    session: TherapySession, therapist: Any
) -> None:
    draft(session, {"subjective": "First words."})

    note = services.note_save_and_sign(
        session=session, actor=therapist, note_format="dap", content={"data": "Final words."}
    )

    note = stored(note)
    assert (note.status, note.signed_by, note.format) == (NoteStatus.SIGNED, therapist, "dap")
    assert note.content == {"data": "Final words.", "assessment": "", "plan": ""}
    assert note.verify()
    assert ProgressNote.objects.filter(session=session).count() == 1


def test_save_and_sign_saves_nothing_when_signing_is_refused(
    session: TherapySession, therapist: Any
) -> None:
    draft(session, {"subjective": "First words."})

    with pytest.raises(VisitError, match="Write the note"):
        services.note_save_and_sign(
            session=session, actor=therapist, note_format="soap", content={"subjective": " "}
        )

    note = ProgressNote.objects.get(session=session)
    assert (note.status, note.content["subjective"]) == (NoteStatus.DRAFT, "First words.")
    assert not AuditEvent.objects.filter(action__in=["note.save_draft", "note.sign"]).exists()


def test_a_signed_note_cannot_be_signed_again(signed: ProgressNote, therapist: Any) -> None:
    signed_at = stored(signed).signed_at
    with pytest.raises(VisitError, match="already signed"):
        services.note_sign(note=signed, actor=therapist)
    assert stored(signed).signed_at == signed_at
    assert signed.events.count() == 1


def test_after_signing_the_service_refuses_every_change(
    signed: ProgressNote, session: TherapySession
) -> None:
    before = stored(signed)

    for note_format, content in (("soap", {**SOAP, "plan": "Changed"}), ("free_text", {})):
        with pytest.raises(VisitError, match="signed and locked"):
            draft(session, content, note_format)

    after = stored(signed)
    assert (after.format, after.content, after.content_sha256, after.updated_at) == (
        before.format,
        before.content,
        before.content_sha256,
        before.updated_at,
    )
    assert after.verify()


def test_after_signing_a_direct_orm_save_is_refused(signed: ProgressNote) -> None:
    note = stored(signed)
    note.content = {**note.content, "assessment": "Rewritten after the fact."}

    with pytest.raises(PermissionError):
        note.save()

    assert stored(signed).content == SOAP
    assert stored(signed).verify()


def test_verify_detects_tampering_through_a_raw_update(signed: ProgressNote) -> None:
    assert stored(signed).verify()

    ProgressNote.objects.filter(pk=signed.pk).update(content={**SOAP, "plan": "Tampered"})

    assert not stored(signed).verify()


# Addenda --------------------------------------------------------------------------------
def test_addendum_is_added_to_a_signed_note_by_its_therapist(
    signed: ProgressNote, therapist: Any
) -> None:
    addendum = services.note_add_addendum(
        note=signed, actor=therapist, text="  Client called to add: slept 8 h.  "
    )

    assert addendum.text == "Client called to add: slept 8 h."
    assert addendum.author == therapist
    assert list(signed.addenda.all()) == [addendum]
    assert list(signed.events.values_list("kind", flat=True)) == [
        NoteEventKind.SIGNED,
        NoteEventKind.ADDENDUM,
    ]
    note = stored(signed)
    assert note.content == SOAP and note.verify()  # the signed note itself is untouched


def test_addendum_is_refused_on_a_draft(session: TherapySession, therapist: Any) -> None:
    note = draft(session)
    with pytest.raises(VisitError, match="addenda are for signed notes"):
        services.note_add_addendum(note=note, actor=therapist, text="x")
    assert not note.addenda.exists()


def test_addendum_decides_on_the_stored_note_not_a_stale_copy(
    signed: ProgressNote, therapist: Any, supervisor: Any
) -> None:
    stale = stored(signed)  # still says "signed"
    services.note_send_back(note=signed, actor=supervisor, comment="Add the risk assessment.")

    with pytest.raises(VisitError, match="addenda are for signed notes"):
        services.note_add_addendum(note=stale, actor=therapist, text="x")
    assert not signed.addenda.exists()


@pytest.mark.parametrize("who", ["supervisor", "colleague", "client_user"])
def test_only_the_therapist_adds_addenda(
    signed: ProgressNote, who: str, request: pytest.FixtureRequest
) -> None:
    with pytest.raises(VisitError, match="Only the client's therapist"):
        services.note_add_addendum(note=signed, actor=request.getfixturevalue(who), text="x")
    assert not signed.addenda.exists()


def test_empty_addendum_is_refused(signed: ProgressNote, therapist: Any) -> None:
    with pytest.raises(VisitError) as refused:
        services.note_add_addendum(note=signed, actor=therapist, text=" \n ")
    assert refused.value.field == "text"
    assert not signed.addenda.exists()


def test_no_addendum_once_the_client_is_archived(signed: ProgressNote, therapist: Any) -> None:
    client_services.relationship_archive(
        relationship=signed.session.relationship, actor=signed.session.relationship.therapist
    )
    with pytest.raises(VisitError, match="Restore this client"):
        services.note_add_addendum(note=signed, actor=therapist, text="x")
    assert not signed.addenda.exists()


# Co-signing -----------------------------------------------------------------------------
def test_supervisor_cosigns_a_signed_note(signed: ProgressNote, supervisor: Any) -> None:
    services.note_cosign(note=signed, actor=supervisor)

    note = stored(signed)
    assert note.status == NoteStatus.COSIGNED
    assert note.cosigned_by == supervisor and note.cosigned_at is not None
    assert note.verify()  # co-signing changes no content
    assert list(note.events.values_list("kind", "actor")) == [
        (NoteEventKind.SIGNED, signed.signed_by_id),
        (NoteEventKind.COSIGNED, supervisor.pk),
    ]
    assert AuditEvent.objects.filter(action="note.cosign", actor=supervisor).exists()


@pytest.mark.parametrize("who", ["therapist", "colleague", "other_supervisor", "outsider"])
def test_only_the_therapists_own_supervisor_can_cosign(
    signed: ProgressNote, who: str, request: pytest.FixtureRequest
) -> None:
    with pytest.raises(VisitError, match="Only the therapist's supervisor"):
        services.note_cosign(note=signed, actor=request.getfixturevalue(who))
    note = stored(signed)
    assert note.status == NoteStatus.SIGNED and note.cosigned_by is None


def test_a_supervisor_cannot_cosign_a_draft(session: TherapySession, supervisor: Any) -> None:
    note = draft(session)
    with pytest.raises(VisitError, match="Only a signed note"):
        services.note_cosign(note=note, actor=supervisor)
    assert stored(note).status == NoteStatus.DRAFT


def test_a_cosigned_note_cannot_be_cosigned_again(signed: ProgressNote, supervisor: Any) -> None:
    services.note_cosign(note=signed, actor=supervisor)
    cosigned_at = stored(signed).cosigned_at
    with pytest.raises(VisitError):
        services.note_cosign(note=signed, actor=supervisor)
    assert stored(signed).cosigned_at == cosigned_at


def test_a_cosigned_note_is_still_locked(
    signed: ProgressNote, supervisor: Any, session: TherapySession
) -> None:
    services.note_cosign(note=signed, actor=supervisor)
    with pytest.raises(VisitError, match="signed and locked"):
        draft(session, {**SOAP, "plan": "Changed"})
    assert stored(signed).content == SOAP


# Sending back ---------------------------------------------------------------------------
def test_send_back_needs_a_comment(signed: ProgressNote, supervisor: Any) -> None:
    with pytest.raises(VisitError) as refused:
        services.note_send_back(note=signed, actor=supervisor, comment="   ")
    assert refused.value.field == "comment"
    assert stored(signed).status == NoteStatus.SIGNED


def test_send_back_unlocks_the_note_and_records_the_comment(
    signed: ProgressNote, supervisor: Any, therapist: Any, session: TherapySession
) -> None:
    services.note_send_back(note=signed, actor=supervisor, comment="  Add the risk assessment. ")

    note = stored(signed)
    assert note.status == NoteStatus.DRAFT and not note.is_locked
    assert (note.signed_by, note.signed_at, note.content_sha256) == (None, None, "")
    assert note.content == SOAP  # content is kept for the therapist to revise
    event = note.events.get(kind=NoteEventKind.SENT_BACK)
    assert (event.actor, event.comment) == (supervisor, "Add the risk assessment.")
    assert AuditEvent.objects.filter(action="note.send_back").get().detail == {}

    # The therapist revises and signs again; the history keeps every step.
    revised = draft(session, {**SOAP, "assessment": "Risk: low; no SI."})
    services.note_sign(note=revised, actor=therapist)
    note = stored(signed)
    assert note.status == NoteStatus.SIGNED and note.verify()
    assert note.content["assessment"] == "Risk: low; no SI."
    assert list(note.events.values_list("kind", flat=True)) == [
        NoteEventKind.SIGNED,
        NoteEventKind.SENT_BACK,
        NoteEventKind.SIGNED,
    ]


def test_a_cosigned_note_cannot_be_sent_back(signed: ProgressNote, supervisor: Any) -> None:
    services.note_cosign(note=signed, actor=supervisor)
    with pytest.raises(VisitError, match="isn't co-signed"):
        services.note_send_back(note=signed, actor=supervisor, comment="Too late")
    note = stored(signed)
    assert note.status == NoteStatus.COSIGNED and note.verify()
    assert not note.events.filter(kind=NoteEventKind.SENT_BACK).exists()


def test_a_draft_cannot_be_sent_back(session: TherapySession, supervisor: Any) -> None:
    note = draft(session)
    with pytest.raises(VisitError):
        services.note_send_back(note=note, actor=supervisor, comment="Why?")
    assert not note.events.exists()


@pytest.mark.parametrize("who", ["therapist", "colleague", "other_supervisor"])
def test_only_the_therapists_supervisor_can_send_back(
    signed: ProgressNote, who: str, request: pytest.FixtureRequest
) -> None:
    with pytest.raises(VisitError, match="Only the therapist's supervisor"):
        services.note_send_back(note=signed, actor=request.getfixturevalue(who), comment="No")
    note = stored(signed)
    assert note.status == NoteStatus.SIGNED and note.verify()

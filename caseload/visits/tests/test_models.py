"""What the models and the database guarantee about sessions and notes, whatever code path
writes (SECURITY U4: signed notes immutable, addenda new rows, hash re-verifiable)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from caseload.clients.models import CareRelationship
from caseload.visits import services
from caseload.visits.models import (
    NoteAddendum,
    NoteEvent,
    NoteEventKind,
    NoteStatus,
    ProgressNote,
    TherapySession,
)

ZONE = ZoneInfo("America/New_York")
SOAP = {"subjective": "S", "objective": "O", "assessment": "A", "plan": "P"}


@pytest.fixture
def session(active_client: CareRelationship) -> TherapySession:
    return services.session_schedule(
        relationship=active_client,
        actor=active_client.therapist,
        starts_at=datetime(2026, 3, 2, 10, 0, tzinfo=ZONE),
        duration_minutes=50,
        modality="telehealth",
    )


@pytest.fixture
def note(session: TherapySession) -> ProgressNote:
    return services.note_save_draft(
        session=session, actor=session.relationship.therapist, note_format="soap", content=SOAP
    )


@pytest.fixture
def signed(note: ProgressNote, therapist: Any) -> ProgressNote:
    services.note_sign(note=note, actor=therapist)
    return ProgressNote.objects.get(pk=note.pk)


@pytest.fixture
def cosigned(signed: ProgressNote, supervisor: Any) -> ProgressNote:
    services.note_cosign(note=signed, actor=supervisor)
    return ProgressNote.objects.get(pk=signed.pk)


def fresh(note: ProgressNote) -> ProgressNote:
    return ProgressNote.objects.get(pk=note.pk)


# TherapySession -------------------------------------------------------------------------
def test_session_ends_after_its_duration(session: TherapySession) -> None:
    assert session.ends_at - session.starts_at == timedelta(minutes=50)


@pytest.mark.parametrize(("field", "value"), [("mood_score", 0), ("mood_score", 11)])
def test_database_refuses_a_mood_outside_one_to_ten(
    session: TherapySession, field: str, value: int
) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        TherapySession.objects.filter(pk=session.pk).update(**{field: value})


@pytest.mark.parametrize("duration", [4, 481])
def test_database_refuses_a_duration_outside_five_minutes_to_eight_hours(
    active_client: CareRelationship, duration: int
) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        TherapySession.objects.create(
            relationship=active_client, starts_at=timezone.now(), duration_minutes=duration
        )


# ProgressNote: the lock -----------------------------------------------------------------
def test_a_draft_saves_freely(note: ProgressNote) -> None:
    note.content = {**SOAP, "plan": "Revised"}
    note.format = "soap"
    note.save()
    assert fresh(note).content["plan"] == "Revised"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("content", {**SOAP, "assessment": "Rewritten"}),
        ("content", {}),
        ("format", "dap"),
        ("content_sha256", "0" * 64),
        ("signed_at", datetime(2020, 1, 1, tzinfo=ZONE)),
    ],
)
def test_a_signed_note_refuses_a_direct_save_of_any_signed_field(
    signed: ProgressNote, field: str, value: Any
) -> None:
    before = fresh(signed)
    setattr(signed, field, value)

    with pytest.raises(PermissionError):
        signed.save()

    after = fresh(signed)
    assert (after.format, after.content, after.content_sha256, after.signed_at) == (
        before.format,
        before.content,
        before.content_sha256,
        before.signed_at,
    )
    assert after.verify()


def test_a_signed_note_refuses_another_signer(signed: ProgressNote, colleague: Any) -> None:
    signed.signed_by = colleague
    with pytest.raises(PermissionError):
        signed.save()
    assert fresh(signed).signed_by_id != colleague.pk


def test_a_signed_note_cannot_be_unlocked_by_save(signed: ProgressNote) -> None:
    signed.status = NoteStatus.DRAFT
    with pytest.raises(PermissionError):
        signed.save(update_fields=["status"])
    assert fresh(signed).status == NoteStatus.SIGNED


def test_a_cosigned_note_refuses_changes_to_its_cosignature(
    cosigned: ProgressNote, colleague: Any
) -> None:
    cosigned.cosigned_by = colleague
    with pytest.raises(PermissionError):
        cosigned.save()
    cosigned = fresh(cosigned)
    cosigned.status = NoteStatus.SIGNED
    with pytest.raises(PermissionError):
        cosigned.save()
    assert fresh(cosigned).status == NoteStatus.COSIGNED


def test_saving_a_signed_note_unchanged_is_harmless(signed: ProgressNote) -> None:
    signed.save()
    assert fresh(signed).verify()


def test_signed_note_in_memory_change_never_reaches_the_database(signed: ProgressNote) -> None:
    signed.content["plan"] = "Edited in place"  # mutate the dict itself
    with pytest.raises(PermissionError):
        signed.save()
    assert fresh(signed).content == SOAP


# ProgressNote: the hash -----------------------------------------------------------------
def test_hash_covers_format_and_content_but_not_key_order(session: TherapySession) -> None:
    a = ProgressNote(session=session, format="soap", content={"plan": "P", "subjective": "S"})
    b = ProgressNote(session=session, format="soap", content={"subjective": "S", "plan": "P"})
    c = ProgressNote(session=session, format="dap", content={"subjective": "S", "plan": "P"})
    d = ProgressNote(session=session, format="soap", content={"subjective": "S", "plan": "P."})
    assert a.compute_hash() == b.compute_hash()
    assert len({a.compute_hash(), c.compute_hash(), d.compute_hash()}) == 3


def test_verify_detects_a_raw_update_of_content_or_hash(signed: ProgressNote) -> None:
    assert fresh(signed).verify()

    ProgressNote.objects.filter(pk=signed.pk).update(content={**SOAP, "plan": "Tampered"})
    assert not fresh(signed).verify()

    ProgressNote.objects.filter(pk=signed.pk).update(content=SOAP)
    assert fresh(signed).verify()
    ProgressNote.objects.filter(pk=signed.pk).update(format="dap")
    assert not fresh(signed).verify()


def test_an_unsigned_note_never_verifies(note: ProgressNote) -> None:
    assert not note.verify()


def test_database_refuses_a_signed_note_without_its_signer(note: ProgressNote) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        ProgressNote.objects.filter(pk=note.pk).update(status=NoteStatus.SIGNED)


def test_database_refuses_a_cosigned_note_without_its_time(signed: ProgressNote) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        ProgressNote.objects.filter(pk=signed.pk).update(status=NoteStatus.COSIGNED)


def test_one_note_per_session(note: ProgressNote, session: TherapySession) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        ProgressNote.objects.create(session=session, content={})


def test_sections_list_labels_and_texts_in_format_order(note: ProgressNote) -> None:
    assert [(s["label"], s["text"]) for s in note.sections()] == [
        ("Subjective", "S"),
        ("Objective", "O"),
        ("Assessment", "A"),
        ("Plan", "P"),
    ]


# Addenda and history: append-only -------------------------------------------------------
@pytest.fixture
def addendum(signed: ProgressNote, therapist: Any) -> NoteAddendum:
    return services.note_add_addendum(note=signed, actor=therapist, text="Late entry.")


def test_an_addendum_cannot_be_changed(addendum: NoteAddendum) -> None:
    addendum.text = "Rewritten"
    with pytest.raises(PermissionError):
        addendum.save()
    with pytest.raises(PermissionError):
        NoteAddendum.objects.filter(pk=addendum.pk).update(text="Rewritten")
    assert NoteAddendum.objects.get(pk=addendum.pk).text == "Late entry."


def test_an_addendum_cannot_be_deleted(addendum: NoteAddendum) -> None:
    with pytest.raises(PermissionError):
        addendum.delete()
    with pytest.raises(PermissionError):
        NoteAddendum.objects.filter(pk=addendum.pk).delete()
    assert NoteAddendum.objects.filter(pk=addendum.pk).exists()


def test_a_notes_history_cannot_be_rewritten(signed: ProgressNote) -> None:
    event = signed.events.get(kind=NoteEventKind.SIGNED)
    event.comment = "Never happened"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        NoteEvent.objects.filter(pk=event.pk).update(comment="x")
    with pytest.raises(PermissionError):
        NoteEvent.objects.filter(pk=event.pk).delete()
    assert NoteEvent.objects.get(pk=event.pk).comment == ""


def test_a_note_with_history_cannot_be_deleted(signed: ProgressNote) -> None:
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        signed.delete()
    assert ProgressNote.objects.filter(pk=signed.pk).exists()

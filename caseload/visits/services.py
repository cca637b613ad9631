"""Sessions and progress notes: scheduling, drafting, signing, addenda, co-signing."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from caseload.accounts.models import User
from caseload.audit.models import Outcome
from caseload.audit.services import audit_record
from caseload.clients.access import (
    is_supervisor_of,
    write_refusal,
)
from caseload.clients.models import CareRelationship
from caseload.lib.fields import FIRST_DATE, LAST_DATE, OUT_OF_RANGE
from caseload.lib.http import SYSTEM, AuditContext
from caseload.visits.assessment import AssessmentError, clean_mental_status, clean_risk
from caseload.visits.models import (
    NOT_TAKING_PLACE,
    NOTE_SECTION_MAX_LENGTH,
    NOTE_SECTIONS,
    Modality,
    NoteAddendum,
    NoteEvent,
    NoteEventKind,
    NoteFormat,
    NoteStatus,
    ProgressNote,
    SessionStatus,
    TherapySession,
    new_video_room,
)
from caseload.visits.selectors import note_awaits_cosignature, overlapping_sessions


class VisitError(Exception):
    """A rule refused the change; `field` names the form field the message belongs to."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class OverlapWarning(Exception):
    """The new time overlaps the therapist's other sessions; schedule anyway if intended.

    A plain exception, not a frozen dataclass: Python assigns `__traceback__` when an
    exception leaves a `@contextmanager`, which a frozen dataclass refuses.
    """

    def __init__(self, overlapping: list[TherapySession]) -> None:
        super().__init__(f"Overlaps {len(overlapping)} other session(s).")
        self.overlapping = overlapping


def _ensure_writable(relationship: CareRelationship, actor: User, refusal: str) -> None:
    """The record is open (the care core's rule) and the actor is the client's own therapist."""
    reason = write_refusal(actor, relationship, not_owner=refusal)
    if reason is not None:
        raise VisitError(reason)


def lock_calendar(therapist: User) -> None:
    """Serialise changes to one therapist's calendar until the transaction ends.

    Two requests that each check for overlaps and then insert would both pass the check when
    they race; taking this row lock first makes the second wait and then see the first's
    sessions (PostgreSQL; SQLite serialises writers anyway). FOR NO KEY UPDATE: it conflicts
    with itself but not with the key-share locks of rows that merely point at the therapist
    (audit events, series, notes), so the therapist's other work doesn't wait for it.
    """
    User.objects.select_for_update(no_key=True).filter(pk=therapist.pk).values_list("pk").first()


def check_session_date(starts_at: datetime, zone: ZoneInfo) -> None:
    """A session's day in the practice's zone is one the calendar shows (lib.fields range),
    whoever schedules it (a form, the API, a series moved)."""
    if not FIRST_DATE <= timezone.localtime(starts_at, zone).date() <= LAST_DATE:
        raise VisitError(OUT_OF_RANGE, field="starts_at")


def _check_session_values(
    *, starts_at: datetime, duration_minutes: int, zone: ZoneInfo, modality: str | None = None
) -> None:
    """The rules the database also enforces, refused with a message instead of a 500 (V4)."""
    if timezone.is_naive(starts_at):
        # A naive time would silently be read as UTC, hours away from the practice's time.
        raise ValueError("starts_at must be timezone-aware (in the practice's time zone).")
    check_session_date(starts_at, zone)
    if not 5 <= duration_minutes <= 480:
        raise VisitError("A session lasts from 5 minutes to 8 hours.", field="duration_minutes")
    if modality is not None and modality not in Modality.values:
        raise VisitError("Choose in person or telehealth.", field="modality")


@transaction.atomic
def session_schedule(
    *,
    relationship: CareRelationship,
    actor: User,
    starts_at: datetime,
    duration_minutes: int,
    modality: str,
    allow_overlap: bool = False,
    audit_context: AuditContext = SYSTEM,
) -> TherapySession:
    """SN-1: schedule a session. Overlaps raise OverlapWarning unless allowed."""
    _ensure_writable(relationship, actor, "Only the client's therapist can schedule sessions.")
    _check_session_values(
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        zone=ZoneInfo(relationship.practice.time_zone),
        modality=modality,
    )
    lock_calendar(relationship.therapist)
    overlaps = overlapping_sessions(
        therapist=relationship.therapist, starts_at=starts_at, duration_minutes=duration_minutes
    )
    if overlaps and not allow_overlap:
        raise OverlapWarning(overlaps)
    session = TherapySession.objects.create(
        relationship=relationship,
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        modality=modality,
        video_room=new_video_room() if modality == Modality.TELEHEALTH else "",
    )
    audit_record(
        action="session.schedule",
        actor=actor,
        audit_context=audit_context,
        client=relationship.client,
        obj=session,
    )
    return session


SESSION_FIELDS = ("starts_at", "duration_minutes", "modality", "status", "mood_score")


#: Outcomes only a session that has started can have.
HAPPENED_OR_MISSED = (SessionStatus.COMPLETED, SessionStatus.NO_SHOW)


@transaction.atomic
def session_update(
    *,
    session: TherapySession,
    actor: User,
    values: dict[str, Any],
    allow_overlap: bool = False,
    audit_context: AuditContext = SYSTEM,
) -> TherapySession:
    relationship = session.relationship
    _ensure_writable(relationship, actor, "Only the client's therapist can update this session.")
    lock_calendar(relationship.therapist)  # first, in the order every calendar change takes
    session = TherapySession.objects.select_for_update().get(pk=session.pk)
    mood = values.get("mood_score")
    if mood is not None and (isinstance(mood, bool) or not isinstance(mood, int)):
        raise VisitError("Mood is scored from 1 to 10.", field="mood_score")
    if mood is not None and not 1 <= mood <= 10:
        raise VisitError("Mood is scored from 1 to 10.", field="mood_score")
    if "status" in values and values["status"] not in SessionStatus.values:
        raise VisitError("Choose a session status.", field="status")
    starts_at = values.get("starts_at", session.starts_at)
    status = values.get("status", session.status)
    changes_outcome = status != session.status or starts_at != session.starts_at
    if status in HAPPENED_OR_MISSED and changes_outcome and starts_at > timezone.now():
        label = SessionStatus(status).label
        if status == session.status:  # moved, not marked
            raise VisitError(
                f"A session marked {label} can't be moved to a time that hasn't come yet.",
                field="starts_at",
            )
        raise VisitError(
            f"This session hasn't started yet: it can be marked {label} once it has.",
            field="status",
        )
    duration = values.get("duration_minutes", session.duration_minutes)
    _check_session_values(
        starts_at=starts_at,
        duration_minutes=duration,
        zone=ZoneInfo(relationship.practice.time_zone),
        modality=values.get("modality"),
    )
    moved = starts_at != session.starts_at or duration != session.duration_minutes
    # A cancelled session set back to taking place claims its time again, as a move does.
    restored = session.status in NOT_TAKING_PLACE and values.get("status", session.status) not in (
        NOT_TAKING_PLACE
    )
    if (moved or restored) and not allow_overlap:
        overlaps = overlapping_sessions(
            therapist=relationship.therapist,
            starts_at=starts_at,
            duration_minutes=duration,
            exclude_id=session.pk,
        )
        if overlaps:
            raise OverlapWarning(overlaps)
    changed = [
        name for name in SESSION_FIELDS if name in values and getattr(session, name) != values[name]
    ]
    for name in changed:
        setattr(session, name, values[name])
    if session.modality == Modality.TELEHEALTH and not session.video_room:
        session.video_room = new_video_room()
        changed.append("video_room")
    if changed:
        session.save(update_fields=changed)
    audit_record(
        action="session.update",
        actor=actor,
        audit_context=audit_context,
        client=relationship.client,
        obj=session,
        detail={"fields": changed},
    )
    return session


def _clean_content(note_format: str, content: dict[str, Any]) -> dict[str, str]:
    """The format's sections from what was sent; a section over the limit is refused whole
    (a silent cut would lose the end of the therapist's text behind a "Draft saved")."""
    cleaned: dict[str, str] = {}
    for key, label, _ in NOTE_SECTIONS[note_format]:
        text = str(content.get(key, "") or "")
        if len(text) > NOTE_SECTION_MAX_LENGTH:
            raise VisitError(
                f"{label} is {len(text):,} characters long; a note section can be at most "
                f"{NOTE_SECTION_MAX_LENGTH:,}. Shorten it: nothing was saved.",
                field=f"section_{key}",
            )
        cleaned[key] = text
    return cleaned


@transaction.atomic
def note_save_draft(
    *,
    session: TherapySession,
    actor: User,
    note_format: str,
    content: dict[str, Any],
    risk_assessment: dict[str, Any] | None = None,
    mental_status: dict[str, Any] | None = None,
    audit_context: AuditContext = SYSTEM,
) -> ProgressNote:
    """SN-2: create or autosave the draft. A signed note refuses every change.

    The risk assessment and mental status exam are optional; None keeps what the draft has.
    """
    relationship = session.relationship
    _ensure_writable(relationship, actor, "Only the client's therapist can write this note.")
    if note_format not in NoteFormat.values:
        raise VisitError("Choose SOAP, DAP, BIRP or free text.", field="format")
    note = ProgressNote.objects.select_for_update().filter(session=session).first()
    created = note is None
    if note is None:
        note = ProgressNote(session=session)
    elif note.is_locked:
        raise VisitError("This note is signed and locked. Add an addendum instead.")
    note.format = note_format
    note.content = _clean_content(note_format, content)
    try:
        if risk_assessment is not None:
            note.risk_assessment = clean_risk(risk_assessment)
        if mental_status is not None:
            note.mental_status = clean_mental_status(mental_status)
    except AssessmentError as error:
        raise VisitError(str(error), field=error.field) from None
    note.save()
    audit_record(
        action="note.create" if created else "note.save_draft",
        actor=actor,
        audit_context=audit_context,
        client=relationship.client,
        obj=note,
    )
    return note


def _lock_note(note: ProgressNote) -> tuple[ProgressNote, CareRelationship]:
    """The stored note, row-locked, with its relationship: decide on that, not a stale copy."""
    locked = (
        ProgressNote.objects.select_for_update(of=("self",))
        .select_related("session__relationship__client", "session__relationship__therapist")
        .get(pk=note.pk)
    )
    return locked, locked.session.relationship


@transaction.atomic
def note_sign(
    *, note: ProgressNote, actor: User, audit_context: AuditContext = SYSTEM
) -> ProgressNote:
    """Sign and lock the note; records who, when, and the SHA-256 of what was signed."""
    note, relationship = _lock_note(note)
    _ensure_writable(relationship, actor, "Only the client's therapist can sign this note.")
    if note.is_locked:
        raise VisitError("This note is already signed.")
    if not any(text.strip() for text in note.content.values()):
        raise VisitError("Write the note before signing it.")
    session = note.session
    if session.starts_at > timezone.now():
        when = timezone.localtime(session.starts_at, ZoneInfo(relationship.practice.time_zone))
        raise VisitError(
            f"This session hasn't happened yet (it starts {when:%-d %b %Y, %H:%M}): sign the "
            "note after the session. You can save it as a draft until then."
        )
    note.status = NoteStatus.SIGNED
    note.signed_by = actor
    note.signed_at = timezone.now()
    note.content_sha256 = note.compute_hash()
    note.save(update_fields=["status", "signed_by", "signed_at", "content_sha256", "updated_at"])
    NoteEvent.objects.create(note=note, actor=actor, kind=NoteEventKind.SIGNED)
    audit_record(
        action="note.sign",
        actor=actor,
        audit_context=audit_context,
        client=relationship.client,
        obj=note,
    )
    return note


@transaction.atomic
def note_save_and_sign(
    *,
    session: TherapySession,
    actor: User,
    note_format: str,
    content: dict[str, Any],
    risk_assessment: dict[str, Any] | None = None,
    mental_status: dict[str, Any] | None = None,
    audit_context: AuditContext = SYSTEM,
) -> ProgressNote:
    """Save what the therapist wrote and sign exactly that: both happen, or neither does."""
    note = note_save_draft(
        session=session,
        actor=actor,
        note_format=note_format,
        content=content,
        risk_assessment=risk_assessment,
        mental_status=mental_status,
        audit_context=audit_context,
    )
    return note_sign(note=note, actor=actor, audit_context=audit_context)


@transaction.atomic
def note_add_addendum(
    *, note: ProgressNote, actor: User, text: str, audit_context: AuditContext = SYSTEM
) -> NoteAddendum:
    # The caller's copy may be stale (sent back meanwhile): decide on the stored row.
    note, relationship = _lock_note(note)
    _ensure_writable(relationship, actor, "Only the client's therapist can add an addendum.")
    if not note.is_locked:
        raise VisitError("Edit the draft directly; addenda are for signed notes.")
    text = text.strip()
    if not text:
        raise VisitError("Write the addendum.", field="text")
    addendum = NoteAddendum.objects.create(note=note, author=actor, text=text[:20000])
    NoteEvent.objects.create(note=note, actor=actor, kind=NoteEventKind.ADDENDUM)
    audit_record(
        action="note.addendum",
        actor=actor,
        audit_context=audit_context,
        client=relationship.client,
        obj=note,
    )
    return addendum


def _ensure_supervisor(actor: User, relationship: CareRelationship) -> None:
    if not is_supervisor_of(actor, relationship):
        raise VisitError("Only the therapist's supervisor can review this note.")


class _NoteTampered(Exception):
    """Raised inside the co-signing transaction so that it rolls back before the failed
    check is recorded."""


def note_cosign(
    *, note: ProgressNote, actor: User, audit_context: AuditContext = SYSTEM
) -> ProgressNote:
    """Co-sign a signed note after checking its content still matches the SHA-256 recorded at
    signing; or, on a co-signed note, co-sign an addendum written since (the history records
    it; the first co-signature stays on the note). A failed check refuses and is audited."""
    try:
        return _note_cosign(note=note, actor=actor, audit_context=audit_context)
    except _NoteTampered:
        relationship = note.session.relationship
        audit_record(
            action="note.integrity_failed",
            actor=actor,
            audit_context=audit_context,
            client=relationship.client,
            obj=note,
            outcome=Outcome.FAILED,
        )
        raise VisitError(TAMPERED) from None


#: Why a note whose content no longer matches its signature can't be co-signed.
TAMPERED = (
    "This note can't be co-signed: its content no longer matches what was signed (the "
    "SHA-256 recorded at signing differs). It was changed outside Caseload; tell the "
    "practice's admin so the change can be investigated."
)


@transaction.atomic
def _note_cosign(*, note: ProgressNote, actor: User, audit_context: AuditContext) -> ProgressNote:
    note, relationship = _lock_note(note)
    _ensure_supervisor(actor, relationship)
    addendum = note.status == NoteStatus.COSIGNED and note_awaits_cosignature(note)
    if note.status != NoteStatus.SIGNED and not addendum:
        raise VisitError("Only a signed note can be co-signed.")
    if not note.verify():
        raise _NoteTampered
    if not addendum:
        note.status = NoteStatus.COSIGNED
        note.cosigned_by = actor
        note.cosigned_at = timezone.now()
        note.save(update_fields=["status", "cosigned_by", "cosigned_at", "updated_at"])
    NoteEvent.objects.create(
        note=note,
        actor=actor,
        kind=NoteEventKind.COSIGNED,
        comment="Addendum reviewed." if addendum else "",
    )
    audit_record(
        action="note.cosign_addendum" if addendum else "note.cosign",
        actor=actor,
        audit_context=audit_context,
        client=relationship.client,
        obj=note,
    )
    return note


@transaction.atomic
def note_send_back(
    *, note: ProgressNote, actor: User, comment: str, audit_context: AuditContext = SYSTEM
) -> ProgressNote:
    """The supervisor returns a signed note to its author with a comment; it unlocks."""
    note, relationship = _lock_note(note)
    _ensure_supervisor(actor, relationship)
    if note.status != NoteStatus.SIGNED:
        raise VisitError("Only a signed note that isn't co-signed can be sent back.")
    comment = comment.strip()
    if not comment:
        raise VisitError("Say what should change.", field="comment")
    ProgressNote.objects.filter(pk=note.pk).update(
        status=NoteStatus.DRAFT,
        signed_by=None,
        signed_at=None,
        content_sha256="",
        updated_at=timezone.now(),
    )
    note.refresh_from_db()
    NoteEvent.objects.create(
        note=note, actor=actor, kind=NoteEventKind.SENT_BACK, comment=comment[:5000]
    )
    audit_record(
        action="note.send_back",
        actor=actor,
        audit_context=audit_context,
        client=relationship.client,
        obj=note,
    )
    return note

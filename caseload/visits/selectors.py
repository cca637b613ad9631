"""Reads for sessions and notes, scoped through the client's care relationship."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from caseload.accounts.models import User
from caseload.clients.models import CareRelationship, CareState
from caseload.lib.expressions import CurrentTime
from caseload.visits.charts import CHART_POINTS
from caseload.visits.models import (
    NOT_TAKING_PLACE,
    NOTE_SECTIONS,
    NoteAddendum,
    NoteEvent,
    NoteEventKind,
    NoteFormat,
    NoteStatus,
    ProgressNote,
    SessionStatus,
    TherapySession,
)

#: Sessions that need a signed note once they are in the past.
NOTE_EXPECTED = (SessionStatus.SCHEDULED, SessionStatus.COMPLETED)
#: Past sessions shown per page of a client's history ("Show earlier" loads the next page).
PAGE_SIZE = 20
#: Upcoming sessions listed on the client's tab; the agenda has the rest.
UPCOMING_SHOWN = 10


def get_session_for_relationship(relationship: CareRelationship, public_id: UUID) -> TherapySession:
    """The session, only if it belongs to this client's relationship (SECURITY A3)."""
    session = (
        TherapySession.objects.filter(relationship=relationship, public_id=public_id)
        .select_related("relationship__client", "relationship__therapist")
        .first()
    )
    if session is None:
        raise Http404("No such session.")
    return session


@dataclass(frozen=True)
class SessionPage:
    """One page of a client's past sessions, newest first."""

    sessions: list[TherapySession]
    #: The cursor of the next (earlier) page: the last shown session's public id; None at the end.
    earlier: UUID | None


def past_sessions_page(
    relationship: CareRelationship,
    *,
    before: UUID | None = None,
    now: datetime | None = None,
    size: int = PAGE_SIZE,
) -> SessionPage:
    """Past sessions newest first, `size` at a time, older than the session `before` (keyset:
    its start time, then its id). A cursor that isn't one of this client's sessions is 404."""
    rows = TherapySession.objects.filter(
        relationship=relationship, starts_at__lt=now or timezone.now()
    )
    if before is not None:
        anchor = (
            TherapySession.objects.filter(relationship=relationship, public_id=before)
            .values_list("starts_at", "pk")
            .first()
        )
        if anchor is None:
            raise Http404("No such session.")
        starts_at, pk = anchor
        rows = rows.filter(Q(starts_at__lt=starts_at) | Q(starts_at=starts_at, pk__lt=pk))
    found = list(rows.select_related("note").order_by("-starts_at", "-pk")[: size + 1])
    shown = found[:size]
    return SessionPage(shown, shown[-1].public_id if len(found) > size else None)


@dataclass(frozen=True)
class UpcomingSessions:
    sessions: list[TherapySession]  # soonest first
    #: The first session not shown (the agenda opens on its week); None when all are shown.
    more_from: TherapySession | None


def upcoming_sessions(
    relationship: CareRelationship, *, now: datetime | None = None, limit: int = UPCOMING_SHOWN
) -> UpcomingSessions:
    found = list(
        TherapySession.objects.filter(
            relationship=relationship, starts_at__gte=now or timezone.now()
        ).order_by("starts_at", "pk")[: limit + 1]
    )
    return UpcomingSessions(found[:limit], found[limit] if len(found) > limit else None)


def mood_series(
    relationship: CareRelationship, *, limit: int = CHART_POINTS
) -> list[tuple[datetime, int]]:
    """The latest `limit` mood scores, oldest first (what the chart draws)."""
    rows = (
        TherapySession.objects.filter(relationship=relationship, mood_score__isnull=False)
        .order_by("-starts_at", "-pk")
        .values_list("starts_at", "mood_score")[:limit]
    )
    return [(starts_at, mood) for starts_at, mood in reversed(rows) if mood is not None]


@dataclass(frozen=True)
class SessionsOverview:
    """The client's sessions at a glance (the Overview tab's card)."""

    next_session: TherapySession | None  # not cancelled
    last_session: TherapySession | None  # whatever its status
    notes_due: int


def sessions_overview(
    relationship: CareRelationship, *, now: datetime | None = None
) -> SessionsOverview:
    """Three queries, whatever the history."""
    now = now or timezone.now()
    sessions = TherapySession.objects.filter(relationship=relationship)
    return SessionsOverview(
        next_session=sessions.filter(starts_at__gte=now)
        .exclude(status__in=NOT_TAKING_PLACE)
        .order_by("starts_at", "pk")
        .first(),
        last_session=sessions.filter(starts_at__lt=now).order_by("-starts_at", "-pk").first(),
        notes_due=sessions.filter(unsigned_past_sessions_q(now)).count(),
    )


def overlapping_sessions(
    *, therapist: User, starts_at: datetime, duration_minutes: int, exclude_id: int | None = None
) -> list[TherapySession]:
    """The therapist's other non-cancelled sessions that overlap this time (any client)."""
    ends_at = starts_at + timedelta(minutes=duration_minutes)
    candidates = (
        TherapySession.objects.filter(
            relationship__therapist=therapist,
            starts_at__lt=ends_at,
            starts_at__gt=starts_at - timedelta(hours=8),
        )
        .exclude(status__in=NOT_TAKING_PLACE)
        .exclude(relationship__state=CareState.ENDED)
        .select_related("relationship__client")
    )
    if exclude_id is not None:
        candidates = candidates.exclude(pk=exclude_id)
    return [session for session in candidates if session.ends_at > starts_at]


def note_for_session(session: TherapySession) -> ProgressNote | None:
    """The session's progress note, if one was started."""
    return (
        ProgressNote.objects.filter(session=session)
        .select_related("signed_by", "cosigned_by")
        .first()
    )


@dataclass(frozen=True)
class SessionNote:
    """A session's note as its page shows it; before the first save, the empty sections of
    the format asked for (SOAP unless a known format is asked for)."""

    note: ProgressNote | None
    format: str
    sections: list[dict[str, str]]
    addenda: list[NoteAddendum]
    events: list[NoteEvent]


def session_note(session: TherapySession, *, requested_format: str | None = None) -> SessionNote:
    note = note_for_session(session)
    if note is not None:
        return SessionNote(
            note=note,
            format=note.format,
            sections=note.sections(),
            addenda=list(note.addenda.select_related("author")),
            events=list(note.events.select_related("actor")),
        )
    note_format = requested_format if requested_format in NoteFormat.values else NoteFormat.SOAP
    sections = [
        {"key": key, "label": label, "prompt": prompt, "text": ""}
        for key, label, prompt in NOTE_SECTIONS[note_format]
    ]
    return SessionNote(note=None, format=note_format, sections=sections, addenda=[], events=[])


def unsigned_past_sessions_q(now: datetime | None = None) -> Q:
    """Past sessions that need a note and have no signed one (needs attention). Without
    `now`, the time is read when the query runs (the list's badge is built once)."""
    signed = ProgressNote.objects.filter(
        session=OuterRef("pk"), status__in=[NoteStatus.SIGNED, NoteStatus.COSIGNED]
    )
    before = now if now is not None else CurrentTime()
    return Q(starts_at__lt=before, status__in=NOTE_EXPECTED) & ~Q(Exists(signed))


def addendum_after_cosignature_q() -> Q:
    """A co-signed note with an addendum written after its latest co-signature: the
    supervisor reviews the addendum too (history events are append-only, ordered by pk)."""
    last_cosigned = (
        NoteEvent.objects.filter(note=OuterRef(OuterRef("pk")), kind=NoteEventKind.COSIGNED)
        .order_by("-pk")
        .values("pk")[:1]
    )
    addendum_after = NoteEvent.objects.filter(
        note=OuterRef("pk"), kind=NoteEventKind.ADDENDUM, pk__gt=Subquery(last_cosigned)
    )
    return Q(status=NoteStatus.COSIGNED) & Q(Exists(addendum_after))


def note_awaits_cosignature(note: ProgressNote) -> bool:
    """Signed and not co-signed, or co-signed with an addendum written since."""
    if note.status == NoteStatus.SIGNED:
        return True
    return ProgressNote.objects.filter(addendum_after_cosignature_q(), pk=note.pk).exists()


def notes_awaiting_cosignature(supervisor: User) -> QuerySet[ProgressNote]:
    """Notes for the supervisor to co-sign: signed ones, and co-signed ones with a new addendum."""
    return (
        ProgressNote.objects.filter(
            Q(status=NoteStatus.SIGNED) | addendum_after_cosignature_q(),
            session__relationship__therapist__membership__supervisor__user=supervisor,
            session__relationship__practice=supervisor.membership.practice,
        )
        .exclude(session__relationship__state=CareState.ENDED)
        .select_related(
            "session__relationship__client", "session__relationship__therapist", "signed_by"
        )
        .order_by("signed_at")
    )


@dataclass(frozen=True)
class AgendaDay:
    day: date
    sessions: list[tuple[datetime, TherapySession]]  # (start in practice time, session)


@dataclass(frozen=True)
class Agenda:
    start: date
    end: date  # exclusive
    sessions: list[TherapySession]
    days: list[AgendaDay]


def therapist_agenda(user: User, *, day: date, span_days: int, tz: ZoneInfo) -> Agenda:
    """The therapist's sessions across all clients for a day or a week, in practice time."""
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = start + timedelta(days=span_days)
    sessions = list(
        TherapySession.objects.filter(
            relationship__therapist=user,
            starts_at__gte=start,
            starts_at__lt=end,
        )
        .exclude(relationship__state=CareState.ENDED)
        .select_related("relationship__client", "note")
        .order_by("starts_at")
    )
    local = [(timezone.localtime(session.starts_at, tz), session) for session in sessions]
    days = [
        AgendaDay(
            day=day + timedelta(days=offset),
            sessions=[entry for entry in local if entry[0].date() == day + timedelta(days=offset)],
        )
        for offset in range(span_days)
    ]
    return Agenda(start=day, end=day + timedelta(days=span_days), sessions=sessions, days=days)

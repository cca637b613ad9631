"""Recurring sessions (SCH-1): create a series, edit or cancel "this and following".

A series is expanded up front with dateutil's rrule, in the practice's time zone on naive
wall-clock times, so a weekly 10:00 session stays at 10:00 across a daylight-saving change.
Every session of a series is an ordinary `visits.TherapySession`; "this session" edits go
through `visits.services.session_update` like any other session.

"This and following" (decision 0033): the edited session and the later sessions of its series
that are still scheduled and have no note are *moved* in place to the new time, duration and
modality and linked to a new series (`previous` = the old one); the old series ends the day
before the edited session. Nothing is deleted, so a session keeps its id, its booking request
and its reminders (which follow its new start). Sessions with a note, or no longer scheduled
(completed, cancelled, no-show), stay where they are, in the old series.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import MONTHLY, WEEKLY, rrule, weekday
from django.db import transaction
from django.utils import timezone

from caseload.accounts.models import User
from caseload.audit.services import audit_record
from caseload.clients.access import write_refusal
from caseload.clients.models import CareRelationship
from caseload.lib.fields import LAST_DATE
from caseload.lib.http import SYSTEM, AuditContext
from caseload.scheduling.availability import Interval, busy_sessions, care_zone
from caseload.scheduling.models import (
    MAX_OCCURRENCES,
    Frequency,
    SeriesOccurrence,
    SessionSeries,
)
from caseload.visits.models import Modality, SessionStatus, TherapySession, new_video_room
from caseload.visits.services import (
    OverlapWarning,
    VisitError,
    check_session_date,
    lock_calendar,
)


class SeriesOverlapWarning(OverlapWarning):
    """Some sessions of the series overlap the therapist's other sessions; `dates` lists the
    local dates that clash. Schedule anyway if intended."""

    def __init__(self, overlapping: list[TherapySession], dates: list[date]) -> None:
        super().__init__(overlapping)
        self.dates = dates

    def __str__(self) -> str:
        days = ", ".join(f"{day:%a %-d %b %Y}" for day in self.dates)
        return f"These dates overlap other sessions: {days}."


def nth_weekday(day: date) -> int:
    """Which weekday of its month `day` is: 1 to 4, or -1 (the last) for a fifth one, so that
    a series from a 5th Tuesday meets every month on the last Tuesday."""
    nth = (day.day - 1) // 7 + 1
    return -1 if nth == 5 else nth


def expand(
    *,
    starts_at: datetime,
    zone: ZoneInfo,
    frequency: str,
    until: date | None = None,
    count: int | None = None,
) -> list[datetime]:
    """The starts of a series' sessions (aware, in `zone`), the first one included.

    Expanded on wall-clock times, so every session starts at the first one's local time. A
    time that the clocks skip on a spring-forward day is read as the time before the change
    (02:30 becomes 03:30 summer time). Refuses more than MAX_OCCURRENCES sessions.
    """
    local = timezone.localtime(starts_at, zone).replace(tzinfo=None)
    options: dict[str, Any] = {"dtstart": local}
    if frequency == Frequency.WEEKLY:
        options.update(freq=WEEKLY, interval=1)
    elif frequency == Frequency.EVERY_TWO_WEEKS:
        options.update(freq=WEEKLY, interval=2)
    elif frequency == Frequency.MONTHLY_BY_WEEKDAY:
        options.update(freq=MONTHLY, byweekday=weekday(local.weekday(), nth_weekday(local.date())))
    else:
        raise VisitError("Choose how often the session repeats.", field="frequency")
    if count is not None:
        options["count"] = min(count, MAX_OCCURRENCES + 1)
    if until is not None:
        options["until"] = datetime.combine(until, time.max)
    if count is None and until is None:
        raise VisitError("Choose when the series ends.", field="ends")
    starts = []
    for occurrence in rrule(**options):
        if occurrence.date() > LAST_DATE:
            raise VisitError(
                f"The series would run past {LAST_DATE:%-d %B %Y}; choose an earlier end.",
                field="until" if count is None else "count",
            )
        starts.append(occurrence.replace(tzinfo=zone))
        if len(starts) > MAX_OCCURRENCES:
            raise VisitError(
                f"A series has at most {MAX_OCCURRENCES} sessions; choose an earlier end.",
                field="until" if count is None else "count",
            )
    return starts


def _check_values(
    *, starts_at: datetime, duration_minutes: int, modality: str, frequency: str | None = None
) -> None:
    if timezone.is_naive(starts_at):
        raise ValueError("starts_at must be timezone-aware (in the practice's time zone).")
    if not 5 <= duration_minutes <= 480:
        raise VisitError("A session lasts from 5 minutes to 8 hours.", field="duration_minutes")
    if modality not in Modality.values:
        raise VisitError("Choose in person or telehealth.", field="modality")
    if frequency is not None and frequency not in Frequency.values:
        raise VisitError("Choose how often the session repeats.", field="frequency")


def _check_end(*, first: date, until: date | None, count: int | None) -> None:
    if (until is None) == (count is None):
        raise VisitError("End the series on a date or after a number of sessions.", field="ends")
    if count is not None and not 1 <= count <= MAX_OCCURRENCES:
        raise VisitError(f"A series has from 1 to {MAX_OCCURRENCES} sessions.", field="count")
    if until is not None and until < first:
        raise VisitError("The series can't end before its first session.", field="until")


def _clashes(
    therapist: User,
    starts: list[tuple[datetime, int]],
    *,
    zone: ZoneInfo,
    exclude_ids: tuple[int, ...] = (),
) -> tuple[list[TherapySession], list[date]]:
    """The therapist's other sessions that overlap any of `starts` ((start, minutes) pairs),
    and the local dates that clash. One query for the whole series (the same rule as
    `availability.conflicts_for`'s sessions)."""
    if not starts:
        return [], []
    first = min(start for start, _ in starts)
    last = max(start + timedelta(minutes=minutes) for start, minutes in starts)
    busy = busy_sessions(therapist, starts_at=first, ends_at=last, exclude_ids=exclude_ids)
    overlapping: dict[int, TherapySession] = {}
    dates: list[date] = []
    for start, minutes in starts:
        wanted = Interval(start, start + timedelta(minutes=minutes))
        hit = [other for other in busy if wanted.overlaps(other.starts_at, other.ends_at)]
        if hit:
            dates.append(timezone.localtime(start, zone).date())
            overlapping.update((other.pk, other) for other in hit)
    return list(overlapping.values()), dates


def _ensure_writable(relationship: CareRelationship, actor: User) -> None:
    reason = write_refusal(
        actor, relationship, not_owner="Only the client's therapist can schedule sessions."
    )
    if reason is not None:
        raise VisitError(reason)


@transaction.atomic
def series_create(
    *,
    relationship: CareRelationship,
    actor: User,
    starts_at: datetime,
    duration_minutes: int,
    modality: str,
    frequency: str,
    until: date | None = None,
    count: int | None = None,
    allow_overlap: bool = False,
    audit_context: AuditContext = SYSTEM,
) -> SessionSeries:
    """Create a series and all its sessions at once, or nothing. Sessions that would overlap
    the therapist's others raise `SeriesOverlapWarning` (listing the dates) unless allowed."""
    _ensure_writable(relationship, actor)
    _check_values(
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        modality=modality,
        frequency=frequency,
    )
    therapist = relationship.therapist
    zone = care_zone(relationship)
    _check_end(first=timezone.localtime(starts_at, zone).date(), until=until, count=count)
    lock_calendar(therapist)  # first: a racing request waits here, then sees these sessions
    starts = expand(starts_at=starts_at, zone=zone, frequency=frequency, until=until, count=count)
    overlapping, dates = _clashes(
        therapist, [(start, duration_minutes) for start in starts], zone=zone
    )
    if overlapping and not allow_overlap:
        raise SeriesOverlapWarning(overlapping, dates)
    series = SessionSeries.objects.create(
        relationship=relationship,
        frequency=frequency,
        starts_at=starts[0],
        time_zone=zone.key,
        duration_minutes=duration_minutes,
        modality=modality,
        until=until,
        count=count,
        created_by=actor,
    )
    for position, start in enumerate(starts, start=1):
        session = TherapySession.objects.create(
            relationship=relationship,
            starts_at=start,
            duration_minutes=duration_minutes,
            modality=modality,
            video_room=new_video_room() if modality == Modality.TELEHEALTH else "",
        )
        SeriesOccurrence.objects.create(series=series, session=session, position=position)
    audit_record(
        action="series.create",
        actor=actor,
        audit_context=audit_context,
        client=relationship.client,
        obj=series,
        detail={"frequency": frequency, "sessions": len(starts)},
    )
    return series


def _occurrence_of(session: TherapySession) -> SeriesOccurrence:
    occurrence = (
        SeriesOccurrence.objects.select_for_update(of=("self",))
        .select_related("series")
        .filter(session_id=session.pk)
        .first()
    )
    if occurrence is None:
        raise VisitError("This session is not part of a series.")
    return occurrence


def _movable_following(occurrence: SeriesOccurrence) -> list[TherapySession]:
    """The series' sessions from this one on that are still scheduled and have no note."""
    return list(
        TherapySession.objects.select_for_update(of=("self",))
        .filter(
            series_occurrence__series=occurrence.series,
            series_occurrence__position__gte=occurrence.position,
            status=SessionStatus.SCHEDULED,
            note__isnull=True,
        )
        .order_by("starts_at")
    )


def _end_before(series: SessionSeries, day: date) -> None:
    """End `series` the day before `day` (its sessions from then on left it or were cancelled)."""
    series.until = day - timedelta(days=1)
    series.count = None
    series.save(update_fields=["until", "count"])


@transaction.atomic
def series_update_following(
    *,
    session: TherapySession,
    actor: User,
    values: dict[str, Any],
    allow_overlap: bool = False,
    audit_context: AuditContext = SYSTEM,
) -> SessionSeries:
    """Move this session and the series' later ones: `values` may hold `starts_at` (this
    session's new start: the later ones shift by the same number of days, to the same
    wall-clock time), `duration_minutes` and `modality`. Returns the new series."""
    relationship = session.relationship
    _ensure_writable(relationship, actor)
    therapist = relationship.therapist
    zone = care_zone(relationship)
    lock_calendar(therapist)
    occurrence = _occurrence_of(session)
    old = occurrence.series
    session = TherapySession.objects.select_for_update().get(pk=session.pk)
    if session.starts_at < timezone.now() or session.status != SessionStatus.SCHEDULED:
        raise VisitError("Only a scheduled session that is still ahead can move its series.")
    new_start = values.get("starts_at", session.starts_at)
    duration = values.get("duration_minutes", session.duration_minutes)
    modality = values.get("modality", session.modality)
    _check_values(starts_at=new_start, duration_minutes=duration, modality=modality)
    old_local = timezone.localtime(session.starts_at, zone)
    new_local = timezone.localtime(new_start, zone)
    day_shift = new_local.date() - old_local.date()
    following = [item for item in _movable_following(occurrence) if item.pk != session.pk]
    moving = [session, *following]
    targets = [new_start] + [
        datetime.combine(
            timezone.localtime(item.starts_at, zone).date() + day_shift,
            new_local.time(),
            tzinfo=zone,
        )
        for item in following
    ]
    overlapping, dates = _clashes(
        therapist,
        [(start, duration) for start in targets],
        zone=zone,
        exclude_ids=tuple(item.pk for item in moving),
    )
    for start in targets:  # the later ones shift too: none may leave the calendar's range
        check_session_date(start, zone)
    if overlapping and not allow_overlap:
        raise SeriesOverlapWarning(overlapping, dates)
    last_local = timezone.localtime(targets[-1], zone).date()
    new = SessionSeries.objects.create(
        relationship=relationship,
        frequency=old.frequency,
        starts_at=new_start,
        time_zone=zone.key,
        duration_minutes=duration,
        modality=modality,
        until=max(old.until, last_local) if old.until is not None else None,
        count=len(moving) if old.until is None else None,
        previous=old,
        created_by=actor,
    )
    _end_before(old, old_local.date())
    for item, start in zip(moving, targets, strict=True):
        item.starts_at = start
        item.duration_minutes = duration
        item.modality = modality
        fields = ["starts_at", "duration_minutes", "modality"]
        if modality == Modality.TELEHEALTH and not item.video_room:
            item.video_room = new_video_room()
            fields.append("video_room")
        item.save(update_fields=fields)
    # Re-link: positions in the new series follow the order of the moved sessions.
    SeriesOccurrence.objects.filter(session__in=moving).delete()
    SeriesOccurrence.objects.bulk_create(
        SeriesOccurrence(series=new, session=item, position=position)
        for position, item in enumerate(moving, start=1)
    )
    audit_record(
        action="series.update_following",
        actor=actor,
        audit_context=audit_context,
        client=relationship.client,
        obj=new,
        detail={"previous": str(old.public_id), "sessions": len(moving)},
    )
    return new


@transaction.atomic
def series_cancel_following(
    *, session: TherapySession, actor: User, audit_context: AuditContext = SYSTEM
) -> int:
    """Cancel this session and the series' later ones that are ahead, still scheduled and
    without a note; past and noted sessions are never touched. Returns how many."""
    relationship = session.relationship
    _ensure_writable(relationship, actor)
    therapist = relationship.therapist
    lock_calendar(therapist)
    occurrence = _occurrence_of(session)
    now = timezone.now()
    cancelled = [item for item in _movable_following(occurrence) if item.starts_at >= now]
    for item in cancelled:
        item.status = SessionStatus.CANCELLED
        item.save(update_fields=["status"])
    _end_before(
        occurrence.series, timezone.localtime(session.starts_at, care_zone(relationship)).date()
    )
    audit_record(
        action="series.cancel_following",
        actor=actor,
        audit_context=audit_context,
        client=relationship.client,
        obj=occurrence.series,
        detail={"sessions": len(cancelled)},
    )
    return len(cancelled)

"""A clinician's time: working hours, blocked times, what is busy, what is free (SCH-1, SCH-2).

Everything here reads; the services that change working hours and blocked times live in
`scheduling.services`. Times are aware datetimes; working hours are wall-clock times in the
practice's time zone, so a 09:00 start stays 09:00 across a daylight-saving change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from caseload.accounts.models import User
from caseload.clients.access import RECORD_OPEN_STATES
from caseload.clients.models import CareRelationship, CareState
from caseload.scheduling.models import BlockedTime, BookingRequest, BookingStatus, WorkingHours
from caseload.visits.models import NOT_TAKING_PLACE, TherapySession

#: Free slots a client is offered start on this grid from the start of each working span.
SLOT_STEP = timedelta(minutes=60)


@dataclass(frozen=True)
class Interval:
    starts_at: datetime
    ends_at: datetime

    def overlaps(self, starts_at: datetime, ends_at: datetime) -> bool:
        return self.starts_at < ends_at and starts_at < self.ends_at


@dataclass(frozen=True)
class Conflicts:
    """What a proposed time runs into: shown as a warning when scheduling."""

    sessions: list[TherapySession] = field(default_factory=list)
    blocked: list[BlockedTime] = field(default_factory=list)
    outside_working_hours: bool = False
    #: Clients' booking requests awaiting approval at this time: scheduling over one leaves
    #: the therapist able only to decline it.
    requests: list[BookingRequest] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.sessions or self.blocked or self.outside_working_hours or self.requests)

    @property
    def messages(self) -> list[str]:
        """Plain sentences for the warning; no client names (the form may be shown to staff
        who don't see every client)."""
        found = []
        if self.sessions:
            count = len(self.sessions)
            found.append(f"Overlaps {count} other session{'s' if count != 1 else ''}.")
        if self.blocked:
            found.append("Falls in blocked time.")
        if self.outside_working_hours:
            found.append("Outside working hours.")
        if self.requests:
            found.append(
                "A client has asked for this time and is awaiting your approval (see Booking "
                "requests on the home page)."
            )
        return found


def care_zone(relationship: CareRelationship) -> ZoneInfo:
    """The time zone of the care's practice: scheduling's zone wherever a care is at hand
    (`zone_of` otherwise), so a client's page and the service behind it agree on "today"."""
    return ZoneInfo(relationship.practice.time_zone)


def zone_of(clinician: User) -> ZoneInfo:
    """The clinician's practice time zone (UTC for an account without a practice), for the
    clinician's own calendar and availability, where no care is at hand."""
    membership = getattr(clinician, "membership", None)
    return ZoneInfo(membership.practice.time_zone if membership else "UTC")


@dataclass(frozen=True)
class SessionTime:
    """A session's start as the practice reads it: the one wording of a time in emails and
    messages ("Monday 4 January 2027, 14:00")."""

    local: datetime  # aware, in the practice's zone
    zone: ZoneInfo

    @property
    def date(self) -> str:
        return f"{self.local:%A %-d %B %Y}"

    @property
    def time(self) -> str:
        return f"{self.local:%H:%M}"

    def __str__(self) -> str:
        return f"{self.date}, {self.time}"

    def as_context(self) -> dict[str, str]:
        """For email templates: `date`, `time` and the zone's name."""
        return {"date": self.date, "time": self.time, "zone": str(self.zone)}


def session_time(starts_at: datetime, zone: ZoneInfo) -> SessionTime:
    return SessionTime(local=timezone.localtime(starts_at, zone), zone=zone)


def working_spans(clinician: User, *, first_day: date, days: int, zone: ZoneInfo) -> list[Interval]:
    """The clinician's working hours on each day of the range, as aware intervals."""
    hours = list(WorkingHours.objects.filter(clinician=clinician).order_by("weekday", "start"))
    spans = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        for entry in hours:
            if entry.weekday == day.weekday():
                spans.append(
                    Interval(
                        datetime.combine(day, entry.start, tzinfo=zone),
                        datetime.combine(day, entry.end, tzinfo=zone),
                    )
                )
    return spans


def busy_sessions(
    clinician: User, *, starts_at: datetime, ends_at: datetime, exclude_ids: tuple[int, ...] = ()
) -> list[TherapySession]:
    """The clinician's sessions that take place and touch the range (any client)."""
    return [
        session
        for session in TherapySession.objects.filter(
            relationship__therapist=clinician,
            starts_at__lt=ends_at,
            starts_at__gt=starts_at - timedelta(hours=8),  # the longest session
        )
        .exclude(status__in=NOT_TAKING_PLACE)
        .exclude(relationship__state=CareState.ENDED)
        .exclude(pk__in=exclude_ids)
        .order_by("starts_at")
        if session.ends_at > starts_at
    ]


def pending_requests(
    clinician: User, *, starts_at: datetime, ends_at: datetime
) -> list[BookingRequest]:
    """Requests to the clinician awaiting approval, still to come, that touch the range."""
    return [
        booking
        for booking in BookingRequest.objects.filter(
            relationship__therapist=clinician,
            relationship__state__in=RECORD_OPEN_STATES,  # those the home page lists
            status=BookingStatus.PENDING,
            starts_at__lt=ends_at,
            starts_at__gt=max(starts_at - timedelta(hours=8), timezone.now()),
        ).order_by("starts_at")
        if booking.starts_at + timedelta(minutes=booking.duration_minutes) > starts_at
    ]


def blocked_times(clinician: User, *, starts_at: datetime, ends_at: datetime) -> list[BlockedTime]:
    return list(
        BlockedTime.objects.filter(
            clinician=clinician, starts_at__lt=ends_at, ends_at__gt=starts_at
        ).order_by("starts_at")
    )


def conflicts_for(
    clinician: User,
    *,
    starts_at: datetime,
    duration_minutes: int,
    exclude_ids: tuple[int, ...] = (),
) -> Conflicts:
    """What a session at this time would run into. Working hours count only once the clinician
    has set some: without any, every time is a working time."""
    ends_at = starts_at + timedelta(minutes=duration_minutes)
    zone = zone_of(clinician)
    local_start = timezone.localtime(starts_at, zone)
    outside = False
    if WorkingHours.objects.filter(clinician=clinician).exists():
        spans = working_spans(clinician, first_day=local_start.date(), days=1, zone=zone)
        outside = not any(span.starts_at <= starts_at and ends_at <= span.ends_at for span in spans)
    return Conflicts(
        sessions=busy_sessions(
            clinician, starts_at=starts_at, ends_at=ends_at, exclude_ids=exclude_ids
        ),
        blocked=blocked_times(clinician, starts_at=starts_at, ends_at=ends_at),
        outside_working_hours=outside,
        requests=pending_requests(clinician, starts_at=starts_at, ends_at=ends_at),
    )


def free_slots(
    clinician: User,
    *,
    first_day: date,
    days: int,
    duration_minutes: int,
    not_before: datetime | None = None,
    also_busy: list[Interval] | None = None,
) -> list[datetime]:
    """Starts of free slots of `duration_minutes` inside working hours, on the `SLOT_STEP` grid,
    clear of sessions, blocked times and `also_busy` (e.g. other clients' pending requests),
    and not before `not_before` (default: now). Two queries and one for the hours, whatever the
    range."""
    zone = zone_of(clinician)
    not_before = not_before or timezone.now()
    spans = working_spans(clinician, first_day=first_day, days=days, zone=zone)
    if not spans:
        return []
    range_start, range_end = spans[0].starts_at, spans[-1].ends_at
    busy = [
        Interval(session.starts_at, session.ends_at)
        for session in busy_sessions(clinician, starts_at=range_start, ends_at=range_end)
    ]
    busy += [
        Interval(block.starts_at, block.ends_at)
        for block in blocked_times(clinician, starts_at=range_start, ends_at=range_end)
    ]
    busy += also_busy or []
    length = timedelta(minutes=duration_minutes)
    slots = []
    for span in spans:
        # Step in wall-clock time, so slots stay on the hour on a daylight-saving day.
        local = span.starts_at
        while local + length <= span.ends_at:
            start = local.astimezone(ZoneInfo("UTC"))
            end = start + length
            if start >= not_before and not any(item.overlaps(start, end) for item in busy):
                slots.append(start)
            local = local + SLOT_STEP
    return slots


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The first instant of `day` and of the next day in `zone` (23 or 25 hours apart on a
    daylight-saving day)."""
    return (
        datetime.combine(day, time.min, tzinfo=zone),
        datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone),
    )

"""Reads for the calendar (SCH-1): whose calendar a user may open, and a day, week or month of
it laid out in the practice's time zone.

What a viewer sees of each session follows the clients gate (`access_for`): a client they may
read shows with name and link; any other is "Busy". Booking requests still awaiting approval
are drawn too, dashed, so the therapist sees the time a client is waiting for. The queries are
a fixed number whatever the number of sessions (the week view's query-count test holds it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404
from django.utils import timezone

from caseload.accounts.models import User
from caseload.clients.access import RECORD_OPEN_STATES, access_for
from caseload.clients.models import CareState, Invitation, InvitationKind
from caseload.lib.fields import FIRST_DATE, LAST_DATE
from caseload.practices.models import Membership, Role
from caseload.scheduling.availability import (
    Interval,
    blocked_times,
    day_bounds,
    working_spans,
    zone_of,
)
from caseload.scheduling.models import BlockedTime, BookingRequest, BookingStatus
from caseload.visits.models import NOT_TAKING_PLACE, TherapySession

VIEWS = ("day", "week", "month")
#: The week grid's default hours; a session outside them extends the grid.
GRID_FIRST_HOUR = 7
GRID_LAST_HOUR = 21
#: The grid's rows are this many minutes.
SLOT_MINUTES = 15
#: Session times listed in a month view's day.
MONTH_DAY_SHOWN = 3
#: Years the calendar opens: those a session can take (a typo'd year answers 400).
YEARS = (FIRST_DATE.year, LAST_DATE.year)


# Whose calendar ---------------------------------------------------------------------------
def clinicians_for(user: User) -> QuerySet[User]:
    """The clinicians whose calendar `user` may open: a therapist their own; a supervisor
    their own and their supervisees'; a practice admin every clinician of the practice."""
    membership = getattr(user, "membership", None)
    if membership is None:
        return User.objects.none()
    clinicians = Membership.objects.filter(
        practice_id=membership.practice_id, role__in=[Role.THERAPIST, Role.SUPERVISOR]
    )
    if membership.role == Role.SUPERVISOR:
        clinicians = clinicians.filter(pk=membership.pk) | clinicians.filter(
            supervisor_id=membership.pk
        )
    elif membership.role != Role.ADMIN:
        clinicians = clinicians.filter(pk=membership.pk)
    return User.objects.filter(pk__in=clinicians.values("user_id")).order_by("full_name", "pk")


def calendar_owner(user: User, clinician_id: str | None) -> User:
    """The clinician asked for (`clinician=` public id), or the user themselves; anyone the
    user may not see answers 404. A practice admin without a choice gets the first one."""
    choices = clinicians_for(user)
    if not clinician_id:
        if user.membership.role != Role.ADMIN:
            return user
        first = choices.select_related("membership__practice").first()
        if first is None:
            raise Http404("No clinicians in this practice yet.")
        return first
    try:
        UUID(clinician_id)
    except ValueError:
        raise Http404("No such clinician.") from None
    found = choices.select_related("membership__practice").filter(public_id=clinician_id).first()
    if found is None:
        raise Http404("No such clinician.")
    return found


# Which days --------------------------------------------------------------------------------
def period(view: str, day: date) -> tuple[date, int]:
    """The first day shown and how many days: a day; the week (Monday first); the month's
    weeks, Monday before the 1st to Sunday after the last."""
    if view == "day":
        return day, 1
    if view == "week":
        return day - timedelta(days=day.weekday()), 7
    first = day.replace(day=1)
    next_month = (first + timedelta(days=32)).replace(day=1)
    start = first - timedelta(days=first.weekday())
    end = next_month + timedelta(days=(7 - next_month.weekday()) % 7)
    return start, (end - start).days


def step(view: str, day: date, direction: int) -> date:
    """The day the previous (-1) or next (1) period opens on."""
    if view == "day":
        return day + timedelta(days=direction)
    if view == "week":
        return day - timedelta(days=day.weekday()) + timedelta(weeks=direction)
    month = day.month - 1 + direction
    return date(day.year + month // 12, month % 12 + 1, 1)


# What is in them ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Entry:
    """One session as the viewer may see it."""

    session: TherapySession
    local_start: datetime
    local_end: datetime
    readable: bool  # name and link shown; otherwise "Busy"
    in_series: bool

    @property
    def taking_place(self) -> bool:
        return self.session.status not in NOT_TAKING_PLACE

    @property
    def label(self) -> str:
        return self.session.relationship.client_name if self.readable else "Busy"


@dataclass(frozen=True)
class RequestEntry:
    """A client's booking request awaiting approval, as the viewer may see it."""

    booking: BookingRequest
    local_start: datetime
    local_end: datetime
    readable: bool  # the client's name shown; otherwise "Session request"

    @property
    def label(self) -> str:
        return self.booking.relationship.client_name if self.readable else "Session request"


@dataclass(frozen=True)
class Placed:
    """Something drawn on the grid: its rows (1-based from the grid's first slot)."""

    row: int
    span: int


@dataclass
class Day:
    day: date
    entries: list[Entry] = field(default_factory=list)
    blocked: list[tuple[BlockedTime, Interval]] = field(default_factory=list)
    working: list[Interval] = field(default_factory=list)
    placed_entries: list[tuple[Entry, Placed]] = field(default_factory=list)
    placed_blocked: list[tuple[BlockedTime, Placed]] = field(default_factory=list)
    placed_working: list[Placed] = field(default_factory=list)
    requests: list[RequestEntry] = field(default_factory=list)
    placed_requests: list[tuple[RequestEntry, Placed]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(1 for entry in self.entries if entry.taking_place)

    @property
    def first_entries(self) -> list[Entry]:
        return self.entries[:MONTH_DAY_SHOWN]

    @property
    def more(self) -> int:
        return max(0, len(self.entries) - MONTH_DAY_SHOWN)


@dataclass
class Calendar:
    clinician: User
    zone: ZoneInfo
    view: str
    chosen: date
    first_day: date
    days: list[Day]
    first_hour: int = GRID_FIRST_HOUR
    last_hour: int = GRID_LAST_HOUR
    hours: list[int] = field(default_factory=list)

    @property
    def hour_rows(self) -> list[tuple[int, int]]:
        """Each grid hour and its first row."""
        per_hour = 60 // SLOT_MINUTES
        return [(hour, index * per_hour + 1) for index, hour in enumerate(self.hours)]

    @property
    def rows(self) -> int:
        return len(self.hours) * 60 // SLOT_MINUTES

    @property
    def session_count(self) -> int:
        return sum(len(day.entries) for day in self.days)

    @property
    def weeks(self) -> list[list[Day]]:
        return [self.days[index : index + 7] for index in range(0, len(self.days), 7)]


#: What the gate needs to decide a row's relationship without another query.
_GATE_RELATED = (
    "relationship__client__guardianship",
    "relationship__therapist__membership__supervisor",
)


def _awaiting_reconnection() -> Exists:
    return Exists(
        Invitation.objects.outstanding().filter(
            kind=InvitationKind.CONNECTION,
            relationship=OuterRef("relationship"),
            relationship__state=CareState.ARCHIVED,
        )
    )


def _sessions(clinician: User, starts_at: datetime, ends_at: datetime) -> list[TherapySession]:
    """The clinician's sessions in the range (any status; not of ended relationships), with
    what the gate needs to decide each one without another query."""
    rows = (
        TherapySession.objects.filter(
            relationship__therapist=clinician, starts_at__gte=starts_at, starts_at__lt=ends_at
        )
        .exclude(relationship__state=CareState.ENDED)
        .select_related(*_GATE_RELATED, "series_occurrence")
        .annotate(awaiting_reconnection=Exists(_awaiting_reconnection()))
        .order_by("starts_at", "pk")
    )
    sessions: list[TherapySession] = list(rows)
    for session in sessions:
        session.relationship.restore_pending = session.awaiting_reconnection  # type: ignore[attr-defined]
    return sessions


def _requests(clinician: User, starts_at: datetime, ends_at: datetime) -> list[BookingRequest]:
    """Requests to the clinician awaiting approval in the range, their time still to come
    (passed ones expire), with what the gate needs."""
    rows = (
        BookingRequest.objects.filter(
            relationship__therapist=clinician,
            status=BookingStatus.PENDING,
            starts_at__gte=max(starts_at, timezone.now()),
            starts_at__lt=ends_at,
            # As on the home page, where they are answered: records open for writing.
            relationship__state__in=RECORD_OPEN_STATES,
        )
        .select_related(*_GATE_RELATED)
        .annotate(awaiting_reconnection=_awaiting_reconnection())
        .order_by("starts_at", "pk")
    )
    found: list[BookingRequest] = list(rows)
    for booking in found:
        booking.relationship.restore_pending = booking.awaiting_reconnection  # type: ignore[attr-defined]
    return found


def _in_series(session: TherapySession) -> bool:
    try:
        return session.series_occurrence is not None
    except TherapySession.series_occurrence.RelatedObjectDoesNotExist:
        return False


def calendar_for(viewer: User, clinician: User, *, view: str, day: date) -> Calendar:
    """The period of `clinician`'s calendar around `day`, as `viewer` may see it. Five queries
    (sessions, booking requests, working hours, blocked times, plus the practice), whatever
    the sessions."""
    zone = zone_of(clinician)
    first_day, count = period(view, day)
    starts_at = datetime.combine(first_day, time.min, tzinfo=zone)
    ends_at = datetime.combine(first_day + timedelta(days=count), time.min, tzinfo=zone)
    dates = [first_day + timedelta(days=offset) for offset in range(count)]
    days = {one: Day(one) for one in dates}
    for session in _sessions(clinician, starts_at, ends_at):
        local = timezone.localtime(session.starts_at, zone)
        entry = Entry(
            session=session,
            local_start=local,
            local_end=timezone.localtime(session.ends_at, zone),
            readable=access_for(viewer, session.relationship).can_read,
            in_series=_in_series(session),
        )
        days[local.date()].entries.append(entry)
    for booking in _requests(clinician, starts_at, ends_at):
        local = timezone.localtime(booking.starts_at, zone)
        days[local.date()].requests.append(
            RequestEntry(
                booking=booking,
                local_start=local,
                local_end=timezone.localtime(
                    booking.starts_at + timedelta(minutes=booking.duration_minutes), zone
                ),
                readable=access_for(viewer, booking.relationship).can_read,
            )
        )
    for block in blocked_times(clinician, starts_at=starts_at, ends_at=ends_at):
        for one in days.values():
            bounds = Interval(*day_bounds(one.day, zone))
            if bounds.overlaps(block.starts_at, block.ends_at):
                clipped = Interval(
                    max(block.starts_at, bounds.starts_at), min(block.ends_at, bounds.ends_at)
                )
                one.blocked.append((block, clipped))
    for span in working_spans(clinician, first_day=first_day, days=count, zone=zone):
        days[span.starts_at.date()].working.append(span)
    result = Calendar(
        clinician=clinician,
        zone=zone,
        view=view,
        chosen=day,
        first_day=first_day,
        days=list(days.values()),
    )
    if view != "month":
        _lay_out(result)
    return result


def _minutes(moment: datetime, day: date, zone: ZoneInfo) -> int:
    """Wall-clock minutes of `moment` since `day`'s midnight (1440 for the next midnight)."""
    local = timezone.localtime(moment, zone)
    if local.date() > day:
        return 24 * 60
    return local.hour * 60 + local.minute


def _lay_out(calendar: Calendar) -> None:
    """Place sessions, blocked times and working hours on the grid of wall-clock slots; the
    grid's hours grow to hold every session."""
    zone = calendar.zone
    first, last = GRID_FIRST_HOUR * 60, GRID_LAST_HOUR * 60
    for day in calendar.days:
        drawn: list[Entry | RequestEntry] = [*day.entries, *day.requests]
        for entry in drawn:
            start = _minutes(entry.local_start, day.day, zone)
            first = min(first, start)
            last = max(last, max(start + SLOT_MINUTES, _minutes(entry.local_end, day.day, zone)))
    calendar.first_hour = first // 60
    calendar.last_hour = min(24, math.ceil(last / 60))
    calendar.hours = list(range(calendar.first_hour, calendar.last_hour))
    grid_start, grid_end = calendar.first_hour * 60, calendar.last_hour * 60

    def place(start: int, end: int) -> Placed | None:
        start, end = max(start, grid_start), min(end, grid_end)
        if end <= start:
            return None
        row = (start - grid_start) // SLOT_MINUTES + 1
        span = max(1, math.ceil((end - grid_start) / SLOT_MINUTES) + 1 - row)
        return Placed(row=row, span=span)

    for day in calendar.days:
        for entry in day.entries:
            start = _minutes(entry.local_start, day.day, zone)
            end = max(start + SLOT_MINUTES, _minutes(entry.local_end, day.day, zone))
            placed = place(start, end)
            if placed is not None:
                day.placed_entries.append((entry, placed))
        for request in day.requests:
            start = _minutes(request.local_start, day.day, zone)
            placed = place(
                start, max(start + SLOT_MINUTES, _minutes(request.local_end, day.day, zone))
            )
            if placed is not None:
                day.placed_requests.append((request, placed))
        for block, interval in day.blocked:
            placed = place(
                _minutes(interval.starts_at, day.day, zone),
                _minutes(interval.ends_at, day.day, zone),
            )
            if placed is not None:
                day.placed_blocked.append((block, placed))
        for span in day.working:
            placed = place(
                _minutes(span.starts_at, day.day, zone), _minutes(span.ends_at, day.day, zone)
            )
            if placed is not None:
                day.placed_working.append(placed)

"""What clients and guardians may see. Nothing clinical, by construction.

Portal reads never hand a model instance to a template: they return small dataclasses built
from an explicit list of columns, so a field or relation added to the record later (notes,
plans, diagnoses) cannot reach a portal page unless it is added here on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from caseload.accounts.models import User, normalize_email
from caseload.clients.access import in_care_of
from caseload.clients.models import CareRelationship, CareState, Invitation, InvitationKind
from caseload.practices.models import ReminderSetting
from caseload.scheduling.availability import care_zone
from caseload.scheduling.booking import bookable_slots, usual_session
from caseload.scheduling.models import BookingRequest, BookingStatus
from caseload.visits.models import Modality, SessionStatus, TherapySession, join_link

#: The only columns of a care relationship a portal page may read.
PORTAL_RELATIONSHIP_FIELDS = (
    "public_id",
    "state",
    "therapist__full_name",
    "therapist__email",
    "practice__name",
    "client__public_id",
    "client__full_name",
    "client__is_child",
)


@dataclass(frozen=True)
class PortalCare:
    public_id: UUID
    therapist_name: str
    practice_name: str
    client_name: str
    is_child: bool


@dataclass(frozen=True)
class PortalRequest:
    public_id: UUID
    therapist_name: str
    practice_name: str
    client_name: str
    is_child: bool
    is_reconnection: bool


def _cares(user: User, *, taking_requests: bool = False) -> QuerySet[CareRelationship]:
    """Active care this user acts in (their own, their children's); with `taking_requests`,
    only at practices that take session requests in the portal."""
    cares = CareRelationship.objects.filter(in_care_of(user), state=CareState.ACTIVE)
    if taking_requests:
        cares = cares.filter(practice__booking_requests_enabled=True)
    return cares


def portal_care(user: User) -> list[PortalCare]:
    rows = (
        _cares(user)
        .order_by("client__full_name", "therapist__full_name")
        .values(*PORTAL_RELATIONSHIP_FIELDS)
    )
    return [
        PortalCare(
            public_id=row["public_id"],
            therapist_name=row["therapist__full_name"] or row["therapist__email"],
            practice_name=row["practice__name"],
            client_name=row["client__full_name"],
            is_child=row["client__is_child"],
        )
        for row in rows
    ]


def _pending_invitations(user: User) -> QuerySet[Invitation]:
    """Connection requests waiting for this user's answer, about care they act in."""
    return Invitation.objects.usable().filter(
        in_care_of(user, prefix="relationship__"), email__iexact=user.email
    )


def portal_requests(user: User) -> list[PortalRequest]:
    rows = (
        _pending_invitations(user)
        .order_by("created_at")
        .values(
            "public_id",
            "relationship__state",
            "relationship__therapist__full_name",
            "relationship__therapist__email",
            "relationship__practice__name",
            "relationship__client__full_name",
            "relationship__client__is_child",
        )
    )
    return [
        PortalRequest(
            public_id=row["public_id"],
            therapist_name=row["relationship__therapist__full_name"]
            or row["relationship__therapist__email"],
            practice_name=row["relationship__practice__name"],
            client_name=row["relationship__client__full_name"],
            is_child=row["relationship__client__is_child"],
            is_reconnection=row["relationship__state"] == CareState.ARCHIVED,
        )
        for row in rows
    ]


def get_request_for_user(user: User, public_id: UUID) -> Invitation:
    """A pending request addressed to this user, or 404."""
    invitation = _pending_invitations(user).filter(public_id=public_id).first()
    if invitation is None:
        raise Http404("No such request.")
    return invitation


# The invitation link (anyone holding it, signed in or not) -------------------------------
#: The only columns of an invitation and its care relationship the invitation page may read.
INVITATION_PAGE_FIELDS = (
    "kind",
    "email",
    "relationship__therapist__full_name",
    "relationship__therapist__email",
    "relationship__practice__name",
    "relationship__client__full_name",
    "relationship__client__is_child",
)


@dataclass(frozen=True)
class InvitationPage:
    """What the emailed link's page shows: who invites whom, and how the visitor answers."""

    email: str
    is_connection: bool  # a connection request to an existing account, not a signup
    therapist_name: str
    practice_name: str
    client_name: str
    is_child: bool
    has_account: bool  # the invited address already has an account: sign in to answer
    signed_in_as_invitee: bool  # the visitor may answer right here


def account_exists(email: str) -> bool:
    """An account is registered at this address (the invitee signs in rather than up)."""
    return User.objects.filter(email__iexact=email).exists()


def invitation_page(invitation: Invitation, visitor: User | AnonymousUser) -> InvitationPage:
    """The invitation page for `invitation` (already checked usable), seen by `visitor`."""
    row = Invitation.objects.filter(pk=invitation.pk).values(*INVITATION_PAGE_FIELDS).get()
    email = str(row["email"])
    return InvitationPage(
        email=email,
        is_connection=row["kind"] == InvitationKind.CONNECTION,
        therapist_name=row["relationship__therapist__full_name"]
        or row["relationship__therapist__email"],
        practice_name=row["relationship__practice__name"],
        client_name=row["relationship__client__full_name"],
        is_child=row["relationship__client__is_child"],
        has_account=account_exists(email),
        signed_in_as_invitee=visitor.is_authenticated
        and normalize_email(visitor.email) == normalize_email(email),
    )


# Sessions and session requests (SCH-2), upcoming sessions (SCH-4) -------------------------
#: How many upcoming sessions the sessions page lists per care.
UPCOMING_LIMIT = 20
#: Upcoming sessions listed on the portal's home page and the reminders page.
HOME_UPCOMING_LIMIT = 10


@dataclass(frozen=True)
class PortalSession:
    """An upcoming session as the client or guardian sees it: when, with whom, how to join,
    and what cancelling it here would be. `starts_at` is aware: pages show it in the
    practice's zone with `{% timezone session.time_zone %}`."""

    public_id: UUID
    care_id: UUID  # the care relationship's public id
    starts_at: datetime
    time_zone: str
    duration_minutes: int
    modality: str  # its label
    is_telehealth: bool
    #: The video service's join link; "" for in-person sessions or while the practice has none.
    join_link: str
    therapist_name: str
    practice_name: str
    client_name: str
    is_child: bool
    can_cancel: bool  # scheduled, ahead, and the practice takes cancellations in the portal
    late_cancel: bool  # cancelling now would be a late cancel
    cancellation_window_hours: int


#: The only columns of a session (and its care) a portal page may read.
PORTAL_SESSION_FIELDS = (
    "public_id",
    "starts_at",
    "duration_minutes",
    "modality",
    "video_room",
    "status",
    "relationship__public_id",
    "relationship__therapist__full_name",
    "relationship__therapist__email",
    "relationship__practice__name",
    "relationship__practice__time_zone",
    "relationship__practice__telehealth_url_template",
    "relationship__practice__booking_requests_enabled",
    "relationship__practice__cancellation_window_hours",
    "relationship__client__full_name",
    "relationship__client__is_child",
)


def _portal_session(row: dict[str, Any], now: datetime) -> PortalSession:
    window = row["relationship__practice__cancellation_window_hours"]
    ahead = row["status"] == SessionStatus.SCHEDULED and row["starts_at"] > now
    return PortalSession(
        public_id=row["public_id"],
        care_id=row["relationship__public_id"],
        starts_at=row["starts_at"],
        time_zone=row["relationship__practice__time_zone"],
        duration_minutes=row["duration_minutes"],
        modality=Modality(row["modality"]).label,
        is_telehealth=row["modality"] == Modality.TELEHEALTH,
        join_link=join_link(
            row["relationship__practice__telehealth_url_template"],
            row["video_room"],
            row["modality"],
        ),
        therapist_name=row["relationship__therapist__full_name"]
        or row["relationship__therapist__email"],
        practice_name=row["relationship__practice__name"],
        client_name=row["relationship__client__full_name"],
        is_child=row["relationship__client__is_child"],
        can_cancel=ahead and row["relationship__practice__booking_requests_enabled"],
        late_cancel=row["starts_at"] - now < timedelta(hours=window),
        cancellation_window_hours=window,
    )


def portal_upcoming_sessions(
    user: User,
    *,
    taking_requests: bool = False,
    only: CareRelationship | None = None,
    limit: int | None = HOME_UPCOMING_LIMIT,
    per_care: int | None = None,
    now: datetime | None = None,
) -> list[PortalSession]:
    """The next scheduled sessions, soonest first, in the active care this user acts in (only
    at practices taking requests, or only `only`, when asked): at most `limit` in all and
    `per_care` per care. One query. The portal's one list of upcoming sessions: the home page,
    the reminders page and the sessions page all show these rows."""
    now = now or timezone.now()
    cares = _cares(user, taking_requests=taking_requests)
    if only is not None:
        cares = cares.filter(pk=only.pk)
    rows = (
        TherapySession.objects.filter(
            relationship__in=cares,
            status=SessionStatus.SCHEDULED,
            starts_at__gt=now,
        )
        .order_by("starts_at", "pk")
        .values(*PORTAL_SESSION_FIELDS)
    )
    sessions: list[PortalSession] = []
    counted: dict[UUID, int] = {}
    for row in rows if limit is None else rows[:limit]:
        care = row["relationship__public_id"]
        counted[care] = counted.get(care, 0) + 1
        if per_care is None or counted[care] <= per_care:
            sessions.append(_portal_session(row, now))
    return sessions


@dataclass(frozen=True)
class PortalBooking:
    """A session request awaiting the therapist's approval."""

    public_id: UUID
    starts_at: datetime
    duration_minutes: int
    time_zone: str


@dataclass(frozen=True)
class PortalSessionsCare:
    """One care (the client's own, or a child's) on the sessions page."""

    public_id: UUID
    client_name: str
    is_child: bool
    therapist_name: str
    practice_name: str
    time_zone: str
    cancellation_window_hours: int
    pending: PortalBooking | None
    upcoming: list[PortalSession]


@dataclass(frozen=True)
class PortalSlotDay:
    day: date
    slots: list[datetime]


@dataclass(frozen=True)
class PortalBookingPage:
    """The "Request a session" page of one care: its free times by day, or one chosen."""

    care: PortalSessionsCare
    days: list[PortalSlotDay]
    chosen: datetime | None
    duration_minutes: int


def portal_booking_enabled(user: User) -> bool:
    return _cares(user, taking_requests=True).exists()


def portal_sessions(
    user: User, *, only: CareRelationship | None = None
) -> list[PortalSessionsCare]:
    """Each care that takes requests: the pending request and the upcoming sessions (those of
    `portal_upcoming_sessions`, `UPCOMING_LIMIT` per care). Three queries whatever the number
    of cares and sessions."""
    cares = _cares(user, taking_requests=True)
    if only is not None:
        cares = cares.filter(pk=only.pk)
    rows = list(
        cares.order_by("client__full_name", "therapist__full_name").values(
            "pk",
            *PORTAL_RELATIONSHIP_FIELDS,
            "practice__time_zone",
            "practice__cancellation_window_hours",
        )
    )
    pending = {
        row["relationship_id"]: row
        for row in BookingRequest.objects.filter(
            relationship_id__in=[row["pk"] for row in rows],
            status=BookingStatus.PENDING,
            starts_at__gt=timezone.now(),  # a passed one expires: the client asks again
        ).values("relationship_id", "public_id", "starts_at", "duration_minutes")
    }
    upcoming: dict[UUID, list[PortalSession]] = {row["public_id"]: [] for row in rows}
    for session in portal_upcoming_sessions(
        user, taking_requests=True, only=only, limit=None, per_care=UPCOMING_LIMIT
    ):
        upcoming[session.care_id].append(session)
    cares_found = []
    for row in rows:
        zone = row["practice__time_zone"]
        waiting = pending.get(row["pk"])
        cares_found.append(
            PortalSessionsCare(
                public_id=row["public_id"],
                client_name=row["client__full_name"],
                is_child=row["client__is_child"],
                therapist_name=row["therapist__full_name"] or row["therapist__email"],
                practice_name=row["practice__name"],
                time_zone=zone,
                cancellation_window_hours=row["practice__cancellation_window_hours"],
                pending=PortalBooking(
                    public_id=waiting["public_id"],
                    starts_at=waiting["starts_at"],
                    duration_minutes=waiting["duration_minutes"],
                    time_zone=zone,
                )
                if waiting
                else None,
                upcoming=upcoming[row["public_id"]],
            )
        )
    return cares_found


def get_booking_care_for_user(user: User, public_id: UUID) -> CareRelationship:
    """A care this user acts in whose practice takes requests, for the services; else 404.
    (Never handed to a template: pages get `portal_sessions` rows.)"""
    relationship = (
        _cares(user, taking_requests=True)
        .select_related("practice", "therapist", "client")
        .filter(public_id=public_id)
        .first()
    )
    if relationship is None:
        raise Http404("No such care.")
    return relationship


def portal_booking_page(
    user: User, relationship: CareRelationship, *, chosen: datetime | None = None
) -> PortalBookingPage:
    """The free times of `relationship` (from `get_booking_care_for_user`), grouped by day in
    the practice's time zone."""
    zone = care_zone(relationship)
    slots = bookable_slots(relationship, today=timezone.localdate(timezone=zone))
    days: dict[date, list[datetime]] = {}
    for slot in slots:
        days.setdefault(timezone.localtime(slot, zone).date(), []).append(slot)
    duration, _ = usual_session(relationship)
    return PortalBookingPage(
        care=portal_sessions(user, only=relationship)[0],
        days=[PortalSlotDay(day=day, slots=found) for day, found in days.items()],
        chosen=chosen if chosen in slots else None,
        duration_minutes=duration,
    )


def get_portal_session_for_user(user: User, public_id: UUID) -> TherapySession:
    """A session of care this user acts in (practice taking requests), else 404."""
    session = (
        TherapySession.objects.filter(
            relationship__in=_cares(user, taking_requests=True), public_id=public_id
        )
        .select_related("relationship__practice", "relationship__client")
        .first()
    )
    if session is None:
        raise Http404("No such session.")
    return session


def portal_session(user: User, session: TherapySession) -> PortalSession:
    """One session (from `get_portal_session_for_user`) as its cancel page shows it."""
    row = TherapySession.objects.filter(pk=session.pk).values(*PORTAL_SESSION_FIELDS).get()
    return _portal_session(row, timezone.now())


def get_portal_booking_for_user(user: User, public_id: UUID) -> BookingRequest:
    """A session request of care this user acts in, else 404."""
    booking = (
        BookingRequest.objects.filter(
            relationship__in=_cares(user, taking_requests=True), public_id=public_id
        )
        .select_related("relationship__practice", "relationship__therapist")
        .first()
    )
    if booking is None:
        raise Http404("No such request.")
    return booking


# Reminder choices (SCH-3) ----------------------------------------------------------------
@dataclass(frozen=True)
class PortalReminderChoice:
    """One care relationship's reminder settings as its account holder sees and sets them."""

    public_id: UUID
    therapist_name: str
    practice_name: str
    client_name: str
    is_child: bool
    practice_sends_reminders: bool
    text_offered: bool  # the practice texts reminders and has a phone number on file
    email_on: bool
    text_on: bool


def portal_reminder_choices(user: User, *, sms_available: bool) -> list[PortalReminderChoice]:
    rows = (
        _cares(user)
        .order_by("client__full_name", "therapist__full_name")
        .values(
            "public_id",
            "phone",
            "therapist__full_name",
            "therapist__email",
            "practice__name",
            "practice__reminders",
            "practice__sms_reminders_enabled",
            "client__full_name",
            "client__is_child",
            "reminder_preference__email_opt_out",
            "reminder_preference__sms_opt_out",
        )
    )
    return [
        PortalReminderChoice(
            public_id=row["public_id"],
            therapist_name=row["therapist__full_name"] or row["therapist__email"],
            practice_name=row["practice__name"],
            client_name=row["client__full_name"],
            is_child=row["client__is_child"],
            practice_sends_reminders=row["practice__reminders"] != ReminderSetting.OFF,
            text_offered=sms_available
            and row["practice__sms_reminders_enabled"]
            and bool(row["phone"]),
            email_on=not row["reminder_preference__email_opt_out"],
            text_on=not row["reminder_preference__sms_opt_out"],
        )
        for row in rows
    ]


def get_reminder_relationship_for_user(user: User, public_id: UUID) -> CareRelationship:
    """A care relationship whose reminders this user chooses (their own, a child's), or 404."""
    relationship = (
        _cares(user)
        .select_related("client", "client__guardianship", "practice")
        .filter(public_id=public_id)
        .first()
    )
    if relationship is None:
        raise Http404("No such care.")
    return relationship

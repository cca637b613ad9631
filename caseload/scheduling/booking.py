"""Client booking requests and client cancellations (SCH-2).

A practice setting (`Practice.booking_requests_enabled`, off by default) lets clients and
guardians see their therapist's free times in the portal and request one; the therapist
approves (a session is scheduled) or declines. A client may cancel an upcoming session in the
portal; inside the practice's cancellation window it is recorded as a late cancel.

Who acts: the client (an adult) or a child's guardian, by the portal's rule
(`clients.access.in_care_of`); the therapist decides, by the write rule
(`clients.access.write_refusal`). Every change takes the therapist's calendar lock first, so
a request, an approval and the therapist's own scheduling never slip past each other. Emails
are enqueued inside the service's transaction (SECURITY R2): the task row commits with the
change, or neither does.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from uuid import UUID

from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from caseload.accounts.models import User
from caseload.audit.services import audit_record
from caseload.clients.access import (
    access_for,
    in_care_of,
    record_closed_reason,
    relationships_visible_to,
    write_refusal,
)
from caseload.clients.models import CareRelationship, CareState
from caseload.lib.http import SYSTEM, AuditContext
from caseload.scheduling.availability import Interval, care_zone, free_slots
from caseload.scheduling.models import BookingRequest, BookingStatus
from caseload.scheduling.notifications import (
    send_booking_decided,
    send_booking_requested,
    send_client_cancelled,
)
from caseload.visits.models import NOT_TAKING_PLACE, Modality, SessionStatus, TherapySession
from caseload.visits.services import OverlapWarning, VisitError, lock_calendar, session_schedule

#: A session's length when the client has none to go by.
DEFAULT_DURATION_MINUTES = 50

NOT_ENABLED = "Your therapist's practice doesn't take session requests online."
NOT_IN_CARE = "Only the client, or a child client's guardian, can request or cancel a session."
NOT_THERAPIST = "Only the client's therapist can decide this request."
NOT_FREE = "That time is no longer free. Choose another time."
ALREADY_PENDING = (
    "You already have a session request awaiting approval. Withdraw it first to ask for a "
    "different time."
)
TAKEN_MEANWHILE = (
    "That time is no longer free: another session was scheduled at that time after the client "
    "asked for it. Decline the request so the client can choose another time."
)


class BookingError(Exception):
    """A rule refused the request; `field` names the form field the message belongs to."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


# Reads --------------------------------------------------------------------------------
def booking_open(relationship: CareRelationship) -> bool:
    """The practice takes requests, and this client's care is active with an open record."""
    return (
        relationship.practice.booking_requests_enabled
        and relationship.state == CareState.ACTIVE
        and record_closed_reason(relationship) is None
    )


def usual_session(relationship: CareRelationship) -> tuple[int, str]:
    """Length and modality of the client's latest session that took place or is planned;
    50 minutes in person when there is none."""
    latest = (
        TherapySession.objects.filter(relationship=relationship)
        .exclude(status__in=NOT_TAKING_PLACE)
        .order_by("-starts_at")
        .values_list("duration_minutes", "modality")
        .first()
    )
    return latest if latest is not None else (DEFAULT_DURATION_MINUTES, Modality.IN_PERSON)


def _others_pending(relationship: CareRelationship) -> list[Interval]:
    """Times other clients of the same therapist have asked for and are waiting on."""
    return [
        Interval(starts_at, starts_at + timedelta(minutes=minutes))
        for starts_at, minutes in BookingRequest.objects.filter(
            relationship__therapist_id=relationship.therapist_id,
            status=BookingStatus.PENDING,
            starts_at__gt=timezone.now() - timedelta(hours=8),
        )
        .exclude(relationship=relationship)
        .values_list("starts_at", "duration_minutes")
    ]


def bookable_slots(relationship: CareRelationship, *, today: date) -> list[datetime]:
    """The starts (UTC) of the therapist's free times the client may request: the next
    `booking_weeks_ahead` weeks from `today` (practice time), inside working hours, clear of
    sessions, blocked time and other clients' pending requests. Empty when the practice
    doesn't take requests, the therapist has set no working hours, or the record isn't open."""
    if not booking_open(relationship):
        return []
    duration, _ = usual_session(relationship)
    return free_slots(
        relationship.therapist,
        first_day=today,
        days=7 * relationship.practice.booking_weeks_ahead,
        duration_minutes=duration,
        also_busy=_others_pending(relationship),
    )


def in_care(actor: User, relationship: CareRelationship) -> bool:
    """The actor is this client (an adult) or the guardian of this child client."""
    return CareRelationship.objects.filter(in_care_of(actor), pk=relationship.pk).exists()


def would_be_late(session: TherapySession, *, now: datetime | None = None) -> bool:
    """Cancelling now falls inside the practice's cancellation window."""
    window = timedelta(hours=session.relationship.practice.cancellation_window_hours)
    return session.starts_at - (now or timezone.now()) < window


def get_booking_for_therapist(user: User, public_id: UUID) -> BookingRequest:
    """A request of one of the user's own clients; 404 for anyone else's (a supervisor's
    too: only the client's therapist decides)."""
    booking = (
        BookingRequest.objects.filter(
            public_id=public_id,
            relationship__in=relationships_visible_to(user).filter(therapist=user),
        )
        .select_related("relationship__client", "relationship__therapist", "relationship__practice")
        .first()
    )
    if booking is None:
        raise Http404("No such request.")
    return booking


# Client side --------------------------------------------------------------------------
@transaction.atomic
def booking_request_create(
    *,
    relationship: CareRelationship,
    actor: User,
    starts_at: datetime,
    audit_context: AuditContext = SYSTEM,
) -> BookingRequest:
    """The client or guardian asks for one of the free times `bookable_slots` offers."""
    if not in_care(actor, relationship):
        raise BookingError(NOT_IN_CARE)
    if not relationship.practice.booking_requests_enabled:
        raise BookingError(NOT_ENABLED)
    if timezone.is_naive(starts_at):
        raise ValueError("starts_at must be timezone-aware.")
    lock_calendar(relationship.therapist)  # the slot is checked and taken under the lock
    relationship = CareRelationship.objects.select_related("practice", "therapist").get(
        pk=relationship.pk
    )
    if not booking_open(relationship):
        raise BookingError("Requests can't be made for this care at the moment.")
    now = timezone.now()
    expire_passed_requests(now=now, relationship=relationship, notify=False)
    if BookingRequest.objects.filter(  # one the scan is expiring right now doesn't count
        relationship=relationship, status=BookingStatus.PENDING, starts_at__gt=now
    ).exists():
        raise BookingError(ALREADY_PENDING)
    today = timezone.localdate(timezone=care_zone(relationship))
    if starts_at not in bookable_slots(relationship, today=today):
        raise BookingError(NOT_FREE, field="starts_at")
    duration, modality = usual_session(relationship)
    try:
        with transaction.atomic():
            booking = BookingRequest.objects.create(
                relationship=relationship,
                requested_by=actor,
                starts_at=starts_at,
                duration_minutes=duration,
                modality=modality,
            )
    except IntegrityError:  # one_pending_booking_per_client: a second tab got there first
        raise BookingError(ALREADY_PENDING) from None
    audit_record(
        action="booking.request",
        actor=actor,
        audit_context=audit_context,
        client=relationship.client,
        practice=relationship.practice,
        obj=booking,
    )
    send_booking_requested.enqueue(booking.pk)
    return booking


def expire_passed_requests(
    *, now: datetime, relationship: CareRelationship | None = None, notify: bool = True
) -> int:
    """Requests still awaiting approval whose time has come: marked Expired (audited as the
    system's), so the client may ask for another time, and told so by email (`notify`). Run
    by the recurring scheduling scan and, for the client's own care, when they make a new
    request (no email: they are asking again). Rows another transaction has locked (being
    approved or declined right now) are left to it. Returns how many."""
    passed = BookingRequest.objects.filter(status=BookingStatus.PENDING, starts_at__lte=now)
    if relationship is not None:
        passed = passed.filter(relationship=relationship)
    expired = 0
    with transaction.atomic():
        for booking in (
            passed.select_for_update(of=("self",), skip_locked=True)
            .select_related("relationship__client", "relationship__practice")
            .order_by("pk")
        ):
            booking.status = BookingStatus.EXPIRED
            booking.decided_at = now
            booking.save(update_fields=["status", "decided_at"])
            audit_record(
                action="booking.expire",
                client=booking.relationship.client,
                practice=booking.relationship.practice,
                obj=booking,
            )
            if notify:
                send_booking_decided.enqueue(booking.pk)
            expired += 1
    return expired


def _lock_booking(booking: BookingRequest) -> BookingRequest:
    """The stored request, row-locked: decide on that, not on the caller's copy."""
    return (
        BookingRequest.objects.select_for_update(of=("self",))
        .select_related("relationship__practice", "relationship__therapist", "relationship__client")
        .get(pk=booking.pk)
    )


def _ensure_pending(booking: BookingRequest) -> None:
    if booking.status != BookingStatus.PENDING:
        raise BookingError(
            f"This request is no longer awaiting approval ({booking.get_status_display()})."
        )


@transaction.atomic
def booking_request_withdraw(
    *, booking: BookingRequest, actor: User, audit_context: AuditContext = SYSTEM
) -> BookingRequest:
    """The client or guardian takes back a request still awaiting approval."""
    if not in_care(actor, booking.relationship):
        raise BookingError(NOT_IN_CARE)
    lock_calendar(booking.relationship.therapist)
    booking = _lock_booking(booking)
    _ensure_pending(booking)
    booking.status = BookingStatus.WITHDRAWN
    booking.decided_at = timezone.now()
    booking.save(update_fields=["status", "decided_at"])
    audit_record(
        action="booking.withdraw",
        actor=actor,
        audit_context=audit_context,
        client=booking.relationship.client,
        practice=booking.relationship.practice,
        obj=booking,
    )
    return booking


# Therapist side -----------------------------------------------------------------------
def _ensure_therapist(booking: BookingRequest, actor: User) -> None:
    reason = write_refusal(actor, booking.relationship, not_owner=NOT_THERAPIST)
    if reason is not None:
        raise BookingError(reason)


@transaction.atomic
def booking_request_approve(
    *, booking: BookingRequest, actor: User, audit_context: AuditContext = SYSTEM
) -> BookingRequest:
    """The therapist accepts: the session is scheduled at the requested time. If the time was
    taken meanwhile, nothing changes and the therapist is told to decline."""
    _ensure_therapist(booking, actor)
    lock_calendar(booking.relationship.therapist)
    booking = _lock_booking(booking)
    _ensure_pending(booking)
    if booking.starts_at <= timezone.now():
        raise BookingError("The requested time has passed. Decline the request.")
    try:
        session = session_schedule(
            relationship=booking.relationship,
            actor=actor,
            starts_at=booking.starts_at,
            duration_minutes=booking.duration_minutes,
            modality=booking.modality,
            audit_context=audit_context,
        )
    except OverlapWarning:
        raise BookingError(TAKEN_MEANWHILE) from None
    except VisitError as error:
        raise BookingError(str(error)) from None
    booking.session = session
    return _record_decision(
        booking, status=BookingStatus.APPROVED, actor=actor, audit_context=audit_context
    )


@transaction.atomic
def booking_request_decline(
    *, booking: BookingRequest, actor: User, audit_context: AuditContext = SYSTEM
) -> BookingRequest:
    """The therapist declines; the client is told by email and may ask for another time."""
    # The gate's owner rule, not all of `write_refusal`: the therapist may decline even once
    # the record closed (nothing is written to it).
    if not access_for(actor, booking.relationship).is_owner:
        raise BookingError(NOT_THERAPIST)
    lock_calendar(booking.relationship.therapist)
    booking = _lock_booking(booking)
    _ensure_pending(booking)
    return _record_decision(
        booking, status=BookingStatus.DECLINED, actor=actor, audit_context=audit_context
    )


def _record_decision(
    booking: BookingRequest, *, status: str, actor: User, audit_context: AuditContext
) -> BookingRequest:
    """The therapist's answer, saved, audited (booking.approve / booking.decline) and emailed
    to the client in the same transaction."""
    booking.status = status
    booking.decided_by = actor
    booking.decided_at = timezone.now()
    booking.save(update_fields=["status", "session", "decided_by", "decided_at"])
    audit_record(
        action="booking.approve" if status == BookingStatus.APPROVED else "booking.decline",
        actor=actor,
        audit_context=audit_context,
        client=booking.relationship.client,
        practice=booking.relationship.practice,
        obj=booking,
    )
    send_booking_decided.enqueue(booking.pk)
    return booking


# Client cancellation ------------------------------------------------------------------
@transaction.atomic
def session_cancel_by_client(
    *, session: TherapySession, actor: User, audit_context: AuditContext = SYSTEM
) -> TherapySession:
    """The client or guardian cancels an upcoming scheduled session: "Cancelled" before the
    practice's cancellation window, "Late cancel" inside it. The therapist is told by email."""
    relationship = session.relationship
    if not in_care(actor, relationship):
        raise BookingError(NOT_IN_CARE)
    if not relationship.practice.booking_requests_enabled:
        raise BookingError("Your therapist's practice doesn't take cancellations online.")
    lock_calendar(relationship.therapist)
    session = (
        TherapySession.objects.select_for_update(of=("self",))
        .select_related("relationship__practice", "relationship__client")
        .get(pk=session.pk)
    )
    now = timezone.now()
    if session.status != SessionStatus.SCHEDULED:
        raise BookingError(f"This session is already {session.get_status_display().lower()}.")
    if session.starts_at <= now:
        raise BookingError(
            "This session has already started or taken place; contact your therapist."
        )
    late = would_be_late(session, now=now)
    session.status = SessionStatus.LATE_CANCELLED if late else SessionStatus.CANCELLED
    session.save(update_fields=["status"])
    audit_record(
        action="session.cancel_by_client",
        actor=actor,
        audit_context=audit_context,
        client=relationship.client,
        practice=relationship.practice,
        obj=session,
        detail={"late": late},
    )
    send_client_cancelled.enqueue(session.pk)
    return session

"""Booking emails (SCH-2): a date, a time, the practice's name and a link to sign in.

Nothing clinical and no client names: an email can be read by anyone with access to the
mailbox, so the therapist learns *that* a client asked or cancelled, and signs in to see
who. Sent by the durable email queue with retries (PR-2), enqueued in the change's
transaction (`scheduling.booking`). Times read as in the practice's zone
(`availability.session_time`, the one wording of a session's time).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.tasks import task
from django.urls import reverse

from caseload.clients.services import account_holder
from caseload.lib.email import build_message, send_with_retry
from caseload.scheduling.availability import care_zone, session_time
from caseload.scheduling.models import BookingRequest, BookingStatus
from caseload.visits.models import SessionStatus, TherapySession

#: The subject of the client's email for each answer a request can get.
DECIDED = {
    BookingStatus.APPROVED: "Your session request was approved",
    BookingStatus.DECLINED: "Your session request was declined",
    BookingStatus.EXPIRED: "Your session request wasn't answered in time",
}


def _send(task_: Any, attempt: int, args: tuple[Any, ...], **message: Any) -> str:
    built = build_message(**message)
    delivered = send_with_retry(task=task_, attempt=attempt, send=built.send, args=args)
    return "sent" if delivered else "retrying"


def _booking(booking_id: int) -> BookingRequest | None:
    return (
        BookingRequest.objects.select_related(
            "relationship__practice",
            "relationship__therapist",
            "relationship__client__account",
            "relationship__client__guardianship__account",
        )
        .filter(pk=booking_id)
        .first()
    )


@task(queue_name="email")
def send_booking_requested(booking_id: int, attempt: int = 1) -> str:
    """Tell the therapist a client asked for a session (no name: they sign in to see)."""
    booking = _booking(booking_id)
    if booking is None or booking.status != BookingStatus.PENDING:
        return "skipped: no longer awaiting approval"
    relationship = booking.relationship
    return _send(
        send_booking_requested,
        attempt,
        (booking_id,),
        to=relationship.therapist.email,
        subject="A client has requested a session",
        template="scheduling/email/booking_requested",
        context={
            **session_time(booking.starts_at, care_zone(relationship)).as_context(),
            "practice_name": relationship.practice.name,
            "link_path": reverse("home"),
        },
    )


@task(queue_name="email")
def send_booking_decided(booking_id: int, attempt: int = 1) -> str:
    """Tell the client (or a child's guardian) the request was approved, declined, or not
    answered before its time (expired)."""
    booking = _booking(booking_id)
    if booking is None or booking.status not in DECIDED:
        return "skipped: not decided"
    relationship = booking.relationship
    recipient = account_holder(relationship.client)
    if recipient is None:
        return "skipped: nobody to tell"
    return _send(
        send_booking_decided,
        attempt,
        (booking_id,),
        to=recipient.email,
        subject=DECIDED[BookingStatus(booking.status)],
        template="scheduling/email/booking_decided",
        context={
            **session_time(booking.starts_at, care_zone(relationship)).as_context(),
            "approved": booking.status == BookingStatus.APPROVED,
            "expired": booking.status == BookingStatus.EXPIRED,
            "practice_name": relationship.practice.name,
            "link_path": reverse("portal:sessions"),
        },
    )


@task(queue_name="email")
def send_client_cancelled(session_id: int, attempt: int = 1) -> str:
    """Tell the therapist a client cancelled a session in the portal (and if it was late)."""
    session = (
        TherapySession.objects.select_related("relationship__practice", "relationship__therapist")
        .filter(
            Q(status=SessionStatus.CANCELLED) | Q(status=SessionStatus.LATE_CANCELLED),
            pk=session_id,
        )
        .first()
    )
    if session is None:
        return "skipped: not cancelled"
    relationship = session.relationship
    late = session.status == SessionStatus.LATE_CANCELLED
    return _send(
        send_client_cancelled,
        attempt,
        (session_id,),
        to=relationship.therapist.email,
        subject="A client cancelled a session (late cancel)"
        if late
        else "A client cancelled a session",
        template="scheduling/email/booking_cancelled",
        context={
            **session_time(session.starts_at, care_zone(relationship)).as_context(),
            "late": late,
            "practice_name": relationship.practice.name,
            "link_path": reverse("agenda"),
        },
    )

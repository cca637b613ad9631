"""The therapist's answers to clients' session requests (SCH-2), posted from the home page."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from django.contrib import messages
from django.http import HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from caseload.accounts.http import AuthenticatedHttpRequest
from caseload.lib.http import redirect_to
from caseload.practices.http import clinician_required
from caseload.scheduling.availability import SessionTime, care_zone, session_time
from caseload.scheduling.booking import (
    BookingError,
    booking_request_approve,
    booking_request_decline,
    get_booking_for_therapist,
)
from caseload.scheduling.models import BookingRequest


def _answer(
    request: AuthenticatedHttpRequest,
    booking_id: UUID,
    service: Callable[..., BookingRequest],
    done: Callable[[BookingRequest, SessionTime], str],
    level: int,
) -> HttpResponse:
    """Approve or decline: the service decides; the home page shows what happened."""
    booking = get_booking_for_therapist(request.user, booking_id)
    try:
        service(booking=booking, actor=request.user, audit_context=request.audit_context)
    except BookingError as error:
        messages.error(request, str(error))
    else:
        when = session_time(booking.starts_at, care_zone(booking.relationship))
        messages.add_message(request, level, done(booking, when))
    return redirect_to(request, reverse("home"))


@require_POST
@clinician_required
def approve(request: AuthenticatedHttpRequest, booking_id: UUID) -> HttpResponse:
    return _answer(
        request,
        booking_id,
        booking_request_approve,
        lambda booking, when: (
            f"Approved: {booking.relationship.client_name}'s session on "
            f"{when} is scheduled. The client is told by email."
        ),
        messages.SUCCESS,
    )


@require_POST
@clinician_required
def decline(request: AuthenticatedHttpRequest, booking_id: UUID) -> HttpResponse:
    return _answer(
        request,
        booking_id,
        booking_request_decline,
        lambda booking, when: (
            f"Declined {booking.relationship.client_name}'s request for "
            f"{when}. The client is told by email."
        ),
        messages.INFO,
    )

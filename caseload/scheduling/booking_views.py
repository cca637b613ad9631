"""The therapist's answers to clients' session requests (SCH-2), posted from the home page."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from caseload.accounts.http import AuthenticatedHttpRequest
from caseload.lib.http import redirect_to
from caseload.practices.http import clinician_required
from caseload.scheduling.availability import care_zone, session_time
from caseload.scheduling.booking import (
    BookingError,
    booking_request_approve,
    booking_request_decline,
    get_booking_for_therapist,
)


@require_POST
@clinician_required
def approve(request: AuthenticatedHttpRequest, booking_id: UUID) -> HttpResponse:
    booking = get_booking_for_therapist(request.user, booking_id)
    try:
        booking_request_approve(
            booking=booking, actor=request.user, audit_context=request.audit_context
        )
    except BookingError as error:
        messages.error(request, str(error))
    else:
        when = session_time(booking.starts_at, care_zone(booking.relationship))
        messages.success(
            request,
            f"Approved: {booking.relationship.client_name}'s session on {when} is scheduled. "
            "The client is told by email.",
        )
    return redirect_to(request, reverse("home"))


@require_POST
@clinician_required
def decline(request: AuthenticatedHttpRequest, booking_id: UUID) -> HttpResponse:
    booking = get_booking_for_therapist(request.user, booking_id)
    try:
        booking_request_decline(
            booking=booking, actor=request.user, audit_context=request.audit_context
        )
    except BookingError as error:
        messages.error(request, str(error))
    else:
        when = session_time(booking.starts_at, care_zone(booking.relationship))
        messages.info(
            request,
            f"Declined {booking.relationship.client_name}'s request for {when}. "
            "The client is told by email.",
        )
    return redirect_to(request, reverse("home"))

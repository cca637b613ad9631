"""The therapist's answers to clients' session requests (SCH-2), posted from the home page."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from caseload.accounts.http import AuthenticatedHttpRequest
from caseload.accounts.models import User
from caseload.clients.access import relationships_visible_to
from caseload.lib.http import redirect_to
from caseload.practices.http import clinician_required
from caseload.scheduling.availability import zone_of
from caseload.scheduling.booking import (
    BookingError,
    booking_request_approve,
    booking_request_decline,
)
from caseload.scheduling.models import BookingRequest


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


def _when(booking: BookingRequest, user: User) -> str:
    local = timezone.localtime(booking.starts_at, zone_of(user))
    return f"{local:%A %-d %B, %H:%M}"


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
        messages.success(
            request,
            f"Approved: {booking.relationship.client_name}'s session on "
            f"{_when(booking, request.user)} is scheduled. The client is told by email.",
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
        messages.info(
            request,
            f"Declined {booking.relationship.client_name}'s request for "
            f"{_when(booking, request.user)}. The client is told by email.",
        )
    return redirect_to(request, reverse("home"))

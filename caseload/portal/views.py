"""The client and guardian portal, and the invitation links emailed to them."""

from __future__ import annotations

from uuid import UUID

from allauth.account.adapter import get_adapter
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from caseload.accounts.http import AuthenticatedHttpRequest
from caseload.accounts.models import User, normalize_email
from caseload.audit.services import audit_record
from caseload.clients import services
from caseload.clients.models import Invitation
from caseload.documents.selectors import portal_documents_split
from caseload.lib.http import AuditContext, redirect_to
from caseload.messaging.selectors import portal_conversations
from caseload.portal.adapter import SESSION_INVITATION_KEY
from caseload.portal.selectors import (
    account_exists,
    get_booking_care_for_user,
    get_portal_booking_for_user,
    get_portal_session_for_user,
    get_reminder_relationship_for_user,
    get_request_for_user,
    invitation_page,
    portal_booking_enabled,
    portal_booking_page,
    portal_care,
    portal_reminder_choices,
    portal_requests,
    portal_session,
    portal_sessions,
    portal_upcoming_sessions,
)
from caseload.practices.http import portal_user_required
from caseload.scheduling.booking import (
    BookingError,
    booking_request_create,
    booking_request_withdraw,
    session_cancel_by_client,
)
from caseload.scheduling.booking_forms import BookingRequestForm
from caseload.scheduling.reminders import reminder_preference_update, sms_enabled
from caseload.visits.models import SessionStatus


@require_GET
@portal_user_required
def portal_home(request: AuthenticatedHttpRequest) -> HttpResponse:
    return render(
        request,
        "portal/home.html",
        {
            "care": portal_care(request.user),
            "requests": portal_requests(request.user),
            "documents": portal_documents_split(request.user),
            "conversations": portal_conversations(request.user),
            "booking_enabled": portal_booking_enabled(request.user),
            "sessions": portal_upcoming_sessions(request.user),
        },
    )


@require_POST
@portal_user_required
def portal_respond(
    request: AuthenticatedHttpRequest, request_id: UUID, answer: str
) -> HttpResponse:
    invitation = get_request_for_user(request.user, request_id)
    respond = services.invitation_accept if answer == "approve" else services.invitation_decline
    try:
        relationship = respond(
            invitation=invitation, actor=request.user, audit_context=request.audit_context
        )
    except services.InvitationNotUsable as error:
        messages.error(request, str(error))
    else:
        therapist = relationship.therapist
        if answer == "approve":
            messages.success(request, f"You are now connected with {therapist}.")
        else:
            messages.info(request, f"You declined the request from {therapist}.")
    return redirect("portal:home")


def _usable_invitation(request: HttpRequest, token: str) -> Invitation | None:
    """The link's invitation while it can be answered; a refused link is audited."""
    invitation = services.invitation_for_token(token)
    if invitation is None or not invitation.is_usable:
        audit_record(
            action="invitation.open",
            actor=request.user if isinstance(request.user, User) else None,
            # These pages are open to anyone: the request isn't typed as signed in.
            audit_context=AuditContext.from_request(request),
            outcome="denied",
        )
        return None
    return invitation


def _gone(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/invitation_gone.html", status=404)


@require_GET
def invitation_open(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link. Opening it (GET) never consumes it: mail scanners prefetch links."""
    invitation = _usable_invitation(request, token)
    if invitation is None:
        return _gone(request)
    return render(
        request,
        "portal/invitation.html",
        {
            "page": invitation_page(invitation, request.user),
            "token": token,
            "login_url": f"{reverse('account_login')}?next={request.path}",
        },
    )


@require_POST
def invitation_start_signup(request: HttpRequest, token: str) -> HttpResponse:
    """Put the invitation in the session and send the invitee to allauth's signup form."""
    invitation = _usable_invitation(request, token)
    if invitation is None:
        return _gone(request)
    if account_exists(invitation.email):
        return redirect(f"{reverse('account_login')}?next=/invite/{token}/")
    request.session[SESSION_INVITATION_KEY] = str(invitation.public_id)
    get_adapter(request).stash_verified_email(request, invitation.email)
    return redirect("account_signup")


@require_http_methods(["POST"])
@portal_user_required
def invitation_respond(request: AuthenticatedHttpRequest, token: str) -> HttpResponse:
    """Approve or decline from the link itself, signed in as the invited address."""
    invitation = _usable_invitation(request, token)
    if invitation is None:
        return _gone(request)
    if normalize_email(request.user.email) != normalize_email(invitation.email):
        # Signed in as someone else: the page offers no answer, so this is a forged post.
        raise Http404("No such request.")
    answer = "approve" if request.POST.get("answer") == "approve" else "decline"
    respond = services.invitation_accept if answer == "approve" else services.invitation_decline
    try:
        respond(invitation=invitation, actor=request.user, audit_context=request.audit_context)
    except services.InvitationNotUsable as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            "You are now connected." if answer == "approve" else "You declined the request.",
        )
    return redirect("portal:home")


# Sessions and session requests (SCH-2) -----------------------------------------------------
@require_GET
@portal_user_required
def portal_sessions_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Upcoming sessions (with cancelling), the request awaiting approval and "Request a
    session", for each care whose practice takes requests in the portal (404 when none
    does). The home page lists upcoming sessions whatever the practice's setting."""
    cares = portal_sessions(request.user)
    if not cares:
        raise Http404("No sessions here.")
    return render(request, "portal/sessions.html", {"cares": cares})


@require_http_methods(["GET", "POST"])
@portal_user_required
def portal_book(request: AuthenticatedHttpRequest, care_id: UUID) -> HttpResponse:
    """GET: the free times by day, or (`?at=`) the one chosen, to confirm. POST: request it."""
    relationship = get_booking_care_for_user(request.user, care_id)
    if request.method == "POST":
        form = BookingRequestForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Choose one of the times offered.")
            return redirect("portal:book", care_id)
        try:
            booking_request_create(
                relationship=relationship,
                actor=request.user,
                starts_at=form.cleaned_data["starts_at"],
                audit_context=request.audit_context,
            )
        except BookingError as error:
            messages.error(request, str(error))
            return redirect_to(request, reverse("portal:book", args=[care_id]))
        messages.success(request, "Requested — awaiting approval. You'll get an email.")
        return redirect_to(request, reverse("portal:sessions"))
    chosen = None
    if "at" in request.GET:
        form = BookingRequestForm({"starts_at": request.GET["at"]})
        chosen = form.cleaned_data["starts_at"] if form.is_valid() else None
    page = portal_booking_page(request.user, relationship, chosen=chosen)
    if "at" in request.GET and page.chosen is None:
        messages.error(request, "That time is no longer free. Choose another time.")
    return render(request, "portal/book.html", {"page": page})


@require_POST
@portal_user_required
def portal_booking_withdraw(request: AuthenticatedHttpRequest, booking_id: UUID) -> HttpResponse:
    booking = get_portal_booking_for_user(request.user, booking_id)
    try:
        booking_request_withdraw(
            booking=booking, actor=request.user, audit_context=request.audit_context
        )
    except BookingError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Request withdrawn.")
    return redirect_to(request, reverse("portal:sessions"))


@require_http_methods(["GET", "POST"])
@portal_user_required
def portal_session_cancel(request: AuthenticatedHttpRequest, session_id: UUID) -> HttpResponse:
    """GET: confirm, saying whether it would be a late cancel. POST: cancel."""
    session = get_portal_session_for_user(request.user, session_id)
    if request.method == "GET":
        return render(
            request,
            "portal/session_cancel.html",
            {"session": portal_session(request.user, session)},
        )
    try:
        cancelled = session_cancel_by_client(
            session=session, actor=request.user, audit_context=request.audit_context
        )
    except BookingError as error:
        messages.error(request, str(error))
    else:
        if cancelled.status == SessionStatus.LATE_CANCELLED:
            messages.warning(
                request,
                "Session cancelled. It was inside the practice's cancellation window, so it "
                "is recorded as a late cancel.",
            )
        else:
            messages.success(request, "Session cancelled.")
    return redirect_to(request, reverse("portal:sessions"))


# Reminders and upcoming sessions (SCH-3, SCH-4) ------------------------------------------
@require_GET
@portal_user_required
def portal_reminders(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Upcoming sessions (with the video link) and the reminder choice per care relationship."""
    return render(
        request,
        "portal/reminders.html",
        {
            "sessions": portal_upcoming_sessions(request.user),
            "booking_enabled": portal_booking_enabled(request.user),
            "choices": portal_reminder_choices(request.user, sms_available=sms_enabled()),
        },
    )


@require_POST
@portal_user_required
def portal_reminders_update(
    request: AuthenticatedHttpRequest, relationship_id: UUID
) -> HttpResponse:
    """Turn email (and text) reminders off or on for one care relationship. An unticked box
    is absent from the form: reminders off."""
    relationship = get_reminder_relationship_for_user(request.user, relationship_id)
    reminder_preference_update(
        relationship=relationship,
        email_opt_out=request.POST.get("email") != "on",
        sms_opt_out=request.POST.get("text") != "on",
        actor=request.user,
        audit_context=request.audit_context,
    )
    messages.success(request, "Your reminder choice is saved.")
    return redirect("portal:reminders")

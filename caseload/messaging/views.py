"""Secure messaging pages: the profile's Messaging section and the portal's Messages.

Therapists reach a conversation through `get_relationship_for_user(…, write=True)`:
supervisors and admins get 404 (SPEC: supervisors never message their supervisees' clients).
Clients and guardians reach theirs through the portal selectors, which read named columns.
"""

from __future__ import annotations

from uuid import UUID

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from caseload.accounts.http import AuthenticatedHttpRequest
from caseload.clients.access import get_relationship_for_user
from caseload.clients.models import CareRelationship
from caseload.messaging import services
from caseload.messaging.forms import MessageForm
from caseload.messaging.models import Side
from caseload.messaging.sections import (
    Conversation,
    audit_message_list,
    audit_portal_message_list,
    client_conversation,
    parse_cursor,
    staff_conversation,
)
from caseload.messaging.selectors import (
    MessagePage,
    MessageView,
    UnknownCursor,
    availability,
    conversation_messages,
    conversation_page,
    get_portal_conversation,
    get_portal_relationship,
)
from caseload.practices.http import clinician_required, portal_user_required


def _parse_uuid(value: str | None) -> UUID | None:
    """An optional message id from the query or the form; ValueError when malformed."""
    return UUID(value) if value else None


def _therapist_relationship(request: AuthenticatedHttpRequest, client_id: UUID) -> CareRelationship:
    return get_relationship_for_user(request.user, client_id, write=True)


def _items(
    request: AuthenticatedHttpRequest, relationship: CareRelationship | int, side: Side
) -> MessagePage | list[MessageView]:
    """What a fetch of list items asks for: `?after=` the newer messages (the live channel's
    catch-up), `?before=` the page before a message ("Show earlier"), neither the newest page.
    UnknownCursor (a ValueError) for a malformed or unknown message."""
    after, before = request.GET.get("after"), request.GET.get("before")
    if after and before:
        raise UnknownCursor("Either after or before, not both.")
    if after:
        return conversation_messages(relationship, side, after=UUID(after))
    return conversation_page(relationship, side, before=UUID(before) if before else None)


def _render_items(
    request: HttpRequest,
    found: MessagePage | list[MessageView],
    *,
    time_zone: str,
    messages_url: str,
    page_url: str,
) -> HttpResponse:
    """The messages as list items; a page starts with its "Show earlier" control."""
    page = found if isinstance(found, MessagePage) else None
    return render(
        request,
        "messaging/partials/_message_page.html",
        {
            "messages_shown": page.messages if page else found,
            "earlier": page.earlier if page else None,
            "time_zone": time_zone,
            "messages_url": messages_url,
            "page_url": page_url,
        },
    )


def _shown(found: MessagePage | list[MessageView]) -> list[MessageView]:
    return found.messages if isinstance(found, MessagePage) else found


@require_GET
@clinician_required
def staff_messages(request: AuthenticatedHttpRequest, client_id: UUID) -> HttpResponse:
    """The messages of a conversation as list items (see `_items` for which)."""
    relationship = _therapist_relationship(request, client_id)
    if not availability(relationship).can_read:
        raise Http404("No conversation.")
    try:
        found = _items(request, relationship, Side.THERAPIST)
    except ValueError:
        return HttpResponseBadRequest("Unknown message.")
    audit_message_list(
        actor=request.user,
        relationship=relationship,
        shown=_shown(found),
        audit_context=request.audit_context,
    )
    args = [relationship.public_id]
    return _render_items(
        request,
        found,
        time_zone=relationship.practice.time_zone,
        messages_url=reverse("messaging:messages", args=args),
        page_url=_profile_url(relationship),
    )


def _send(
    request: AuthenticatedHttpRequest, relationship: CareRelationship, form: MessageForm
) -> bool:
    """Send the form's message; False with the reason on the form's text field if not."""
    if not form.is_valid():
        return False
    try:
        services.message_send(
            relationship=relationship,
            actor=request.user,
            text=form.cleaned_data["text"],
            audit_context=request.audit_context,
        )
    except services.MessagingError as error:
        form.add_error("text", str(error))
        return False
    return True


def _profile_url(relationship: CareRelationship) -> str:
    return reverse("workspace:messaging", args=[relationship.public_id])


@require_POST
@clinician_required
def staff_send(request: AuthenticatedHttpRequest, client_id: UUID) -> HttpResponse:
    relationship = _therapist_relationship(request, client_id)
    form = MessageForm(request.POST)
    sent = _send(request, relationship, form)
    if sent and not request.htmx:
        return redirect(_profile_url(relationship))
    shown_form = None if sent else form
    conversation = staff_conversation(request.user, relationship, shown_form, request.audit_context)
    if request.htmx:
        return _render_conversation(request, conversation)
    return render(
        request,
        "messaging/staff_conversation.html",
        {"conversation": conversation, "relationship": relationship},
    )


@require_POST
@clinician_required
def staff_read(request: AuthenticatedHttpRequest, client_id: UUID) -> HttpResponse:
    relationship = _therapist_relationship(request, client_id)
    return _mark_read(request, relationship, _profile_url(relationship))


# Both sides -----------------------------------------------------------------------------
def _render_conversation(request: HttpRequest, conversation: Conversation) -> HttpResponse:
    return render(request, "messaging/partials/_conversation.html", {"conversation": conversation})


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _mark_read(
    request: AuthenticatedHttpRequest, relationship: CareRelationship, back_url: str
) -> HttpResponse:
    """POSTed by the page once the messages are on screen (or by the "Mark as read" button)."""
    try:
        through = _parse_uuid(request.POST.get("through"))
    except ValueError:
        return HttpResponseBadRequest("Unknown message.")
    try:
        services.message_mark_read(
            relationship=relationship,
            actor=request.user,
            through=through,
            audit_context=request.audit_context,
        )
    except services.MessagingUnavailable:
        raise Http404("No conversation.") from None
    except services.InvalidMessage:
        return HttpResponseBadRequest("Unknown message.")
    if _wants_json(request):
        return JsonResponse({"ok": True})
    return redirect(back_url)


# The portal -------------------------------------------------------------------------------
def _portal_page(
    request: AuthenticatedHttpRequest,
    conversation_id: UUID,
    form: MessageForm | None = None,
    *,
    before: UUID | None = None,
) -> HttpResponse:
    relationship_id, summary = get_portal_conversation(request.user, conversation_id)
    conversation = client_conversation(
        request.user, relationship_id, summary, form, request.audit_context, before=before
    )
    if request.htmx:
        return _render_conversation(request, conversation)
    return render(
        request,
        "messaging/portal_conversation.html",
        {"conversation": conversation, "summary": summary},
    )


@require_GET
@portal_user_required
def portal_conversation(request: AuthenticatedHttpRequest, conversation_id: UUID) -> HttpResponse:
    """The newest messages; `?before=` the page before a message (no JavaScript)."""
    before = parse_cursor(request.GET.get("before"))
    return _portal_page(request, conversation_id, before=before)


@require_GET
@portal_user_required
def portal_messages(request: AuthenticatedHttpRequest, conversation_id: UUID) -> HttpResponse:
    relationship_id, summary = get_portal_conversation(request.user, conversation_id)
    try:
        found = _items(request, relationship_id, Side.CLIENT)
    except ValueError:
        return HttpResponseBadRequest("Unknown message.")
    audit_portal_message_list(
        actor=request.user,
        conversation_id=conversation_id,
        shown=_shown(found),
        audit_context=request.audit_context,
    )
    args = [conversation_id]
    return _render_items(
        request,
        found,
        time_zone=summary.time_zone,
        messages_url=reverse("messaging:portal_messages", args=args),
        page_url=reverse("messaging:portal_conversation", args=args),
    )


@require_POST
@portal_user_required
def portal_send(request: AuthenticatedHttpRequest, conversation_id: UUID) -> HttpResponse:
    relationship = get_portal_relationship(request.user, conversation_id)
    form = MessageForm(request.POST)
    if _send(request, relationship, form):
        if request.htmx:
            return _portal_page(request, conversation_id)
        return redirect("messaging:portal_conversation", conversation_id)
    return _portal_page(request, conversation_id, form)


@require_POST
@portal_user_required
def portal_read(request: AuthenticatedHttpRequest, conversation_id: UUID) -> HttpResponse:
    relationship = get_portal_relationship(request.user, conversation_id)
    back = reverse("messaging:portal_conversation", args=[conversation_id])
    return _mark_read(request, relationship, back)

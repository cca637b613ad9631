"""Secure messaging pages: the profile's Messaging section and the portal's Messages.

Therapists reach a conversation through `get_relationship_for_user(…, access=WRITE)`:
supervisors and admins get 404 (SPEC: supervisors never message their supervisees' clients).
Clients and guardians reach theirs through the portal selectors, which read named columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from caseload.audit.services import audit_record
from caseload.clients.models import CareRelationship
from caseload.clients.selectors import Access, access_for, get_relationship_for_user
from caseload.lib.http import AuthenticatedHttpRequest, clinician_required, portal_user_required
from caseload.messaging import services
from caseload.messaging.forms import MessageForm
from caseload.messaging.models import Side
from caseload.messaging.selectors import (
    MessageView,
    PortalConversation,
    Unavailable,
    availability,
    conversation_messages,
    get_portal_conversation,
    get_portal_relationship,
)

THERAPIST_NOTICES = {
    Unavailable.NOT_SIGNED_UP: "Messaging is available once the client signs up.",
    Unavailable.AWAITING_CONSENT: "Messaging is available once the client approves your request.",
    Unavailable.ENDED: "This conversation has ended.",
    Unavailable.ARCHIVED: "This client is archived: you can read the conversation, "
    "but not send messages.",
    Unavailable.MESSAGING_OFF: "Messaging is turned off for this client: turn on "
    "“Secure messaging” in Preferences to send messages.",
}
CLIENT_NOTICES = {
    Unavailable.ARCHIVED: "This conversation is closed: you can read it, but not send messages.",
    Unavailable.MESSAGING_OFF: "Messaging is turned off for this conversation: you can read "
    "earlier messages, but not send new ones.",
}


@dataclass(frozen=True)
class Conversation:
    """What the conversation partial shows, for either side."""

    public_id: UUID
    can_read: bool
    can_send: bool
    notice: str
    time_zone: str
    messages_url: str
    send_url: str
    read_url: str
    messages: list[MessageView] = field(default_factory=list)
    form: MessageForm | None = None

    @property
    def unread_through(self) -> UUID | None:
        """The newest message the viewer has not read, for the "Mark as read" button."""
        unread = [message for message in self.messages if message.is_unread]
        return unread[-1].public_id if unread else None


def _audit_list(
    request: HttpRequest, relationship: CareRelationship, shown: list[MessageView]
) -> None:
    """Showing messages is a read of the record (U1): audited, without their text."""
    if shown:
        audit_record(
            action="message.list",
            request=request,
            client=relationship.client,
            practice=relationship.practice,
            obj=relationship,
            detail={"count": len(shown)},
        )


def _parse_uuid(value: str | None) -> UUID | None:
    """An optional message id from the query or the form; ValueError when malformed."""
    return UUID(value) if value else None


# The therapist's side -------------------------------------------------------------------
def _staff_conversation(
    request: AuthenticatedHttpRequest, relationship: CareRelationship, form: MessageForm | None
) -> Conversation:
    allowed = availability(relationship)
    shown = conversation_messages(relationship, Side.THERAPIST) if allowed.can_read else []
    _audit_list(request, relationship, shown)
    notice = THERAPIST_NOTICES[allowed.reason] if allowed.reason else ""
    if allowed.reason == Unavailable.NOT_SIGNED_UP and relationship.client.is_child:
        notice = "Messaging is available once the guardian signs up."
    args = [relationship.public_id]
    return Conversation(
        public_id=relationship.public_id,
        can_read=allowed.can_read,
        can_send=allowed.can_send,
        notice=notice,
        time_zone=relationship.practice.time_zone,
        messages_url=reverse("messaging:messages", args=args),
        send_url=reverse("messaging:send", args=args),
        read_url=reverse("messaging:read", args=args),
        messages=shown,
        form=(form or MessageForm()) if allowed.can_send else None,
    )


def messaging_context(
    request: AuthenticatedHttpRequest, relationship: CareRelationship
) -> dict[str, Any]:
    """The profile's Messaging section. Only the client's own therapist sees the messages."""
    if access_for(request.user, relationship) != Access.WRITE:
        return {"conversation": None}
    return {"conversation": _staff_conversation(request, relationship, None)}


def _therapist_relationship(request: AuthenticatedHttpRequest, client_id: UUID) -> CareRelationship:
    return get_relationship_for_user(request.user, client_id, access=Access.WRITE)


@require_GET
@clinician_required
def staff_messages(request: AuthenticatedHttpRequest, client_id: UUID) -> HttpResponse:
    """The messages of a conversation as list items; with ?after=, only the newer ones."""
    relationship = _therapist_relationship(request, client_id)
    if not availability(relationship).can_read:
        raise Http404("No conversation.")
    try:
        after = _parse_uuid(request.GET.get("after"))
    except ValueError:
        return HttpResponseBadRequest("Unknown message.")
    shown = conversation_messages(relationship, Side.THERAPIST, after=after)
    _audit_list(request, relationship, shown)
    return render(
        request,
        "messaging/partials/_message_items.html",
        {"messages_shown": shown, "time_zone": relationship.practice.time_zone},
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
            sender=request.user,
            text=form.cleaned_data["text"],
            request=request,
        )
    except services.MessagingError as error:
        form.add_error("text", str(error))
        return False
    return True


def _profile_url(relationship: CareRelationship) -> str:
    return reverse("clients:detail", args=[relationship.public_id]) + "#messaging"


@require_POST
@clinician_required
def staff_send(request: AuthenticatedHttpRequest, client_id: UUID) -> HttpResponse:
    relationship = _therapist_relationship(request, client_id)
    form = MessageForm(request.POST)
    if _send(request, relationship, form):
        if request.htmx:
            conversation = _staff_conversation(request, relationship, None)
            return _render_conversation(request, conversation)
        return redirect(_profile_url(relationship))
    conversation = _staff_conversation(request, relationship, form)
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
        services.messages_mark_read(
            relationship=relationship, reader=request.user, through=through, request=request
        )
    except services.MessagingUnavailable:
        raise Http404("No conversation.") from None
    except services.InvalidMessage:
        return HttpResponseBadRequest("Unknown message.")
    if _wants_json(request):
        return JsonResponse({"ok": True})
    return redirect(back_url)


# The portal -------------------------------------------------------------------------------
def _portal_conversation(
    relationship_id: int,
    summary: PortalConversation,
    form: MessageForm | None = None,
) -> Conversation:
    shown = conversation_messages(relationship_id, Side.CLIENT)
    args = [summary.public_id]
    return Conversation(
        public_id=summary.public_id,
        can_read=True,
        can_send=summary.can_send,
        notice=CLIENT_NOTICES[summary.reason] if summary.reason else "",
        time_zone=summary.time_zone,
        messages_url=reverse("messaging:portal_messages", args=args),
        send_url=reverse("messaging:portal_send", args=args),
        read_url=reverse("messaging:portal_read", args=args),
        messages=shown,
        form=(form or MessageForm()) if summary.can_send else None,
    )


def _audit_portal_list(
    request: AuthenticatedHttpRequest, conversation_id: UUID, shown: list[MessageView]
) -> None:
    if shown:
        relationship = get_portal_relationship(request.user, conversation_id)
        _audit_list(request, relationship, shown)


def _portal_page(
    request: AuthenticatedHttpRequest, conversation_id: UUID, form: MessageForm | None = None
) -> HttpResponse:
    relationship_id, summary = get_portal_conversation(request.user, conversation_id)
    conversation = _portal_conversation(relationship_id, summary, form)
    _audit_portal_list(request, conversation_id, conversation.messages)
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
    return _portal_page(request, conversation_id)


@require_GET
@portal_user_required
def portal_messages(request: AuthenticatedHttpRequest, conversation_id: UUID) -> HttpResponse:
    relationship_id, summary = get_portal_conversation(request.user, conversation_id)
    try:
        after = _parse_uuid(request.GET.get("after"))
    except ValueError:
        return HttpResponseBadRequest("Unknown message.")
    shown = conversation_messages(relationship_id, Side.CLIENT, after=after)
    _audit_portal_list(request, conversation_id, shown)
    return render(
        request,
        "messaging/partials/_message_items.html",
        {"messages_shown": shown, "time_zone": summary.time_zone},
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

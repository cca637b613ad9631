"""What messaging shows: the conversation (either side's) and the workspace's Messaging section.

Both sides get the same `Conversation`, built from the frozen message views of the selectors
(decision 0006): the therapist's in the client profile, the client's or guardian's in the
portal. Showing messages is a read of the record, audited here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from django.core.exceptions import BadRequest
from django.urls import reverse

from caseload.accounts.models import User
from caseload.audit.services import audit_record
from caseload.clients.models import CareRelationship
from caseload.clients.sections import AttentionSignal, ProfileSection
from caseload.lib.http import AuditContext
from caseload.messaging.forms import MessageForm
from caseload.messaging.models import Side
from caseload.messaging.selectors import (
    MessagePage,
    MessageView,
    PortalConversation,
    Unavailable,
    UnknownCursor,
    availability,
    conversation_page,
    conversation_summary,
    get_portal_relationship,
    unread_subquery,
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
    messages_url: str  # the messages as list items (htmx, the live channel's fetches)
    send_url: str
    read_url: str
    page_url: str  # the conversation's own page (the profile tab, the portal page)
    messages: list[MessageView] = field(default_factory=list)
    form: MessageForm | None = None
    #: The oldest message shown, when older ones exist: "Show earlier" loads the page before it.
    earlier: UUID | None = None
    #: The newest messages are shown (not an earlier page opened without JavaScript).
    is_latest: bool = True

    @property
    def unread_through(self) -> UUID | None:
        """The newest message the viewer has not read, for the "Mark as read" button."""
        unread = [message for message in self.messages if message.is_unread]
        return unread[-1].public_id if unread else None


def audit_message_list(
    *,
    actor: User,
    relationship: CareRelationship,
    shown: list[MessageView],
    audit_context: AuditContext,
) -> None:
    """Showing messages is a read of the record (U1): audited, without their text."""
    if shown:
        audit_record(
            action="message.list",
            actor=actor,
            audit_context=audit_context,
            client=relationship.client,
            practice=relationship.practice,
            obj=relationship,
            detail={"count": len(shown)},
        )


def parse_cursor(value: str | None) -> UUID | None:
    """A "Show earlier" cursor from the query string (a message's public id), or None.

    A malformed one is a bad request (400), as is one that names no message of the
    conversation (`UnknownCursor`, raised when the page is read)."""
    if not value:
        return None
    try:
        return UUID(value)
    except ValueError:
        raise BadRequest("Unknown message.") from None


def _page(relationship: CareRelationship | int, side: Side, before: UUID | None) -> MessagePage:
    try:
        return conversation_page(relationship, side, before=before)
    except UnknownCursor:
        raise BadRequest("Unknown message.") from None


# The therapist's side -------------------------------------------------------------------
def _therapist_notice(relationship: CareRelationship, reason: Unavailable | None) -> str:
    if reason == Unavailable.NOT_SIGNED_UP and relationship.client.is_child:
        return "Messaging is available once the guardian signs up."
    return THERAPIST_NOTICES[reason] if reason else ""


def staff_conversation(
    viewer: User,
    relationship: CareRelationship,
    form: MessageForm | None,
    audit_context: AuditContext,
    *,
    before: UUID | None = None,
) -> Conversation:
    """The owner's conversation with the client (the caller has checked `is_owner`): the
    newest messages, or the page before the message `before` (BadRequest if it is unknown)."""
    allowed = availability(relationship)
    page = _page(relationship, Side.THERAPIST, before) if allowed.can_read else None
    shown = page.messages if page else []
    audit_message_list(
        actor=viewer, relationship=relationship, shown=shown, audit_context=audit_context
    )
    notice = _therapist_notice(relationship, allowed.reason)
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
        page_url=reverse("workspace:messaging", args=args),
        messages=shown,
        form=(form or MessageForm()) if allowed.can_send else None,
        earlier=page.earlier if page else None,
        is_latest=page.is_latest if page else True,
    )


def messaging_context(
    viewer: User,
    relationship: CareRelationship,
    audit_context: AuditContext,
    *,
    before: str | None = None,
) -> dict[str, Any]:
    """The profile's Messaging tab. Only the client's own therapist sees the messages
    (supervisors never do); what the conversation allows is messaging's own rule.

    `before` is the tab's `?before=` (the "Show earlier" link without JavaScript)."""
    if not relationship.access.is_owner:
        return {"conversation": None}
    cursor = parse_cursor(before)
    conversation = staff_conversation(viewer, relationship, None, audit_context, before=cursor)
    return {"conversation": conversation}


@dataclass(frozen=True)
class MessagingOverview:
    unread: int
    last_message_at: datetime | None
    notice: str  # why the conversation can't be used (or only read), if so


def messaging_overview(
    viewer: User, relationship: CareRelationship, audit_context: AuditContext
) -> dict[str, Any]:
    """The Overview's Messaging card: unread messages from the client and the last message's
    date, for the client's own therapist only (a supervisor sees no card). Counts, no text:
    not a read of the messages, so not audited. One query."""
    if not relationship.access.is_owner:
        return {"messaging_overview": None}
    allowed = availability(relationship)
    summary = conversation_summary(relationship, Side.THERAPIST) if allowed.can_read else None
    return {
        "messaging_overview": MessagingOverview(
            unread=summary.unread if summary else 0,
            last_message_at=summary.last_message_at if summary else None,
            notice=_therapist_notice(relationship, allowed.reason),
        )
    }


# The client's or guardian's side (the portal) ---------------------------------------------
def audit_portal_message_list(
    *, actor: User, conversation_id: UUID, shown: list[MessageView], audit_context: AuditContext
) -> None:
    """The portal's read of messages, audited like the therapist's (U1)."""
    if shown:
        relationship = get_portal_relationship(actor, conversation_id)
        audit_message_list(
            actor=actor, relationship=relationship, shown=shown, audit_context=audit_context
        )


def client_conversation(
    viewer: User,
    relationship_id: int,
    summary: PortalConversation,
    form: MessageForm | None,
    audit_context: AuditContext,
    *,
    before: UUID | None = None,
) -> Conversation:
    """The portal conversation `summary` describes (from `get_portal_conversation`): the
    newest messages, or the page before the message `before` (BadRequest if it is unknown)."""
    page = _page(relationship_id, Side.CLIENT, before)
    shown = page.messages
    audit_portal_message_list(
        actor=viewer, conversation_id=summary.public_id, shown=shown, audit_context=audit_context
    )
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
        page_url=reverse("messaging:portal_conversation", args=args),
        messages=shown,
        form=(form or MessageForm()) if summary.can_send else None,
        earlier=page.earlier,
        is_latest=page.is_latest,
    )


ATTENTION = [
    # Messages from the client the therapist hasn't read (shown to the therapist only).
    AttentionSignal("unread_messages", lambda: unread_subquery(Side.THERAPIST)),
]
SECTIONS = [
    ProfileSection(
        "messaging",
        "Messaging",
        "messaging/partials/_messaging_section.html",
        messaging_context,
        overview=messaging_overview,
        overview_template="messaging/partials/_overview_messaging.html",
        paged=True,
    )
]

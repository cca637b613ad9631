"""What messaging shows in the client workspace: its profile section(s) and attention signals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.urls import reverse

from caseload.accounts.models import User
from caseload.audit.services import audit_record
from caseload.clients.models import CareRelationship
from caseload.clients.sections import AttentionSignal, ProfileSection
from caseload.lib.http import AuditContext
from caseload.messaging.forms import MessageForm
from caseload.messaging.models import Side
from caseload.messaging.selectors import (
    MessageView,
    Unavailable,
    availability,
    conversation_messages,
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


def audit_message_list(
    viewer: User,
    audit_context: AuditContext,
    relationship: CareRelationship,
    shown: list[MessageView],
) -> None:
    """Showing messages is a read of the record (U1): audited, without their text."""
    if shown:
        audit_record(
            action="message.list",
            actor=viewer,
            audit_context=audit_context,
            client=relationship.client,
            practice=relationship.practice,
            obj=relationship,
            detail={"count": len(shown)},
        )


# The therapist's side -------------------------------------------------------------------
def staff_conversation(
    viewer: User,
    relationship: CareRelationship,
    form: MessageForm | None,
    audit_context: AuditContext,
) -> Conversation:
    allowed = availability(relationship)
    shown = conversation_messages(relationship, Side.THERAPIST) if allowed.can_read else []
    audit_message_list(viewer, audit_context, relationship, shown)
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
    viewer: User, relationship: CareRelationship, audit_context: AuditContext
) -> dict[str, Any]:
    """The profile's Messaging section. Only the client's own therapist sees the messages."""
    if not relationship.access.is_owner:
        return {"conversation": None}
    return {"conversation": staff_conversation(viewer, relationship, None, audit_context)}


ATTENTION = [
    # Messages from the client the therapist hasn't read (shown to the therapist only).
    AttentionSignal("unread_messages", lambda: unread_subquery(Side.THERAPIST)),
]
SECTIONS = [
    ProfileSection(
        "messaging",
        "Messaging",
        "messaging/partials/_messaging_section.html",
        lambda viewer, relationship, audit_context: messaging_context(
            viewer, relationship, audit_context
        ),
    )
]

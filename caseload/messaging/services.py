"""Every write of secure messaging: sending a message and marking messages read.

Each runs in one transaction. The email that announces unread messages is queued in the same
transaction (decision 0003); live events go out only after the commit, so nobody is told
about a message that then rolls back (decision 0011).
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from caseload.accounts.models import User
from caseload.audit.services import audit_record
from caseload.clients.models import CareRelationship
from caseload.lib.http import SYSTEM, AuditContext
from caseload.messaging import live
from caseload.messaging.models import Message, MessageNotification, Side
from caseload.messaging.selectors import (
    Unavailable,
    availability,
    participants,
    side_of,
    unread_count,
)
from caseload.messaging.tasks import send_message_notification


class MessagingError(Exception):
    """A rule stopped the change; the message is a sentence for the person who asked."""


class MessagingUnavailable(MessagingError):
    def __init__(self, reason: Unavailable | None, message: str) -> None:
        self.reason = reason
        super().__init__(message)


class NotAParticipant(MessagingError):
    pass


class InvalidMessage(MessagingError):
    pass


SEND_REFUSED = {
    Unavailable.NOT_SIGNED_UP: "Messaging is available once the client has signed up.",
    Unavailable.AWAITING_CONSENT: "Messaging is available once the connection is approved.",
    Unavailable.ENDED: "This conversation has ended.",
    Unavailable.ARCHIVED: "This conversation is read-only now: no new messages can be sent.",
    Unavailable.MESSAGING_OFF: "Messaging is turned off for this conversation.",
}


def normalize_text(text: str) -> str:
    """Plain text as typed: unified line breaks, no surrounding blank space."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def _locked(relationship: CareRelationship) -> CareRelationship:
    """Lock the relationship row: sends to one conversation queue up behind each other, so
    two simultaneous messages can't both open a notification batch."""
    return (
        CareRelationship.objects.select_for_update(of=("self",))
        .select_related("client__account", "client__guardianship__account", "therapist", "practice")
        .get(pk=relationship.pk)
    )


def _participant(relationship: CareRelationship, user: User) -> Side:
    side = side_of(relationship, user)
    if side is None:
        raise NotAParticipant("Only the therapist and the client can use this conversation.")
    return side


@transaction.atomic
def message_send(
    *,
    relationship: CareRelationship,
    actor: User,
    text: str,
    audit_context: AuditContext = SYSTEM,
) -> Message:
    """MSG-1: `actor` (the therapist, or the client or guardian) sends a plain-text message;
    MSG-3: open a notification batch if none is open."""
    relationship = _locked(relationship)
    side = _participant(relationship, actor)
    allowed = availability(relationship)
    if not allowed.can_send:
        assert allowed.reason is not None
        raise MessagingUnavailable(allowed.reason, SEND_REFUSED[allowed.reason])
    text = normalize_text(text)
    if not text:
        raise InvalidMessage("Write a message before sending.")
    if len(text) > settings.MESSAGE_MAX_LENGTH:
        raise InvalidMessage(
            f"A message can be at most {settings.MESSAGE_MAX_LENGTH:,} characters "
            f"(this one has {len(text):,})."
        )
    message = Message.objects.create(
        relationship=relationship, sender=actor, sender_side=side, text=text
    )
    recipient_side = side.other
    recipient = participants(relationship)[recipient_side]
    assert recipient is not None  # availability() requires both sides to have accounts
    if not MessageNotification.objects.filter(
        relationship=relationship, recipient_side=recipient_side, closed_at__isnull=True
    ).exists():
        notification = MessageNotification.objects.create(
            relationship=relationship, recipient_side=recipient_side, recipient=recipient
        )
        delay = settings.MESSAGE_EMAIL_DELAY_SECONDS
        task = send_message_notification
        if delay > 0:
            task = task.using(run_after=timezone.now() + timedelta(seconds=delay))
        task.enqueue(notification.pk)
    audit_record(
        action="message.send",
        actor=actor,
        audit_context=audit_context,
        client=relationship.client,
        practice=relationship.practice,
        obj=message,
        detail={"side": str(side)},
    )
    users = {side: actor, recipient_side: recipient}
    conversation = str(relationship.public_id)
    relationship_id = relationship.pk

    def tell() -> None:
        live.publish(
            [user.pk for user in users.values()],
            {"event": "message", "conversation": conversation, "message": str(message.public_id)},
        )
        live.publish(
            [recipient.pk],
            {
                "event": "unread",
                "conversation": conversation,
                "count": unread_count(relationship_id, recipient_side),
            },
        )

    transaction.on_commit(tell, robust=True)
    return message


@transaction.atomic
def message_mark_read(
    *,
    relationship: CareRelationship,
    actor: User,
    through: UUID | None = None,
    audit_context: AuditContext = SYSTEM,
) -> int:
    """Mark what `actor` (the reader) has seen as read: messages to their side up to
    `through` (all without).

    Called when the reader's page has shown the messages, not when they were fetched. Once
    nothing is left unread, the notification batch closes: the next message emails again.
    Returns how many messages were marked.
    """
    relationship = _locked(relationship)
    side = _participant(relationship, actor)
    if not availability(relationship).can_read:
        raise MessagingUnavailable(None, "This conversation can't be opened.")
    unread = Message.objects.filter(
        relationship=relationship, sender_side=side.other, read_at__isnull=True
    )
    if through is not None:
        anchor = (
            Message.objects.filter(relationship=relationship, public_id=through)
            .values_list("pk", flat=True)
            .first()
        )
        if anchor is None:
            raise InvalidMessage("That message is not in this conversation.")
        unread = unread.filter(pk__lte=anchor)
    marked = list(unread.values_list("public_id", flat=True))
    now = timezone.now()
    if marked:
        Message.objects.filter(public_id__in=marked).update(read_at=now, read_by=actor)
    remaining = unread_count(relationship.pk, side)
    if remaining == 0:
        MessageNotification.objects.filter(
            relationship=relationship, recipient_side=side, closed_at__isnull=True
        ).update(closed_at=now)
    if not marked:
        return 0
    audit_record(
        action="message.read",
        actor=actor,
        audit_context=audit_context,
        client=relationship.client,
        practice=relationship.practice,
        obj=relationship,
        detail={"count": len(marked), "side": str(side)},
    )
    other = participants(relationship)[side.other]
    conversation = str(relationship.public_id)

    def tell() -> None:
        if other is not None:
            live.publish(
                [other.pk],
                {
                    "event": "read",
                    "conversation": conversation,
                    "messages": [str(public_id) for public_id in marked],
                },
            )
        live.publish(
            [actor.pk], {"event": "unread", "conversation": conversation, "count": remaining}
        )

    transaction.on_commit(tell, robust=True)
    return len(marked)

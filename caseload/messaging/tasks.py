"""Background delivery of "a secure message is waiting" emails (MSG-3, PR-2)."""

from __future__ import annotations

from django.tasks import task
from django.urls import reverse

from caseload.clients.models import CareState
from caseload.lib.email import build_message, send_tracked
from caseload.messaging.models import MessageNotification, Side


@task(queue_name="email")
def send_message_notification(notification_id: int, attempt: int = 1) -> str:
    """Send (or retry) the one email of an unread batch.

    The email says only that a secure message is waiting and links to it: no message text, no
    names, nothing clinical. If everything was read before it went out, it is not sent.
    """
    notification = (
        MessageNotification.objects.select_related("relationship", "recipient")
        .filter(pk=notification_id)
        .first()
    )
    if notification is None or notification.closed_at is not None:
        return "skipped: read meanwhile"
    relationship = notification.relationship
    if relationship.state == CareState.ENDED:
        return "skipped: conversation ended"
    to_therapist = notification.recipient_side == Side.THERAPIST
    link_path = (
        reverse("workspace:messaging", args=[relationship.public_id])
        if to_therapist
        else reverse("messaging:portal_conversation", args=[relationship.public_id])
    )
    message = build_message(
        to=notification.recipient.email,
        subject="You have a new secure message on Caseload",
        template="messaging/email/new_message",
        context={"link_path": link_path, "to_therapist": to_therapist},
    )

    return send_tracked(
        rows=MessageNotification.objects.filter(pk=notification_id),
        task=send_message_notification,
        attempt=attempt,
        message=message,
        args=(notification_id,),
    )

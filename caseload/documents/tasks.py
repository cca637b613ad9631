"""Document emails (DOC-2): they say only that something is waiting, with a link to sign in.

No document titles, answers, scores or names of conditions: an email can be read by anyone
with access to the mailbox. Sent by the durable email queue with retries (PR-2).
"""

from __future__ import annotations

from django.tasks import task
from django.urls import reverse

from caseload.clients.models import CareRelationship
from caseload.clients.services import account_holder
from caseload.documents.models import AssignedDocument
from caseload.lib.email import build_message, send_with_retry


@task(queue_name="email")
def send_documents_email(relationship_id: int, kind: str, attempt: int = 1) -> str:
    """Tell the client (or a child's guardian) that documents are waiting in the portal."""
    relationship = (
        CareRelationship.objects.select_related(
            "practice", "client__account", "client__guardianship__account"
        )
        .filter(pk=relationship_id)
        .first()
    )
    recipient = account_holder(relationship.client) if relationship is not None else None
    if relationship is None or recipient is None:
        return "skipped: nobody to tell"
    reminder = kind == "reminder"
    message = build_message(
        to=recipient.email,
        subject="Reminder: documents are waiting for you"
        if reminder
        else "You have documents to complete",
        template="documents/email/documents_waiting",
        context={
            "practice_name": relationship.practice.name,
            "is_reminder": reminder,
            "link_path": reverse("portal:documents"),
        },
    )
    delivered = send_with_retry(
        task=send_documents_email,
        attempt=attempt,
        send=lambda: message.send(),
        args=(relationship_id, kind),
    )
    return "sent" if delivered else "retrying"


@task(queue_name="email")
def send_flag_email(document_id: int, attempt: int = 1) -> str:
    """Tell the therapist that a response needs their immediate attention (PHQ-9 item 9)."""
    document = (
        AssignedDocument.objects.select_related("relationship__therapist")
        .filter(pk=document_id)
        .first()
    )
    if document is None:
        return "skipped: no such document"
    relationship = document.relationship
    message = build_message(
        to=relationship.therapist.email,
        subject="A questionnaire response needs your attention",
        template="documents/email/flagged",
        context={
            "link_path": reverse(
                "documents:document", args=[relationship.public_id, document.public_id]
            ),
        },
    )
    delivered = send_with_retry(
        task=send_flag_email, attempt=attempt, send=lambda: message.send(), args=(document_id,)
    )
    return "sent" if delivered else "retrying"

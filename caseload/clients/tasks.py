"""Background delivery of invitation emails (PR-2)."""

from __future__ import annotations

from django.tasks import task

from caseload.clients.models import Invitation, InvitationKind
from caseload.lib.email import build_message, send_tracked


@task(queue_name="email")
def send_invitation_email(invitation_id: int, version: int = 0, attempt: int = 1) -> str:
    """Send (or retry) one invitation email.

    `version` is the invitation's `sent_count` when the email was queued: a resend starts a
    new chain, and an older chain still retrying stops instead of sending a second copy or
    overwriting the delivery status.
    """
    invitation = (
        Invitation.objects.select_related(
            "relationship__therapist", "relationship__practice", "relationship__client"
        )
        .filter(pk=invitation_id)
        .first()
    )
    if invitation is None or not invitation.is_usable:
        return "skipped: invitation no longer usable"
    if invitation.sent_count != version:
        return "skipped: superseded by a resend"
    relationship = invitation.relationship
    connection = invitation.kind == InvitationKind.CONNECTION
    subject = (
        f"{relationship.therapist} would like to connect with you on Caseload"
        if connection
        else f"{relationship.therapist} invited you to Caseload"
    )
    message = build_message(
        to=invitation.email,
        subject=subject,
        template="clients/email/invitation",
        context={
            "therapist_name": str(relationship.therapist),
            "practice_name": relationship.practice.name,
            "is_connection": connection,
            "is_child": relationship.client.is_child,
            "link_path": f"/invite/{invitation.token()}/",
            "expires_at": invitation.expires_at,
        },
    )

    return send_tracked(
        rows=Invitation.objects.filter(pk=invitation_id),
        task=send_invitation_email,
        attempt=attempt,
        message=message,
        args=(invitation_id,),
        kwargs={"version": version},
    )

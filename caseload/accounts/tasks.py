"""Background delivery of account emails (verification, password reset) with retries."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.tasks import TaskContext, task
from django_tasks_db.models import DBTaskResult

from caseload.lib.email import send_with_retry

REDACTED = {"args": [], "kwargs": {"redacted": True}}


@task(queue_name="email", takes_context=True)
def deliver_email(
    context: TaskContext[..., None],
    *,
    to: list[str],
    subject: str,
    text: str,
    html: str = "",
    message_id: str = "",
    attempt: int = 1,
) -> str:
    """Send a rendered account email.

    allauth puts one-time links (password reset) in the text, so the queued copy is blanked
    once the email has been handed over (or handed on to the next attempt). `message_id`,
    chosen when the email is queued, is the Message-ID of every attempt, a re-run after the
    worker died included.
    """
    message = EmailMultiAlternatives(
        subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=to
    )
    if html:
        message.attach_alternative(html, "text/html")
    if message_id:
        message.extra_headers["Message-ID"] = message_id
    try:
        delivered = send_with_retry(
            task=deliver_email,
            attempt=attempt,
            send=message.send,
            kwargs={
                "to": to,
                "subject": subject,
                "text": text,
                "html": html,
                "message_id": message_id,
            },
        )
    finally:
        DBTaskResult.objects.filter(pk=context.task_result.id).update(args_kwargs=REDACTED)
    return "sent" if delivered else "retrying"

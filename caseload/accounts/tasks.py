"""Background delivery of account emails (verification, password reset) with retries."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.tasks import task

from caseload.lib.email import send_with_retry


@task(queue_name="email")
def deliver_email(
    *, to: list[str], subject: str, text: str, html: str = "", attempt: int = 1
) -> str:
    message = EmailMultiAlternatives(
        subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=to
    )
    if html:
        message.attach_alternative(html, "text/html")
    delivered = send_with_retry(
        task=deliver_email,
        attempt=attempt,
        send=lambda: message.send(),
        kwargs={"to": to, "subject": subject, "text": text, "html": html},
    )
    return "sent" if delivered else "retrying"

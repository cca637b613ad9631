"""Email is durable (PR-2, SECURITY R2): real SMTP delivery, retries while the server is down,
a visible failure after the last attempt, and account emails through the same queue."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from django.core import mail
from django.urls import resolve, reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from caseload.clients import services
from caseload.clients.models import CareRelationship, Client, DeliveryStatus, Invitation
from caseload.portal import views as portal_views

INVITE_LINK = re.compile(r"https?://[^\s\"<]+(/invite/[0-9a-f]+/)")


class Inbox:
    """aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        message = message_from_bytes(envelope.original_content, policy=default_policy)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def smtp_mailers(port: int) -> dict:
    return {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "use_tls": False, "timeout": 5},
        }
    }


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, Inbox]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


def text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return body.get_content()


def add_client(therapist):
    return services.client_add(
        actor=therapist,
        full_name="Nora Quinn",
        email="nora@example.com",
        billing_type="cash_pay",
    )


def make_retries_due() -> None:
    """Let the scheduled retries' time come (the worker would simply wait for it)."""
    DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())


def test_an_invitation_is_delivered_to_a_real_smtp_server(
    therapist, run_tasks, settings, smtp_server
):
    port, inbox = smtp_server
    settings.MAILERS = smtp_mailers(port)
    added = add_client(therapist)

    assert run_tasks() == 1

    [(sender, recipients, message)] = inbox.messages
    assert recipients == ["nora@example.com"]
    assert "no-reply@caseload.local" in sender
    assert message["Subject"] == "Alice Rivera invited you to Caseload"
    path = INVITE_LINK.search(text_of(message)).group(1)
    match = resolve(path)
    assert match.func == portal_views.invitation_open
    assert services.invitation_for_token(match.kwargs["token"]) == added.invitation
    html = message.get_body(preferencelist=("html",)).get_content()
    assert path in html
    invitation = Invitation.objects.get(pk=added.invitation.pk)
    assert invitation.delivery_status == DeliveryStatus.SENT
    assert invitation.delivered_at is not None


def test_smtp_down_keeps_the_client_and_retries_until_delivered(
    therapist, run_tasks, settings, smtp_server
):
    port, inbox = smtp_server
    settings.MAILERS = smtp_mailers(free_port())  # nothing listens there
    settings.EMAIL_RETRY_BASE_SECONDS = 600
    added = add_client(therapist)

    assert run_tasks() == 1

    assert Client.objects.filter(email="nora@example.com").exists()
    assert CareRelationship.objects.filter(pk=added.relationship.pk).exists()
    invitation = Invitation.objects.get(pk=added.invitation.pk)
    assert invitation.delivery_status == DeliveryStatus.RETRYING
    assert invitation.delivery_problem
    assert "ConnectionRefusedError" in invitation.delivery_error
    retry = DBTaskResult.objects.get(status="READY")
    assert retry.run_after > timezone.now()
    assert run_tasks() == 0  # the retry waits for its time

    settings.MAILERS = smtp_mailers(port)  # the mail server is back
    make_retries_due()
    assert run_tasks() == 1

    [(_, recipients, message)] = inbox.messages
    assert recipients == ["nora@example.com"]
    path = INVITE_LINK.search(text_of(message)).group(1)
    assert services.invitation_for_token(resolve(path).kwargs["token"]) == added.invitation
    invitation.refresh_from_db()
    assert invitation.delivery_status == DeliveryStatus.SENT
    assert invitation.delivery_error == ""
    assert invitation.delivery_attempts == 2


def test_after_the_last_attempt_the_failure_shows_and_the_invitation_can_be_resent(
    therapist, run_tasks, settings, smtp_server
):
    port, inbox = smtp_server
    settings.MAILERS = smtp_mailers(free_port())
    settings.EMAIL_MAX_ATTEMPTS = 3
    added = add_client(therapist)

    assert run_tasks() == 3

    invitation = Invitation.objects.get(pk=added.invitation.pk)
    assert invitation.delivery_status == DeliveryStatus.FAILED
    assert invitation.delivery_attempts == 3
    assert "ConnectionRefusedError" in invitation.delivery_error
    assert invitation.is_usable
    assert DBTaskResult.objects.failed().count() == 1

    settings.MAILERS = smtp_mailers(port)
    services.invitation_resend(relationship=added.relationship, actor=added.relationship.therapist)
    assert run_tasks() == 1

    assert len(inbox.messages) == 1
    invitation.refresh_from_db()
    assert invitation.delivery_status == DeliveryStatus.SENT
    path = INVITE_LINK.search(text_of(inbox.messages[0][2])).group(1)
    assert services.invitation_for_token(resolve(path).kwargs["token"]) == invitation


def test_password_reset_email_goes_through_the_task_queue(client, client_user, run_tasks):
    run_tasks()  # the invitation sent when maya was added
    mail.outbox.clear()

    response = client.post(reverse("account_reset_password"), {"email": "Maya@Example.com"})

    assert response.status_code == 302
    assert mail.outbox == []  # not sent inside the request
    [task] = DBTaskResult.objects.filter(status="READY")
    assert task.task_path == "caseload.accounts.tasks.deliver_email"
    assert task.queue_name == "email"
    assert run_tasks() == 1
    [message] = mail.outbox
    assert message.to == ["maya@example.com"]
    assert "/accounts/password/reset/key/" in message.body


def test_password_reset_email_survives_an_smtp_outage(
    client, client_user, run_tasks, settings, smtp_server
):
    port, inbox = smtp_server
    run_tasks()
    settings.MAILERS = smtp_mailers(free_port())
    settings.EMAIL_RETRY_BASE_SECONDS = 600

    client.post(reverse("account_reset_password"), {"email": "maya@example.com"})
    assert run_tasks() == 1
    assert inbox.messages == []

    settings.MAILERS = smtp_mailers(port)
    make_retries_due()
    assert run_tasks() == 1

    [(_, recipients, message)] = inbox.messages
    assert recipients == ["maya@example.com"]
    assert "/accounts/password/reset/key/" in text_of(message)

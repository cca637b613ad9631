"""The invitation email task and the retry helper it shares with account emails (PR-2, R2)."""

from __future__ import annotations

import re
import socket
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from caseload.accounts.tasks import deliver_email
from caseload.clients import services
from caseload.clients.models import DeliveryStatus, Invitation
from caseload.lib.email import retry_delay
from tests.factories import account

LINK = re.compile(r"(https?://[^\s\"<]+)/invite/([0-9a-f]+)/")


@pytest.fixture
def smtp_down(settings):
    """Point the default mailer at a local port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "use_tls": False, "timeout": 5},
        }
    }


def add(therapist, email="nora@example.com", **kwargs):
    return services.client_add(
        actor=therapist, full_name="Nora Quinn", email=email, billing_type="cash_pay", **kwargs
    )


def only_task_result() -> DBTaskResult:
    return DBTaskResult.objects.get(task_path__endswith="send_invitation_email")


class TestSendInvitationEmail:
    def test_signup_invitation_is_sent_to_the_client_with_a_working_link(
        self, therapist, run_tasks, settings
    ):
        added = add(therapist)

        assert mail.outbox == []  # nothing is sent inside the request
        assert run_tasks() == 1

        assert len(mail.outbox) == 1
        message = mail.outbox[0]
        assert message.to == ["nora@example.com"]
        assert message.subject == "Alice Rivera invited you to Caseload"
        site_url, token = LINK.search(message.body).groups()
        assert site_url == settings.SITE_URL
        assert services.invitation_for_token(token) == added.invitation
        html = message.alternatives[0]
        assert html.mimetype == "text/html"
        assert f"/invite/{token}/" in html.content
        invitation = Invitation.objects.get(pk=added.invitation.pk)
        assert invitation.delivery_status == DeliveryStatus.SENT
        assert invitation.delivery_attempts == 1
        assert invitation.delivered_at is not None
        assert only_task_result().return_value == "sent"

    def test_connection_request_says_so(self, therapist, run_tasks):
        account("omar@example.com")
        add(therapist, email="omar@example.com")

        run_tasks()

        message = mail.outbox[0]
        assert message.subject == "Alice Rivera would like to connect with you on Caseload"
        assert "approve or decline" in message.body

    def test_child_invitation_goes_to_the_guardian(self, therapist, run_tasks):
        services.client_add(
            actor=therapist,
            full_name="Leo Park",
            is_child=True,
            guardian_name="Jin Park",
            guardian_email="jin@example.com",
            guardian_relationship="parent",
        )

        run_tasks()

        message = mail.outbox[0]
        assert message.to == ["jin@example.com"]
        assert "manage your child's care" in message.body
        assert "Leo Park" not in message.body  # no client details in email

    def test_an_invitation_revoked_before_delivery_is_not_sent(self, therapist, run_tasks):
        added = add(therapist)
        services.relationship_archive(
            relationship=added.relationship, actor=added.relationship.therapist
        )

        run_tasks()

        assert mail.outbox == []
        assert only_task_result().return_value == "skipped: invitation no longer usable"

    def test_after_a_resend_only_the_current_link_is_emailed(self, therapist, run_tasks):
        added = add(therapist)
        old_token = added.invitation.token()
        services.invitation_resend(
            relationship=added.relationship, actor=added.relationship.therapist
        )

        assert run_tasks() == 2

        assert len(mail.outbox) == 1  # the superseded email is not sent as well
        token = LINK.search(mail.outbox[0].body).group(2)
        assert token != old_token
        assert services.invitation_for_token(token).pk == added.invitation.pk

    def test_a_resend_stops_the_retries_of_the_earlier_email(
        self, therapist, run_tasks, settings, smtp_down
    ):
        settings.EMAIL_RETRY_BASE_SECONDS = 30
        added = add(therapist)
        assert run_tasks() == 1  # fails, schedules a retry of the first email
        settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
        services.invitation_resend(
            relationship=added.relationship, actor=added.relationship.therapist
        )
        DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())

        assert run_tasks() == 2  # the retry of the old chain, and the resend

        assert len(mail.outbox) == 1
        invitation = Invitation.objects.get(pk=added.invitation.pk)
        assert invitation.delivery_status == DeliveryStatus.SENT
        returns = set(DBTaskResult.objects.values_list("return_value", flat=True))
        assert "skipped: superseded by a resend" in returns


class TestRetries:
    def test_a_failure_is_recorded_and_retried_with_exponential_backoff(
        self, therapist, run_tasks, settings, smtp_down
    ):
        settings.EMAIL_RETRY_BASE_SECONDS = 30
        added = add(therapist)

        for attempt in (1, 2, 3):
            DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())
            started = timezone.now()
            assert run_tasks() == 1
            invitation = Invitation.objects.get(pk=added.invitation.pk)
            assert invitation.delivery_status == DeliveryStatus.RETRYING
            assert invitation.delivery_attempts == attempt
            assert "ConnectionRefusedError" in invitation.delivery_error
            retry = DBTaskResult.objects.get(status="READY")
            assert retry.args_kwargs == {
                "args": [added.invitation.pk],
                "kwargs": {"version": 0, "attempt": attempt + 1},
            }
            expected = started + timedelta(seconds=30 * 2 ** (attempt - 1))
            assert abs(retry.run_after - expected) < timedelta(seconds=5)
            assert run_tasks() == 0  # not due yet

    def test_retry_delay_doubles(self, settings):
        settings.EMAIL_RETRY_BASE_SECONDS = 30

        assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]

    def test_the_last_attempt_gives_up_and_fails_the_task(
        self, therapist, run_tasks, settings, smtp_down
    ):
        settings.EMAIL_MAX_ATTEMPTS = 2
        added = add(therapist)

        assert run_tasks() == 2

        invitation = Invitation.objects.get(pk=added.invitation.pk)
        assert invitation.delivery_status == DeliveryStatus.FAILED
        assert invitation.delivery_attempts == 2
        assert invitation.is_usable
        assert DBTaskResult.objects.failed().count() == 1
        assert not DBTaskResult.objects.filter(status="READY").exists()


class TestDeliverEmail:
    def test_account_email_is_delivered_with_its_html_part(self, run_tasks):
        deliver_email.enqueue(
            to=["maya@example.com"], subject="Reset", text="plain body", html="<p>html body</p>"
        )

        assert mail.outbox == []
        assert run_tasks() == 1

        message = mail.outbox[0]
        assert (message.to, message.subject, message.body) == (
            ["maya@example.com"],
            "Reset",
            "plain body",
        )
        assert message.alternatives[0].content == "<p>html body</p>"

    def test_account_email_is_retried_with_the_same_content(self, run_tasks, settings, smtp_down):
        settings.EMAIL_RETRY_BASE_SECONDS = 60
        deliver_email.enqueue(
            to=["maya@example.com"], subject="Reset", text="plain body", message_id="<m@x>"
        )

        assert run_tasks() == 1

        retry = DBTaskResult.objects.get(status="READY")
        assert retry.args_kwargs["kwargs"] == {
            "to": ["maya@example.com"],
            "subject": "Reset",
            "text": "plain body",
            "html": "",
            "message_id": "<m@x>",
            "attempt": 2,
        }

    def test_a_sent_account_email_leaves_no_copy_of_its_link_in_the_queue(self, run_tasks):
        link = "https://caseload.example.com/accounts/password/reset/key/abc-123/"
        deliver_email.enqueue(to=["maya@example.com"], subject="Reset", text=f"Reset: {link}")

        assert run_tasks() == 1

        assert link in mail.outbox[0].body
        assert all(link not in str(row.args_kwargs) for row in DBTaskResult.objects.all())

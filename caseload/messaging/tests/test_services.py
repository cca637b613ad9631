"""Secure messaging services: who may message, read state, email batching, audit (MSG-1, 3)."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from caseload.audit.models import AuditEvent
from caseload.clients import services as client_services
from caseload.clients.models import CareState, DeliveryStatus
from caseload.lib.http import AuditContext
from caseload.messaging import services
from caseload.messaging.models import Message, MessageNotification, Side
from caseload.messaging.selectors import (
    Unavailable,
    availability,
    conversation_messages,
    unread_count,
)
from tests.factories import pending_relationship

pytestmark = pytest.mark.django_db

SUBJECT = "You have a new secure message on Caseload"


@pytest.fixture(autouse=True)
def _no_email_delay(settings):
    """Emails go out as soon as the worker runs (the delay has a test of its own)."""
    settings.MESSAGE_EMAIL_DELAY_SECONDS = 0


def send(relationship, sender, text="Hello"):
    return services.message_send(relationship=relationship, actor=sender, text=text)


def notification_emails():
    return [message for message in mail.outbox if message.subject == SUBJECT]


def email_tasks() -> int:
    return DBTaskResult.objects.filter(task_path__endswith="send_message_notification").count()


# Availability (MSG-1) ---------------------------------------------------------------------
class TestAvailability:
    def test_an_active_client_who_signed_up_can_message_and_be_messaged(
        self, active_client, therapist, client_user
    ):
        assert availability(active_client).can_send

        send(active_client, therapist, "From the therapist")
        send(active_client, client_user, "From the client")

        sides = list(
            Message.objects.filter(relationship=active_client)
            .order_by("pk")
            .values_list("sender_side", flat=True)
        )
        assert sides == [Side.THERAPIST, Side.CLIENT]

    def test_a_client_who_has_not_signed_up_cannot_be_messaged(self, therapist):
        pending = pending_relationship(therapist, full_name="Pat Pending", email="pat@example.com")

        allowed = availability(pending)
        assert (allowed.can_read, allowed.can_send) == (False, False)
        assert allowed.reason == Unavailable.NOT_SIGNED_UP
        with pytest.raises(services.MessagingUnavailable, match="signed up"):
            send(pending, therapist)
        assert not Message.objects.exists()

    def test_a_child_is_messaged_through_the_guardian_once_the_guardian_signed_up(
        self, therapist, child_client, guardian_user
    ):
        not_yet = client_services.client_add(
            actor=therapist,
            full_name="Leo Martin",
            billing_type="cash_pay",
            is_child=True,
            guardian_name="Claire Martin",
            guardian_email="claire@example.com",
            guardian_relationship="parent",
        ).relationship

        assert availability(not_yet).reason == Unavailable.NOT_SIGNED_UP
        message = send(child_client, guardian_user, "Ava had a better week")
        assert message.sender_side == Side.CLIENT
        reply = send(child_client, therapist, "Glad to hear it")
        assert reply.sender_side == Side.THERAPIST

    def test_messaging_turned_off_leaves_the_history_readable_but_refuses_sending(
        self, active_client, therapist, client_user
    ):
        send(active_client, client_user, "Before it was turned off")
        client_services.relationship_update_details(
            relationship=active_client,
            section="preferences",
            values={"messaging_enabled": False},
            actor=active_client.therapist,
        )
        active_client.refresh_from_db()

        allowed = availability(active_client)
        assert (allowed.can_read, allowed.can_send) == (True, False)
        assert allowed.reason == Unavailable.MESSAGING_OFF
        for sender in (therapist, client_user):
            with pytest.raises(services.MessagingUnavailable):
                send(active_client, sender)
        assert [m.text for m in conversation_messages(active_client, Side.THERAPIST)] == [
            "Before it was turned off"
        ]

    def test_an_archived_client_keeps_a_readable_history_and_nobody_can_send(
        self, active_client, therapist, client_user
    ):
        send(active_client, client_user, "Thank you for everything")
        client_services.relationship_archive(
            relationship=active_client, actor=active_client.therapist
        )
        active_client.refresh_from_db()

        allowed = availability(active_client)
        assert (allowed.can_read, allowed.can_send) == (True, False)
        assert allowed.reason == Unavailable.ARCHIVED
        for sender in (therapist, client_user):
            with pytest.raises(services.MessagingUnavailable, match="read-only"):
                send(active_client, sender)
        # Reading is still possible (and recorded) in an archived conversation.
        assert services.message_mark_read(relationship=active_client, actor=therapist) == 1

    def test_a_removed_client_has_no_conversation_at_all(
        self, active_client, therapist, client_user
    ):
        send(active_client, client_user)
        client_services.relationship_remove(
            relationship=active_client, actor=active_client.therapist
        )
        active_client.refresh_from_db()

        allowed = availability(active_client)
        assert (allowed.can_read, allowed.can_send) == (False, False)
        assert allowed.reason == Unavailable.ENDED
        with pytest.raises(services.MessagingUnavailable):
            send(active_client, client_user)
        with pytest.raises(services.MessagingUnavailable):
            services.message_mark_read(relationship=active_client, actor=therapist)

    def test_awaiting_approval_means_no_messaging_yet(self, colleague, client_user):
        request = pending_relationship(colleague, full_name="Maya Patel", email="maya@example.com")
        assert request.state == CareState.AWAITING_CONSENT

        assert availability(request).reason == Unavailable.AWAITING_CONSENT
        with pytest.raises(services.MessagingUnavailable):
            send(request, colleague)

    @pytest.mark.parametrize("persona", ["supervisor", "colleague", "outsider", "guardian_user"])
    def test_nobody_outside_the_conversation_can_send_or_read(
        self, request, active_client, client_user, persona
    ):
        send(active_client, client_user)
        stranger = request.getfixturevalue(persona)

        with pytest.raises(services.NotAParticipant):
            send(active_client, stranger)
        with pytest.raises(services.NotAParticipant):
            services.message_mark_read(relationship=active_client, actor=stranger)
        assert Message.objects.filter(read_at__isnull=False).count() == 0


# The text ---------------------------------------------------------------------------------
class TestText:
    @pytest.mark.parametrize("text", ["", "   ", "\r\n\t\n"])
    def test_an_empty_message_is_refused(self, active_client, therapist, text):
        with pytest.raises(services.InvalidMessage, match="Write a message"):
            send(active_client, therapist, text)
        assert not Message.objects.exists()

    def test_a_message_over_the_limit_is_refused_with_its_length(
        self, active_client, therapist, settings
    ):
        with pytest.raises(services.InvalidMessage, match=r"at most 5,000 characters.*5,001"):
            send(active_client, therapist, "x" * 5001)
        assert not Message.objects.exists()

    def test_a_message_at_the_limit_is_kept_whole_with_its_line_breaks_unified(
        self, active_client, therapist
    ):
        long = send(active_client, therapist, "y" * 5000)
        lines = send(active_client, therapist, "  first\r\nsecond\rthird  ")

        assert len(long.text) == 5000
        assert lines.text == "first\nsecond\nthird"

    def test_windows_line_breaks_do_not_count_twice_towards_the_limit(
        self, active_client, therapist
    ):
        message = send(active_client, therapist, "ab\r\n" * 1250)  # 5,000 typed, 3,750 kept

        assert len(message.text) == 3749


# Read state -------------------------------------------------------------------------------
class TestReadState:
    def test_reading_marks_only_the_readers_incoming_messages_up_to_what_they_saw(
        self, active_client, therapist, client_user
    ):
        first = send(active_client, client_user, "one")
        seen = send(active_client, client_user, "two")
        mine = send(active_client, therapist, "reply")
        later = send(active_client, client_user, "three, after the page showed two")

        marked = services.message_mark_read(
            relationship=active_client, actor=therapist, through=seen.public_id
        )

        assert marked == 2
        for message in (first, seen, mine, later):
            message.refresh_from_db()
        assert first.read_by == seen.read_by == therapist
        assert first.read_at is not None and seen.read_at is not None
        assert mine.read_at is None  # the client hasn't read the reply
        assert later.read_at is None  # arrived after what the therapist saw
        assert unread_count(active_client.pk, Side.THERAPIST) == 1
        assert unread_count(active_client.pk, Side.CLIENT) == 1

    def test_each_side_has_its_own_read_state(self, active_client, therapist, client_user):
        to_client = send(active_client, therapist, "to the client")
        to_therapist = send(active_client, client_user, "to the therapist")

        services.message_mark_read(relationship=active_client, actor=client_user)

        to_client.refresh_from_db()
        to_therapist.refresh_from_db()
        assert to_client.read_by == client_user
        assert to_therapist.read_at is None
        views = {m.text: m for m in conversation_messages(active_client, Side.THERAPIST)}
        assert views["to the client"].is_own and views["to the client"].read_at is not None
        assert views["to the therapist"].is_unread

    def test_reading_again_changes_nothing(self, active_client, therapist, client_user):
        send(active_client, client_user)
        assert services.message_mark_read(relationship=active_client, actor=therapist) == 1
        read_at = Message.objects.get().read_at

        assert services.message_mark_read(relationship=active_client, actor=therapist) == 0
        assert Message.objects.get().read_at == read_at

    def test_a_message_of_another_conversation_cannot_be_used_as_the_read_mark(
        self, active_client, child_client, therapist, client_user, guardian_user
    ):
        send(active_client, client_user)
        elsewhere = send(child_client, guardian_user)

        with pytest.raises(services.InvalidMessage):
            services.message_mark_read(
                relationship=active_client, actor=therapist, through=elsewhere.public_id
            )
        assert not Message.objects.filter(read_at__isnull=False).exists()

    def test_fetching_messages_does_not_mark_them_read(self, active_client, therapist, client_user):
        send(active_client, client_user)

        conversation_messages(active_client, Side.THERAPIST)

        assert unread_count(active_client.pk, Side.THERAPIST) == 1


# Email notifications (MSG-3) --------------------------------------------------------------
class TestNotifications:
    @pytest.fixture(autouse=True)
    def _invitations_sent(self, active_client, child_client, run_tasks):
        """The personas' invitation emails are out of the way before each test."""
        run_tasks()
        mail.outbox.clear()

    def test_a_batch_of_unread_messages_sends_one_email(
        self, active_client, therapist, client_user, run_tasks
    ):
        send(active_client, therapist, "one")
        send(active_client, therapist, "two")
        send(active_client, therapist, "three")

        assert email_tasks() == 1
        run_tasks()
        emails = notification_emails()
        assert [email.to for email in emails] == [[client_user.email]]
        notification = MessageNotification.objects.get()
        assert notification.recipient == client_user
        assert notification.delivery_status == DeliveryStatus.SENT

    def test_reading_everything_starts_a_new_batch(
        self, active_client, therapist, client_user, run_tasks
    ):
        send(active_client, therapist, "one")
        run_tasks()
        services.message_mark_read(relationship=active_client, actor=client_user)
        assert MessageNotification.objects.get().closed_at is not None

        send(active_client, therapist, "two")
        run_tasks()

        assert len(notification_emails()) == 2
        assert MessageNotification.objects.filter(closed_at__isnull=True).count() == 1

    def test_reading_only_part_of_the_batch_keeps_it_open(
        self, active_client, therapist, client_user, run_tasks
    ):
        first = send(active_client, therapist, "one")
        send(active_client, therapist, "two")
        services.message_mark_read(
            relationship=active_client, actor=client_user, through=first.public_id
        )

        send(active_client, therapist, "three")
        run_tasks()

        assert len(notification_emails()) == 1
        assert MessageNotification.objects.get().closed_at is None

    def test_the_therapist_is_notified_when_the_client_writes(
        self, active_client, therapist, client_user, run_tasks
    ):
        send(active_client, client_user, "I have a question about Thursday")
        run_tasks()

        (email,) = notification_emails()
        assert email.to == [therapist.email]
        assert f"/clients/{active_client.public_id}/messaging/" in email.body

    def test_a_guardian_is_notified_for_their_child(
        self, child_client, therapist, guardian_user, run_tasks
    ):
        send(child_client, therapist, "A note about Ava's next session")
        run_tasks()

        (email,) = notification_emails()
        assert email.to == [guardian_user.email]
        assert f"/portal/messages/{child_client.public_id}/" in email.body

    def test_the_email_says_only_that_a_message_is_waiting(
        self, active_client, therapist, client_user, run_tasks, settings
    ):
        text = "Your Zoloft dose and the panic attacks on Tuesday"
        send(active_client, therapist, text)
        run_tasks()

        (email,) = notification_emails()
        html = email.alternatives[0].content
        for content in (email.subject, email.body, html):
            for secret in (
                "Zoloft",
                "panic",
                "Tuesday",
                therapist.full_name,
                "Rivera",
                active_client.client.full_name,
                "Maya",
                active_client.practice.name,
            ):
                assert secret not in content
        assert "secure message" in email.body
        assert re.search(
            rf"{re.escape(settings.SITE_URL)}/portal/messages/{active_client.public_id}/",
            email.body,
        )
        assert f"/portal/messages/{active_client.public_id}/" in html

    def test_no_email_when_everything_was_read_before_it_went_out(
        self, active_client, therapist, client_user, run_tasks
    ):
        send(active_client, therapist, "Are you still on for 3pm?")
        services.message_mark_read(relationship=active_client, actor=client_user)

        run_tasks()

        assert notification_emails() == []
        result = DBTaskResult.objects.get(task_path__endswith="send_message_notification")
        assert result.return_value == "skipped: read meanwhile"

    def test_the_email_waits_a_moment_so_a_live_chat_sends_none(
        self, active_client, therapist, client_user, run_tasks, settings
    ):
        settings.MESSAGE_EMAIL_DELAY_SECONDS = 120

        send(active_client, therapist, "quick question")

        result = DBTaskResult.objects.get(task_path__endswith="send_message_notification")
        assert result.run_after > timezone.now() + timezone.timedelta(seconds=100)
        assert run_tasks() == 0  # not due yet
        assert notification_emails() == []

    def test_an_unreachable_mail_server_is_retried_and_recorded(
        self, active_client, therapist, run_tasks, settings
    ):
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        settings.MAILERS = {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": "127.0.0.1", "port": port, "use_tls": False, "timeout": 5},
            }
        }
        settings.EMAIL_MAX_ATTEMPTS = 2
        send(active_client, therapist)

        run_tasks()

        notification = MessageNotification.objects.get()
        assert notification.delivery_status == DeliveryStatus.FAILED
        assert notification.delivery_attempts == 2
        assert "ConnectionRefusedError" in notification.delivery_error


# Audit --------------------------------------------------------------------------------------
class TestAudit:
    def test_sending_and_reading_are_audited_without_the_text(
        self, active_client, therapist, client_user
    ):
        message = send(active_client, client_user, "Sapphire-Secret-Word in my message")
        services.message_mark_read(relationship=active_client, actor=therapist)

        sent = AuditEvent.objects.get(action="message.send")
        assert sent.actor == client_user
        assert sent.client == active_client.client
        assert sent.object_id == str(message.public_id)
        read = AuditEvent.objects.get(action="message.read")
        assert read.actor == therapist
        assert read.detail["count"] == 1
        for event in AuditEvent.objects.all():
            assert "Sapphire" not in str(event.detail)

    def test_each_event_records_its_actor_and_where_the_action_came_from(
        self, active_client, therapist, client_user
    ):
        from_client = AuditContext(ip_address="203.0.113.7", request_id="r-1", user_agent="Phone")
        from_therapist = AuditContext(ip_address="198.51.100.2", request_id="r-2", user_agent="PC")

        services.message_send(
            relationship=active_client, actor=client_user, text="Hi", audit_context=from_client
        )
        services.message_mark_read(
            relationship=active_client, actor=therapist, audit_context=from_therapist
        )

        recorded = {
            event.action: (event.actor, event.ip_address, event.request_id, event.user_agent)
            for event in AuditEvent.objects.filter(action__startswith="message.")
        }
        assert recorded == {
            "message.send": (client_user, "203.0.113.7", "r-1", "Phone"),
            "message.read": (therapist, "198.51.100.2", "r-2", "PC"),
        }

    def test_without_a_request_the_system_context_is_recorded(self, active_client, therapist):
        send(active_client, therapist)

        event = AuditEvent.objects.get(action="message.send")
        assert (event.actor, event.ip_address, event.request_id) == (therapist, None, "")


# Live events (MSG-2) ------------------------------------------------------------------------
class TestLiveEvents:
    @pytest.fixture
    def listen(self):
        """Subscribe a test channel to a user's group; return a function that drains it."""
        import asyncio

        from asgiref.sync import async_to_sync
        from channels.layers import get_channel_layer

        from caseload.messaging.live import user_group

        layer = get_channel_layer()

        async def receive_all(channel):
            events = []
            while True:
                try:
                    message = await asyncio.wait_for(layer.receive(channel), timeout=0.05)
                except TimeoutError:
                    return events
                events.append(message["payload"])

        def subscribe(user):
            channel = async_to_sync(layer.new_channel)()
            async_to_sync(layer.group_add)(user_group(user.pk), channel)
            return lambda: async_to_sync(receive_all)(channel)

        yield subscribe
        async_to_sync(layer.flush)()

    def test_both_people_hear_of_a_new_message_after_the_commit_without_its_text(
        self,
        active_client,
        therapist,
        client_user,
        supervisor,
        listen,
        django_capture_on_commit_callbacks,
    ):
        therapist_events = listen(therapist)
        client_events = listen(client_user)
        supervisor_events = listen(supervisor)

        with django_capture_on_commit_callbacks(execute=True):
            message = send(active_client, client_user, "Sapphire-Secret-Word")

        conversation = str(active_client.public_id)
        assert therapist_events() == [
            {"event": "message", "conversation": conversation, "message": str(message.public_id)},
            {"event": "unread", "conversation": conversation, "count": 1},
        ]
        assert client_events() == [
            {"event": "message", "conversation": conversation, "message": str(message.public_id)}
        ]
        assert supervisor_events() == []

    def test_reading_tells_the_sender_and_clears_the_readers_badges(
        self, active_client, therapist, client_user, listen, django_capture_on_commit_callbacks
    ):
        message = send(active_client, client_user)
        therapist_events = listen(therapist)
        client_events = listen(client_user)

        with django_capture_on_commit_callbacks(execute=True):
            services.message_mark_read(relationship=active_client, actor=therapist)

        conversation = str(active_client.public_id)
        assert client_events() == [
            {"event": "read", "conversation": conversation, "messages": [str(message.public_id)]}
        ]
        assert therapist_events() == [{"event": "unread", "conversation": conversation, "count": 0}]

    def test_nobody_hears_of_a_message_that_rolled_back(
        self, active_client, therapist, client_user, listen, django_capture_on_commit_callbacks
    ):
        client_events = listen(client_user)

        with (
            django_capture_on_commit_callbacks(execute=True) as callbacks,
            pytest.raises(RuntimeError),
            transaction.atomic(),
        ):
            send(active_client, therapist, "never committed")
            raise RuntimeError("the request failed after sending")

        assert callbacks == []
        assert client_events() == []
        assert not Message.objects.exists()

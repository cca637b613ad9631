"""Client booking requests and client cancellations (SCH-2): the services and their emails."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from caseload.audit.models import AuditEvent
from caseload.clients import services as client_services
from caseload.scheduling import booking, reminders
from caseload.scheduling.booking import BookingError, bookable_slots
from caseload.scheduling.models import BlockedTime, BookingRequest, BookingStatus, WorkingHours
from caseload.scheduling.tests.booking_helpers import (
    enable_booking,
    local_today,
    ready,
    slots,
    work_every_day,
    zone,
)
from caseload.visits import services as visits
from caseload.visits.models import SessionStatus, TherapySession

pytestmark = pytest.mark.django_db


@pytest.fixture
def outbox(run_tasks: Any, active_client: Any, child_client: Any) -> Any:
    """Send what the fixtures queued (sign-up invitations), then start from an empty outbox.

    Returns `run_tasks`, so a test sends what it queued and then reads `mail.outbox`.
    """
    run_tasks()
    mail.outbox.clear()
    return run_tasks


def ask(relationship: Any, actor: Any, starts_at: datetime) -> BookingRequest:
    return booking.booking_request_create(
        relationship=relationship, actor=actor, starts_at=starts_at
    )


def schedule(relationship: Any, starts_at: datetime, minutes: int = 50) -> TherapySession:
    return visits.session_schedule(
        relationship=relationship,
        actor=relationship.therapist,
        starts_at=starts_at,
        duration_minutes=minutes,
        modality="in_person",
        allow_overlap=True,
    )


# Free times -----------------------------------------------------------------------------
def test_free_times_are_working_hours_on_the_hour_in_practice_time(active_client):
    found = ready(active_client)

    local = [timezone.localtime(slot, zone(active_client)) for slot in found]
    assert {(moment.hour, moment.minute) for moment in local} <= {(9, 0), (10, 0), (11, 0)}
    assert all(slot > timezone.now() for slot in found)
    today = local_today(active_client)
    assert all(today <= moment.date() < today + timedelta(weeks=4) for moment in local)
    assert len(found) >= 27 * 3  # four weeks of three a day, less what today has passed


def test_the_range_follows_the_practice_setting(active_client):
    found = ready(active_client, booking_weeks_ahead=1)
    last = timezone.localtime(found[-1], zone(active_client)).date()
    assert last < local_today(active_client) + timedelta(weeks=1)


def test_sessions_blocked_time_and_other_clients_requests_are_not_offered(
    active_client, child_client, guardian_user
):
    found = ready(active_client)
    session_time, blocked_time, requested_time = found[3], found[4], found[5]
    schedule(child_client, session_time)
    BlockedTime.objects.create(
        clinician=active_client.therapist,
        starts_at=blocked_time,
        ends_at=blocked_time + timedelta(minutes=30),
    )
    ask(child_client, guardian_user, requested_time)

    offered = slots(active_client)

    assert session_time not in offered
    assert blocked_time not in offered
    assert requested_time not in offered
    assert found[6] in offered


def test_the_length_is_the_clients_usual_session(active_client):
    enable_booking(active_client)
    work_every_day(active_client.therapist, start=9, end=12)
    schedule(active_client, timezone.now() - timedelta(days=30), minutes=90)

    local = {timezone.localtime(slot, zone(active_client)).hour for slot in slots(active_client)}

    assert local == {9, 10}  # 11:00 + 90 minutes runs past noon


def test_no_free_times_when_the_setting_is_off(active_client):
    work_every_day(active_client.therapist)
    assert slots(active_client) == []
    enable_booking(active_client)
    assert slots(active_client) != []


def test_no_free_times_without_working_hours(active_client):
    enable_booking(active_client)
    assert slots(active_client) == []


def test_no_free_times_when_the_record_is_not_open(active_client, therapist):
    ready(active_client)
    client_services.relationship_archive(relationship=active_client, actor=therapist)
    active_client.refresh_from_db()
    assert slots(active_client) == []


def test_free_times_keep_the_wall_clock_across_a_daylight_saving_change(active_client):
    """New York moves to summer time on Sunday 14 March 2027: 09:00 is 14:00 UTC before,
    13:00 UTC after."""
    enable_booking(active_client, booking_weeks_ahead=1)
    work_every_day(active_client.therapist)

    found = bookable_slots(active_client, today=date(2027, 3, 11))

    utc = ZoneInfo("UTC")
    assert datetime(2027, 3, 13, 14, tzinfo=utc) in found  # Saturday, 09:00 EST
    assert datetime(2027, 3, 14, 13, tzinfo=utc) in found  # Sunday, 09:00 EDT
    assert datetime(2027, 3, 15, 13, tzinfo=utc) in found
    local = {timezone.localtime(slot, zone(active_client)).time() for slot in found}
    assert local == {time(9), time(10), time(11)}
    assert len(found) == 7 * 3


# Requesting -----------------------------------------------------------------------------
def test_the_client_requests_a_free_time(active_client, client_user):
    starts_at = ready(active_client)[2]

    made = ask(active_client, client_user, starts_at)

    assert made.status == BookingStatus.PENDING
    assert made.starts_at == starts_at
    assert (made.duration_minutes, made.modality) == (50, "in_person")
    assert made.requested_by == client_user
    event = AuditEvent.objects.get(action="booking.request")
    assert (event.actor, event.client_id) == (client_user, active_client.client_id)


def test_a_guardian_requests_for_their_child(child_client, guardian_user):
    starts_at = ready(child_client)[0]
    made = ask(child_client, guardian_user, starts_at)
    assert made.relationship == child_client


@pytest.mark.parametrize("who", ["therapist", "colleague", "guardian_user", "supervisor"])
def test_only_whoever_is_in_care_may_request(request_fixture, active_client, who):
    actor = request_fixture(who)
    starts_at = ready(active_client)[0]

    with pytest.raises(BookingError, match="Only the client"):
        ask(active_client, actor, starts_at)
    assert not BookingRequest.objects.exists()


@pytest.fixture
def request_fixture(request: Any) -> Any:
    return request.getfixturevalue


def test_a_client_cannot_request_for_a_child_they_dont_guard(child_client, client_user):
    starts_at = ready(child_client)[0]
    with pytest.raises(BookingError, match="Only the client"):
        ask(child_client, client_user, starts_at)


def test_requests_are_refused_when_the_setting_is_off(active_client, client_user):
    starts_at = ready(active_client)[0]
    practice = active_client.practice
    practice.booking_requests_enabled = False
    practice.save()

    with pytest.raises(BookingError, match="doesn't take session requests"):
        ask(active_client, client_user, starts_at)
    assert not BookingRequest.objects.exists()


def test_a_time_that_is_not_free_is_refused(active_client, child_client, client_user):
    found = ready(active_client)
    schedule(child_client, found[1])
    outside = found[0] + timedelta(hours=4)  # the afternoon: outside working hours

    for starts_at in (found[1], outside, found[0] + timedelta(minutes=15)):
        with pytest.raises(BookingError, match="no longer free") as refused:
            ask(active_client, client_user, starts_at)
        assert refused.value.field == "starts_at"
    assert not BookingRequest.objects.exists()


def test_one_request_at_a_time(active_client, client_user):
    found = ready(active_client)
    ask(active_client, client_user, found[0])

    with pytest.raises(BookingError, match="already have a session request"):
        ask(active_client, client_user, found[1])
    assert BookingRequest.objects.count() == 1


def test_the_database_holds_one_pending_request_per_client(active_client, client_user):
    found = ready(active_client)
    ask(active_client, client_user, found[0])
    with pytest.raises(IntegrityError), transaction.atomic():
        BookingRequest.objects.create(
            relationship=active_client, requested_by=client_user, starts_at=found[1]
        )


def test_a_withdrawn_request_frees_the_client_to_ask_again(active_client, client_user):
    found = ready(active_client)
    first = ask(active_client, client_user, found[0])

    booking.booking_request_withdraw(booking=first, actor=client_user)

    first.refresh_from_db()
    assert first.status == BookingStatus.WITHDRAWN
    assert ask(active_client, client_user, found[1]).status == BookingStatus.PENDING


def passed(made: BookingRequest) -> BookingRequest:
    """Its time came while it waited (as if the therapist never answered)."""
    BookingRequest.objects.filter(pk=made.pk).update(
        starts_at=timezone.now() - timedelta(minutes=5)
    )
    made.refresh_from_db()
    return made


def test_a_request_whose_time_passed_expires_and_frees_the_client_to_ask_again(
    active_client, client_user
):
    found = ready(active_client)
    first = passed(ask(active_client, client_user, found[0]))

    second = ask(active_client, client_user, found[1])

    first.refresh_from_db()
    assert (first.status, second.status) == (BookingStatus.EXPIRED, BookingStatus.PENDING)
    event = AuditEvent.objects.get(action="booking.expire")
    assert event.actor is None and event.object_id == str(first.public_id)


def test_the_recurring_scan_expires_passed_requests_only(
    active_client, child_client, client_user, guardian_user, therapist
):
    late = passed(ask(active_client, client_user, ready(active_client)[0]))
    waiting = ask(child_client, guardian_user, ready(child_client)[3])

    result = reminders.send_due_reminders.call()

    assert result.endswith("booking requests expired 1")
    late.refresh_from_db()
    waiting.refresh_from_db()
    assert (late.status, waiting.status) == (BookingStatus.EXPIRED, BookingStatus.PENDING)
    with pytest.raises(BookingError, match="no longer awaiting approval"):
        booking.booking_request_decline(booking=late, actor=therapist)
    assert reminders.send_due_reminders.call().endswith("booking requests expired 0")


def test_only_the_client_withdraws(active_client, client_user, therapist, guardian_user):
    made = ask(active_client, client_user, ready(active_client)[0])
    for actor in (therapist, guardian_user):
        with pytest.raises(BookingError):
            booking.booking_request_withdraw(booking=made, actor=actor)
    made.refresh_from_db()
    assert made.status == BookingStatus.PENDING


# Deciding -------------------------------------------------------------------------------
def test_approving_schedules_the_session(active_client, client_user, therapist):
    starts_at = ready(active_client)[4]
    made = ask(active_client, client_user, starts_at)

    approved = booking.booking_request_approve(booking=made, actor=therapist)

    assert approved.status == BookingStatus.APPROVED
    assert (approved.decided_by, approved.decided_at is not None) == (therapist, True)
    session = approved.session
    assert session is not None
    assert (session.relationship, session.starts_at) == (active_client, starts_at)
    assert (session.duration_minutes, session.status) == (50, SessionStatus.SCHEDULED)
    assert starts_at not in slots(active_client)
    assert {"booking.approve", "session.schedule"} <= set(
        AuditEvent.objects.values_list("action", flat=True)
    )
    audited = AuditEvent.objects.get(action="booking.approve")
    assert (audited.practice_id, audited.actor_id) == (active_client.practice_id, therapist.pk)


def test_a_decline_is_audited_with_the_practice(active_client, client_user, therapist):
    made = ask(active_client, client_user, ready(active_client)[0])

    booking.booking_request_decline(booking=made, actor=therapist)

    audited = AuditEvent.objects.get(action="booking.decline")
    assert audited.practice_id == active_client.practice_id


@pytest.mark.parametrize("who", ["colleague", "supervisor", "client_user", "outsider"])
def test_only_the_clients_therapist_decides(request_fixture, active_client, client_user, who):
    made = ask(active_client, client_user, ready(active_client)[0])
    actor = request_fixture(who)

    with pytest.raises(BookingError, match="Only the client's therapist"):
        booking.booking_request_approve(booking=made, actor=actor)
    with pytest.raises(BookingError, match="Only the client's therapist"):
        booking.booking_request_decline(booking=made, actor=actor)
    made.refresh_from_db()
    assert made.status == BookingStatus.PENDING
    assert not TherapySession.objects.exists()


def test_a_time_taken_meanwhile_is_reported_and_the_request_can_be_declined(
    active_client, child_client, client_user, therapist
):
    starts_at = ready(active_client)[0]
    made = ask(active_client, client_user, starts_at)
    schedule(child_client, starts_at + timedelta(minutes=20))  # the therapist's own booking

    with pytest.raises(BookingError, match="no longer free: another session"):
        booking.booking_request_approve(booking=made, actor=therapist)

    made.refresh_from_db()
    assert made.status == BookingStatus.PENDING
    assert made.session is None
    assert TherapySession.objects.filter(relationship=active_client).count() == 0
    declined = booking.booking_request_decline(booking=made, actor=therapist)
    assert declined.status == BookingStatus.DECLINED


def test_a_decided_request_cannot_be_decided_again(active_client, client_user, therapist):
    made = ask(active_client, client_user, ready(active_client)[0])
    booking.booking_request_decline(booking=made, actor=therapist)

    with pytest.raises(BookingError, match="no longer awaiting approval"):
        booking.booking_request_approve(booking=made, actor=therapist)
    with pytest.raises(BookingError, match="no longer awaiting approval"):
        booking.booking_request_withdraw(booking=made, actor=client_user)
    assert not TherapySession.objects.exists()


# Cancelling -----------------------------------------------------------------------------
def cancel(session: TherapySession, actor: Any) -> TherapySession:
    return booking.session_cancel_by_client(session=session, actor=actor)


def test_cancelling_before_the_window_is_a_cancellation(active_client, client_user):
    enable_booking(active_client, cancellation_window_hours=24)
    session = schedule(active_client, timezone.now() + timedelta(hours=25))

    assert cancel(session, client_user).status == SessionStatus.CANCELLED

    session.refresh_from_db()
    assert session.status == SessionStatus.CANCELLED
    event = AuditEvent.objects.get(action="session.cancel_by_client")
    assert event.detail == {"late": False}


def test_cancelling_inside_the_window_is_a_late_cancel(child_client, guardian_user):
    enable_booking(child_client, cancellation_window_hours=24)
    session = schedule(child_client, timezone.now() + timedelta(hours=23))

    assert cancel(session, guardian_user).status == SessionStatus.LATE_CANCELLED

    session.refresh_from_db()
    assert session.get_status_display() == "Late cancel"
    assert AuditEvent.objects.get(action="session.cancel_by_client").detail == {"late": True}


def test_a_cancelled_time_is_free_again(active_client, client_user):
    found = ready(active_client)
    session = schedule(active_client, found[3])
    assert found[3] not in slots(active_client)
    cancel(session, client_user)
    assert found[3] in slots(active_client)


def test_past_and_finished_sessions_cannot_be_cancelled(active_client, client_user):
    enable_booking(active_client)
    past = schedule(active_client, timezone.now() - timedelta(hours=1))
    done = schedule(active_client, timezone.now() + timedelta(days=3))
    visits.session_update(
        session=done, actor=active_client.therapist, values={"status": "cancelled"}
    )

    with pytest.raises(BookingError, match="already started"):
        cancel(past, client_user)
    with pytest.raises(BookingError, match="already cancelled"):
        cancel(done, client_user)
    assert TherapySession.objects.get(pk=past.pk).status == SessionStatus.SCHEDULED


def test_nobody_else_cancels_a_clients_session(
    active_client, child_client, client_user, guardian_user, therapist
):
    enable_booking(active_client)
    session = schedule(active_client, timezone.now() + timedelta(days=3))
    for actor in (guardian_user, therapist):
        with pytest.raises(BookingError, match="Only the client"):
            cancel(session, actor)
    assert TherapySession.objects.get(pk=session.pk).status == SessionStatus.SCHEDULED


def test_cancelling_is_refused_when_the_setting_is_off(active_client, client_user):
    session = schedule(active_client, timezone.now() + timedelta(days=3))
    with pytest.raises(BookingError, match="doesn't take cancellations"):
        cancel(session, client_user)


# Emails ---------------------------------------------------------------------------------
#: What no booking email may contain: the client's and guardian's names, the therapist's
#: name, and clinical words.
NOT_IN_EMAILS = [
    "Maya",
    "Patel",
    "Ava Okafor",
    "Okafor",
    "Alice",
    "Rivera",
    "diagnos",
    "note",
    "medication",
    "mood",
    "F41",
]


def assert_no_clinical_content(message: Any) -> None:
    html = message.alternatives[0][0] if message.alternatives else ""
    for text in (message.subject, message.body, html):
        for word in NOT_IN_EMAILS:
            assert word.lower() not in text.lower(), f"{word!r} in {message.subject!r}"


def local_words(starts_at: datetime, relationship: Any) -> tuple[str, str]:
    local = timezone.localtime(starts_at, zone(relationship))
    return f"{local:%A %-d %B %Y}", f"{local:%H:%M}"


def test_the_therapist_is_told_of_a_request_without_the_clients_name(
    active_client, client_user, therapist, outbox
):
    starts_at = ready(active_client)[0]
    ask(active_client, client_user, starts_at)

    assert outbox() == 1

    [message] = mail.outbox
    assert message.to == [therapist.email]
    assert message.subject == "A client has requested a session"
    day, clock = local_words(starts_at, active_client)
    assert day in message.body and clock in message.body
    assert active_client.practice.name in message.body
    assert f"{settings.SITE_URL}/\n" in message.body  # a link to sign in, to the home page
    assert_no_clinical_content(message)


@pytest.mark.parametrize("decision", ["approve", "decline"])
def test_the_client_is_told_of_the_decision(
    child_client, guardian_user, therapist, outbox, decision
):
    starts_at = ready(child_client)[1]
    made = ask(child_client, guardian_user, starts_at)
    decide = getattr(booking, f"booking_request_{decision}")

    decide(booking=made, actor=therapist)
    outbox()

    [message] = [sent for sent in mail.outbox if sent.to == [guardian_user.email]]
    word = "approved" if decision == "approve" else "declined"
    assert message.subject == f"Your session request was {word}"
    day, clock = local_words(starts_at, child_client)
    assert day in message.body and clock in message.body
    assert child_client.practice.name in message.body
    assert "/portal/sessions/" in message.body
    assert_no_clinical_content(message)


def test_the_client_is_told_when_the_scan_expires_an_unanswered_request(
    child_client, guardian_user, outbox
):
    starts_at = ready(child_client)[1]
    made = ask(child_client, guardian_user, starts_at)
    outbox()
    mail.outbox.clear()
    BookingRequest.objects.filter(pk=made.pk).update(
        starts_at=timezone.now() - timedelta(minutes=5)
    )

    reminders.send_due_reminders.call()
    outbox()

    [message] = [sent for sent in mail.outbox if sent.to == [guardian_user.email]]
    assert message.subject == "Your session request wasn't answered in time"
    assert "so it has lapsed. You can sign in to request another time" in message.body
    assert "/portal/sessions/" in message.body
    assert_no_clinical_content(message)


def test_asking_again_expires_the_old_request_without_an_email(active_client, client_user, outbox):
    found = ready(active_client)
    passed(ask(active_client, client_user, found[0]))
    outbox()
    mail.outbox.clear()

    ask(active_client, client_user, found[1])
    outbox()

    assert not [sent for sent in mail.outbox if sent.to == [client_user.email]]
    assert BookingRequest.objects.filter(status=BookingStatus.EXPIRED).count() == 1


@pytest.mark.parametrize(("hours", "late"), [(48, False), (2, True)])
def test_the_therapist_is_told_of_a_cancellation_and_whether_it_was_late(
    active_client, client_user, therapist, outbox, hours, late
):
    enable_booking(active_client)
    session = schedule(active_client, timezone.now() + timedelta(hours=hours))

    cancel(session, client_user)
    outbox()

    [message] = mail.outbox
    assert message.to == [therapist.email]
    assert ("late cancel" in message.subject) is late
    assert ("late cancel" in message.body) is late
    day, clock = local_words(session.starts_at, active_client)
    assert day in message.body and clock in message.body
    assert_no_clinical_content(message)


def test_the_email_is_queued_in_the_requests_transaction(active_client, client_user, outbox):
    # SECURITY R2: the task row commits with the request, or neither does.
    starts_at = ready(active_client)[0]
    with pytest.raises(RuntimeError), transaction.atomic():
        ask(active_client, client_user, starts_at)
        assert DBTaskResult.objects.filter(task_path__endswith="send_booking_requested").exists()
        raise RuntimeError("the request's transaction fails after the service")
    assert not BookingRequest.objects.exists()
    assert not DBTaskResult.objects.filter(task_path__endswith="send_booking_requested").exists()
    assert outbox() == 0


# Real SMTP ------------------------------------------------------------------------------
class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.original_content, policy=default_policy))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_inbox(settings: Any) -> Iterator[Inbox]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "use_tls": False, "timeout": 5},
        }
    }
    try:
        yield inbox
    finally:
        controller.stop()


def test_an_approval_reaches_a_real_mail_server(
    active_client, client_user, therapist, outbox, smtp_inbox
):
    starts_at = ready(active_client)[0]
    made = ask(active_client, client_user, starts_at)
    assert outbox() == 1
    booking.booking_request_approve(booking=made, actor=therapist)
    assert outbox() == 1

    by_recipient = {message["To"]: message for message in smtp_inbox.messages}
    assert set(by_recipient) == {therapist.email, client_user.email}
    to_client = by_recipient[client_user.email]
    assert to_client["Subject"] == "Your session request was approved"
    body = to_client.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    day, clock = local_words(starts_at, active_client)
    assert day in text and clock in text
    for word in NOT_IN_EMAILS:
        assert word.lower() not in text.lower()


def test_working_hours_are_the_only_offered_times(active_client):
    """A sanity check on the set-up the other tests lean on."""
    ready(active_client)
    assert WorkingHours.objects.filter(clinician=active_client.therapist).count() == 7

"""Session reminders (SCH-3): what is due, exactly once, moved and cancelled sessions, opt-out,
what a reminder says, text messages through the provider interface, and the portal page."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from typing import Any, ClassVar

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from caseload.audit.models import AuditEvent
from caseload.clients import services as client_services
from caseload.clients.models import CareRelationship, Guardianship
from caseload.lib.email import DeliveryStatus
from caseload.scheduling import reminders
from caseload.scheduling.models import ReminderChannel, ReminderPreference, SessionReminder
from caseload.scheduling.sms import SmsError, _provider
from caseload.visits import services as visit_services
from caseload.visits.models import SessionStatus, TherapySession

pytestmark = pytest.mark.django_db

JOIN_TEMPLATE = "https://meet.example.com/caseload-{room}"
CLINICAL_TEXT = "Discussed panic attacks and the F41.0 diagnosis"
#: A number the fake provider refuses with an unexpected error (not an SmsError).
BROKEN_NUMBER = "+10000000000"


class FakeSmsProvider:
    """The SMS service at the edge we don't own: records what it was asked to send."""

    sent: ClassVar[list[tuple[str, str]]] = []
    fail_next: ClassVar[int] = 0

    def send(self, to: str, body: str) -> str:
        if FakeSmsProvider.fail_next:
            FakeSmsProvider.fail_next -= 1
            raise SmsError("provider unavailable")
        if to == BROKEN_NUMBER:
            raise ValueError(f"{to!r} is not a number this provider accepts")
        FakeSmsProvider.sent.append((to, body))
        return f"fake-{len(FakeSmsProvider.sent)}"


@pytest.fixture
def fake_sms(settings: Any) -> Iterator[type[FakeSmsProvider]]:
    settings.SMS_PROVIDER = f"{__name__}.FakeSmsProvider"
    FakeSmsProvider.sent = []
    FakeSmsProvider.fail_next = 0
    _provider.cache_clear()
    yield FakeSmsProvider
    _provider.cache_clear()


def remind(relationship: CareRelationship, setting: str = "both", **practice: Any) -> None:
    values = {"reminders": setting, **practice}
    for name, value in values.items():
        setattr(relationship.practice, name, value)
    relationship.practice.save(update_fields=list(values))


def schedule(
    relationship: CareRelationship, in_hours: float, modality: str = "in_person"
) -> TherapySession:
    return visit_services.session_schedule(
        relationship=relationship,
        actor=relationship.therapist,
        starts_at=timezone.now() + timedelta(hours=in_hours),
        duration_minutes=50,
        modality=modality,
        allow_overlap=True,
    )


def body_of(message: Any) -> str:
    return str(message.body)


def html_of(message: Any) -> str:
    return str(message.alternatives[0].content)


@pytest.fixture
def send(run_tasks: Callable[[], int]) -> Callable[[], dict[str, int]]:
    """One scan, then every task it queued (the sends), as the worker would run them."""

    def run() -> dict[str, int]:
        counts = reminders.scan()
        run_tasks()
        return counts

    return run


# What is due ------------------------------------------------------------------------------
def test_the_scan_reminds_only_sessions_whose_reminder_is_due(
    active_client: CareRelationship, send: Callable[[], dict[str, int]]
) -> None:
    remind(active_client, "24")
    due = schedule(active_client, 23)
    schedule(active_client, 30)  # its 24-hour reminder is not due yet
    schedule(active_client, 5)  # due 19 hours ago: past the grace period, not sent that late
    cancelled = schedule(active_client, 20)
    visit_services.session_update(
        session=cancelled, actor=active_client.therapist, values={"status": "cancelled"}
    )

    assert send() == {"created": 1, "taken_over": 0, "failed": 0}

    [reminder] = SessionReminder.objects.all()
    assert (reminder.session_id, reminder.offset_hours, reminder.channel) == (due.pk, 24, "email")
    assert reminder.session_starts_at == due.starts_at
    assert reminder.delivery_status == DeliveryStatus.SENT
    [message] = mail.outbox
    assert message.to == ["maya@example.com"]


def test_no_reminders_while_the_practice_has_them_off(
    active_client: CareRelationship, send: Callable[[], dict[str, int]]
) -> None:
    schedule(active_client, 23)
    assert send()["created"] == 0
    assert mail.outbox == []


def test_a_48_hour_setting_reminds_two_days_ahead_only(
    active_client: CareRelationship, send: Callable[[], dict[str, int]]
) -> None:
    remind(active_client, "48")
    two_days = schedule(active_client, 47)
    schedule(active_client, 23)
    send()
    assert list(SessionReminder.objects.values_list("session", "offset_hours")) == [
        (two_days.pk, 48)
    ]


def test_each_session_and_offset_is_reminded_exactly_once_across_repeated_scans(
    active_client: CareRelationship, send: Callable[[], dict[str, int]]
) -> None:
    remind(active_client, "both")
    schedule(active_client, 47)
    schedule(active_client, 23)
    assert send()["created"] == 2
    for _ in range(3):
        assert send() == {"created": 0, "taken_over": 0, "failed": 0}
    assert len(mail.outbox) == 2
    assert SessionReminder.objects.filter(delivery_status=DeliveryStatus.SENT).count() == 2


def test_the_second_worker_to_insert_a_reminder_leaves_it_to_the_first(
    active_client: CareRelationship,
) -> None:
    remind(active_client, "24")
    session = schedule(active_client, 23)
    assert reminders._create(session, 24, ReminderChannel.EMAIL) is not None
    assert reminders._create(session, 24, ReminderChannel.EMAIL) is None
    assert SessionReminder.objects.count() == 1
    assert DBTaskResult.objects.filter(task_path=reminders.SEND_TASK_PATH).count() == 1


def test_a_sent_reminder_is_not_sent_again_by_a_second_run_of_its_task(
    active_client: CareRelationship, send: Callable[[], dict[str, int]]
) -> None:
    remind(active_client, "24")
    schedule(active_client, 23)
    send()
    reminder = SessionReminder.objects.get()
    assert reminders.send_session_reminder.call(reminder.pk).startswith("skipped")
    assert len(mail.outbox) == 1


# Moved and cancelled sessions ---------------------------------------------------------------
def test_a_moved_session_is_reminded_again_for_its_new_time(
    active_client: CareRelationship, send: Callable[[], dict[str, int]]
) -> None:
    remind(active_client, "24")
    session = schedule(active_client, 23)
    send()
    new_start = session.starts_at - timedelta(hours=2)
    visit_services.session_update(
        session=session, actor=active_client.therapist, values={"starts_at": new_start}
    )
    assert send()["created"] == 1

    assert sorted(SessionReminder.objects.values_list("session_starts_at", flat=True)) == sorted(
        [new_start, new_start + timedelta(hours=2)]
    )
    assert len(mail.outbox) == 2
    local = timezone.localtime(new_start, reminders.ZoneInfo("America/New_York"))
    assert f"at {local:%H:%M}" in body_of(mail.outbox[1])


def test_a_reminder_queued_before_the_session_moved_is_withdrawn_not_sent(
    active_client: CareRelationship, run_tasks: Callable[[], int]
) -> None:
    remind(active_client, "24")
    session = schedule(active_client, 23)
    reminders.scan()  # queued, not sent yet
    visit_services.session_update(
        session=session,
        actor=active_client.therapist,
        values={"starts_at": session.starts_at + timedelta(days=3)},
    )
    run_tasks()
    reminder = SessionReminder.objects.get()
    assert reminder.delivery_status == DeliveryStatus.FAILED
    assert reminder.delivery_error == "Withdrawn: the session was moved"
    assert mail.outbox == []


def test_a_cancelled_session_gets_no_reminder_even_when_one_was_queued(
    active_client: CareRelationship, run_tasks: Callable[[], int]
) -> None:
    remind(active_client, "24")
    session = schedule(active_client, 23)
    reminders.scan()
    visit_services.session_update(
        session=session, actor=active_client.therapist, values={"status": "late_cancelled"}
    )
    run_tasks()
    assert reminders.scan()["created"] == 0
    assert SessionReminder.objects.get().delivery_error.startswith("Withdrawn")
    assert mail.outbox == []


def test_no_reminder_for_a_client_whose_record_is_archived(
    active_client: CareRelationship, send: Callable[[], dict[str, int]]
) -> None:
    remind(active_client, "24")
    schedule(active_client, 23)
    CareRelationship.objects.filter(pk=active_client.pk).update(state="archived")
    assert send()["created"] == 0


def test_no_reminder_for_an_invited_client_who_could_not_turn_them_off(
    therapist: Any, send: Callable[[], dict[str, int]], run_tasks: Callable[[], int]
) -> None:
    invited = client_services.client_add(
        actor=therapist, full_name="Nora Quinn", email="nora@example.com", billing_type="cash_pay"
    ).relationship
    assert invited.state == "invited"
    remind(invited, "24")
    session = schedule(invited, 23)
    run_tasks()
    mail.outbox.clear()  # the invitation
    assert send()["created"] == 0
    # A reminder made while the care was active is withdrawn if it is not any more.
    CareRelationship.objects.filter(pk=invited.pk).update(state="active")
    assert reminders.scan()["created"] == 1
    CareRelationship.objects.filter(pk=invited.pk).update(state="invited")
    run_tasks()
    reminder = SessionReminder.objects.get(session=session)
    assert reminder.delivery_error == "Withdrawn: the client's care is not active"
    assert mail.outbox == []


def test_a_restored_session_is_reminded_after_its_reminder_was_withdrawn(
    active_client: CareRelationship,
    send: Callable[[], dict[str, int]],
    run_tasks: Callable[[], int],
) -> None:
    remind(active_client, "24")
    session = schedule(active_client, 23)
    reminders.scan()
    therapist = active_client.therapist
    visit_services.session_update(session=session, actor=therapist, values={"status": "cancelled"})
    run_tasks()
    withdrawn = SessionReminder.objects.get()
    assert withdrawn.withdrawn_at is not None
    assert send()["created"] == 0  # still cancelled: nothing new
    visit_services.session_update(session=session, actor=therapist, values={"status": "scheduled"})

    assert send()["created"] == 1
    [message] = mail.outbox
    assert message.to == ["maya@example.com"]
    rows = SessionReminder.objects.order_by("pk")
    assert [(row.delivery_status, row.withdrawn_at is None) for row in rows] == [
        (DeliveryStatus.FAILED, False),
        (DeliveryStatus.SENT, True),
    ]
    assert send()["created"] == 0  # and once only


# Opt-out ------------------------------------------------------------------------------------
def test_a_client_who_opted_out_gets_no_email_reminder(
    active_client: CareRelationship, send: Callable[[], dict[str, int]]
) -> None:
    remind(active_client, "24")
    schedule(active_client, 23)
    ReminderPreference.objects.create(relationship=active_client, email_opt_out=True)
    assert send()["created"] == 0
    assert mail.outbox == []


def test_an_opt_out_after_the_reminder_was_queued_withdraws_it(
    active_client: CareRelationship, run_tasks: Callable[[], int]
) -> None:
    remind(active_client, "24")
    schedule(active_client, 23)
    reminders.scan()
    ReminderPreference.objects.create(relationship=active_client, email_opt_out=True)
    run_tasks()
    assert mail.outbox == []
    assert "turned email reminders off" in SessionReminder.objects.get().delivery_error


def test_a_client_who_turns_reminders_on_again_is_reminded_after_a_withdrawal(
    active_client: CareRelationship,
    send: Callable[[], dict[str, int]],
    run_tasks: Callable[[], int],
) -> None:
    remind(active_client, "24")
    schedule(active_client, 23)
    reminders.scan()
    preference = ReminderPreference.objects.create(relationship=active_client, email_opt_out=True)
    run_tasks()
    assert SessionReminder.objects.get().withdrawn_at is not None
    assert send()["created"] == 0  # still opted out: no new row, nothing sent

    reminders.reminder_preference_update(
        relationship=active_client,
        email_opt_out=False,
        sms_opt_out=preference.sms_opt_out,
        actor=active_client.client.account,
    )
    assert send()["created"] == 1
    assert [message.to for message in mail.outbox] == [["maya@example.com"]]
    assert SessionReminder.objects.filter(withdrawn_at__isnull=True).get().delivery_status == (
        DeliveryStatus.SENT
    )


# What a reminder says -----------------------------------------------------------------------
def test_a_reminder_has_date_time_and_join_link_and_nothing_clinical(
    active_client: CareRelationship, send: Callable[[], dict[str, int]]
) -> None:
    remind(active_client, "24", telehealth_url_template=JOIN_TEMPLATE, phone="212 555 0100")
    session = schedule(active_client, 23, modality="telehealth")
    visit_services.note_save_draft(
        session=session,
        actor=active_client.therapist,
        note_format="free_text",
        content={"note": CLINICAL_TEXT},
    )
    send()

    [message] = mail.outbox
    join_link = JOIN_TEMPLATE.replace("{room}", session.video_room)
    local = timezone.localtime(session.starts_at, reminders.ZoneInfo("America/New_York"))
    raw = message.message().as_bytes()
    parsed = message_from_bytes(raw, policy=default_policy)
    everything = "\n".join(
        [str(message.subject), body_of(message), html_of(message), str(parsed["To"])]
    )
    assert join_link in body_of(message)
    assert f'href="{join_link}" target="_blank" rel="noopener noreferrer"' in html_of(message)
    assert f"{local:%A} {local.day} {local:%B %Y} at {local:%H:%M}" in body_of(message)
    assert "America/New_York" in body_of(message)
    assert "http://testserver/portal/reminders/" in body_of(message) or (
        "/portal/reminders/" in body_of(message)
    )
    for private in (CLINICAL_TEXT, "panic", "F41", "Maya", "Patel"):
        assert private not in everything


def test_an_in_person_reminder_names_the_practice_and_its_phone(
    active_client: CareRelationship, send: Callable[[], dict[str, int]]
) -> None:
    remind(active_client, "24", telehealth_url_template=JOIN_TEMPLATE, phone="212 555 0100")
    schedule(active_client, 23)
    send()
    body = body_of(mail.outbox[0])
    assert f"in person at {active_client.practice.name}" in body
    assert "212 555 0100" in body
    assert "meet.example.com" not in body


def test_a_childs_reminder_goes_to_the_guardian(
    child_client: CareRelationship, send: Callable[[], dict[str, int]]
) -> None:
    remind(child_client, "24")
    schedule(child_client, 23)
    send()
    [message] = mail.outbox
    assert message.to == ["sam@example.com"]
    assert "your child's session" in message.subject
    assert "Ava" not in body_of(message)


# Text messages ------------------------------------------------------------------------------
def test_text_reminders_go_through_the_provider_when_the_practice_and_phone_allow(
    active_client: CareRelationship,
    send: Callable[[], dict[str, int]],
    fake_sms: type[FakeSmsProvider],
) -> None:
    remind(active_client, "24", sms_reminders_enabled=True, telehealth_url_template=JOIN_TEMPLATE)
    CareRelationship.objects.filter(pk=active_client.pk).update(phone="+12125550100")
    session = schedule(active_client, 23, modality="telehealth")
    assert send()["created"] == 2  # an email and a text

    [(to, body)] = fake_sms.sent
    assert to == "+12125550100"
    assert JOIN_TEMPLATE.replace("{room}", session.video_room) in body
    assert "Maya" not in body and len(body) <= 320
    sms = SessionReminder.objects.get(channel=ReminderChannel.SMS)
    assert sms.delivery_status == DeliveryStatus.SENT
    assert sms.delivery_message_id == "fake-1"
    send()
    assert len(fake_sms.sent) == 1  # once


def test_no_text_without_a_phone_or_after_a_text_opt_out(
    active_client: CareRelationship,
    send: Callable[[], dict[str, int]],
    fake_sms: type[FakeSmsProvider],
) -> None:
    remind(active_client, "24", sms_reminders_enabled=True)
    schedule(active_client, 23)
    send()
    assert fake_sms.sent == []
    CareRelationship.objects.filter(pk=active_client.pk).update(phone="+12125550100")
    ReminderPreference.objects.create(relationship=active_client, sms_opt_out=True)
    send()
    assert fake_sms.sent == []
    assert len(mail.outbox) == 1


def test_no_text_when_no_provider_is_configured(
    active_client: CareRelationship, send: Callable[[], dict[str, int]], settings: Any
) -> None:
    settings.SMS_PROVIDER = None
    remind(active_client, "24", sms_reminders_enabled=True)
    CareRelationship.objects.filter(pk=active_client.pk).update(phone="+12125550100")
    schedule(active_client, 23)
    send()
    assert not SessionReminder.objects.filter(channel=ReminderChannel.SMS).exists()


def test_a_failing_text_provider_is_retried_and_then_delivers_once(
    active_client: CareRelationship,
    send: Callable[[], dict[str, int]],
    fake_sms: type[FakeSmsProvider],
) -> None:
    remind(active_client, "24", sms_reminders_enabled=True)
    CareRelationship.objects.filter(pk=active_client.pk).update(phone="+12125550100")
    schedule(active_client, 23)
    fake_sms.fail_next = 1
    send()
    sms = SessionReminder.objects.get(channel=ReminderChannel.SMS)
    assert sms.delivery_status == DeliveryStatus.SENT
    assert sms.delivery_attempts == 2
    assert len(fake_sms.sent) == 1


# A worker that died ---------------------------------------------------------------------------
def test_a_reminder_left_mid_send_by_a_dead_worker_is_sent_by_the_next_scan(
    active_client: CareRelationship, send: Callable[[], dict[str, int]]
) -> None:
    remind(active_client, "24")
    session = schedule(active_client, 23)
    reminder = SessionReminder.objects.create(
        session=session,
        offset_hours=24,
        channel="email",
        session_starts_at=session.starts_at,
        recipient="maya@example.com",
        delivery_status=DeliveryStatus.SENDING,
        delivery_message_id="<first@caseload.local>",
        delivery_attempts=1,
        delivery_handed_at=timezone.now() - timedelta(minutes=10),
    )
    assert send() == {"created": 0, "taken_over": 1, "failed": 0}
    [message] = mail.outbox
    assert message.extra_headers["Message-ID"] == "<first@caseload.local>"
    reminder.refresh_from_db()
    assert reminder.delivery_status == DeliveryStatus.SENT
    assert reminder.delivery_attempts == 2


def test_a_reminder_being_sent_right_now_is_not_taken_over(
    active_client: CareRelationship, send: Callable[[], dict[str, int]]
) -> None:
    remind(active_client, "24")
    session = schedule(active_client, 23)
    SessionReminder.objects.create(
        session=session,
        offset_hours=24,
        channel="email",
        session_starts_at=session.starts_at,
        recipient="maya@example.com",
        delivery_status=DeliveryStatus.SENDING,
        delivery_handed_at=timezone.now(),
    )
    assert send() == {"created": 0, "taken_over": 0, "failed": 0}
    assert mail.outbox == []


def test_the_claim_checks_its_conditions_on_the_updated_row_not_in_a_subquery(
    active_client: CareRelationship,
) -> None:
    """On PostgreSQL a claim that waited for a lock re-checks only the UPDATE's own WHERE (see
    tests/test_reminder_workers.py for the race itself)."""
    remind(active_client, "24")
    session = schedule(active_client, 23)
    reminders.scan()
    reminder = SessionReminder.objects.get()
    with CaptureQueriesContext(connection) as queries:
        assert reminders._claim(reminder.pk, now=timezone.now())
    [update] = [query["sql"] for query in queries if query["sql"].startswith("UPDATE")]
    assert "SELECT" not in update
    assert "delivery_handed_at" in update.split("WHERE", 1)[1]
    assert not reminders._claim(reminder.pk, now=timezone.now())
    assert session.pk == reminder.session_id


# One failing reminder -----------------------------------------------------------------------
def test_a_reminder_whose_recipient_cant_be_worked_out_is_logged_and_the_others_are_made(
    active_client: CareRelationship,
    child_client: CareRelationship,
    send: Callable[[], dict[str, int]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    remind(active_client, "24")
    schedule(child_client, 22)  # sorted first: its failure comes before the good one
    schedule(active_client, 23)
    Guardianship.objects.filter(child=child_client.client).delete()  # no one to write to

    assert send() == {"created": 1, "taken_over": 0, "failed": 1}
    [message] = mail.outbox
    assert message.to == ["maya@example.com"]
    [record] = [r for r in caplog.records if r.name == "caseload.scheduling.reminders"]
    assert record.levelname == "ERROR" and "not made" in record.getMessage()


def test_an_unexpected_provider_error_is_logged_and_the_other_reminders_are_sent(
    active_client: CareRelationship,
    child_client: CareRelationship,
    send: Callable[[], dict[str, int]],
    fake_sms: type[FakeSmsProvider],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Rows left by a dead worker are sent by the scan itself: a text whose provider raises
    something unexpected (a ValueError, not an SmsError) must not stop the rest."""
    remind(active_client, "24", sms_reminders_enabled=True)
    stale = timezone.now() - timedelta(minutes=10)
    rows = []
    for relationship, channel, recipient in (
        (child_client, ReminderChannel.SMS, BROKEN_NUMBER),
        (active_client, ReminderChannel.EMAIL, "maya@example.com"),
    ):
        session = schedule(relationship, 30)  # not due yet: the scan makes nothing new
        rows.append(
            SessionReminder.objects.create(
                session=session,
                offset_hours=24,
                channel=channel,
                session_starts_at=session.starts_at,
                recipient=recipient,
            )
        )
    SessionReminder.objects.update(created_at=stale)  # queued, their tasks lost
    DBTaskResult.objects.all().delete()

    assert send() == {"created": 0, "taken_over": 2, "failed": 1}
    [message] = mail.outbox
    assert message.to == ["maya@example.com"]
    assert fake_sms.sent == []
    broken, good = (SessionReminder.objects.get(pk=row.pk) for row in rows)
    assert good.delivery_status == DeliveryStatus.SENT
    # The provider may have sent it: failed, never tried again (a text is never sent twice).
    assert broken.delivery_status == DeliveryStatus.FAILED
    assert broken.delivery_error.startswith("Outcome unknown, not retried: ValueError")
    assert any(
        "not delivered" in r.getMessage() and r.exc_info and r.exc_info[0] is ValueError
        for r in caplog.records
    )
    SessionReminder.objects.filter(pk=broken.pk).update(delivery_handed_at=stale)
    assert send() == {"created": 0, "taken_over": 0, "failed": 0}


# The chain ----------------------------------------------------------------------------------
def test_the_command_starts_one_chain_and_each_run_enqueues_the_next(
    run_tasks: Callable[[], int], capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("send_reminders")
    call_command("send_reminders")
    assert "already running" in capsys.readouterr().out
    waiting = DBTaskResult.objects.filter(task_path=reminders.SCAN_TASK_PATH, status="READY")
    assert waiting.count() == 1
    run_tasks()
    [next_run] = waiting
    assert next_run.run_after is not None and next_run.run_after > timezone.now()


def test_a_scan_that_fails_still_enqueues_the_next_run(
    run_tasks: Callable[[], int], settings: Any
) -> None:
    settings.SMS_PROVIDER = "caseload.nowhere.Provider"  # a broken deployment setting
    _provider.cache_clear()
    try:
        reminders.send_due_reminders.enqueue()
        run_tasks()
    finally:
        _provider.cache_clear()
    runs = DBTaskResult.objects.filter(task_path=reminders.SCAN_TASK_PATH).order_by("enqueued_at")
    assert [run.status for run in runs] == ["FAILED", "READY"]
    assert "ImproperlyConfigured" in str(runs[0].exception_class_path)
    assert runs[1].run_after is not None and runs[1].run_after > timezone.now()


def test_two_chains_become_one(run_tasks: Callable[[], int]) -> None:
    reminders.send_due_reminders.enqueue()
    reminders.send_due_reminders.enqueue()
    run_tasks()
    assert (
        DBTaskResult.objects.filter(task_path=reminders.SCAN_TASK_PATH, status="READY").count() == 1
    )


# The portal ---------------------------------------------------------------------------------
def test_the_client_turns_email_reminders_off_and_on_in_the_portal(
    active_client: CareRelationship,
    client_user: Any,
    signed_in: Callable[[Any], Any],
    send: Callable[[], dict[str, int]],
) -> None:
    remind(active_client, "24")
    browser = signed_in(client_user)
    page = browser.get(reverse("portal:reminders")).content.decode()
    assert 'name="email" checked' in page

    assert '<input type="hidden" name="text" value="on">' in page  # texts not offered: kept
    url = reverse("portal:reminders_update", args=[active_client.public_id])
    response = browser.post(url, {"text": "on"})
    assert response.status_code == 302
    assert ReminderPreference.objects.get(relationship=active_client).email_opt_out
    event = AuditEvent.objects.get(action="reminder_preference.update")
    assert event.actor == client_user and event.detail == {"email_opt_out": True}
    schedule(active_client, 23)
    assert send()["created"] == 0

    browser.post(url, {"email": "on", "text": "on"})
    assert not ReminderPreference.objects.get(relationship=active_client).email_opt_out
    assert send()["created"] == 1


def test_a_guardian_chooses_reminders_for_their_child(
    child_client: CareRelationship, guardian_user: Any, signed_in: Callable[[Any], Any]
) -> None:
    browser = signed_in(guardian_user)
    assert "Ava Okafor" in browser.get(reverse("portal:reminders")).content.decode()
    browser.post(reverse("portal:reminders_update", args=[child_client.public_id]), {})
    assert ReminderPreference.objects.get(relationship=child_client).email_opt_out


def test_someone_elses_reminders_are_404_and_unchanged(
    active_client: CareRelationship,
    child_client: CareRelationship,
    guardian_user: Any,
    therapist: Any,
    signed_in: Callable[[Any], Any],
) -> None:
    url = reverse("portal:reminders_update", args=[active_client.public_id])
    assert signed_in(guardian_user).post(url, {}).status_code == 404
    assert signed_in(therapist).post(url, {}).status_code == 404
    assert signed_in(therapist).get(reverse("portal:reminders")).status_code == 404
    assert not ReminderPreference.objects.exists()


def test_the_portal_lists_upcoming_sessions_with_the_join_link(
    active_client: CareRelationship,
    client_user: Any,
    signed_in: Callable[[Any], Any],
    django_assert_max_num_queries: Any,
) -> None:
    remind(active_client, "off", telehealth_url_template=JOIN_TEMPLATE)
    video = schedule(active_client, 30, modality="telehealth")
    schedule(active_client, 50)
    schedule(active_client, -50)  # past: not listed
    browser = signed_in(client_user)
    with django_assert_max_num_queries(12):
        page = browser.get(reverse("portal:reminders")).content.decode()
    join_link = JOIN_TEMPLATE.replace("{room}", video.video_room)
    assert f'<a href="{join_link}" target="_blank" rel="noopener noreferrer">' in page
    assert page.count("data-session=") == 2
    home = browser.get(reverse("portal:home")).content.decode()
    assert join_link in home


def test_no_join_link_anywhere_while_the_practice_has_no_telehealth_link(
    active_client: CareRelationship,
    client_user: Any,
    therapist: Any,
    signed_in: Callable[[Any], Any],
) -> None:
    video = schedule(active_client, 30, modality="telehealth")
    portal = signed_in(client_user).get(reverse("portal:reminders")).content.decode()
    assert "Join video session" not in portal
    session_page = (
        signed_in(therapist)
        .get(reverse("visits:session", args=[active_client.public_id, video.public_id]))
        .content.decode()
    )
    assert "Join video session" not in session_page
    assert "Set a telehealth link in practice settings" in session_page


def test_the_therapist_session_page_has_the_join_link(
    active_client: CareRelationship, therapist: Any, signed_in: Callable[[Any], Any]
) -> None:
    remind(active_client, "off", telehealth_url_template=JOIN_TEMPLATE)
    video = schedule(active_client, 30, modality="telehealth")
    in_person = schedule(active_client, 60)
    browser = signed_in(therapist)

    def page(session: TherapySession) -> str:
        url = reverse("visits:session", args=[active_client.public_id, session.public_id])
        return str(browser.get(url).content.decode())

    join_link = JOIN_TEMPLATE.replace("{room}", video.video_room)
    assert f'href="{join_link}" target="_blank" rel="noopener noreferrer"' in page(video)
    assert "Join video session" not in page(in_person)
    assert "Set a telehealth link" not in page(in_person)


def _at(hours: float) -> datetime:
    return timezone.now() + timedelta(hours=hours)


def test_due_sessions_window_edges(active_client: CareRelationship) -> None:
    remind(active_client, "24")
    session = schedule(active_client, 24)
    now = session.starts_at - timedelta(hours=24)
    assert list(reminders.due_sessions(offset_hours=24, channel="email", now=now)) == [session]
    early = now - timedelta(seconds=1)
    assert not reminders.due_sessions(offset_hours=24, channel="email", now=early).exists()
    late = now + reminders.GRACE
    assert not reminders.due_sessions(offset_hours=24, channel="email", now=late).exists()
    assert session.status == SessionStatus.SCHEDULED


def test_across_a_daylight_saving_change_the_reminder_is_24_real_hours_ahead_in_local_time(
    active_client: CareRelationship,
) -> None:
    """New York springs forward on 14 March 2027: a Monday 09:00 EDT session (13:00 UTC) is
    reminded from Sunday 13:00 UTC, and the reminder says 09:00."""
    remind(active_client, "24")
    starts_at = datetime(2027, 3, 15, 13, 0, tzinfo=reminders.ZoneInfo("UTC"))
    session = visit_services.session_schedule(
        relationship=active_client,
        actor=active_client.therapist,
        starts_at=starts_at,
        duration_minutes=50,
        modality="in_person",
    )
    sunday = datetime(2027, 3, 14, 13, 0, tzinfo=reminders.ZoneInfo("UTC"))
    assert list(reminders.due_sessions(offset_hours=24, channel="email", now=sunday)) == [session]
    content = reminders.reminder_content(session)
    assert f"{content.local_start:%A %-d %B %Y %H:%M}" == "Monday 15 March 2027 09:00"
    assert (
        reminders.reminder_subject(content) == "Reminder: your session on Monday 15 March at 09:00"
    )

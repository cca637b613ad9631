"""Session reminders arrive exactly once per session and offset with two real workers and a
restart (SCH-3, SECURITY R1/R2).

Two `manage.py run_worker` processes run the reminder scans side by side against the test
database and a real SMTP server (aiosmtpd) in this process. Several sessions are due, for both
offsets. The server holds the first reminder's email without answering; the worker sending it
is killed with SIGKILL, and the server then refuses that hand-off (it never accepted it). A
third worker is started. Every (session, offset) email is accepted exactly once, the one cut
off under the Message-ID recorded before its first hand-off.

A last test runs two claims of one row in two threads (two connections): the scan taking the
row over holds its lock while a late send task waits for it; once the lock is released, the
task must find the row taken (the claim's conditions are re-checked on the row itself).

PostgreSQL only: two processes insert the same reminders at once, and the database's unique
key must decide between them (SQLite would serialise them behind its database lock).
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from caseload.clients.models import CareRelationship
from caseload.lib.email import DeliveryStatus
from caseload.scheduling import reminders
from caseload.scheduling.models import SessionReminder
from caseload.visits import services as visit_services
from caseload.visits.models import TherapySession
from tests.test_races import run_together
from tests.test_worker_recovery import HoldingInbox, Workers, smtp, wait_for, worker_env

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

TIMEOUT = 60.0


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("two workers racing for the same reminders need PostgreSQL; SQLite skipped")


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    started = Workers(tmp_path)
    try:
        yield started
    finally:
        started.stop_all()


def schedule(relationship: CareRelationship, in_hours: float) -> TherapySession:
    return visit_services.session_schedule(
        relationship=relationship,
        actor=relationship.therapist,
        starts_at=timezone.now() + timedelta(hours=in_hours),
        duration_minutes=50,
        modality="in_person",
        allow_overlap=True,
    )


def sending_worker(reminder_id: int) -> str:
    """The worker whose task is sending this reminder now."""
    for result in DBTaskResult.objects.filter(task_path=reminders.SEND_TASK_PATH, status="RUNNING"):
        if result.args_kwargs["args"][:1] == [reminder_id]:
            return str(result.worker_ids[-1])
    for result in DBTaskResult.objects.filter(task_path=reminders.SCAN_TASK_PATH, status="RUNNING"):
        return str(result.worker_ids[-1])  # a scan taking over an abandoned one
    raise AssertionError("no running task holds the reminder")


def test_each_reminder_arrives_once_with_two_workers_and_one_killed_mid_send(
    active_client: CareRelationship, child_client: CareRelationship, workers: Workers
) -> None:
    practice = active_client.practice
    practice.reminders = "both"
    practice.save(update_fields=["reminders"])
    due = [
        (schedule(active_client, 23), 24),
        (schedule(active_client, 22), 24),
        (schedule(child_client, 21.5), 24),
        (schedule(active_client, 47), 48),
        (schedule(child_client, 46), 48),
    ]
    schedule(active_client, 30)  # nothing due for this one yet

    inbox = HoldingInbox(hold_first=True)
    with smtp(inbox) as port:
        env = worker_env(port, EMAIL_HANDOFF_STALE_SECONDS="4", REMINDER_SCAN_SECONDS="1")
        call_command("send_reminders")
        reminders.send_due_reminders.enqueue()  # a second scan: both workers scan at once
        processes: dict[str, subprocess.Popen[bytes]] = {
            "worker-a": workers.start("worker-a", env),
            "worker-b": workers.start("worker-b", env),
        }
        assert inbox.holding.wait(TIMEOUT), workers.log("worker-a") + workers.log("worker-b")

        held = SessionReminder.objects.get(delivery_message_id=inbox.handed[0])
        assert held.delivery_status == DeliveryStatus.SENDING
        victim = sending_worker(held.pk)
        processes[victim].send_signal(signal.SIGKILL)
        processes[victim].wait(timeout=10)
        inbox.release.set()  # the server refuses what it held: it was never accepted
        survivor = next(name for name in processes if name != victim)
        workers.start("worker-c", env)

        def all_sent() -> bool:
            return SessionReminder.objects.filter(
                delivery_status=DeliveryStatus.SENT
            ).count() == len(due) and len(inbox.delivered) == len(due)

        wait_for(
            all_sent,
            "every due reminder was delivered",
            lambda: workers.log(survivor) + workers.log("worker-c"),
        )
        time.sleep(3)  # more scans run meanwhile: nothing else is on its way

    rows = SessionReminder.objects.all()
    assert sorted((row.session_id, row.offset_hours) for row in rows) == sorted(
        (session.pk, offset) for session, offset in due
    )
    delivered_ids = [str(message["Message-ID"]) for message in inbox.delivered]
    assert len(delivered_ids) == len(set(delivered_ids)) == len(due)
    assert set(delivered_ids) == {row.delivery_message_id for row in rows}
    # The reminder cut off was handed over twice under one Message-ID and accepted once.
    assert inbox.handed.count(held.delivery_message_id) == 2
    assert delivered_ids.count(held.delivery_message_id) == 1
    recipients = sorted(str(message["To"]) for message in inbox.delivered)
    assert recipients == sorted(["maya@example.com"] * 3 + ["sam@example.com"] * 2)
    held.refresh_from_db()
    assert held.delivery_attempts == 2
    # The scans carry on as one chain (the workers stopped: none is mid-run).
    workers.stop_all()
    assert (
        DBTaskResult.objects.filter(task_path=reminders.SCAN_TASK_PATH, status="READY").count() == 1
    )


def test_two_workers_scanning_at_once_make_each_reminder_once(
    active_client: CareRelationship, workers: Workers
) -> None:
    practice = active_client.practice
    practice.reminders = "24"
    practice.save(update_fields=["reminders"])
    sessions = [schedule(active_client, 23 - hour / 4) for hour in range(8)]

    inbox = HoldingInbox(hold_first=False)
    with smtp(inbox) as port:
        env = worker_env(port, REMINDER_SCAN_SECONDS="1")
        for _ in range(4):  # several scans queued at once, shared by the two workers
            reminders.send_due_reminders.enqueue()
        workers.start("worker-a", env)
        workers.start("worker-b", env)
        wait_for(
            lambda: len(inbox.delivered) >= len(sessions),
            "every reminder was delivered",
            lambda: workers.log("worker-a") + workers.log("worker-b"),
        )
        time.sleep(3)

    assert len(inbox.delivered) == len(sessions)
    assert SessionReminder.objects.count() == len(sessions)
    worked = {
        worker
        for result in DBTaskResult.objects.filter(task_path=reminders.SEND_TASK_PATH)
        for worker in result.worker_ids
    }
    assert worked <= {"worker-a", "worker-b"}


def _waiting_for_a_lock() -> int:
    """Other connections to this database waiting for a row lock now."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def test_a_late_send_task_waiting_for_the_scans_lock_does_not_send_the_row_again(
    active_client: CareRelationship,
) -> None:
    """The scan takes over a row queued too long (its task seemed lost) and, holding the row's
    lock, claims it; the task turns up meanwhile and its claim waits for that lock. When the
    scan commits, the task's claim must see the row taken: one of the two sends it."""
    practice = active_client.practice
    practice.reminders = "24"
    practice.save(update_fields=["reminders"])
    session = schedule(active_client, 23)
    reminder = SessionReminder.objects.create(
        session=session,
        offset_hours=24,
        channel="email",
        session_starts_at=session.starts_at,
        recipient="maya@example.com",
    )
    SessionReminder.objects.filter(pk=reminder.pk).update(
        created_at=timezone.now() - timedelta(minutes=10)  # queued long ago: abandoned
    )
    scan_claimed = threading.Event()
    task_waiting = threading.Event()

    def scan_holding_the_lock() -> list[int]:
        with transaction.atomic():  # the scan's own transaction, kept open a little longer
            taken = reminders._take_over_abandoned(timezone.now())
            scan_claimed.set()
            task_waiting.wait(timeout=10)
        return taken

    def late_task() -> str:
        assert scan_claimed.wait(timeout=10)
        return str(reminders.send_session_reminder.call(reminder.pk))

    def watch() -> None:  # lets the scan commit once the task is waiting for its lock
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not _waiting_for_a_lock():
                time.sleep(0.05)
            if _waiting_for_a_lock():
                task_waiting.set()
        finally:
            connection.close()

    watching = threading.Thread(target=watch)
    watching.start()
    taken, outcome = run_together(scan_holding_the_lock, late_task)
    watching.join(timeout=30)

    assert task_waiting.is_set(), "the task's claim never waited for the scan's lock"
    assert taken == [reminder.pk], outcome
    assert isinstance(outcome, str) and outcome.startswith("skipped"), outcome
    assert mail.outbox == []  # the scan sends it after its transaction; the task didn't
    reminder.refresh_from_db()
    assert reminder.delivery_status == DeliveryStatus.QUEUED
    assert reminder.delivery_handed_at is not None

"""Which RUNNING tasks a worker puts back on the queue, and what a re-run email does."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.tasks.base import TaskResultStatus
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from caseload.clients import services
from caseload.clients.models import Invitation
from caseload.lib.email import DeliveryStatus
from caseload.worker import recovery
from caseload.worker.models import WorkerHeartbeat

LEASE = timedelta(seconds=60)


@pytest.fixture
def queued(therapist: Any) -> tuple[Invitation, DBTaskResult[..., Any]]:
    added = services.client_add(
        actor=therapist, full_name="Nora Quinn", email="nora@example.com", billing_type="cash_pay"
    )
    assert added.invitation is not None
    return added.invitation, DBTaskResult.objects.get()


def claimed(task: DBTaskResult[..., Any], worker_id: str, seconds_ago: float) -> None:
    task.claim(worker_id)
    DBTaskResult.objects.filter(pk=task.pk).update(
        started_at=timezone.now() - timedelta(seconds=seconds_ago)
    )


def heartbeat(worker_id: str, seconds_ago: float) -> None:
    recovery.beat(worker_id)
    WorkerHeartbeat.objects.filter(worker_id=worker_id).update(
        seen_at=timezone.now() - timedelta(seconds=seconds_ago)
    )


def requeue(own: str | None = None, max_claims: int = 5) -> list[str]:
    return recovery.requeue_orphans(
        backend_name="default", lease=LEASE, max_claims=max_claims, own_worker_id=own
    )


def status(task: DBTaskResult[..., Any]) -> str:
    task.refresh_from_db()
    return str(task.status)


def test_a_task_of_a_live_worker_stays_with_it(queued: Any) -> None:
    _, task = queued
    claimed(task, "alive", seconds_ago=600)
    heartbeat("alive", seconds_ago=5)

    assert requeue() == []
    assert status(task) == TaskResultStatus.RUNNING


def test_a_task_of_a_worker_whose_lease_expired_is_queued_again(queued: Any) -> None:
    _, task = queued
    claimed(task, "dead", seconds_ago=600)
    heartbeat("dead", seconds_ago=61)

    assert requeue() == [str(task.id)]
    assert status(task) == TaskResultStatus.READY
    assert DBTaskResult.objects.ready().get() == task  # ready to be claimed at once


def test_a_task_without_a_heartbeat_waits_one_lease_from_its_start(queued: Any) -> None:
    _, task = queued
    claimed(task, "plain-db-worker", seconds_ago=30)
    assert requeue() == []

    DBTaskResult.objects.filter(pk=task.pk).update(
        started_at=timezone.now() - timedelta(seconds=61)
    )
    assert requeue() == [str(task.id)]


def test_a_worker_takes_back_its_own_interrupted_task_at_once(queued: Any) -> None:
    _, task = queued
    claimed(task, "me", seconds_ago=1)
    heartbeat("me", seconds_ago=0)

    assert requeue(own="other") == []
    assert requeue(own="me") == [str(task.id)]


def test_a_task_whose_workers_keep_dying_is_failed(queued: Any) -> None:
    _, task = queued
    for worker_id in ("a", "b", "c"):
        claimed(task, worker_id, seconds_ago=600)
        assert status(task) == TaskResultStatus.RUNNING
        if worker_id != "c":
            assert requeue(max_claims=3) == [str(task.id)]

    assert requeue(max_claims=3) == []
    assert status(task) == TaskResultStatus.FAILED
    assert task.exception_class_path == "caseload.worker.recovery.WorkerLost"


def test_old_heartbeats_are_forgotten(db: None) -> None:
    heartbeat("long-gone", seconds_ago=2 * 86400)
    heartbeat("recent", seconds_ago=120)
    requeue()
    assert list(WorkerHeartbeat.objects.values_list("worker_id", flat=True)) == ["recent"]


def test_an_email_handed_off_without_an_outcome_is_sent_again_under_its_message_id(
    queued: Any, run_tasks: Any, caplog: pytest.LogCaptureFixture
) -> None:
    invitation, task = queued
    # What a worker killed mid-send leaves: the hand-off recorded, the task RUNNING.
    Invitation.objects.filter(pk=invitation.pk).update(
        delivery_status=DeliveryStatus.SENDING,
        delivery_message_id="<first-attempt@caseload.test>",
        delivery_handed_at=timezone.now() - timedelta(minutes=5),
        delivery_attempts=1,
    )
    invitation.refresh_from_db()
    assert invitation.delivery_problem
    claimed(task, "dead", seconds_ago=600)
    assert requeue() == [str(task.id)]

    assert run_tasks() == 1

    [message] = mail.outbox
    assert message.extra_headers["Message-ID"] == "<first-attempt@caseload.test>"
    invitation.refresh_from_db()
    assert invitation.delivery_status == DeliveryStatus.SENT
    assert invitation.delivery_attempts == 2
    assert not invitation.delivery_problem
    assert "no recorded outcome" in caplog.text


def test_a_fresh_hand_off_is_not_a_delivery_problem(queued: Any, run_tasks: Any) -> None:
    invitation, _ = queued
    Invitation.objects.filter(pk=invitation.pk).update(
        delivery_status=DeliveryStatus.SENDING, delivery_handed_at=timezone.now()
    )
    invitation.refresh_from_db()
    assert not invitation.delivery_problem


def test_a_resend_is_a_new_email_with_a_new_message_id(queued: Any, run_tasks: Any) -> None:
    invitation, _ = queued
    run_tasks()
    invitation.refresh_from_db()
    first_id = invitation.delivery_message_id
    assert first_id and mail.outbox[0].extra_headers["Message-ID"] == first_id

    relationship = invitation.relationship
    services.invitation_resend(relationship=relationship, actor=relationship.therapist)
    run_tasks()

    invitation.refresh_from_db()
    assert invitation.delivery_message_id not in ("", first_id)
    assert mail.outbox[1].extra_headers["Message-ID"] == invitation.delivery_message_id


def test_a_re_run_after_the_email_was_recorded_sent_sends_nothing(
    queued: Any, run_tasks: Any
) -> None:
    _, task = queued
    assert run_tasks() == 1
    # The worker died after recording the email sent, before recording the task's end.
    DBTaskResult.objects.filter(pk=task.pk).update(status=TaskResultStatus.RUNNING)
    assert requeue(own="pytest") == [str(task.id)]

    assert run_tasks() == 1

    assert len(mail.outbox) == 1
    task.refresh_from_db()
    assert task.return_value == "skipped: already sent"


def test_an_account_email_keeps_the_message_id_chosen_when_it_was_queued(
    client: Any, client_user: Any, run_tasks: Any
) -> None:
    run_tasks()
    mail.outbox.clear()
    client.post(reverse("account_reset_password"), {"email": client_user.email})
    [task] = DBTaskResult.objects.ready()
    message_id = task.args_kwargs["kwargs"]["message_id"]
    assert message_id.startswith("<") and message_id.endswith(">")

    assert run_tasks() == 1

    [message] = mail.outbox
    assert message.message()["Message-ID"] == message_id

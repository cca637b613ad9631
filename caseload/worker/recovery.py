"""Leases for background tasks: a worker that dies mid-task does not lose the task.

django-tasks-db marks a claimed task RUNNING and nothing else: if the process is killed
(`kill -9`, OOM, a lost machine) the task stays RUNNING for good. Every `run_worker` renews a
heartbeat row; any worker puts back on the queue a task whose worker's heartbeat has expired.
Tasks must therefore be safe to run again (email: see `caseload.lib.email.send_tracked`).
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import timedelta

from django.tasks.base import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction

from caseload.worker.models import WorkerHeartbeat

logger = logging.getLogger(__name__)

# Heartbeat rows of workers gone this long are deleted (they hold no task any more).
FORGET_AFTER = timedelta(days=1)


class WorkerLost(Exception):
    """Recorded as a task's failure when the workers running it died too many times."""


def beat(worker_id: str) -> None:
    """Record that `worker_id` is alive now."""
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={"seen_at": now},
        create_defaults={
            "seen_at": now,
            "started_at": now,
            "hostname": socket.gethostname()[:255],
            "pid": os.getpid(),
        },
    )


def forget(worker_id: str) -> None:
    """A worker stopping cleanly (it finished its task) leaves no heartbeat behind."""
    WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()


def requeue_orphans(
    *,
    backend_name: str,
    lease: timedelta,
    max_claims: int,
    own_worker_id: str | None = None,
) -> list[str]:
    """Put back on the queue every RUNNING task whose worker is gone; return their ids.

    A worker is gone when its heartbeat is older than `lease` (or it never had one, e.g. a
    plain `db_worker`, and the task started more than `lease` ago). `own_worker_id` is the
    caller, which runs nothing at the moment: a task still marked as its own was interrupted
    (its database connection dropped). A task already claimed `max_claims` times is marked
    failed instead, so a task that kills its worker cannot take the workers down forever.
    """
    now = timezone.now()
    cutoff = now - lease
    live = set(
        WorkerHeartbeat.objects.filter(seen_at__gte=cutoff).values_list("worker_id", flat=True)
    )
    running = DBTaskResult.objects.running().filter(backend_name=backend_name)
    recovered: list[str] = []
    with exclusive_transaction(running.db):
        for result in running.select_for_update(skip_locked=True).order_by("started_at"):
            holder = result.worker_ids[-1] if result.worker_ids else ""
            if holder != own_worker_id and (
                holder in live or (result.started_at is not None and result.started_at > cutoff)
            ):
                continue
            if len(result.worker_ids) >= max_claims:
                logger.error(
                    "Task %s (%s) failed: its worker was lost %s times",
                    result.id,
                    result.task_path,
                    len(result.worker_ids),
                )
                result.set_failed(
                    WorkerLost(f"the worker running it was lost {len(result.worker_ids)} times")
                )
                continue
            logger.warning(
                "Task %s (%s) was left running by worker %s, which is gone: queued again",
                result.id,
                result.task_path,
                holder or "?",
            )
            result.status = TaskResultStatus.READY
            result.save(update_fields=["status"])
            recovered.append(str(result.id))
    WorkerHeartbeat.objects.filter(seen_at__lt=now - FORGET_AFTER).delete()
    return recovered

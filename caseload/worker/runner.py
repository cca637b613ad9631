"""A django-tasks-db worker that survives its own death and its database's absence.

`RecoveringWorker` is the library's `Worker` (same claiming, same `run_task`) with:

- a heartbeat thread renewing the worker's lease (`recovery.beat`), and a sweep at start and
  every `reap_every` seconds that queues again the tasks of workers whose lease expired;
- reconnection: an OperationalError / InterfaceError (backend terminated, server restarting,
  "too many clients") closes the connections and retries with exponential backoff instead of
  ending the process. A task interrupted that way is queued again by the same sweep.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from datetime import timedelta
from typing import Any

from django.db import close_old_connections, connections
from django.db.utils import InterfaceError, OperationalError
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from caseload.worker import recovery

logger = logging.getLogger("caseload.worker")

DATABASE_DOWN = (OperationalError, InterfaceError)


def close_connections() -> None:
    """Drop this thread's database connections (broken ones included) so the next query
    connects afresh."""
    for connection in connections.all(initialized_only=True):
        try:
            connection.close()
        except Exception:  # a dead connection may fail to close: drop it
            connection.connection = None


class Heartbeat(threading.Thread):
    """Renews the worker's lease every `interval` seconds, on a connection of its own, even
    while the worker's thread is busy with a long task."""

    def __init__(self, worker_id: str, interval: float) -> None:
        super().__init__(name=f"heartbeat-{worker_id}", daemon=True)
        self.worker_id = worker_id
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(self.interval):
                try:
                    recovery.beat(self.worker_id)
                except DATABASE_DOWN as error:
                    logger.warning("Heartbeat not recorded: %s", type(error).__name__)
                    close_connections()
                except Exception:
                    # Anything else is also one missed renewal, never the thread's end: without
                    # it the lease expires while this worker still runs its task, and another
                    # worker would run the task again alongside it.
                    logger.exception("Heartbeat not recorded")
        finally:
            close_connections()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=self.interval + 5)


class RecoveringWorker(Worker):
    def __init__(
        self,
        *,
        heartbeat: float,
        lease: float,
        reap_every: float,
        max_claims: int,
        max_backoff: float,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.heartbeat_interval = heartbeat
        self.lease = timedelta(seconds=lease)
        self.reap_every = reap_every
        self.max_claims = max_claims
        self.max_backoff = max_backoff
        self.backoff = 0.0
        self.next_sweep = 0.0
        self.heartbeat: Heartbeat | None = None

    def sweep(self) -> None:
        """Renew our lease and queue again the tasks left by dead workers (or by ourselves,
        interrupted by a lost connection: between tasks this worker runs nothing)."""
        recovery.beat(self.worker_id)
        recovery.requeue_orphans(
            backend_name=self.backend_name,
            lease=self.lease,
            max_claims=self.max_claims,
            own_worker_id=self.worker_id,
        )
        self.next_sweep = time.monotonic() + self.reap_every

    def wait_for_database(self, error: Exception) -> None:
        self.backoff = min(self.max_backoff, self.backoff * 2 if self.backoff else 0.5)
        delay = self.backoff * (0.75 + random.random() / 2)  # jitter
        logger.warning(
            "Database unavailable (%s: %s); reconnecting in %.1f s",
            type(error).__name__,
            str(error).strip().splitlines()[0][:200] if str(error).strip() else "",
            delay,
        )
        close_connections()
        self.next_sweep = 0.0  # an interrupted task of ours is queued again on reconnecting
        time.sleep(delay)

    def claim_next(self) -> tuple[DBTaskResult[..., Any] | None, bool]:
        """The next ready task, claimed for this worker; and whether the queue could be read."""
        tasks = DBTaskResult.objects.ready().filter(backend_name=self.backend_name)
        if not self.process_all_queues:
            tasks = tasks.filter(queue_name__in=self.queue_names)
        if self.excluded_queue_names:
            tasks = tasks.exclude(queue_name__in=self.excluded_queue_names)
        with exclusive_transaction(tasks.db):
            try:
                task_result = tasks.get_locked()
                if task_result is not None:
                    task_result.claim(self.worker_id)
            except OperationalError as error:
                if not is_locked_database_exception(error):
                    raise
                return None, False  # SQLite is busy: try again shortly
        return task_result, True

    def run(self) -> None:
        logger.info(
            "Starting worker worker_id=%s queues=%s lease=%ss",
            self.worker_id,
            ",".join(self.queue_names),
            self.lease.total_seconds(),
        )
        if self.startup_delay and self.interval:
            time.sleep(random.random())  # spreads workers started together
        self.heartbeat = Heartbeat(self.worker_id, self.heartbeat_interval)
        self.heartbeat.start()
        try:
            self.loop()
        finally:
            self.heartbeat.stop()
            with contextlib.suppress(*DATABASE_DOWN):  # else the lease simply expires
                recovery.forget(self.worker_id)

    def loop(self) -> None:
        while self.running:
            try:
                close_old_connections()
                if time.monotonic() >= self.next_sweep:
                    self.sweep()
                task_result, read = self.claim_next()
                if task_result is not None:
                    self.run_task(task_result)
                self.backoff = 0.0
            except DATABASE_DOWN as error:
                self.wait_for_database(error)
                continue

            if self.batch and read and task_result is None:
                logger.info("No more tasks to run for worker_id=%s - exiting.", self.worker_id)
                return
            if self.max_tasks is not None and self._run_tasks >= self.max_tasks:
                logger.info(
                    "Ran %d tasks on worker_id=%s - exiting.", self._run_tasks, self.worker_id
                )
                return
            close_old_connections()
            if self.running and task_result is None:
                time.sleep(self.interval)

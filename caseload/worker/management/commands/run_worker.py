"""`manage.py run_worker`: django-tasks-db's `db_worker`, recovering tasks and connections.

Takes every option of `db_worker` (`--queue-name '*'`, `--interval`, `--batch`, …) and:

  --heartbeat SECONDS   how often the worker renews its lease (default 5)
  --lease SECONDS       how long a silent worker's tasks stay its own (default 60)
  --max-claims N        runs of one task, lost workers included, before it is failed (5)
  --max-backoff SECONDS longest wait between reconnection attempts (default 30)
"""

from __future__ import annotations

import os
from argparse import ArgumentParser, ArgumentTypeError
from typing import Any

from django.core.management.base import CommandError
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.management.commands import db_worker

from caseload.worker.runner import RecoveringWorker


def positive(value: str) -> float:
    number = db_worker.valid_interval(value)
    if number <= 0:
        raise ArgumentTypeError("Must be greater than zero")
    return number


class Command(db_worker.Command):
    help = "Run a database task worker that re-runs tasks of dead workers and reconnects"

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--heartbeat",
            type=positive,
            default=5.0,
            help="Seconds between renewals of the worker's lease (default: %(default)r)",
        )
        parser.add_argument(
            "--lease",
            type=positive,
            default=60.0,
            help="Seconds without a renewal after which a worker's tasks are run again by "
            "another worker (default: %(default)r)",
        )
        parser.add_argument(
            "--max-claims",
            type=int,
            default=5,
            help="Runs of one task, lost workers included, before it is marked failed "
            "(default: %(default)r)",
        )
        parser.add_argument(
            "--max-backoff",
            type=positive,
            default=30.0,
            help="Longest wait between database reconnection attempts (default: %(default)r)",
        )

    def handle(  # type: ignore[override]
        self,
        *,
        verbosity: int,
        queue_name: str,
        interval: float,
        batch: bool,
        backend_name: str,
        startup_delay: bool,
        reload: bool,
        max_tasks: int | None,
        worker_id: str,
        exclude_queues: str,
        heartbeat: float,
        lease: float,
        max_claims: int,
        max_backoff: float,
        **options: Any,
    ) -> None:
        self.configure_logging(verbosity)
        if lease < 2 * heartbeat:
            raise CommandError("--lease must be at least twice --heartbeat")
        if max_claims < 1:
            raise CommandError("--max-claims must be at least 1")
        if reload and batch:
            reload = False
        queue_names = queue_name.split(",")
        excluded = exclude_queues.split(",") if exclude_queues else []
        if excluded and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")

        worker = RecoveringWorker(
            queue_names=queue_names,
            interval=interval,
            batch=batch,
            backend_name=backend_name,
            startup_delay=startup_delay,
            max_tasks=max_tasks,
            worker_id=worker_id,
            excluded_queue_names=excluded,
            heartbeat=heartbeat,
            lease=lease,
            reap_every=max(heartbeat, lease / 2),
            max_claims=max_claims,
            max_backoff=max_backoff,
        )
        if reload:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                worker.configure_signals()
            run_with_reloader(worker.run)
        else:
            worker.configure_signals()
            worker.run()

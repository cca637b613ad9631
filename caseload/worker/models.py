from __future__ import annotations

from django.db import models
from django.utils import timezone


class WorkerHeartbeat(models.Model):
    """A running `run_worker` process, renewed every few seconds while it is alive.

    A task left RUNNING by a worker whose heartbeat is older than the lease is presumed
    orphaned (the process was killed, its machine lost) and is put back on the queue.
    """

    worker_id = models.CharField(max_length=64, primary_key=True)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"Worker {self.worker_id} ({self.hostname}:{self.pid})"

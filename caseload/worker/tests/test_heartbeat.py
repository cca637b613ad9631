"""The heartbeat thread keeps a live worker's lease whatever a single renewal runs into.

If the thread ended, the lease of a worker still busy with a long task would expire and
another worker would run that task a second time, alongside it.
"""

from __future__ import annotations

import time

import pytest
from django.db import connection

from caseload.worker import recovery
from caseload.worker.models import WorkerHeartbeat
from caseload.worker.runner import Heartbeat

pytestmark = pytest.mark.django_db(transaction=True)

TABLE = WorkerHeartbeat._meta.db_table


def refuse_renewals() -> None:
    """Make every renewal fail with an error that is not a lost connection (the database
    answers, and refuses this one statement): a trigger, as a constraint would."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION refuse_beat() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'refused'; END; $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                f"CREATE TRIGGER refuse_beat BEFORE UPDATE ON {TABLE} "
                "FOR EACH ROW EXECUTE FUNCTION refuse_beat()"
            )
        else:
            cursor.execute(
                f"CREATE TRIGGER refuse_beat BEFORE UPDATE ON {TABLE} "
                "BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )


def allow_renewals() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP TRIGGER refuse_beat ON {TABLE}")
            cursor.execute("DROP FUNCTION refuse_beat()")
        else:
            cursor.execute("DROP TRIGGER refuse_beat")


def test_the_heartbeat_keeps_beating_after_a_renewal_fails_unexpectedly() -> None:
    recovery.beat("busy-worker")
    refuse_renewals()
    heartbeat = Heartbeat("busy-worker", interval=0.05)
    heartbeat.start()
    try:
        time.sleep(0.5)  # several renewals refused
        allow_renewals()
        refused_at = WorkerHeartbeat.objects.get(worker_id="busy-worker").seen_at
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if WorkerHeartbeat.objects.get(worker_id="busy-worker").seen_at > refused_at:
                break
            time.sleep(0.05)
        assert heartbeat.is_alive()
        assert WorkerHeartbeat.objects.get(worker_id="busy-worker").seen_at > refused_at
    finally:
        heartbeat.stop()

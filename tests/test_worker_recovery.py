"""The task worker survives its own death and its database's (decision 0020).

Real `manage.py run_worker` processes against the test database and a real SMTP server
(aiosmtpd) in this process:

- a worker is killed with SIGKILL while the mail server holds its invitation email; a second
  worker takes the task over once the first one's lease expires, and the email arrives once,
  under the Message-ID recorded before the first hand-off;
- (PostgreSQL) the worker's database connections are terminated and refused for a while; the
  worker keeps running, reconnects with backoff and sends an invitation queued meanwhile.

Both databases for the first (SQLite in WAL mode is a file both processes open).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection
from django.test import Client as Browser
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from caseload.clients import services
from caseload.clients.models import Invitation
from caseload.lib.email import DeliveryStatus
from caseload.worker.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 60.0
# Short enough for a test; production runs with --heartbeat 5 --lease 60.
FAST_LEASE = ["--interval", "0.2", "--heartbeat", "0.3", "--lease", "1.5", "--max-backoff", "1"]


class HoldingInbox:
    """An SMTP server that keeps the first message waiting for its reply until released, then
    refuses it: a server that had not accepted the message yet when the worker died.

    `handed` lists the Message-ID of every message the server received, `delivered` the
    messages it accepted.
    """

    def __init__(self, *, hold_first: bool) -> None:
        self.hold_first = hold_first
        self.holding = threading.Event()
        self.release = threading.Event()
        self.handed: list[str] = []
        self.delivered: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content, policy=default_policy)
        assert isinstance(message, EmailMessage)
        self.handed.append(str(message["Message-ID"]))
        if self.hold_first and len(self.handed) == 1:
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "451 Requested action aborted"
        self.delivered.append(message)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def smtp(inbox: HoldingInbox) -> Iterator[int]:
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        inbox.release.set()
        controller.stop()


def database_url(user: str | None = None) -> str:
    database = connection.settings_dict
    user = urllib.parse.quote(user or database["USER"] or "")
    password = urllib.parse.quote(database["PASSWORD"] or "")
    credentials = f"{user}:{password}@" if password else f"{user}@"
    return (
        f"postgres://{credentials}{database['HOST'] or '127.0.0.1'}:"
        f"{database['PORT'] or 5432}/{database['NAME']}"
    )


def worker_env(smtp_port: int, **extra: str) -> dict[str, str]:
    """The environment a production worker gets, pointed at the test database and server."""
    env = {
        key: value
        for key, value in os.environ.items()
        # SERVER_MODE: importing caseload.asgi (the consumer tests do) sets it in this process;
        # a worker is no ASGI server and takes no connection pool.
        if key not in {"DATABASE_URL", "SMTP_SSL", "SMTP_USER", "SMTP_PASSWORD", "SERVER_MODE"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="caseload.settings",
        SECRET_KEY=settings.SECRET_KEY,
        DEBUG="false",
        SECURE_HTTPS="false",
        ALLOWED_HOSTS="127.0.0.1",
        LOG_LEVEL="INFO",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp_port),
        SMTP_STARTTLS="false",
        SMTP_TIMEOUT="30",
        EMAIL_RETRY_BASE_SECONDS="1",
    )
    if connection.vendor == "postgresql":
        env["DATABASE_URL"] = database_url()
        env["DATABASE_CONN_MAX_AGE"] = "600"  # a worker keeps its connection (deploy/)
    else:
        env["SQLITE_PATH"] = str(connection.settings_dict["NAME"])
    env.update(extra)
    return env


class Workers:
    """Starts `run_worker` processes; stops whatever is left at the end of the test."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, worker_id: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = self.tmp_path / f"worker-{worker_id}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(  # noqa: S603 - our own worker
                [
                    sys.executable,
                    "manage.py",
                    "run_worker",
                    "--queue-name",
                    "*",
                    "--no-startup-delay",
                    "--no-reload",
                    "--worker-id",
                    worker_id,
                    *FAST_LEASE,
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.processes.append(process)
        return process

    def log(self, worker_id: str) -> str:
        return (self.tmp_path / f"worker-{worker_id}.log").read_text()

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    started = Workers(tmp_path)
    try:
        yield started
    finally:
        started.stop_all()


def wait_for(condition: Callable[[], bool], what: str, explain: Callable[[], str]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {TIMEOUT}s\n{explain()}")


def add_client(therapist: Any) -> Invitation:
    added = services.client_add(
        actor=therapist, full_name="Nora Quinn", email="nora@example.com", billing_type="cash_pay"
    )
    assert added.invitation is not None
    return added.invitation


def status_of(invitation: Invitation) -> str:
    return str(Invitation.objects.values_list("delivery_status", flat=True).get(pk=invitation.pk))


def test_a_worker_killed_mid_send_leaves_the_email_to_the_next_worker_and_it_arrives_once(
    therapist: Any, workers: Workers, settings: Any
) -> None:
    inbox = HoldingInbox(hold_first=True)
    with smtp(inbox) as port:
        invitation = add_client(therapist)
        first = workers.start("worker-a", worker_env(port))
        assert inbox.holding.wait(TIMEOUT), workers.log("worker-a")

        # The hand-off was recorded, and committed, before the server got the message.
        invitation.refresh_from_db()
        assert invitation.delivery_status == DeliveryStatus.SENDING
        assert invitation.delivery_message_id == inbox.handed[0]
        assert invitation.delivery_attempts == 1
        task = DBTaskResult.objects.get(task_path="caseload.clients.tasks.send_invitation_email")
        assert task.status == "RUNNING" and task.worker_ids == ["worker-a"]

        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        inbox.release.set()
        assert inbox.delivered == []

        # Until another worker sends it, the therapist sees it was not delivered.
        settings.EMAIL_HANDOFF_STALE_SECONDS = 0
        browser = Browser()
        browser.force_login(therapist)
        page = browser.get(
            reverse("workspace:detail", args=[invitation.relationship.public_id])
        ).content.decode()
        assert "Invitation not delivered — retrying." in page
        assert "Sending it was interrupted" in page
        assert ">Not delivered</span>" in page

        second = workers.start("worker-b", worker_env(port))
        wait_for(
            lambda: status_of(invitation) == DeliveryStatus.SENT,
            "the second worker sent the invitation",
            lambda: workers.log("worker-b"),
        )
        time.sleep(1)  # nothing else is on its way

        [message] = inbox.delivered
        assert message["To"] == "nora@example.com"
        assert inbox.handed == [invitation.delivery_message_id] * 2  # one Message-ID throughout
        invitation.refresh_from_db()
        assert invitation.delivery_attempts == 2
        assert invitation.delivered_at is not None
        task.refresh_from_db()
        assert task.status == "SUCCESSFUL"
        assert task.worker_ids == ["worker-a", "worker-b"]
        log = workers.log("worker-b")
        assert f"Task {task.id}" in log and "left running by worker worker-a" in log
        assert "no recorded outcome" in log

        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=15) == 0
        assert not WorkerHeartbeat.objects.filter(worker_id="worker-b").exists()
        browser.get("/")  # the page shows the invitation as sent
        page = browser.get(
            reverse("workspace:detail", args=[invitation.relationship.public_id])
        ).content.decode()
        assert "not delivered" not in page.lower()


@pytest.fixture
def worker_role() -> Iterator[str]:
    """A PostgreSQL login of the worker's own, so its connections can be cut and refused
    without touching anyone else's."""
    if connection.vendor != "postgresql":
        pytest.skip("terminating and refusing a worker's connections needs PostgreSQL")
    role = f"caseload_worker_test_{os.getpid()}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 5")
        cursor.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
        cursor.execute(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}")
    try:
        yield role
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                [role],
            )
            cursor.execute(f"DROP OWNED BY {role}")
            cursor.execute(f"DROP ROLE {role}")


@pytest.mark.postgres_only
def test_the_worker_reconnects_after_its_connections_are_terminated_and_refused(
    therapist: Any, workers: Workers, worker_role: str
) -> None:
    inbox = HoldingInbox(hold_first=False)
    with smtp(inbox) as port:
        worker = workers.start(
            "worker-pg", worker_env(port, DATABASE_URL=database_url(worker_role))
        )
        wait_for(
            lambda: WorkerHeartbeat.objects.filter(worker_id="worker-pg").exists(),
            "the worker started",
            lambda: workers.log("worker-pg"),
        )

        with connection.cursor() as cursor:
            # Refuse new connections ("too many connections") and cut the open ones.
            cursor.execute(f"ALTER ROLE {worker_role} CONNECTION LIMIT 0")
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = %s",
                [worker_role],
            )
            assert cursor.fetchone()[0] >= 1
        invitation = add_client(therapist)
        time.sleep(2)
        assert worker.poll() is None, workers.log("worker-pg")
        assert status_of(invitation) == DeliveryStatus.QUEUED

        with connection.cursor() as cursor:
            cursor.execute(f"ALTER ROLE {worker_role} CONNECTION LIMIT 5")
        wait_for(
            lambda: status_of(invitation) == DeliveryStatus.SENT,
            "the worker reconnected and sent the invitation",
            lambda: workers.log("worker-pg"),
        )
        assert worker.poll() is None
        assert len(inbox.delivered) == 1
        assert "Database unavailable" in workers.log("worker-pg")

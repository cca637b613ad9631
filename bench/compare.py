"""Benchmark: Caseload against a bare-Django floor, on PostgreSQL, at two caseload sizes.

    uv run python bench/compare.py [--scale 100k] [--rounds 3] [--seconds 5] [--connections 4]

In one run, for the small dataset (1k clients) and the one `--scale` names (1k, 10k, 100k, 1m
clients; 100 clients per therapist, so 1m is 10,000 therapists):

1. builds the dataset in a database of its own (`<db-prefix>_<scale>`), or reuses it when a
   previous run finished building it: migrations, then bulk `INSERT … SELECT
   generate_series` (keys and indexes dropped first, built once after) of practices,
   therapists and supervisors, clients, care relationships, sessions, progress notes,
   messages, documents and audit events, then `ANALYZE`. Only
   creating the role and the database uses the `postgres` superuser; everything else
   connects as the role `caseload_bench` (`CONNECTION LIMIT 30`, NOTES.md);
2. signs a therapist in by storing a session directly (SessionStore) and sends its cookie;
3. starts the real app (`caseload.asgi`) and the floor (`bench/floor.py`, the same 50 rows
   from the same database with a plain template and only session and auth middleware) the
   same way: `--workers` single-worker uvicorn processes each, one port per process (see
   `Server` for why not one uvicorn with `--workers N`);
4. drives both with the same load (`wrk` when installed, one per port with the connections
   shared out, else a Python load generator with threads), page by page, interleaving app
   and floor and waiting for both to be idle before each measurement, `--rounds` times; and
   prints per page and server: requests/s, p50 and p99 latency, CPU ms per request of the
   server processes (from /proc) and of PostgreSQL (the postmaster's reaped backends plus
   the role's live backends; on a shared machine other people's backends count too), the
   app/floor req/s ratio;
5. times the ICD-10 picker as one person typing (`--typing` searches one after another on
   one connection: the latency a clinician sees; under `--connections` the p99 is mostly
   waiting for a CPU), app and floor, each round;
6. starts a fresh app server on the big dataset and times its first ICD-10 search and first
   PDF, and without the warm-up what the index costs in memory (bench/warm_start.py's
   measurement);
7. prints the big/small req/s ratios, then the issue's targets with this run's figures.

Pages: the client list (50 rows), a search, the profile overview, the ICD-10 search and a
document PDF. Figures on a shared 2-core machine are noisy: compare ratios, not absolutes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import warm_start  # noqa: E402 - bench/warm_start.py: a fresh server's first requests

TYPING = "ICD-10 typing"
SCALES = {"1k": 1_000, "10k": 10_000, "100k": 100_000, "1m": 1_000_000}
CLIENTS_PER_THERAPIST = 100
THERAPISTS_PER_PRACTICE = 50
ROLE = "caseload_bench"
CONNECTION_LIMIT = 30
CLK_TCK = os.sysconf("SC_CLK_TCK")

FIRST = [
    *("Ava", "Ben", "Chloé", "Dev", "Elena", "Farid", "Grace", "Hugo", "Isla", "Jonas"),
    *("Kai", "Lena", "Mateo", "Nina", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tariq"),
    *("Uma", "Vera", "Wen", "Ximena", "Yusuf", "Zoe"),
]
LAST = [
    *("Adler", "Brown", "Castro", "Diallo", "Evans", "Fischer", "García", "Haddad", "Ito"),
    *("Jensen", "Kowalski", "Lopez", "Müller", "Nakamura", "Okafor", "Patel", "Quispe"),
    *("Rossi", "Santos", "Tanaka", "Usman", "Vargas", "Walsh", "Xu", "Yilmaz", "Zhang"),
    *("Núñez", "Olsen", "Petrov"),
]


# Dataset --------------------------------------------------------------------------------
def admin_url() -> str:
    return os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def role_url(database: str) -> str:
    host = os.environ.get("BENCH_PG_HOST", "127.0.0.1:5432")
    return f"postgresql://{ROLE}@{host}/{database}"


def ensure_role() -> None:
    with psycopg.connect(admin_url(), autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [ROLE]).fetchone()
        if not exists:
            admin.execute(f"CREATE ROLE {ROLE} LOGIN CONNECTION LIMIT {CONNECTION_LIMIT}")


def dataset_ready(database: str) -> bool:
    with psycopg.connect(admin_url(), autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone():
            return False
    with psycopg.connect(role_url(database)) as conn:
        found = conn.execute("SELECT to_regclass('bench_dataset')").fetchone()
        return bool(found and found[0] and conn.execute("SELECT 1 FROM bench_dataset").fetchone())


def django_env(database: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": role_url(database).replace("postgresql://", "postgres://"),
        "SECURE_HTTPS": "false",
        "DEBUG": "false",
        "STATICFILES_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
        "PYTHONPATH": str(ROOT),
        **extra,
    }


def migrate(database: str) -> None:
    """Bring the dataset's schema to the code's: a reused dataset gets the migrations added
    since it was built (new columns take their defaults)."""
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"],
        cwd=ROOT,
        env=django_env(database),
        check=True,
    )


def build_dataset(database: str, clients: int) -> None:
    therapists = max(1, clients // CLIENTS_PER_THERAPIST)
    practices = -(-therapists // THERAPISTS_PER_PRACTICE)
    started = time.perf_counter()
    with psycopg.connect(admin_url(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{database}" OWNER {ROLE}')
    migrate(database)
    migrated = time.perf_counter()
    with psycopg.connect(role_url(database)) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '256MB'")
        restore = drop_keys_and_indexes(conn)
        for label, sql in bulk_sql(therapists, practices):
            began = time.perf_counter()
            conn.execute(sql.format(T=therapists, P=practices, C=CLIENTS_PER_THERAPIST))
            print(f"    {label:<24} {time.perf_counter() - began:6.1f} s", flush=True)
        began = time.perf_counter()
        for statement in restore:
            conn.execute(statement)
        print(f"    {'indexes and keys':<24} {time.perf_counter() - began:6.1f} s", flush=True)
        conn.commit()
    with psycopg.connect(role_url(database), autocommit=True) as conn:
        conn.execute("ANALYZE")
        conn.execute("CREATE TABLE bench_dataset (clients integer, built_at timestamptz)")
        conn.execute("INSERT INTO bench_dataset VALUES (%s, now())", [clients])
    print(
        f"  built {database}: {clients:,} clients in {time.perf_counter() - started:.0f} s "
        f"(migrations {migrated - started:.0f} s)",
        flush=True,
    )


BULK_TABLES = [
    *("practices_practice", "accounts_user", "practices_membership", "clients_client"),
    *("clients_carerelationship", "visits_therapysession", "visits_progressnote"),
    *("messaging_message", "documents_assigneddocument", "audit_auditevent"),
]


def drop_keys_and_indexes(conn: psycopg.Connection[Any]) -> list[str]:
    """Drop the foreign keys, unique constraints and indexes (primary keys stay) of the
    tables the load fills: building an index once over sorted rows is much faster than
    updating it row by row (random UUIDs above all). Returns the statements that put them
    back, in an order that works: unique constraints, indexes, then foreign keys."""
    constraints = conn.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), contype"
        " FROM pg_constraint WHERE contype IN ('f', 'u') AND (conrelid::regclass::text = ANY(%s)"
        " OR confrelid::regclass::text = ANY(%s)) ORDER BY contype",
        [BULK_TABLES, BULK_TABLES],
    ).fetchall()
    indexes = conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s)"
        " AND indexname NOT IN (SELECT conname FROM pg_constraint)",
        [BULK_TABLES],
    ).fetchall()
    for table, name, _definition, _kind in constraints:  # foreign keys first ('f' < 'u')
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _definition in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    return [
        *(
            f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
            for table, name, definition, kind in constraints
            if kind == "u"
        ),
        *(definition for _name, definition in indexes),
        *(
            f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
            for table, name, definition, kind in constraints
            if kind == "f"
        ),
    ]


def bulk_sql(therapists: int, practices: int) -> Iterator[tuple[str, str]]:
    """The dataset as set-based SQL. Ids are computed, so rows refer to each other without
    lookups: therapist t (1…T) has clients (t-1)*C+1 … t*C, user id T+p is practice p's
    supervisor; client n has sessions 3n-2 (two weeks ago, signed note), 3n-1 (last week,
    a draft note or none: a note is due) and 3n (booked ahead)."""
    first = "ARRAY[" + ",".join(f"'{name}'" for name in FIRST) + "]"
    last = "ARRAY[" + ",".join(f"'{name}'" for name in LAST) + "]"
    name = (
        f"({first})[1 + n % {len(FIRST)}] || ' ' || ({last})[1 + (n / {len(FIRST)}) % {len(LAST)}]"
        " || ' ' || n"
    )
    yield (
        "practices",
        "INSERT INTO practices_practice (id, public_id, name, time_zone, billing_enabled,"
        " child_accounts_enabled, created_at, staff_two_factor_required, crisis_text, phone,"
        " booking_requests_enabled, booking_weeks_ahead, cancellation_window_hours, reminders,"
        " sms_reminders_enabled, telehealth_url_template)"
        " SELECT p, gen_random_uuid(), 'Practice ' || p, 'UTC', true, false, now(), false, '',"
        " '', false, 4, 24, 'off', false, '' FROM generate_series(1, {P}) p",
    )
    yield (
        "therapists, supervisors",
        "INSERT INTO accounts_user (id, password, is_superuser, public_id, email, full_name,"
        " is_active, is_staff, date_joined) SELECT u, '!', false, gen_random_uuid(),"
        " CASE WHEN u <= {T} THEN 'therapist' || u ELSE 'supervisor' || (u - {T}) END"
        " || '@bench.example', CASE WHEN u <= {T} THEN 'Therapist ' || u ELSE 'Supervisor ' ||"
        " (u - {T}) END, true, false, now() FROM generate_series(1, {T} + {P}) u",
    )
    yield (
        "memberships",
        "INSERT INTO practices_membership (id, role, created_at, supervisor_id, user_id,"
        " practice_id) SELECT u, CASE WHEN u <= {T} THEN 'therapist' ELSE 'supervisor' END,"
        " now(), CASE WHEN u <= {T} THEN {T} + 1 + (u - 1) / "
        f"{THERAPISTS_PER_PRACTICE} END, u, CASE WHEN u <= {{T}} THEN 1 + (u - 1) / "
        f"{THERAPISTS_PER_PRACTICE} ELSE u - {{T}} END FROM generate_series(1, {{T}} + {{P}}) u",
    )
    yield (
        "clients",
        "INSERT INTO clients_client (id, public_id, full_name, email, is_child, search_text,"
        " created_at) SELECT n, gen_random_uuid(), nm, 'client' || n || '@bench.example', false,"
        " lower(nm || ' client' || n || '@bench.example'), now() - interval '1 year' FROM"
        f" (SELECT n, {name} AS nm FROM generate_series(1, {{T}} * {{C}}) n) s",
    )
    yield (
        "care relationships",
        "INSERT INTO clients_carerelationship (id, public_id, state, billing_type,"
        " messaging_enabled, phone, gender, address, emergency_name, emergency_relationship,"
        " emergency_phone, emergency_email, created_at, activated_at, archived_at, ended_reason,"
        " practice_id, therapist_id, client_id, pronouns, client_name, search_text) SELECT n,"
        " gen_random_uuid(),"
        " CASE WHEN n % 20 = 0 THEN 'invited' WHEN n % 20 = 1 THEN 'archived' ELSE 'active' END,"
        " 'cash_pay', true, '', '', '', '', '', '', '', now() - interval '1 year',"
        " now() - interval '300 days', CASE WHEN n % 20 = 1 THEN now() END, '',"
        f" 1 + ((n - 1) / {{C}}) / {THERAPISTS_PER_PRACTICE}, 1 + (n - 1) / {{C}}, n, '', nm,"
        " lower(nm || ' client' || n || '@bench.example') FROM"
        f" (SELECT n, {name} AS nm FROM generate_series(1, {{T}} * {{C}}) n) s",
    )
    yield (
        "sessions",
        "INSERT INTO visits_therapysession (id, public_id, starts_at, duration_minutes, modality,"
        " status, created_at, relationship_id, video_room) SELECT 3 * n - 2 + k, gen_random_uuid(),"
        " CASE k WHEN 0 THEN now() - interval '14 days' WHEN 1 THEN now() - interval '7 days'"
        " ELSE now() + make_interval(days => 1 + n % 13, hours => n % 8) END, 50, 'in_person',"
        " CASE WHEN k = 2 THEN 'scheduled' ELSE 'completed' END, now() - interval '30 days', n,"
        " '' FROM generate_series(1, {T} * {C}) n, generate_series(0, 2) k",
    )
    yield (
        "progress notes",
        "INSERT INTO visits_progressnote (id, public_id, format, content, status, signed_at,"
        " content_sha256, created_at, updated_at, signed_by_id, session_id, risk_assessment,"
        " mental_status) SELECT s, gen_random_uuid(), 'soap', '{{}}'::jsonb,"
        " CASE WHEN s % 3 = 1 THEN 'signed' ELSE"
        " 'draft' END, CASE WHEN s % 3 = 1 THEN now() END, '', now(), now(),"
        " CASE WHEN s % 3 = 1 THEN 1 + ((s + 2) / 3 - 1) / {C} END, s, '{{}}'::jsonb,"
        " '{{}}'::jsonb FROM generate_series(1,"
        " 3 * {T} * {C}) s WHERE s % 3 = 1 OR (s % 3 = 2 AND ((s + 1) / 3) % 3 <> 0)",
    )
    yield (
        "messages",
        "INSERT INTO messaging_message (id, public_id, sender_side, text, created_at, read_at,"
        " read_by_id, relationship_id, sender_id) SELECT 2 * n - k, gen_random_uuid(), CASE k"
        " WHEN 0 THEN 'client' ELSE 'therapist' END, 'Bench message', now() - make_interval("
        "days => 2 + k), CASE WHEN k = 0 AND n % 4 <> 0 THEN now() - interval '1 day' END,"
        " CASE WHEN k = 0 AND n % 4 <> 0 THEN 1 + (n - 1) / {C} END, n, 1 + (n - 1) / {C}"
        " FROM generate_series(1, {T} * {C}) n, generate_series(0, 1) k",
    )
    yield (
        "documents",
        "INSERT INTO documents_assigneddocument (id, public_id, status, assigned_at, answers,"
        " submitted_at, reviewed_at, content, content_sha256, score, severity, flagged,"
        " assigned_by_id, reviewed_by_id, relationship_id, version_id) SELECT n / 2,"
        " gen_random_uuid(), (ARRAY['assigned', 'completed', 'reviewed'])[1 + (n / 2) % 3],"
        " now() - interval '20 days', '{{}}'::jsonb, CASE WHEN (n / 2) % 3 <> 0 THEN now() -"
        " interval '10 days' END, CASE WHEN (n / 2) % 3 = 2 THEN now() - interval '5 days' END,"
        " '', '', NULL, '', n % 50 = 2, 1 + (n - 1) / {C}, CASE WHEN (n / 2) % 3 = 2 THEN"
        " 1 + (n - 1) / {C} END, n, (SELECT v.id FROM documents_templateversion v JOIN"
        " documents_documenttemplate t ON t.id = v.template_id WHERE t.library_key = 'phq9'"
        " ORDER BY v.number DESC LIMIT 1) FROM generate_series(2, {T} * {C}, 2) n",
    )
    yield (
        "audit events",
        "INSERT INTO audit_auditevent (id, created_at, actor_email, actor_role, action,"
        " object_type, object_id, outcome, request_id, detail, actor_id, client_id,"
        " practice_id, user_agent) SELECT 2 * n - k, now() - make_interval(days => k + 1),"
        " 'therapist' || (1 + (n - 1) / {C}) || '@bench.example', 'therapist', CASE k WHEN 0"
        " THEN 'client.view' ELSE 'note.sign' END, 'client', n::text, 'ok', '', '{{}}'::jsonb,"
        f" 1 + (n - 1) / {{C}}, n, 1 + ((n - 1) / {{C}}) / {THERAPISTS_PER_PRACTICE}, 'bench'"
        " FROM generate_series(1, {T} * {C}) n, generate_series(0, 1) k",
    )
    yield (
        "sequences",
        "SELECT setval(pg_get_serial_sequence(t, 'id'), (SELECT 1 + count(*) * 3 FROM"
        " clients_client)) FROM unnest(ARRAY['practices_practice', 'accounts_user',"
        " 'practices_membership', 'clients_client', 'clients_carerelationship',"
        " 'visits_therapysession', 'visits_progressnote', 'messaging_message',"
        " 'documents_assigneddocument', 'audit_auditevent']) t",
    )


# Sign-in and the pages -----------------------------------------------------------------
PREPARE = """
import json
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
import time
from caseload.accounts.models import User
from caseload.clients.models import CareRelationship
from caseload.documents.models import AssignedDocument
user = User.objects.get(email="therapist1@bench.example")
store = SessionStore()
store[SESSION_KEY] = str(user.pk)
store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
store[HASH_SESSION_KEY] = user.get_session_auth_hash()
store["caseload_started"] = int(time.time())
store.set_expiry(6 * 3600)
store.create()
first = CareRelationship.objects.filter(therapist=user, state="active").order_by("pk").first()
document = AssignedDocument.objects.filter(
    relationship__therapist=user, relationship__state="active", status="completed"
).select_related("relationship").order_by("pk").first()
print(json.dumps({
    "session": store.session_key,
    "profile": f"/clients/{first.public_id}/",
    "pdf": f"/clients/{document.relationship.public_id}/documents/{document.public_id}/pdf/",
}))
"""


def prepare_session(database: str) -> dict[str, str]:
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", PREPARE],
        cwd=ROOT,
        env=django_env(database, SESSION_ABSOLUTE_TIMEOUT_SECONDS=str(6 * 3600)),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def pages(signed: dict[str, str]) -> dict[str, str]:
    return {
        "client list": "/clients/",
        "search": "/clients/?q=grace",
        "profile overview": signed["profile"],
        "ICD-10 search": "/clinical/icd10/?q=generalized+anx",
        "document PDF": signed["pdf"],
    }


# Servers ----------------------------------------------------------------------------------
@dataclass
class Server:
    """`--workers` single-worker uvicorn processes, each on a port of its own.

    Not one uvicorn with `--workers N`: its workers share one listening socket and the first
    to wake accepts, so wrk's few connections could land 3 to 1 on two workers, and each
    process (one core at most, the GIL) then set the figures, differently for app and floor
    from one run to the next. One port per process and one wrk per port spread the load
    evenly. (A multi-worker uvicorn also left TCP_NODELAY off, uvicorn issue #3149: every
    keep-alive request after the first waited 40 ms for a delayed ACK.)"""

    name: str
    ports: list[int]
    processes: list[subprocess.Popen[bytes]]
    log: Path

    @property
    def port(self) -> int:
        return self.ports[0]

    def pids(self) -> list[int]:
        return [process.pid for process in self.processes]

    def exited(self) -> bool:
        return any(process.poll() is not None for process in self.processes)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def start_server(
    name: str, app: str, port: int, database: str, workers: int, logdir: Path
) -> Server:
    log = logdir / f"{name}.log"
    ports = [port + 10 * n for n in range(workers)]
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                app,
                "--host",
                "127.0.0.1",
                "--port",
                str(worker_port),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=django_env(database, SESSION_ABSOLUTE_TIMEOUT_SECONDS=str(6 * 3600)),
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        for worker_port in ports
    ]
    return Server(name, ports, processes, log)


def wait_until_up(server: Server, path: str, cookie: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    waiting = list(server.ports)
    while time.monotonic() < deadline:
        if server.exited():
            raise SystemExit(f"{server.name} exited:\n{server.log.read_text()[-3000:]}")
        try:
            status, _ = fetch(waiting[0], path, cookie)
            if status != 200:
                raise SystemExit(f"{server.name} answered {status} for {path}")
            waiting.pop(0)
            if not waiting:
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"{server.name} did not start:\n{server.log.read_text()[-3000:]}")


def fetch(port: int, path: str, cookie: str) -> tuple[int, bytes]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Cookie": f"sessionid={cookie}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


# CPU accounting -----------------------------------------------------------------------------
def proc_cpu(pid: int, children: bool = False) -> float:
    """Seconds of CPU of `pid` (with `children`: of its reaped children instead)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    return ((cutime + cstime) if children else (utime + stime)) / CLK_TCK


def postmaster_pid() -> int | None:
    for candidate in Path("/proc").glob("[0-9]*"):
        try:
            cmd = (candidate / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmd and cmd[0].endswith(b"postgres") and b"-D" in cmd:
            return int(candidate.name)
    return None


#: The postmaster's reaped-children CPU, and each live backend's CPU by pid.
Snapshot = tuple[float, dict[int, float]]


class PgCpu:
    """PostgreSQL CPU spent for the role: its live backends plus the postmaster's reaped
    children (backends that ended: anyone's, so on a shared machine an upper bound)."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.postmaster = postmaster_pid()

    def _backends(self) -> dict[int, float]:
        with psycopg.connect(admin_url(), autocommit=True) as admin:
            rows = admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE usename = %s AND pid <> pg_backend_pid()",
                [ROLE],
            ).fetchall()
        return {pid: proc_cpu(pid) for (pid,) in rows}

    def snapshot(self) -> Snapshot:
        reaped = proc_cpu(self.postmaster, children=True) if self.postmaster else 0.0
        return reaped, self._backends()

    @staticmethod
    def spent(
        before: tuple[float, dict[int, float]], after: tuple[float, dict[int, float]]
    ) -> float:
        live = sum(cpu - before[1].get(pid, 0.0) for pid, cpu in after[1].items())
        return (after[0] - before[0]) + live


# Load ------------------------------------------------------------------------------------
@dataclass
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    server_cpu_ms: float = 0.0
    pg_cpu_ms: float = 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _wrk_ms(text: str, label: str) -> float:
    found = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    if not found:
        return float("nan")
    value, unit = float(found.group(1)), found.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def load_wrk(ports: list[int], path: str, cookie: str, seconds: float, connections: int) -> Result:
    """One wrk per port at once, the connections shared out evenly. The p50 is the mean of
    theirs (weighted by requests), the p99 the highest of theirs."""
    shares = [connections // len(ports) + (n < connections % len(ports)) for n in range(len(ports))]
    runs = [
        subprocess.Popen(
            [
                "wrk",
                "-t",
                "1",
                "-c",
                str(share),
                "-d",
                f"{max(1, round(seconds))}s",
                "--latency",
                "--timeout",
                "30s",
                "-H",
                f"Cookie: sessionid={cookie}",
                f"http://127.0.0.1:{port}{path}",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for port, share in zip(ports, shares, strict=True)
        if share
    ]
    results = [_wrk_result(run.communicate()[0]) for run in runs]
    requests = sum(result.requests for result in results)
    return Result(
        requests,
        max(result.seconds for result in results),
        sum(r.p50_ms * r.requests for r in results) / max(requests, 1),
        max(result.p99_ms for result in results),
        sum(result.errors for result in results),
    )


def _wrk_result(out: str) -> Result:
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    elapsed = re.search(r"requests in ([\d.]+)(ms|s|m)", out)
    assert elapsed
    duration = float(elapsed.group(1)) * {"ms": 0.001, "s": 1, "m": 60}[elapsed.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    count = int(errors.group(1)) if errors else 0
    if socket_errors:
        count += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    return Result(requests, duration, _wrk_ms(out, "50%"), _wrk_ms(out, "99%"), count)


def load_python(
    ports: list[int], path: str, cookie: str, seconds: float, connections: int
) -> Result:
    import http.client

    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker(port: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        failed = 0
        while time.monotonic() < stop:
            began = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Cookie": f"sessionid={cookie}"})
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    failed += 1
            except OSError:
                failed += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            mine.append((time.perf_counter() - began) * 1000)
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    began = time.monotonic()
    threads = [
        threading.Thread(target=worker, args=(ports[n % len(ports)],)) for n in range(connections)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    ordered = sorted(latencies) or [float("nan")]
    return Result(
        len(latencies),
        elapsed,
        statistics.median(ordered),
        ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        errors[0],
    )


def settle(servers: tuple[Server, ...], timeout: float = 5.0) -> None:
    """Wait until the servers are idle: when a load stops, the requests it left in flight (up
    to `--connections` PDFs) still run, and would be counted against the next measurement."""
    pids = [pid for server in servers for pid in server.pids()]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = sum(proc_cpu(pid) for pid in pids)
        time.sleep(0.2)
        if sum(proc_cpu(pid) for pid in pids) - before < 0.01:  # under 5% of a core
            return


def metered(server: Server, pg: PgCpu, load: Callable[[], Result]) -> Result:
    """Run `load` and add the server's and PostgreSQL's CPU per request it spent."""
    pids = server.pids()
    cpu_before = sum(proc_cpu(pid) for pid in pids)
    pg_before = pg.snapshot()
    result = load()
    cpu_after = sum(proc_cpu(pid) for pid in pids)
    pg_after = pg.snapshot()
    if result.requests:
        result.server_cpu_ms = (cpu_after - cpu_before) * 1000 / result.requests
        result.pg_cpu_ms = PgCpu.spent(pg_before, pg_after) * 1000 / result.requests
    return result


def measure(
    server: Server, pg: PgCpu, path: str, cookie: str, seconds: float, connections: int
) -> Result:
    loader = load_wrk if shutil.which("wrk") else load_python
    return metered(server, pg, lambda: loader(server.ports, path, cookie, seconds, connections))


@dataclass
class PageFigures:
    app: list[Result] = field(default_factory=list)
    floor: list[Result] = field(default_factory=list)


def measure_typing(server: Server, pg: PgCpu, cookie: str, requests: int) -> Result:
    """The ICD-10 picker's latency as one person typing sees it: one connection, one search
    after another (under `--connections` the p99 is mostly waiting for a CPU)."""

    def type_searches() -> Result:
        began = time.perf_counter()
        latencies = sorted(warm_start.type_searches(server.port, cookie, requests))
        return Result(
            requests=len(latencies),
            seconds=time.perf_counter() - began,
            p50_ms=statistics.median(latencies),
            p99_ms=warm_start.percentile(latencies, 0.99),
            errors=0,
        )

    return metered(server, pg, type_searches)


def median_of(results: list[Result], attribute: str) -> float:
    return statistics.median(getattr(result, attribute) for result in results)


@contextmanager
def servers(database: str, workers: int, logdir: Path) -> Iterator[tuple[Server, Server]]:
    app = start_server("app", "caseload.asgi:application", 8761, database, workers, logdir)
    floor = start_server("floor", "bench.floor_asgi:application", 8762, database, workers, logdir)
    try:
        yield app, floor
    finally:
        app.stop()
        floor.stop()


def run_scale(label: str, args: argparse.Namespace, logdir: Path) -> dict[str, PageFigures]:
    database = f"{args.db_prefix}_{label}"
    if args.rebuild or not dataset_ready(database):
        print(f"Building {database} …", flush=True)
        build_dataset(database, SCALES[label])
    else:
        print(f"Reusing {database}", flush=True)
        migrate(database)
    signed = prepare_session(database)
    cookie = signed["session"]
    urls = pages(signed)
    figures = {page: PageFigures() for page in [*urls, TYPING]}
    pg = PgCpu(database)
    with servers(database, args.workers, logdir) as (app, floor):
        for server in (app, floor):
            wait_until_up(server, "/clients/", cookie)
        for page, path in urls.items():  # warm-up: every worker, every page (ICD index, PDF)
            for server in (app, floor):
                for port in server.ports * 4:
                    status, _body = fetch(port, path, cookie)
                    if status != 200:
                        raise SystemExit(f"{server.name} answered {status} for {page} {path}")
        for round_number in range(args.rounds):
            for page, path in urls.items():
                seconds = args.seconds * (2 if page == "document PDF" else 1)
                order = (app, floor) if round_number % 2 == 0 else (floor, app)
                for server in order:
                    settle((app, floor))
                    result = measure(server, pg, path, cookie, seconds, args.connections)
                    getattr(figures[page], server.name).append(result)
            for server in (app, floor) if round_number % 2 == 0 else (floor, app):
                settle((app, floor))
                result = measure_typing(server, pg, cookie, args.typing)
                getattr(figures[TYPING], server.name).append(result)
            print(f"  round {round_number + 1}/{args.rounds} done", flush=True)
    report(label, figures)
    return figures


def report(label: str, figures: dict[str, PageFigures]) -> None:
    print(f"\n{label} clients — median of the rounds")
    print(
        f"{'page':<18}{'server':<7}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'CPU ms/req':>12}{'PG ms/req':>11}{'errors':>8}{'app/floor':>11}"
    )
    for page, pair in figures.items():
        ratio = median_of(pair.app, "rps") / max(median_of(pair.floor, "rps"), 1e-9)
        for name, results in (("app", pair.app), ("floor", pair.floor)):
            print(
                f"{page if name == 'app' else '':<18}{name:<7}"
                f"{median_of(results, 'rps'):>8.1f}{median_of(results, 'p50_ms'):>9.1f}"
                f"{median_of(results, 'p99_ms'):>9.1f}{median_of(results, 'server_cpu_ms'):>12.1f}"
                f"{median_of(results, 'pg_cpu_ms'):>11.1f}{sum(r.errors for r in results):>8}"
                f"{f'{ratio:.2f}x' if name == 'app' else '':>11}"
            )
    print(flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=SCALES, default="100k")
    parser.add_argument("--small", choices=SCALES, default="1k", help="the dataset to compare with")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5, help="per page, server and round")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--typing", type=int, default=300, help="ICD-10 searches one by one")
    parser.add_argument("--db-prefix", default="caseload_bench")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the datasets")
    parser.add_argument("--build-only", action="store_true")
    args = parser.parse_args()

    ensure_role()
    logdir = Path(tempfile.mkdtemp(prefix="caseload-compare-"))
    labels = [args.small] if args.small == args.scale else [args.small, args.scale]
    if args.build_only:
        for label in labels:
            database = f"{args.db_prefix}_{label}"
            if args.rebuild or not dataset_ready(database):
                build_dataset(database, SCALES[label])
        return
    results = {label: run_scale(label, args, logdir) for label in labels}
    start = first_requests(f"{args.db_prefix}_{labels[-1]}", args.typing)
    if len(labels) == 2:
        small, big = (results[label] for label in labels)
        print(f"{args.scale} vs {args.small}: req/s ratio (1.00 = the caseload size costs nothing)")
        print(f"{'page':<18}{'app':>8}{'floor':>8}")
        for page in small:
            app = median_of(big[page].app, "rps") / max(median_of(small[page].app, "rps"), 1e-9)
            floor = median_of(big[page].floor, "rps") / max(
                median_of(small[page].floor, "rps"), 1e-9
            )
            print(f"{page:<18}{app:>8.2f}{floor:>8.2f}")
    targets(results, labels, start)
    print(f"\nServer logs: {logdir}")


def first_requests(database: str, typing: int) -> dict[str, dict[str, Any]]:
    """A freshly started app server on the dataset (one worker, as `make run`): its first
    ICD-10 search and PDF with the warm-up, and without it what the index costs in memory."""
    print(f"\nA fresh app server on {database} (bench/warm_start.py's measurement):", flush=True)
    signed = prepare_session(database)
    env = django_env(database, SESSION_ABSOLUTE_TIMEOUT_SECONDS=str(6 * 3600), LOG_LEVEL="WARNING")
    warm = warm_start.run_server(
        8763, env, signed["session"], signed["pdf"], warm_up=True, typing=typing
    )
    cold = warm_start.run_server(
        8763, env, signed["session"], signed["pdf"], warm_up=False, typing=50
    )
    warm_start.print_figures(warm, cold)
    return {"warm": warm, "cold": cold}


def targets(
    results: dict[str, dict[str, PageFigures]], labels: list[str], start: dict[str, dict[str, Any]]
) -> None:
    """The issue's targets, each from this run."""
    list_ratio = min(
        median_of(results[label]["client list"].app, "rps")
        / max(median_of(results[label]["client list"].floor, "rps"), 1e-9)
        for label in labels
    )
    typing_p99 = max(median_of(results[label][TYPING].app, "p99_ms") for label in labels)
    memory = start["cold"]["rss_search"] - start["cold"]["rss_start"]
    rows = [
        (
            "client list, app/floor req/s (lowest)",
            f"{list_ratio:.2f}x",
            ">= 1.00x",
            list_ratio >= 1,
        ),
        ("ICD-10 typing p99 (highest)", f"{typing_p99:.1f} ms", "<= 10 ms", typing_p99 <= 10),
        (
            "first ICD-10 search",
            f"{start['warm']['search'] * 1000:.0f} ms",
            "<= 300 ms",
            start["warm"]["search"] <= 0.3,
        ),
        (
            "first document PDF",
            f"{start['warm']['pdf'] * 1000:.0f} ms",
            "<= 500 ms",
            start["warm"]["pdf"] <= 0.5,
        ),
        ("memory after the first search", f"+{memory:.0f} MB", "<= +50 MB", memory <= 50),
    ]
    if len(labels) == 2:
        small, big = labels
        for page in ("client list", "profile overview"):
            # Time per request at the big size over the small: 1.00 = the size costs nothing.
            slower = median_of(results[small][page].app, "rps") / max(
                median_of(results[big][page].app, "rps"), 1e-9
            )
            rows.append(
                (f"{page}, {big} vs {small} time", f"{slower:.2f}x", "<= 1.20x", slower <= 1.2)
            )
    print("\nTargets (this run)")
    for name, value, target, met in rows:
        print(f"  {name:<40}{value:>10}   target {target:<10}{'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()

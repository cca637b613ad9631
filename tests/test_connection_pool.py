"""A real ASGI server process keeps to its PostgreSQL connection pool under concurrent load.

Daphne serves the app against the test database with DATABASE_POOL_MAX_SIZE=4 while 20
threads send 200 requests (signed-in pages and the ICD-10 picker). pg_stat_activity is
sampled throughout: the server's connections (told apart by their application_name) never
number more than the pool's max_size, and no request fails. Before the pool every request
thread opened a connection of its own.

PostgreSQL only: the server process must see the test's committed rows.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client as Browser

from tests.test_live_two_processes import free_port, stop, wait_for_port

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
POOL_MAX_SIZE = 4
APPLICATION_NAME = "caseload-pool-test"
APPLICATION = "caseload.asgi:application"
REQUESTS = 200
CONCURRENCY = 20


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("counting server connections needs PostgreSQL's pg_stat_activity")


def database_url(**query: str) -> str:
    database = connection.settings_dict
    user = urllib.parse.quote(database["USER"] or "")
    password = urllib.parse.quote(database["PASSWORD"] or "")
    credentials = f"{user}:{password}@" if password else f"{user}@"
    url = (
        f"postgres://{credentials}{database['HOST'] or '127.0.0.1'}:"
        f"{database['PORT'] or 5432}/{database['NAME']}"
    )
    return f"{url}?{urllib.parse.urlencode(query)}" if query else url


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """One daphne process configured as a production ASGI app server, pool of 4."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "caseload.settings",
        "SERVER_MODE": "asgi",
        "DATABASE_URL": database_url(application_name=APPLICATION_NAME),
        "DATABASE_POOL_MAX_SIZE": str(POOL_MAX_SIZE),
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "false",
        "SECURE_HTTPS": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "STATICFILES_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
        "WARM_UP_AT_START": "false",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own app server
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), APPLICATION],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, process, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


class ConnectionSampler(threading.Thread):
    """Counts the server's connections in pg_stat_activity every few milliseconds."""

    def __init__(self) -> None:
        super().__init__(name="pg-stat-sampler", daemon=True)
        self.counts: list[int] = []
        self.done = threading.Event()

    def run(self) -> None:
        with psycopg.connect(database_url(), autocommit=True) as db:
            while not self.done.is_set():
                row = db.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND application_name = %s",
                    [APPLICATION_NAME],
                ).fetchone()
                self.counts.append(int(row[0]) if row else 0)
                self.done.wait(0.005)


def fetch(url: str, cookie: str) -> int:
    request = urllib.request.Request(url, headers={"Cookie": cookie})  # noqa: S310 - http only
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_an_asgi_server_never_holds_more_connections_than_its_pool(
    server: str, therapist: Any, active_client: Any
) -> None:
    browser = Browser()
    browser.force_login(therapist)
    cookie = f"sessionid={browser.cookies['sessionid'].value}"
    paths = [
        "/clients/",
        f"/clients/{active_client.public_id}/",
        "/clinical/icd10/?q=anxiety",
        "/clinical/icd10/?q=F43.1",
    ]
    urls = [server + paths[i % len(paths)] for i in range(REQUESTS)]

    sampler = ConnectionSampler()
    sampler.start()
    try:
        with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
            statuses = list(pool.map(lambda url: fetch(url, cookie), urls))
    finally:
        sampler.done.set()
        sampler.join(timeout=10)

    assert len(statuses) == REQUESTS
    assert all(status < 500 for status in statuses), sorted(set(statuses))
    assert statuses.count(200) == REQUESTS, sorted(set(statuses))
    assert sampler.counts and max(sampler.counts) >= 1, "the sampler saw no server connection"
    assert max(sampler.counts) <= POOL_MAX_SIZE, f"up to {max(sampler.counts)} connections"

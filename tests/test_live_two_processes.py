"""The live channel across two app server processes (MSG-2, PR-4, decision 0011).

Two daphne processes serve the app against the same PostgreSQL test database and one Redis
(a private redis-server started for the test). The therapist's page holds a websocket to
process A; the client sends a message through process B over plain HTTP; the event must
reach the socket on A within about a second. The processes share nothing but the database
and Redis, as two app servers behind a load balancer would.

PostgreSQL only: both processes must see the test's committed rows.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client as Browser
from websockets.sync.client import connect as ws_connect

from caseload.messaging.models import Message

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30
DELIVERY_TIMEOUT = 2.0


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("two server processes need a database both can reach: PostgreSQL")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server on {port} exited:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port} after {START_TIMEOUT}s:\n{log.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A private Redis when redis-server is installed (nothing shared with other users of the
    machine's Redis); otherwise the local one, under a channel prefix of this run's own."""
    binary = shutil.which("redis-server")
    if binary is None:
        yield os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"), uuid.uuid4().hex
        return
    port = free_port()
    log = tmp_path_factory.mktemp("redis") / "redis.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own test server
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, process, log)
        yield f"redis://127.0.0.1:{port}/0", "caseload-test"
    finally:
        stop(process)


@pytest.fixture(scope="module")
def two_servers(
    django_db_setup: None, redis_url: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[str]]:
    """Two daphne processes, configured as production app servers would be (by environment).

    They start once the test database exists and serve every test of this module."""
    if connection.vendor != "postgresql":
        pytest.skip("two server processes need a database both can reach: PostgreSQL")
    tmp_path = tmp_path_factory.mktemp("servers")
    url, prefix = redis_url
    database = connection.settings_dict
    user = urllib.parse.quote(database["USER"] or "")
    password = urllib.parse.quote(database["PASSWORD"] or "")
    credentials = f"{user}:{password}@" if password else f"{user}@"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "caseload.settings",
        "DATABASE_URL": (
            f"postgres://{credentials}{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        ),
        "REDIS_URL": url,
        "CHANNEL_LAYER_PREFIX": prefix,
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "false",
        "SECURE_HTTPS": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "STATICFILES_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
        "LOG_LEVEL": "WARNING",
        # Not what this test is about; on a busy machine the start-up warm-up (fonts) can
        # slow the first websocket handshake past its timeout.
        "WARM_UP_AT_START": "false",
    }
    processes = []
    urls = []
    try:
        for name in ("a", "b"):
            port = free_port()
            log = tmp_path / f"server-{name}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(  # noqa: S603 - our own app server
                    [
                        sys.executable,
                        "-m",
                        "daphne",
                        "-b",
                        "127.0.0.1",
                        "-p",
                        str(port),
                        "caseload.asgi:application",
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            processes.append(process)
            wait_for_port(port, process, log)
            urls.append(f"127.0.0.1:{port}")
        yield urls
    finally:
        for process in processes:
            stop(process)


def session_key(user: Any) -> str:
    browser = Browser()
    browser.force_login(user)
    return browser.cookies["sessionid"].value


class HttpSession:
    """A signed-in browser, reduced to cookies and forms, talking to one server."""

    def __init__(self, host: str, key: str) -> None:
        self.host = host
        self.cookies = {"sessionid": key}

    def request(self, path: str, data: dict[str, str] | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(f"http://{self.host}{path}", data=body)
        request.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            return response.status, response.read().decode()


def test_a_message_sent_through_one_server_reaches_a_socket_on_the_other(
    two_servers: list[str], therapist: Any, client_user: Any, active_client: Any
) -> None:
    server_a, server_b = two_servers
    therapist_key = session_key(therapist)
    client = HttpSession(server_b, session_key(client_user))
    conversation = f"/portal/messages/{active_client.public_id}/"
    status, page = client.request(conversation)
    assert status == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token, "no CSRF token on the conversation page"

    with ws_connect(
        f"ws://{server_a}/ws/events/",
        origin=f"http://{server_a}",  # type: ignore[arg-type]
        additional_headers={"Cookie": f"sessionid={therapist_key}"},
        open_timeout=5,
    ) as live:
        time.sleep(0.2)  # the socket has joined its group on A
        sent_at = time.monotonic()
        status, _ = client.request(
            f"{conversation}send/",
            {"csrfmiddlewaretoken": token.group(1), "text": "Sent through server B"},
        )
        assert status == 200  # the redirect back to the conversation was followed
        first = json.loads(live.recv(timeout=DELIVERY_TIMEOUT))
        second = json.loads(live.recv(timeout=DELIVERY_TIMEOUT))
        delay = time.monotonic() - sent_at

    message = Message.objects.get()
    assert message.text == "Sent through server B"
    assert first == {
        "event": "message",
        "conversation": str(active_client.public_id),
        "message": str(message.public_id),
    }
    assert second == {"event": "unread", "conversation": str(active_client.public_id), "count": 1}
    assert delay < DELIVERY_TIMEOUT, f"took {delay:.2f}s from the send to the other server's socket"
    # What the page then fetches from server A: the message itself.
    therapist_pages = HttpSession(server_a, therapist_key)
    status, items = therapist_pages.request(f"/clients/{active_client.public_id}/messages/")
    assert status == 200 and "Sent through server B" in items


def test_an_anonymous_socket_is_refused_by_a_real_server(two_servers: list[str]) -> None:
    server_a, _ = two_servers

    from websockets.exceptions import InvalidStatus

    with (
        pytest.raises(InvalidStatus, match="403"),
        ws_connect(f"ws://{server_a}/ws/events/", origin=f"http://{server_a}", open_timeout=5),  # type: ignore[arg-type]
    ):
        pass

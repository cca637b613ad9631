"""Invitation and password-reset secrets never reach a log line (caseload.lib.log_masking).

The end-to-end tests start the app server as it runs for real — `manage.py runserver`
(daphne, access log through logging) and `python -m caseload.serve` (daphne's own access
log) — under the settings' LOGGING, request links that carry secrets, and read everything
the server printed.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from caseload.lib.log_masking import mask_secret_paths

ROOT = Path(__file__).resolve().parent.parent
TOKEN = secrets.token_urlsafe(32)
RESET_KEY = f"4-cb{secrets.token_hex(3)}-{secrets.token_hex(16)}"
CONFIRM_KEY = secrets.token_urlsafe(24)

SECRET_LINKS = [
    f"/invite/{TOKEN}/",
    f"/invite/{TOKEN}/respond/",
    f"/accounts/login/?next=%2Finvite%2F{TOKEN}%2F",
    f"/accounts/password/reset/key/{RESET_KEY}/",
    f"/accounts/confirm-email/{CONFIRM_KEY}/",
]


def test_secret_segments_are_masked_in_any_text():
    assert mask_secret_paths(f'"GET /invite/{TOKEN}/respond/ HTTP/1.1" 405') == (
        '"GET /invite/[masked]/respond/ HTTP/1.1" 405'
    )
    assert mask_secret_paths(f"/accounts/login/?next=/invite/{TOKEN}/") == (
        "/accounts/login/?next=/invite/[masked]/"
    )
    assert mask_secret_paths(f"?next=%2Finvite%2F{TOKEN}%2F") == "?next=%2Finvite%2F[masked]%2F"
    assert mask_secret_paths(f"/accounts/password/reset/key/{RESET_KEY}/") == (
        "/accounts/password/reset/key/[masked]/"
    )
    assert mask_secret_paths("/clients/42/ and /invitations/") == "/clients/42/ and /invitations/"


def test_django_request_warning_for_a_bad_invitation_link_is_masked(db, client, caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get(f"/invite/{TOKEN}/")

    assert response.status_code == 404
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "/invite/[masked]/" in logged
    assert TOKEN not in logged


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(debug: bool) -> dict[str, str]:
    database = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "caseload.settings",
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "true" if debug else "false",
        "SECURE_HTTPS": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "STATICFILES_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    if connection.vendor == "postgresql":
        user = urllib.parse.quote(database["USER"] or "")
        password = urllib.parse.quote(database["PASSWORD"] or "")
        credentials = f"{user}:{password}@" if password else f"{user}@"
        env["DATABASE_URL"] = (
            f"postgres://{credentials}{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        )
    else:
        env.pop("DATABASE_URL", None)
        env["SQLITE_PATH"] = str(database["NAME"])
    return env


def serve_and_request(command: list[str], port: int, log: Path, *, debug: bool) -> str:
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own app server
            command, cwd=ROOT, env=server_env(debug), stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        for link in SECRET_LINKS:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{link}", timeout=30).read()
            except urllib.error.HTTPError as error:
                assert error.code in (404, 405), link
        # A POST without a CSRF token: django.security.csrf logs the path it refused.
        respond = urllib.request.Request(
            f"http://127.0.0.1:{port}/invite/{TOKEN}/respond/", data=b"", method="POST"
        )
        with pytest.raises(urllib.error.HTTPError, match="403"):
            urllib.request.urlopen(respond, timeout=30)  # noqa: S310
        time.sleep(0.5)  # the access log line is written once the response is complete
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return log.read_text()


@pytest.mark.parametrize("server", ["runserver", "caseload.serve"])
def test_the_app_servers_log_no_invitation_or_reset_secret(server, transactional_db, tmp_path):
    """`make run` (runserver, DEBUG on) and production (caseload.serve, DEBUG off)."""
    port = free_port()
    debug = server == "runserver"
    if debug:
        command = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
    else:
        command = [sys.executable, "-m", "caseload.serve", "-b", "127.0.0.1", "-p", str(port)]
        command.append("caseload.asgi:application")

    output = serve_and_request(command, port, tmp_path / "server.log", debug=debug)

    for secret in (TOKEN, RESET_KEY, CONFIRM_KEY, RESET_KEY.split("-", 1)[1]):
        assert secret not in output
    assert "/invite/[masked]/" in output  # the access log line is there, masked
    assert "/invite/[masked]/respond/" in output
    assert "/accounts/password/reset/key/[masked]/" in output
    assert "/accounts/confirm-email/[masked]/" in output
    assert "next=%2Finvite%2F[masked]%2F" in output
    assert "Forbidden (CSRF cookie not set.): /invite/[masked]/respond/" in output

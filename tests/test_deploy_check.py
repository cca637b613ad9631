"""Production settings pass Django's deployment checks; migrations match the models (R4)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Variables that would change what is being checked if they leaked in from the shell.
CLEARED = (
    "DEBUG",
    "SECURE_HTTPS",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECRET_KEY",
    "SECRET_KEY_FILE",
    "ALLOWED_HOSTS",
    "SMTP_HOST",
    "DATABASE_URL",
    "SQLITE_PATH",
    "STATICFILES_BACKEND",
    "BEHIND_PROXY",
    "TRUSTED_PROXY_COUNT",
    "REDIS_URL",
    "SECURE_HSTS_PRELOAD",
    "DJANGO_ALLOW_ASYNC_UNSAFE",  # set by conftest for Playwright; never in production
)


def _production_env(tmp_path: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in CLEARED}
    env.update(
        DJANGO_SETTINGS_MODULE="caseload.settings",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(64),
        SMTP_HOST="smtp.example.com",
        ALLOWED_HOSTS="caseload.example.com",
        # A throwaway SQLite file: the checks must not touch a developer's database.
        SQLITE_PATH=str(tmp_path / "deploy-check.sqlite3"),
    )
    return env


def _manage(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env or _production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean(tmp_path):
    result = _manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_fails_on_an_insecure_configuration(tmp_path):
    """The check above can fail: the development defaults are flagged."""
    env = _production_env(tmp_path)
    env["SECURE_HTTPS"] = "false"
    env["SECRET_KEY"] = "django-insecure-short"
    del env["SMTP_HOST"]

    result = _manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", env=env)

    assert result.returncode != 0
    output = result.stdout + result.stderr
    for check in (
        "security.W004",
        "security.W008",
        "security.W009",
        "security.W012",
        "security.W016",
    ):
        assert check in output


def test_debug_is_off_unless_asked_for(tmp_path):
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"

    def debug_with(value: str) -> str:
        result = subprocess.run(  # noqa: S603 - fixed arguments
            [sys.executable, "-c", code],
            cwd=ROOT,
            env={**_production_env(tmp_path), "DEBUG": value},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return result.stdout.strip().splitlines()[-1]

    assert [debug_with(value) for value in ("", "no", "true")] == ["False", "False", "True"]


def test_migrations_match_the_models(tmp_path):
    result = _manage(tmp_path, "makemigrations", "--check", "--dry-run")

    assert result.returncode == 0, result.stdout + result.stderr

"""Backups restore whole (README, "Backups"): `manage.py backup_database` writes one file;
restored, it has every row of every table, and the audit trail is still append-only.

PostgreSQL: pg_dump -Fc, then pg_restore into a fresh database. SQLite: the online backup.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from caseload.audit.models import AuditEvent
from caseload.messaging import services as messaging_services

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def populated(active_client: Any, client_user: Any, guardian_user: Any) -> None:
    """A practice with staff, an adult client and a child with a guardian, a message."""
    messaging_services.message_send(
        relationship=active_client, actor=active_client.therapist, text="See you Tuesday."
    )
    assert AuditEvent.objects.exists()


def source_row_counts() -> dict[str, int]:
    counts = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
            counts[table] = cursor.fetchone()[0]
    return counts


def test_a_backup_never_overwrites_a_file(tmp_path: Path) -> None:
    existing = tmp_path / "caseload.backup"
    existing.write_text("an older backup")

    with pytest.raises(CommandError, match="exists"):
        call_command("backup_database", str(existing), stdout=StringIO())
    assert existing.read_text() == "an older backup"


def test_a_backup_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    # Every client's record is in it: not for the other accounts on the machine.
    backup = tmp_path / "backups" / "caseload.backup"
    previous = os.umask(0o022)  # a usual umask: new files world-readable
    try:
        call_command("backup_database", str(backup), stdout=StringIO())
    finally:
        os.umask(previous)

    assert backup.stat().st_mode & 0o777 == 0o600
    assert backup.parent.stat().st_mode & 0o777 == 0o700


@pytest.fixture
def restored_database() -> Iterator[str]:
    name = f"{connection.settings_dict['NAME']}_restored_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {connection.ops.quote_name(name)}")
    try:
        yield name
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                f"DROP DATABASE IF EXISTS {connection.ops.quote_name(name)} WITH (FORCE)"
            )


def test_a_postgresql_dump_restores_every_row_and_the_audit_trigger(
    populated: None, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("pg_dump and pg_restore: PostgreSQL")
    database = request.getfixturevalue("restored_database")
    dump = tmp_path / "caseload.dump"
    settings = connection.settings_dict
    server = {
        "host": settings["HOST"] or "127.0.0.1",
        "port": str(settings["PORT"] or 5432),
        "user": settings["USER"] or "postgres",
    }

    call_command("backup_database", str(dump), stdout=StringIO())
    expected = source_row_counts()
    restore = [
        "pg_restore",
        "--exit-on-error",
        f"--host={server['host']}",
        f"--port={server['port']}",
        f"--username={server['user']}",
        f"--dbname={database}",
        str(dump),
    ]
    subprocess.run(  # noqa: S603
        restore,
        env={**os.environ, "PGPASSWORD": settings["PASSWORD"] or ""},
        check=True,
    )

    with psycopg.connect(
        dbname=database, password=settings["PASSWORD"] or None, autocommit=True, **server
    ) as restored:
        restored_counts = {
            table: restored.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]  # noqa: S608
            for table in expected
        }
        assert restored_counts == expected
        assert expected["audit_auditevent"] > 0
        assert expected["messaging_message"] == 1
        for statement in (
            "UPDATE audit_auditevent SET action = 'x'",
            "DELETE FROM audit_auditevent",
        ):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                restored.execute(statement)
        assert (
            restored.execute("SELECT count(*) FROM audit_auditevent").fetchone()[0]
            == (expected["audit_auditevent"])
        )


def test_a_sqlite_online_backup_has_every_row_and_the_audit_trigger(
    populated: None, tmp_path: Path
) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite online backup")
    backup = tmp_path / "caseload.sqlite3"

    call_command("backup_database", str(backup), stdout=StringIO())
    expected = source_row_counts()

    restored = sqlite3.connect(backup)
    try:
        restored_counts = {
            table: restored.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]  # noqa: S608
            for table in expected
        }
        assert restored_counts == expected
        assert expected["audit_auditevent"] > 0
        assert expected["messaging_message"] == 1
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            restored.execute("UPDATE audit_auditevent SET action = 'x'")
    finally:
        restored.close()

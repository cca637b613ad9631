"""Back up the database to one file, while the app runs (README, "Backups").

    manage.py backup_database var/backups/caseload-$(date +%F).dump

PostgreSQL: `pg_dump -Fc` (restore with `pg_restore`), connecting as DATABASE_URL does.
SQLite: the online backup API (`sqlite3 .backup`), a consistent copy even mid-write.
Files outside the database (the email outbox under var/) are copied separately.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection


class Command(BaseCommand):
    help = "Back up the database: pg_dump -Fc on PostgreSQL, the online backup on SQLite."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("output", help="The backup file to write (must not exist).")

    def handle(self, *args: Any, **options: Any) -> None:
        output = Path(options["output"])
        if output.exists():
            raise CommandError(f"{output} exists: give a new file name.")
        # Every client's record is in it: the file (and a folder made for it) is the owner's
        # alone, whatever the umask (pg_dump and SQLite create it with the process's).
        previous_umask = os.umask(0o077)
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            if connection.vendor == "postgresql":
                self._pg_dump(output)
            elif connection.vendor == "sqlite":
                self._sqlite_backup(output)
            else:
                raise CommandError(f"No backup for {connection.vendor}.")
        finally:
            os.umask(previous_umask)
        self.stdout.write(self.style.SUCCESS(f"Backed up to {output}."))

    def _pg_dump(self, output: Path) -> None:
        # Django's psql arguments (host, port, user, database) and environment (password,
        # SSL options) serve pg_dump as they are.
        psql, env = connection.client.settings_to_cmd_args_env(
            connection.settings_dict, ["--format=custom", f"--file={output}"]
        )
        command = ["pg_dump", *psql[1:]]
        try:
            subprocess.run(command, env={**os.environ, **(env or {})}, check=True)  # noqa: S603
        except (OSError, subprocess.CalledProcessError) as error:
            output.unlink(missing_ok=True)
            raise CommandError(f"pg_dump failed: {error}") from error

    def _sqlite_backup(self, output: Path) -> None:
        connection.ensure_connection()
        target = sqlite3.connect(output)
        try:
            with target:
                connection.connection.backup(target)
        finally:
            target.close()

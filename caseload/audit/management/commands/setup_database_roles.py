"""Grant the app's database role what it needs, and only INSERT and SELECT on the audit trail.

Run as the role that owns the tables (the one `migrate` runs as), after `migrate`:

    DATABASE_URL=postgres://caseload_owner@db/caseload \\
        manage.py setup_database_roles --app-role caseload_app

Idempotent; tables that later migrations create are granted by default privileges.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from caseload.audit.roles import RoleError, grant_app_role


class Command(BaseCommand):
    help = "Grant the app role its privileges (PostgreSQL); run as the tables' owner."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--app-role", required=True, help="The role the app connects as.")
        parser.add_argument(
            "--owner",
            help="The role that owns the tables and runs migrate (default: the connected role).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            statements = grant_app_role(app_role=options["app_role"], owner=options["owner"])
        except RoleError as error:
            raise CommandError(str(error)) from error
        for statement in statements:
            self.stdout.write(f"  {statement}")
        self.stdout.write(self.style.SUCCESS(f"Granted the app role {options['app_role']}."))

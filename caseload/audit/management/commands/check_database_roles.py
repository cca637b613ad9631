"""Prove the connected role cannot change or erase the audit trail; exit 1 if it can.

Run with DATABASE_URL naming the app role:

    DATABASE_URL=postgres://caseload_app@db/caseload manage.py check_database_roles

Every attempt runs in a savepoint of a transaction that is rolled back.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from caseload.audit.roles import RoleError, audit_trail_attempts, current_role


class Command(BaseCommand):
    help = "Check that the connected database role cannot change or erase the audit trail."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            attempts = audit_trail_attempts()
        except RoleError as error:
            raise CommandError(str(error)) from error
        except DatabaseError as error:
            message = f"The connected role cannot add to the audit trail: {error}"
            raise CommandError(message) from error
        role = current_role()
        for attempt in attempts:
            verdict = "refused" if attempt.refused else "ALLOWED"
            self.stdout.write(f"  {verdict}: {attempt.statement} ({attempt.reason})")
        allowed = [attempt.statement for attempt in attempts if not attempt.refused]
        if allowed:
            raise CommandError(
                f"The role {role} can change the audit trail: {'; '.join(allowed)}. "
                "Connect the app as a role that doesn't own the tables "
                "(see README, Database roles)."
            )
        self.stdout.write(
            self.style.SUCCESS(f"The role {role} can only add to and read the audit trail.")
        )

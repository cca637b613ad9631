"""Two PostgreSQL roles: the owner migrates, the app role serves (SECURITY U2).

The audit table's append-only triggers hold only against a role that doesn't own the table:
its owner may TRUNCATE it, disable or drop the triggers. So the schema belongs to an owner
role that runs `migrate`, and the app connects as a role that may read and write the other
tables but only INSERT and SELECT the audit trail. `grant_app_role` gives the app role what it
needs (now, and by default privileges for the tables later migrations create);
`audit_trail_attempts` tries, as the connected role, everything that would erase the trail.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import DatabaseError, connection, transaction

from caseload.audit.models import AuditEvent

#: The trigger of migration audit 0002.
AUDIT_TRIGGER = "audit_event_no_update"
#: Tables the app reads but never writes.
READ_ONLY_TABLES = ("django_migrations",)


class RoleError(Exception):
    """The roles as configured would leave the audit trail erasable."""


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _require_postgresql() -> None:
    if connection.vendor != "postgresql":
        raise RoleError("Database roles are a PostgreSQL matter: SQLite has no roles.")


def current_role() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        return str(cursor.fetchone()[0])


def grant_app_role(*, app_role: str, owner: str | None = None) -> list[str]:
    """Grant APP_ROLE what the app needs on this database, and not a bit more on the audit
    table. Run as the owner of the tables (or a superuser naming the owner). Idempotent.
    Returns the statements run."""
    _require_postgresql()
    owner = owner or current_role()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper FROM pg_roles WHERE rolname = %s", [app_role]
        )  # a missing role fails below with PostgreSQL's own message
        row = cursor.fetchone()
        cursor.execute(
            "SELECT tableowner FROM pg_tables WHERE tablename = %s AND schemaname = "
            "current_schema()",
            [AuditEvent._meta.db_table],
        )
        audit_owner = cursor.fetchone()
    if row is None:
        raise RoleError(f"There is no role {app_role!r}: create it first (CREATE ROLE … LOGIN).")
    if row[0]:
        raise RoleError(f"{app_role!r} is a superuser: the app role must be an ordinary role.")
    if app_role == owner or (audit_owner is not None and audit_owner[0] == app_role):
        raise RoleError(f"{app_role!r} owns the tables: the app role must be another role.")

    app, own, audit = _quote(app_role), _quote(owner), _quote(AuditEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database(), current_schema()")
        database, schema = (_quote(name) for name in cursor.fetchone())
    statements = [
        f"GRANT CONNECT ON DATABASE {database} TO {app}",
        f"GRANT USAGE ON SCHEMA {schema} TO {app}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {app}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {app}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {own} IN SCHEMA {schema} "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {own} IN SCHEMA {schema} "
        f"GRANT USAGE, SELECT ON SEQUENCES TO {app}",
        # The audit trail: append and read, nothing else; not through PUBLIC either.
        f"REVOKE ALL ON {audit} FROM PUBLIC",
        f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {audit} FROM {app}",
        f"GRANT SELECT, INSERT ON {audit} TO {app}",
    ]
    for table in READ_ONLY_TABLES:
        statements.append(f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {_quote(table)} FROM {app}")
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    return statements


@dataclass(frozen=True)
class Attempt:
    statement: str
    refused: bool
    reason: str


def audit_trail_attempts() -> list[Attempt]:
    """As the connected role, try every statement that would change or erase the audit trail,
    each in a savepoint, all rolled back. Each attempt should be refused for want of the
    privilege (not merely stopped by the trigger, which a role with the privilege could
    lift another day)."""
    _require_postgresql()
    table = _quote(AuditEvent._meta.db_table)
    trigger = _quote(AUDIT_TRIGGER)
    attempts: list[Attempt] = []
    with transaction.atomic():
        # A row to aim at: UPDATE and DELETE of no row would pass a trigger unnoticed.
        probe = AuditEvent.objects.create(action="database_roles.check")
        with connection.cursor() as cursor:
            # Run the insert's deferred foreign key checks now: pending trigger events would
            # make PostgreSQL refuse TRUNCATE and ALTER TABLE even to the table's owner.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        statements = [
            f"UPDATE {table} SET action = 'x' WHERE id = {probe.pk:d}",  # noqa: S608
            f"DELETE FROM {table} WHERE id = {probe.pk:d}",  # noqa: S608
            f"TRUNCATE {table}",
            f"ALTER TABLE {table} DISABLE TRIGGER {trigger}",
            f"DROP TRIGGER {trigger} ON {table}",
        ]
        for statement in statements:
            attempts.append(_attempt(statement))
        transaction.set_rollback(True)
    return attempts


#: SQLSTATE of "permission denied" and "must be owner": the role lacks the right.
INSUFFICIENT_PRIVILEGE = "42501"


def _attempt(statement: str) -> Attempt:
    """Refused means refused for want of the privilege. Any other error (the append-only
    trigger stopping an UPDATE the role may run, a missing trigger) is not the role's
    refusal, and counts as allowed."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
            # Went through: undo it (the outer transaction is rolled back too).
            transaction.set_rollback(True)
    except DatabaseError as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        refused = getattr(error.__cause__, "sqlstate", None) == INSUFFICIENT_PRIVILEGE
        return Attempt(statement, refused=refused, reason=reason)
    return Attempt(statement, refused=False, reason="allowed")

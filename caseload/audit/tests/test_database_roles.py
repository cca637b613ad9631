"""The app's database role cannot erase the audit trail (SECURITY U2, README "Database roles").

The table owner may TRUNCATE the audit table, disable or drop its append-only trigger; the
app must connect as another role. Each test makes a role of its own, grants it as
`setup_database_roles` does, and acts as it with SET ROLE (PostgreSQL checks every privilege
against the current role, as for a role that logged in). All of it, the role included, is
rolled back with the test's transaction. PostgreSQL only: SQLite has no roles.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from caseload.audit.models import AuditEvent
from caseload.audit.roles import AUDIT_TRIGGER
from caseload.clients import services
from caseload.clients.models import CareRelationship
from tests.factories import active_relationship

pytestmark = pytest.mark.postgres_only

TABLE = AuditEvent._meta.db_table


@pytest.fixture(autouse=True)
def _postgresql_only(db: None) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("database roles are PostgreSQL's: SQLite has none")


@pytest.fixture
def app_role() -> str:
    name = f"caseload_test_app_{uuid.uuid4().hex[:12]}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {name} NOLOGIN")
    call_command("setup_database_roles", app_role=name, stdout=StringIO())
    return name


@contextmanager
def acting_as(role: str) -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute(f"SET ROLE {role}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")


def attempt(statement: str) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)


def test_the_app_role_is_refused_every_statement_that_would_change_the_audit_trail(app_role):
    with acting_as(app_role):
        event = AuditEvent.objects.create(action="client.view")
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending FK checks in the way
        statements = [
            f"UPDATE {TABLE} SET action = 'x' WHERE id = {event.pk}",  # noqa: S608
            f"DELETE FROM {TABLE} WHERE id = {event.pk}",  # noqa: S608
            f"TRUNCATE {TABLE}",
            f"ALTER TABLE {TABLE} DISABLE TRIGGER {AUDIT_TRIGGER}",
            f"DROP TRIGGER {AUDIT_TRIGGER} ON {TABLE}",
        ]
        for statement in statements:
            with pytest.raises(DatabaseError, match=r"permission denied|must be owner"):
                attempt(statement)
        assert AuditEvent.objects.filter(pk=event.pk, action="client.view").exists()

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgenabled FROM pg_trigger WHERE tgname = %s AND tgrelid = %s::regclass",
            [AUDIT_TRIGGER, TABLE],
        )
        assert cursor.fetchone() == ("O",)  # still there, still enabled


def test_the_table_owner_could_erase_the_trail_which_is_why_the_app_is_another_role():
    # As `postgres`, the owner here: the trigger stops UPDATE, but not TRUNCATE.
    AuditEvent.objects.create(action="client.view")
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with transaction.atomic():
        attempt(f"TRUNCATE {TABLE}")
        assert not AuditEvent.objects.exists()
        transaction.set_rollback(True)


def test_the_app_role_still_does_the_apps_ordinary_writes(app_role, therapist):
    with acting_as(app_role):
        relationship = active_relationship(therapist, full_name="Nora Quinn", email="n@example.com")
        services.relationship_update_details(
            relationship=relationship,
            section="emergency",
            values={"emergency_name": "Raj"},
            actor=therapist,
        )
        services.relationship_remove(relationship=relationship, actor=therapist)
        cache.set("probe", 1)
        cache.delete("probe")
        session = SessionStore()
        session["signed_in"] = True
        session.create()
        key = session.session_key
        assert Session.objects.filter(session_key=key).exists()
        session.delete()  # as signing out does

        assert not Session.objects.filter(session_key=key).exists()
        assert CareRelationship.objects.get(pk=relationship.pk).state == "ended"
        assert AuditEvent.objects.filter(action="client.remove", actor=therapist).exists()


def test_check_database_roles_passes_for_the_app_role_and_fails_for_the_owner(app_role):
    out = StringIO()
    with acting_as(app_role):
        call_command("check_database_roles", stdout=out)
    assert out.getvalue().count("refused:") == 5
    assert "can only add to and read the audit trail" in out.getvalue()

    with pytest.raises(CommandError, match=r"can change the audit trail: .*TRUNCATE"):
        call_command("check_database_roles", stdout=StringIO())
    assert not AuditEvent.objects.filter(action="database_roles.check").exists()


def test_check_fails_a_role_that_may_update_the_trail_though_the_trigger_stops_it(app_role):
    # The append-only trigger refuses the UPDATE and DELETE whoever runs them: a refusal
    # counts only when it is the role's missing privilege, not the trigger.
    with connection.cursor() as cursor:
        cursor.execute(f"GRANT UPDATE, DELETE ON {TABLE} TO {app_role}")
    with acting_as(app_role), pytest.raises(CommandError, match="can change the audit trail"):
        call_command("check_database_roles", stdout=StringIO())


def test_setup_refuses_to_make_the_owner_or_a_superuser_the_app_role():
    with pytest.raises(CommandError, match="superuser"):
        call_command("setup_database_roles", app_role="postgres", stdout=StringIO())
    with pytest.raises(CommandError, match="no role"):
        call_command("setup_database_roles", app_role="caseload_nobody", stdout=StringIO())

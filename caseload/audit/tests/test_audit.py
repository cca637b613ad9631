"""The audit trail: what is recorded (PR-1, U1) and that it cannot be changed (U2)."""

from __future__ import annotations

import json

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from caseload.audit.models import AuditEvent, Outcome
from caseload.audit.services import audit_record
from caseload.clients import services
from tests.factories import PASSWORD


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action))


class TestRecording:
    def test_adding_a_client_through_the_app_records_who_what_and_where(self, client, therapist):
        client.force_login(therapist)

        client.post(
            reverse("clients:add"),
            {"full_name": "Nora Quinn", "email": "nora@example.com", "billing_type": "cash_pay"},
            REMOTE_ADDR="203.0.113.7",
        )

        [event] = events("client.add")
        relationship = therapist.care_relationships.get()
        assert event.actor == therapist
        assert event.actor_email == "alice@example.com"
        assert event.actor_role == "therapist"
        assert event.practice == therapist.membership.practice
        assert event.client == relationship.client
        assert (event.object_type, event.object_id) == (
            "clients.carerelationship",
            str(relationship.public_id),
        )
        assert event.outcome == Outcome.OK
        assert event.ip_address == "203.0.113.7"
        assert len(event.request_id) == 36
        assert event.created_at is not None

    def test_viewing_a_client_record_is_recorded(
        self, client, therapist, supervisor, active_client
    ):
        for viewer in (therapist, supervisor):
            client.force_login(viewer)
            response = client.get(reverse("workspace:detail", args=[active_client.public_id]))
            assert response.status_code == 200

        viewed = events("client.view")
        assert {event.actor for event in viewed} == {therapist, supervisor}
        assert {event.actor_role for event in viewed} == {"therapist", "supervisor"}
        assert all(event.client == active_client.client for event in viewed)
        assert all(event.ip_address == "127.0.0.1" for event in viewed)

    def test_every_change_to_a_relationship_is_recorded_with_the_therapist_as_actor(
        self, therapist, active_client, client_user
    ):
        services.relationship_update_details(
            relationship=active_client,
            section="emergency",
            values={"emergency_name": "Raj"},
            actor=active_client.therapist,
        )
        services.relationship_archive(relationship=active_client, actor=active_client.therapist)
        services.relationship_restore(relationship=active_client, actor=active_client.therapist)
        services.relationship_remove(relationship=active_client, actor=active_client.therapist)

        for action in (
            "client.update_emergency",
            "client.archive",
            "client.restore_requested",
            "client.remove",
        ):
            [event] = events(action)
            assert event.actor == therapist, action
            assert event.client == active_client.client, action
            assert event.practice == therapist.membership.practice, action

    def test_the_client_accepting_is_recorded_with_the_client_as_actor(
        self, active_client, client_user
    ):
        [event] = events("invitation.accept")

        assert event.actor == client_user
        assert event.actor_role == "client"
        assert event.practice == active_client.practice
        assert event.client == active_client.client

    def test_sign_in_is_recorded(self, client, therapist):
        response = client.post(
            reverse("account_login"), {"login": "alice@example.com", "password": PASSWORD}
        )

        assert response.status_code == 302
        [event] = events("auth.sign_in")
        assert event.actor == therapist
        assert event.outcome == Outcome.OK
        assert event.ip_address == "127.0.0.1"

    def test_failed_sign_in_is_recorded_without_the_password(self, client, therapist):
        response = client.post(
            reverse("account_login"), {"login": "alice@example.com", "password": "wrong-password-1"}
        )

        assert response.status_code == 200
        [event] = events("auth.sign_in")
        assert event.outcome == Outcome.FAILED
        assert event.actor is None
        assert event.actor_email == "alice@example.com"
        dumped = json.dumps(AuditEvent.objects.filter(pk=event.pk).values().get(), default=str)
        assert "wrong-password-1" not in dumped

    def test_failed_sign_in_for_an_unknown_address_is_recorded(self, client, db):
        client.post(reverse("account_login"), {"login": "nobody@example.com", "password": "x" * 12})

        [event] = events("auth.sign_in")
        assert (event.outcome, event.actor_email) == (Outcome.FAILED, "nobody@example.com")

    def test_sign_out_is_recorded(self, client, therapist):
        client.force_login(therapist)

        client.post(reverse("account_logout"))

        [event] = events("auth.sign_out")
        assert event.actor == therapist


class TestAppendOnly:
    @pytest.fixture
    def event(self, therapist) -> AuditEvent:
        return audit_record(action="client.view", actor=therapist)

    def test_saving_an_existing_event_is_refused(self, event):
        event.action = "client.nothing"

        with pytest.raises(PermissionError):
            event.save()

        assert AuditEvent.objects.get(pk=event.pk).action == "client.view"

    def test_deleting_an_event_is_refused(self, event):
        with pytest.raises(PermissionError):
            event.delete()

        assert AuditEvent.objects.filter(pk=event.pk).exists()

    def test_queryset_update_and_delete_are_refused(self, event):
        with pytest.raises(PermissionError):
            AuditEvent.objects.filter(pk=event.pk).update(action="client.nothing")
        with pytest.raises(PermissionError):
            AuditEvent.objects.all().delete()

        assert AuditEvent.objects.get(pk=event.pk).action == "client.view"

    def test_raw_sql_update_is_refused_by_the_database(self, event):
        table = AuditEvent._meta.db_table

        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET action = %s WHERE id = %s", ["x", event.pk])  # noqa: S608

        assert AuditEvent.objects.get(pk=event.pk).action == "client.view"

    def test_raw_sql_delete_is_refused_by_the_database(self, event):
        if connection.vendor != "postgresql":
            pytest.skip("SQLite keeps DELETE to the model layer: Django's test flush deletes rows")
        table = AuditEvent._meta.db_table

        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE id = %s", [event.pk])  # noqa: S608

        assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_a_denied_attempt_on_another_therapists_client_is_audited(client, colleague, active_client):
    client.force_login(colleague)

    response = client.get(f"/clients/{active_client.public_id}/")

    assert response.status_code == 404
    event = AuditEvent.objects.get(action="access.denied")
    assert event.actor == colleague
    assert event.outcome == "denied"
    assert event.detail == {"method": "GET", "path": f"/clients/{active_client.public_id}/"}

"""The My Clients services: every write to clients, relationships and invitations (MC-1..MC-7).

Each test drives the real services against the database; nothing of ours is mocked.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import DatabaseError
from django.db.models.signals import pre_save
from django.http import Http404
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from caseload.accounts.models import User
from caseload.audit.models import AuditEvent
from caseload.clients import services
from caseload.clients.access import get_relationship_for_user, relationships_visible_to
from caseload.clients.models import (
    CareRelationship,
    CareState,
    Client,
    DeliveryStatus,
    Guardianship,
    Invitation,
    InvitationKind,
)
from tests.factories import account

TASK_PATH = "caseload.clients.tasks.send_invitation_email"


def add_adult(
    therapist: Any, email: str = "nora@example.com", **kwargs: Any
) -> services.AddedClient:
    kwargs.setdefault("full_name", "Nora Quinn")
    kwargs.setdefault("billing_type", "insurance")
    return services.client_add(actor=therapist, email=email, **kwargs)


def add_child(
    therapist: Any, *, child: str = "Leo Park", guardian_email: str = "jin@example.com"
) -> services.AddedClient:
    return services.client_add(
        actor=therapist,
        full_name=child,
        billing_type="cash_pay",
        is_child=True,
        guardian_name="Jin Park",
        guardian_email=guardian_email,
        guardian_relationship="parent",
    )


def queued_invitation_tasks() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path=TASK_PATH, status="READY"))


def row_counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "clients": Client.objects.count(),
        "guardianships": Guardianship.objects.count(),
        "relationships": CareRelationship.objects.count(),
        "invitations": Invitation.objects.count(),
        "tasks": DBTaskResult.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def token_of(invitation: Invitation) -> str:
    invitation.refresh_from_db()
    return invitation.token()


# client_add ------------------------------------------------------------------------------
class TestClientAdd:
    def test_adult_with_new_email_is_invited_and_a_signup_email_is_queued(self, therapist):
        added = add_adult(therapist)

        relationship = added.relationship
        assert relationship.state == CareState.INVITED
        assert relationship.therapist == therapist
        assert relationship.practice == therapist.membership.practice
        assert relationship.billing_type == "insurance"
        client = relationship.client
        assert (client.full_name, client.email, client.account, client.is_child) == (
            "Nora Quinn",
            "nora@example.com",
            None,
            False,
        )
        invitation = added.invitation
        assert invitation.kind == InvitationKind.SIGNUP
        assert invitation.email == "nora@example.com"
        assert invitation.relationship == relationship
        assert invitation.delivery_status == DeliveryStatus.QUEUED
        tasks = queued_invitation_tasks()
        assert len(tasks) == 1
        assert tasks[0].args_kwargs["args"] == [invitation.pk]
        assert tasks[0].queue_name == "email"
        assert not User.objects.filter(email="nora@example.com").exists()

    def test_email_case_and_whitespace_are_normalised(self, therapist):
        added = add_adult(therapist, email="  Nora.Quinn@Example.COM ", full_name="  Nora Quinn  ")

        assert added.relationship.client.email == "nora.quinn@example.com"
        assert added.relationship.client.full_name == "Nora Quinn"
        assert added.invitation.email == "nora.quinn@example.com"

    def test_client_is_searchable_by_name_and_email(self, therapist):
        client = add_adult(
            therapist, full_name="Zoë Ångström", email="zoe@example.com"
        ).relationship.client

        client.refresh_from_db()
        assert "zoe angstrom" in client.search_text
        assert "zoe@example.com" in client.search_text

    def test_billing_type_is_ignored_when_practice_billing_is_disabled(self, therapist):
        practice = therapist.membership.practice
        practice.billing_enabled = False
        practice.save()

        added = add_adult(therapist, billing_type="insurance")

        added.relationship.refresh_from_db()
        assert added.relationship.billing_type == ""

    def test_child_gets_a_guardianship_and_the_guardian_gets_the_invitation(self, therapist):
        added = add_child(therapist, guardian_email=" Jin@Example.com")

        child = added.relationship.client
        assert child.is_child
        assert child.email is None
        assert child.account is None
        guardianship = child.guardianship
        assert (guardianship.full_name, guardianship.email, guardianship.relationship) == (
            "Jin Park",
            "jin@example.com",
            "parent",
        )
        assert guardianship.account is None
        assert added.relationship.state == CareState.INVITED
        assert added.invitation.kind == InvitationKind.SIGNUP
        assert added.invitation.email == "jin@example.com"
        child.refresh_from_db()
        assert "jin park" in child.search_text  # a child matches by guardian too (MC-5)
        assert len(queued_invitation_tasks()) == 1

    def test_existing_adult_account_gets_a_connection_request_and_no_new_user(self, therapist):
        holder = account("omar@example.com", "Omar Haddad")
        users = User.objects.count()

        added = add_adult(therapist, email="OMAR@example.com", full_name="Omar Haddad")

        assert User.objects.count() == users
        assert added.relationship.state == CareState.AWAITING_CONSENT
        assert not added.relationship.can_open_record
        assert added.relationship.client.account == holder
        assert added.invitation.kind == InvitationKind.CONNECTION
        assert added.invitation.email == "omar@example.com"
        assert len(queued_invitation_tasks()) == 1

    def test_a_guardian_with_an_account_can_be_added_as_a_client_in_their_own_right(
        self, therapist, guardian_user
    ):
        added = add_adult(therapist, email="sam@example.com", full_name="Sam Okafor")

        assert added.relationship.state == CareState.AWAITING_CONSENT
        assert added.relationship.client.account == guardian_user
        assert added.invitation.kind == InvitationKind.CONNECTION

    def test_existing_guardian_account_gets_a_connection_request_for_another_child(
        self, therapist, guardian_user
    ):
        users = User.objects.count()

        added = add_child(therapist, child="Ezra Okafor", guardian_email="sam@example.com")

        assert User.objects.count() == users
        assert added.relationship.state == CareState.AWAITING_CONSENT
        assert added.relationship.client.guardianship.account == guardian_user
        assert added.invitation.kind == InvitationKind.CONNECTION
        assert added.invitation.email == "sam@example.com"

    def test_same_therapist_adding_an_email_they_already_have_is_a_duplicate(self, therapist):
        first = add_adult(therapist)
        before = row_counts()

        with pytest.raises(services.DuplicateClientError) as raised:
            add_adult(therapist, email=" NORA@example.com ", full_name="Someone Else")

        assert raised.value.relationship == first.relationship
        assert row_counts() == before

    def test_duplicate_is_detected_for_an_active_client_too(self, therapist, active_client):
        with pytest.raises(services.DuplicateClientError) as raised:
            add_adult(therapist, email="maya@example.com")

        assert raised.value.relationship == active_client

    def test_duplicate_is_detected_for_an_archived_client(self, therapist, active_client):
        services.relationship_archive(relationship=active_client, actor=active_client.therapist)
        before = row_counts()

        with pytest.raises(services.DuplicateClientError) as raised:
            add_adult(therapist, email="Maya@Example.com")

        assert raised.value.relationship == active_client
        assert raised.value.relationship.is_archived
        assert row_counts() == before

    def test_child_with_same_name_and_guardian_email_is_a_duplicate(self, therapist):
        first = add_child(therapist)
        before = row_counts()

        with pytest.raises(services.DuplicateClientError) as raised:
            add_child(therapist, child=" leo park ", guardian_email="JIN@example.com")

        assert raised.value.relationship == first.relationship
        assert row_counts() == before

    def test_one_guardian_may_have_several_children(self, therapist):
        add_child(therapist, child="Leo Park")
        second = add_child(therapist, child="Mia Park")

        assert second.relationship.state == CareState.INVITED
        assert Guardianship.objects.filter(email="jin@example.com").count() == 2

    def test_another_therapist_reuses_the_client_but_starts_an_empty_record(
        self, therapist, colleague, active_client
    ):
        services.relationship_update_details(
            relationship=active_client,
            section="personal",
            values={
                "phone": "+1 212 555 0100",
                "gender": "female",
                "address": "1 Main St",
                "date_of_birth": date(1990, 5, 17),
            },
            actor=active_client.therapist,
        )
        services.relationship_update_details(
            relationship=active_client,
            section="emergency",
            values={"emergency_name": "Raj Patel", "emergency_phone": "+1 212 555 0101"},
            actor=active_client.therapist,
        )

        added = add_adult(colleague, email="maya@example.com", full_name="Maya P.")

        fresh = added.relationship
        assert fresh.pk != active_client.pk
        assert fresh.client == active_client.client
        assert Client.objects.filter(email="maya@example.com").count() == 1
        assert fresh.therapist == colleague
        assert fresh.state == CareState.AWAITING_CONSENT  # maya has an account
        assert added.invitation.kind == InvitationKind.CONNECTION
        for name in (*services.PERSONAL_FIELDS, *services.EMERGENCY_FIELDS):
            assert getattr(fresh, name) in ("", None), name
        active_client.refresh_from_db()
        assert active_client.state == CareState.ACTIVE
        assert active_client.phone == "+1 212 555 0100"
        assert active_client.emergency_name == "Raj Patel"
        # Neither therapist sees the other's relationship.
        assert list(relationships_visible_to(colleague)) == [fresh]
        assert list(relationships_visible_to(therapist)) == [active_client]

    def test_another_therapist_adding_a_never_signed_up_client_also_invites_them(
        self, therapist, colleague
    ):
        first = add_adult(therapist)

        second = add_adult(colleague, email="nora@example.com")

        assert second.relationship.client == first.relationship.client
        assert second.relationship.state == CareState.INVITED
        assert second.invitation.kind == InvitationKind.SIGNUP
        assert second.invitation.pk != first.invitation.pk

    def test_re_adding_a_removed_client_starts_a_new_relationship(self, therapist, active_client):
        services.relationship_remove(relationship=active_client, actor=active_client.therapist)

        added = add_adult(therapist, email="maya@example.com", full_name="Maya Patel")

        assert added.relationship.pk != active_client.pk
        assert added.relationship.client == active_client.client
        assert added.relationship.state == CareState.AWAITING_CONSENT
        active_client.refresh_from_db()
        assert active_client.state == CareState.ENDED

    def test_re_adding_a_removed_never_signed_up_client_invites_them_again(self, therapist):
        first = add_adult(therapist)
        services.relationship_remove(
            relationship=first.relationship, actor=first.relationship.therapist
        )

        again = add_adult(therapist)

        assert again.relationship.state == CareState.INVITED
        assert again.invitation.kind == InvitationKind.SIGNUP
        assert services.invitation_for_token(token_of(again.invitation)).is_usable
        assert not services.invitation_for_token(token_of(first.invitation)).is_usable

    def test_a_failure_late_in_client_add_leaves_nothing_behind(self, therapist):
        before = row_counts()

        def fail(**kwargs: Any) -> None:
            raise DatabaseError("disk full")

        pre_save.connect(fail, sender=Invitation, dispatch_uid="test-fail-invitation")
        try:
            with pytest.raises(DatabaseError):
                add_child(therapist)
        finally:
            pre_save.disconnect(dispatch_uid="test-fail-invitation", sender=Invitation)

        assert row_counts() == before

    def test_client_add_writes_an_audit_event(self, therapist):
        added = add_adult(therapist)

        event = AuditEvent.objects.get(action="client.add")
        assert event.actor == therapist
        assert event.client == added.relationship.client
        assert event.object_id == str(added.relationship.public_id)
        assert event.detail == {"invitation": "signup"}


# Invitations -----------------------------------------------------------------------------
class TestInvitationTokens:
    def test_token_has_at_least_128_bits_and_only_its_sha256_is_stored(self, therapist):
        invitation = add_adult(therapist).invitation
        token = token_of(invitation)

        assert len(token) * 4 >= 128  # hex digits
        assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
        row = Invitation.objects.filter(pk=invitation.pk).values().get()
        for column, value in row.items():
            assert token not in str(value), column

    def test_token_is_not_in_the_queued_task_nor_the_audit_trail(self, therapist):
        invitation = add_adult(therapist).invitation
        token = token_of(invitation)

        for task in DBTaskResult.objects.all():
            assert token not in json.dumps(task.args_kwargs)
        for event in AuditEvent.objects.values():
            assert token not in json.dumps(event, default=str)

    def test_tokens_are_unique_per_invitation(self, therapist):
        first = add_adult(therapist, email="a@example.com").invitation
        second = add_adult(therapist, email="b@example.com").invitation

        assert token_of(first) != token_of(second)

    def test_invitation_expires_in_fourteen_days(self, therapist):
        invitation = add_adult(therapist).invitation

        expected = timezone.now() + timedelta(days=14)
        assert abs(invitation.expires_at - expected) < timedelta(minutes=1)
        assert invitation.is_usable

    def test_invitation_for_token_finds_the_invitation(self, therapist):
        invitation = add_adult(therapist).invitation

        assert services.invitation_for_token(token_of(invitation)) == invitation
        assert services.invitation_for_token(invitation.token_hash) is None
        assert services.invitation_for_token("") is None
        assert services.invitation_for_token("x" * 500) is None

    def test_resend_rotates_the_token_and_extends_expiry(self, therapist):
        invitation = add_adult(therapist).invitation
        old_token = token_of(invitation)
        Invitation.objects.filter(pk=invitation.pk).update(
            expires_at=timezone.now() - timedelta(days=1),
            delivery_status=DeliveryStatus.FAILED,
            delivery_error="SMTPServerDisconnected",
        )

        resent = services.invitation_resend(
            relationship=invitation.relationship, actor=invitation.relationship.therapist
        )

        resent.refresh_from_db()
        assert resent.pk == invitation.pk
        assert services.invitation_for_token(old_token) is None
        new_token = resent.token()
        assert new_token != old_token
        assert services.invitation_for_token(new_token) == invitation
        assert resent.expires_at > timezone.now() + timedelta(days=13)
        assert resent.is_usable
        assert resent.delivery_status == DeliveryStatus.QUEUED
        assert resent.delivery_error == ""
        assert resent.sent_count == 1
        assert len(queued_invitation_tasks()) == 2
        assert AuditEvent.objects.filter(action="invitation.resend", actor=therapist).count() == 1

    def test_resend_without_an_outstanding_invitation_is_refused(self, therapist, active_client):
        with pytest.raises(services.ClientServiceError):
            services.invitation_resend(relationship=active_client, actor=active_client.therapist)


class TestInvitationAccept:
    def test_signup_accept_links_the_account_and_activates(self, therapist):
        added = add_adult(therapist)
        user = account("nora@example.com", "Nora Quinn")

        relationship = services.invitation_accept(invitation=added.invitation, actor=user)

        assert relationship.state == CareState.ACTIVE
        assert relationship.activated_at is not None
        relationship.client.refresh_from_db()
        assert relationship.client.account == user
        invitation = Invitation.objects.get(pk=added.invitation.pk)
        assert invitation.accepted_by == user
        assert invitation.accepted_at is not None
        assert not invitation.is_usable
        assert AuditEvent.objects.filter(action="invitation.accept", actor=user).count() == 1

    def test_signup_accept_by_a_guardian_links_the_guardianship(self, therapist):
        added = add_child(therapist)
        guardian = account("jin@example.com", "Jin Park")

        relationship = services.invitation_accept(invitation=added.invitation, actor=guardian)

        assert relationship.state == CareState.ACTIVE
        assert Guardianship.objects.get(child=relationship.client).account == guardian
        relationship.client.refresh_from_db()
        assert relationship.client.account is None  # the child has no login of their own

    def test_connection_accept_activates(self, therapist):
        holder = account("omar@example.com")
        added = add_adult(therapist, email="omar@example.com")

        relationship = services.invitation_accept(invitation=added.invitation, actor=holder)

        assert relationship.state == CareState.ACTIVE
        assert relationship.can_open_record

    def test_accept_is_single_use(self, therapist):
        added = add_adult(therapist)
        user = account("nora@example.com")
        services.invitation_accept(invitation=added.invitation, actor=user)
        first = Invitation.objects.get(pk=added.invitation.pk)
        before = row_counts()

        with pytest.raises(services.InvitationNotUsable):
            services.invitation_accept(invitation=added.invitation, actor=user)

        again = Invitation.objects.get(pk=added.invitation.pk)
        assert (again.accepted_at, again.accepted_by_id) == (
            first.accepted_at,
            first.accepted_by_id,
        )
        assert row_counts() == before

    def test_accept_by_a_user_with_another_email_is_refused(self, therapist, colleague):
        added = add_adult(therapist)
        intruder = account("mallory@example.com")

        for user in (intruder, colleague):
            with pytest.raises(services.InvitationNotUsable):
                services.invitation_accept(invitation=added.invitation, actor=user)

        added.relationship.refresh_from_db()
        assert added.relationship.state == CareState.INVITED
        assert added.relationship.client.account is None
        assert Invitation.objects.get(pk=added.invitation.pk).is_usable

    def test_decline_by_a_user_with_another_email_is_refused(self, therapist):
        added = add_adult(therapist)

        with pytest.raises(services.InvitationNotUsable):
            services.invitation_decline(invitation=added.invitation, actor=account("x@example.com"))

        added.relationship.refresh_from_db()
        assert added.relationship.state == CareState.INVITED

    def test_expired_invitation_is_refused(self, therapist):
        added = add_adult(therapist)
        Invitation.objects.filter(pk=added.invitation.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
        user = account("nora@example.com")

        with pytest.raises(services.InvitationNotUsable):
            services.invitation_accept(invitation=added.invitation, actor=user)

        added.relationship.refresh_from_db()
        assert added.relationship.state == CareState.INVITED
        assert services.invitation_for_token(token_of(added.invitation)).is_expired

    def test_decline_of_a_new_connection_ends_the_relationship(self, therapist):
        holder = account("omar@example.com")
        added = add_adult(therapist, email="omar@example.com")

        relationship = services.invitation_decline(invitation=added.invitation, actor=holder)

        assert relationship.state == CareState.ENDED
        assert relationship.ended_reason == "declined"
        assert Invitation.objects.get(pk=added.invitation.pk).declined_at is not None
        assert not relationships_visible_to(therapist).filter(pk=relationship.pk).exists()
        with pytest.raises(services.InvitationNotUsable):
            services.invitation_accept(invitation=added.invitation, actor=holder)

    def test_decline_of_a_reconnection_keeps_the_relationship_archived(
        self, therapist, active_client, client_user
    ):
        services.relationship_archive(relationship=active_client, actor=active_client.therapist)
        services.relationship_restore(relationship=active_client, actor=active_client.therapist)
        invitation = Invitation.objects.get(
            relationship=active_client, kind=InvitationKind.CONNECTION
        )

        relationship = services.invitation_decline(invitation=invitation, actor=client_user)

        assert relationship.state == CareState.ARCHIVED
        assert relationships_visible_to(therapist).filter(pk=relationship.pk).exists()
        # The therapist may ask again.
        services.relationship_restore(relationship=relationship, actor=relationship.therapist)
        assert Invitation.objects.usable().filter(relationship=relationship).count() == 1

    def test_archive_revokes_the_outstanding_invitation(self, therapist):
        added = add_adult(therapist)
        token = token_of(added.invitation)

        services.relationship_archive(
            relationship=added.relationship, actor=added.relationship.therapist
        )

        invitation = services.invitation_for_token(token)
        assert invitation.revoked_at is not None
        assert not invitation.is_usable
        with pytest.raises(services.InvitationNotUsable):
            services.invitation_accept(invitation=invitation, actor=account("nora@example.com"))
        assert CareRelationship.objects.get(pk=added.relationship.pk).state == CareState.ARCHIVED

    def test_remove_revokes_the_outstanding_invitation(self, therapist):
        holder = account("omar@example.com")
        added = add_adult(therapist, email="omar@example.com")

        services.relationship_remove(
            relationship=added.relationship, actor=added.relationship.therapist
        )

        assert Invitation.objects.get(pk=added.invitation.pk).revoked_at is not None
        with pytest.raises(services.InvitationNotUsable):
            services.invitation_accept(invitation=added.invitation, actor=holder)
        assert CareRelationship.objects.get(pk=added.relationship.pk).state == CareState.ENDED


# Archive / restore / remove --------------------------------------------------------------
class TestArchiveRestoreRemove:
    def test_archive_an_active_client(self, therapist, active_client):
        relationship = services.relationship_archive(
            relationship=active_client, actor=active_client.therapist
        )

        relationship.refresh_from_db()
        assert relationship.state == CareState.ARCHIVED
        assert relationship.archived_at is not None
        assert AuditEvent.objects.filter(action="client.archive", actor=therapist).count() == 1

    def test_archive_a_pending_client(self, therapist):
        added = add_adult(therapist)

        assert services.relationship_archive(
            relationship=added.relationship, actor=added.relationship.therapist
        ).is_archived

    @pytest.mark.parametrize(
        "state", [CareState.AWAITING_CONSENT, CareState.ARCHIVED, CareState.ENDED]
    )
    def test_archive_is_refused_from_other_states(self, therapist, state):
        account("omar@example.com")
        relationship = add_adult(therapist, email="omar@example.com").relationship
        CareRelationship.objects.filter(pk=relationship.pk).update(state=state)

        with pytest.raises(services.ClientServiceError):
            services.relationship_archive(relationship=relationship, actor=relationship.therapist)

        assert CareRelationship.objects.get(pk=relationship.pk).state == state

    def test_restore_of_a_never_signed_up_client_invites_them_again(self, therapist):
        added = add_adult(therapist)
        services.relationship_archive(
            relationship=added.relationship, actor=added.relationship.therapist
        )
        old_token = token_of(added.invitation)

        relationship = services.relationship_restore(
            relationship=added.relationship, actor=added.relationship.therapist
        )

        relationship.refresh_from_db()
        assert relationship.state == CareState.INVITED
        assert relationship.archived_at is None
        fresh = Invitation.objects.usable().get(relationship=relationship)
        assert fresh.kind == InvitationKind.SIGNUP
        assert fresh.pk != added.invitation.pk
        assert not services.invitation_for_token(old_token).is_usable
        assert [task.args_kwargs["args"] for task in queued_invitation_tasks()] == [
            [added.invitation.pk],
            [fresh.pk],
        ]
        assert AuditEvent.objects.filter(action="client.restore", actor=therapist).count() == 1

    def test_restore_of_a_client_with_an_account_waits_for_their_consent(
        self, therapist, active_client, client_user
    ):
        services.relationship_update_details(
            relationship=active_client,
            section="personal",
            values={"phone": "+1 212 555 0100"},
            actor=active_client.therapist,
        )
        services.relationship_archive(relationship=active_client, actor=active_client.therapist)

        relationship = services.relationship_restore(
            relationship=active_client, actor=active_client.therapist
        )

        relationship.refresh_from_db()
        assert relationship.state == CareState.ARCHIVED
        request = Invitation.objects.usable().get(relationship=relationship)
        assert request.kind == InvitationKind.CONNECTION
        assert request.email == "maya@example.com"
        assert AuditEvent.objects.filter(action="client.restore_requested").count() == 1
        with pytest.raises(services.ClientServiceError):
            services.relationship_restore(relationship=relationship, actor=relationship.therapist)

        accepted = services.invitation_accept(invitation=request, actor=client_user)

        assert accepted.pk == active_client.pk
        accepted.refresh_from_db()
        assert accepted.state == CareState.ACTIVE
        assert accepted.archived_at is None
        assert accepted.phone == "+1 212 555 0100"  # the old record is kept

    def test_restore_of_a_child_whose_guardian_signed_up_waits_for_the_guardian(
        self, therapist, child_client, guardian_user
    ):
        services.relationship_archive(relationship=child_client, actor=child_client.therapist)

        services.relationship_restore(relationship=child_client, actor=child_client.therapist)

        request = Invitation.objects.usable().get(relationship=child_client)
        assert request.kind == InvitationKind.CONNECTION
        assert request.email == "sam@example.com"
        assert CareRelationship.objects.get(pk=child_client.pk).state == CareState.ARCHIVED

    def test_restore_is_refused_unless_archived(self, therapist, active_client):
        with pytest.raises(services.ClientServiceError):
            services.relationship_restore(relationship=active_client, actor=active_client.therapist)

    def test_remove_ends_the_relationship_and_hides_it_but_keeps_the_rows(
        self, therapist, supervisor, active_client
    ):
        services.relationship_update_details(
            relationship=active_client,
            section="personal",
            values={"gender": "female"},
            actor=active_client.therapist,
        )

        services.relationship_remove(relationship=active_client, actor=active_client.therapist)

        relationship = CareRelationship.objects.get(pk=active_client.pk)
        assert relationship.state == CareState.ENDED
        assert relationship.ended_at is not None
        assert relationship.ended_reason == "removed"
        assert relationship.gender == "female"
        assert Client.objects.filter(pk=active_client.client_id).exists()
        for user in (therapist, supervisor):
            assert not relationships_visible_to(user).filter(pk=relationship.pk).exists()
            with pytest.raises(Http404):
                get_relationship_for_user(user, relationship.public_id)
        with pytest.raises(Http404):
            get_relationship_for_user(therapist, relationship.public_id, write=True)
        assert AuditEvent.objects.filter(action="client.remove", actor=therapist).count() == 1

    def test_remove_works_from_archived_and_only_once(self, therapist, active_client):
        services.relationship_archive(relationship=active_client, actor=active_client.therapist)
        services.relationship_remove(relationship=active_client, actor=active_client.therapist)

        with pytest.raises(services.ClientServiceError):
            services.relationship_remove(relationship=active_client, actor=active_client.therapist)


# relationship_update_details ---------------------------------------------------------------
class TestUpdateDetails:
    def test_saves_only_the_sections_allowed_fields(self, therapist, active_client, colleague):
        services.relationship_update_details(
            relationship=active_client,
            section="personal",
            values={
                "phone": "+1 212 555 0100",
                "date_of_birth": date(1990, 5, 17),
                "gender": "female",
                "address": "1 Main St",
                "state": CareState.ENDED,
                "therapist": colleague,
                "therapist_id": colleague.pk,
                "emergency_name": "not this section",
                "billing_type": "not_billed",
            },
            actor=active_client.therapist,
        )

        relationship = CareRelationship.objects.get(pk=active_client.pk)
        assert relationship.phone == "+1 212 555 0100"
        assert relationship.date_of_birth == date(1990, 5, 17)
        assert relationship.gender == "female"
        assert relationship.address == "1 Main St"
        assert relationship.state == CareState.ACTIVE
        assert relationship.therapist == therapist
        assert relationship.emergency_name == ""
        assert relationship.billing_type == "cash_pay"

    def test_preferences_change_messaging_and_billing(self, therapist, active_client):
        services.relationship_update_details(
            relationship=active_client,
            section="preferences",
            values={"messaging_enabled": False, "billing_type": "not_billed"},
            actor=active_client.therapist,
        )

        relationship = CareRelationship.objects.get(pk=active_client.pk)
        assert relationship.messaging_enabled is False
        assert relationship.billing_type == "not_billed"

    def test_pending_client_details_can_be_edited(self, therapist):
        relationship = add_adult(therapist).relationship

        services.relationship_update_details(
            relationship=relationship,
            section="emergency",
            values={"emergency_name": "Ann Quinn"},
            actor=relationship.therapist,
        )

        assert CareRelationship.objects.get(pk=relationship.pk).emergency_name == "Ann Quinn"

    @pytest.mark.parametrize(
        "state", [CareState.ARCHIVED, CareState.ENDED, CareState.AWAITING_CONSENT]
    )
    def test_refused_unless_the_record_is_open(self, therapist, active_client, state):
        CareRelationship.objects.filter(pk=active_client.pk).update(state=state)

        with pytest.raises(services.ClientServiceError):
            services.relationship_update_details(
                relationship=active_client,
                section="personal",
                values={"phone": "+1 212 555 0100"},
                actor=active_client.therapist,
            )

        assert CareRelationship.objects.get(pk=active_client.pk).phone == ""
        assert not AuditEvent.objects.filter(action="client.update_personal").exists()

    def test_audit_records_field_names_but_never_values(self, therapist, active_client):
        services.relationship_update_details(
            relationship=active_client,
            section="personal",
            values={"phone": "+1 212 555 0199", "address": "42 Secret Lane", "gender": ""},
            actor=active_client.therapist,
        )

        event = AuditEvent.objects.get(action="client.update_personal")
        assert event.actor == therapist
        assert event.client == active_client.client
        assert sorted(event.detail["fields"]) == ["address", "phone"]
        dumped = json.dumps(AuditEvent.objects.filter(pk=event.pk).values().get(), default=str)
        assert "555 0199" not in dumped
        assert "Secret Lane" not in dumped


class TestStaffAddresses:
    def test_a_staff_address_cannot_be_added_as_a_client(self, therapist, colleague):
        with pytest.raises(services.StaffAddressError):
            services.client_add(
                actor=therapist, full_name="Bob", email="BOB@example.com", billing_type="cash_pay"
            )
        assert not Client.objects.filter(email__iexact="bob@example.com").exists()

    def test_a_staff_address_cannot_be_a_guardian(self, therapist, colleague):
        with pytest.raises(services.StaffAddressError):
            services.client_add(
                actor=therapist,
                full_name="Kid",
                is_child=True,
                guardian_name="Bob",
                guardian_email="bob@example.com",
                guardian_relationship="parent",
                billing_type="cash_pay",
            )
        assert not Client.objects.filter(full_name="Kid").exists()

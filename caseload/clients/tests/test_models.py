"""Invariants the database itself enforces (SECURITY R1, I1, I5) and the model helpers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.test import override_settings
from django.utils import timezone

from caseload.clients import services
from caseload.clients.models import (
    CareRelationship,
    CareState,
    Client,
    Invitation,
    InvitationKind,
    search_key,
)


def new_relationship(therapist, client, state=CareState.INVITED) -> CareRelationship:
    return CareRelationship.objects.create(
        therapist=therapist, practice=therapist.membership.practice, client=client, state=state
    )


def new_invitation(relationship) -> Invitation:
    invitation = Invitation(
        relationship=relationship, kind=InvitationKind.SIGNUP, email="x@example.com"
    )
    invitation.rotate_token()
    invitation.save()
    return invitation


@pytest.mark.django_db
class TestDatabaseConstraints:
    def test_client_email_is_unique_case_insensitively(self):
        Client.objects.create(full_name="A", email="dana@example.com")

        with pytest.raises(IntegrityError), transaction.atomic():
            Client.objects.create(full_name="B", email="Dana@Example.com")

    def test_children_without_email_do_not_collide(self):
        Client.objects.create(full_name="A", is_child=True)
        Client.objects.create(full_name="B", is_child=True)

        assert Client.objects.filter(email__isnull=True).count() == 2

    def test_an_adult_client_must_have_an_email(self):
        with pytest.raises(IntegrityError), transaction.atomic():
            Client.objects.create(full_name="No Email", is_child=False)

    def test_one_open_relationship_per_therapist_and_client(self, therapist):
        client = Client.objects.create(full_name="A", email="dana@example.com")
        new_relationship(therapist, client, CareState.ARCHIVED)

        with pytest.raises(IntegrityError), transaction.atomic():
            new_relationship(therapist, client, CareState.INVITED)

    def test_ended_relationships_do_not_block_a_new_one(self, therapist, colleague):
        client = Client.objects.create(full_name="A", email="dana@example.com")
        new_relationship(therapist, client, CareState.ENDED)
        new_relationship(therapist, client, CareState.ENDED)
        new_relationship(therapist, client, CareState.ACTIVE)
        new_relationship(colleague, client, CareState.ACTIVE)

        assert CareRelationship.objects.filter(client=client).count() == 4

    def test_one_outstanding_invitation_per_relationship(self, therapist):
        client = Client.objects.create(full_name="A", email="dana@example.com")
        relationship = new_relationship(therapist, client)
        first = new_invitation(relationship)

        with pytest.raises(IntegrityError), transaction.atomic():
            new_invitation(relationship)

        Invitation.objects.filter(pk=first.pk).update(revoked_at=timezone.now())
        new_invitation(relationship)
        assert relationship.invitations.count() == 2

    def test_token_hash_is_unique(self, therapist):
        client = Client.objects.create(full_name="A", email="dana@example.com")
        first = new_invitation(new_relationship(therapist, client))
        other = Client.objects.create(full_name="B", email="eli@example.com")
        second = Invitation(
            relationship=new_relationship(therapist, other),
            kind=InvitationKind.SIGNUP,
            email="eli@example.com",
            nonce=first.nonce,
            token_hash=first.token_hash,
            expires_at=first.expires_at,
        )

        with pytest.raises(IntegrityError), transaction.atomic():
            second.save()


@pytest.mark.django_db
class TestInvitationModel:
    def test_token_is_derived_from_the_secret_key_not_stored(self, therapist):
        invitation = services.client_add(
            actor=therapist, full_name="Dana", email="dana@example.com"
        ).invitation
        token = invitation.token()

        with override_settings(SECRET_KEY="another-secret-key-" + "x" * 40):
            assert invitation.token() != token  # a copy of the database alone makes no link
        assert Invitation.hash_token(token) == invitation.token_hash

    def test_rotating_changes_token_and_hash(self, therapist):
        invitation = services.client_add(
            actor=therapist, full_name="Dana", email="dana@example.com"
        ).invitation
        token, token_hash = invitation.token(), invitation.token_hash

        invitation.rotate_token()

        assert invitation.token() != token
        assert invitation.token_hash != token_hash
        assert invitation.token_hash == Invitation.hash_token(invitation.token())

    @pytest.mark.parametrize(
        ("field", "value", "usable"),
        [
            (None, None, True),
            ("accepted_at", timezone.now(), False),
            ("declined_at", timezone.now(), False),
            ("revoked_at", timezone.now(), False),
            ("expires_at", timezone.now() - timedelta(seconds=1), False),
        ],
    )
    def test_usable_property_and_queryset_agree(self, therapist, field, value, usable):
        invitation = services.client_add(
            actor=therapist, full_name="Dana", email="dana@example.com"
        ).invitation
        if field:
            Invitation.objects.filter(pk=invitation.pk).update(**{field: value})
        invitation.refresh_from_db()

        assert invitation.is_usable is usable
        assert Invitation.objects.usable().filter(pk=invitation.pk).exists() is usable


class TestHelpers:
    def test_search_key_ignores_case_and_accents(self):
        assert search_key("Zoë", None, "ÅNGSTRÖM", "") == "zoe angstrom"

    @pytest.mark.parametrize(
        ("state", "can_open"),
        [
            (CareState.INVITED, True),
            (CareState.AWAITING_CONSENT, False),
            (CareState.ACTIVE, True),
            (CareState.ARCHIVED, True),
        ],
    )
    def test_only_consented_or_own_invitees_records_can_be_opened(self, state, can_open):
        assert CareRelationship(state=state).can_open_record is can_open

"""allauth adapter: signup only through a usable signup invitation, bound to its address (I5)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from allauth.account.adapter import get_adapter
from allauth.account.models import EmailAddress
from allauth.core.context import request_context
from django import forms
from django.contrib.sessions.middleware import SessionMiddleware
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from caseload.accounts.models import User
from caseload.clients import services
from caseload.clients.models import CareState, Invitation
from caseload.portal.adapter import SESSION_INVITATION_KEY, AccountAdapter
from tests.factories import PASSWORD, account


@contextmanager
def adapter_with(invitation: Invitation | None) -> Iterator[AccountAdapter]:
    """The adapter as allauth's middleware sets it up for a request with this session."""
    request = RequestFactory().get("/accounts/signup/")
    SessionMiddleware(lambda r: None).process_request(request)
    if invitation is not None:
        request.session[SESSION_INVITATION_KEY] = str(invitation.public_id)
    with request_context(request):
        adapter = get_adapter(request)
        assert isinstance(adapter, AccountAdapter)
        assert adapter.request is request
        yield adapter


@pytest.fixture
def invitation(therapist) -> Invitation:
    return services.client_add(
        actor=therapist, full_name="Nora Quinn", email="nora@example.com", billing_type="cash_pay"
    ).invitation


def start_signup(client, invitation: Invitation):
    invitation.refresh_from_db()
    return client.post(reverse("invitation_signup", args=[invitation.token()]))


def sign_up(client, email: str):
    return client.post(
        reverse("account_signup"), {"email": email, "password1": PASSWORD, "password2": PASSWORD}
    )


class TestOpenForSignup:
    def test_closed_without_an_invitation(self, db):
        with adapter_with(None) as adapter:
            assert adapter.is_open_for_signup(adapter.request) is False

    def test_open_with_a_usable_signup_invitation(self, invitation):
        with adapter_with(invitation) as adapter:
            assert adapter.is_open_for_signup(adapter.request) is True

    @pytest.mark.parametrize("field", ["accepted_at", "declined_at", "revoked_at"])
    def test_closed_once_the_invitation_is_used_or_withdrawn(self, invitation, field):
        Invitation.objects.filter(pk=invitation.pk).update(**{field: timezone.now()})
        with adapter_with(invitation) as adapter:
            assert adapter.is_open_for_signup(adapter.request) is False

    def test_closed_once_the_invitation_expired(self, invitation):
        Invitation.objects.filter(pk=invitation.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
        with adapter_with(invitation) as adapter:
            assert adapter.is_open_for_signup(adapter.request) is False

    def test_a_connection_request_is_not_a_signup_invitation(self, therapist, client_user):
        services.relationship_archive(
            relationship=therapist.care_relationships.get(),
            actor=therapist.care_relationships.get().therapist,
        )
        request = services.relationship_restore(
            relationship=therapist.care_relationships.get(),
            actor=therapist.care_relationships.get().therapist,
        )
        connection = Invitation.objects.usable().get(relationship=request)
        with adapter_with(connection) as adapter:
            assert adapter.is_open_for_signup(adapter.request) is False


class TestCleanEmail:
    def test_the_invited_address_is_accepted_and_normalised(self, invitation):
        with adapter_with(invitation) as adapter:
            assert adapter.clean_email(" Nora@Example.com ") == "nora@example.com"

    def test_another_address_is_refused(self, invitation):
        with adapter_with(invitation) as adapter, pytest.raises(forms.ValidationError):
            adapter.clean_email("someone.else@example.com")


class TestSignupThroughTheInvitation:
    def test_signup_creates_a_verified_account_and_accepts_the_invitation(self, client, invitation):
        assert start_signup(client, invitation).url == reverse("account_signup")

        response = sign_up(client, "nora@example.com")

        assert response.status_code == 302
        user = User.objects.get(email="nora@example.com")
        assert user.full_name == "Nora Quinn"
        assert user.check_password(PASSWORD)
        address = EmailAddress.objects.get(user=user)
        assert (address.email, address.verified, address.primary) == (
            "nora@example.com",
            True,
            True,
        )
        invitation.refresh_from_db()
        assert invitation.accepted_by == user
        relationship = invitation.relationship
        relationship.refresh_from_db()
        assert relationship.state == CareState.ACTIVE
        assert relationship.client.account == user
        assert SESSION_INVITATION_KEY not in client.session
        assert int(client.session["_auth_user_id"]) == user.pk
        # The address came verified from the invitation: no confirmation email is needed.
        assert not DBTaskResult.objects.filter(task_path__endswith="deliver_email").exists()

    def test_a_guardian_signing_up_manages_the_child(self, client, therapist):
        added = services.client_add(
            actor=therapist,
            full_name="Leo Park",
            is_child=True,
            guardian_name="Jin Park",
            guardian_email="jin@example.com",
            guardian_relationship="parent",
        )
        start_signup(client, added.invitation)

        sign_up(client, "jin@example.com")

        user = User.objects.get(email="jin@example.com")
        assert user.full_name == "Jin Park"
        added.relationship.refresh_from_db()
        assert added.relationship.state == CareState.ACTIVE
        assert added.relationship.client.guardianship.account == user

    def test_signing_up_with_another_address_is_refused(self, client, invitation):
        start_signup(client, invitation)

        response = sign_up(client, "other@example.com")

        assert response.status_code == 200
        assert "nora@example.com" in response.context["form"].errors["email"][0]
        assert not User.objects.filter(email__in=["other@example.com", "nora@example.com"]).exists()
        assert Invitation.objects.get(pk=invitation.pk).is_usable

    def test_signup_without_an_invitation_creates_no_account(self, client, db):
        sign_up(client, "walk.in@example.com")

        assert not User.objects.filter(email="walk.in@example.com").exists()

    def test_an_invitation_withdrawn_mid_signup_creates_no_account(self, client, invitation):
        start_signup(client, invitation)
        services.relationship_archive(
            relationship=invitation.relationship, actor=invitation.relationship.therapist
        )

        sign_up(client, "nora@example.com")

        assert not User.objects.filter(email="nora@example.com").exists()

    def test_no_account_is_left_behind_when_accepting_fails(self, client, therapist, colleague):
        # Nora signs up through alice's invitation, then changes her sign-in address; bob's
        # older invitation to her old address can no longer be accepted by a new account.
        first = services.client_add(
            actor=therapist, full_name="Nora Quinn", email="nora@example.com"
        )
        second = services.client_add(
            actor=colleague, full_name="Nora Quinn", email="nora@example.com"
        )
        services.invitation_accept(invitation=first.invitation, actor=account("nora@example.com"))
        User.objects.filter(email="nora@example.com").update(email="nora.q@example.com")
        EmailAddress.objects.filter(email="nora@example.com").update(email="nora.q@example.com")
        start_signup(client, second.invitation)

        response = sign_up(client, "nora@example.com")

        assert response.status_code == 409
        assert "This invitation was sent to a different account." in response.content.decode()
        assert not User.objects.filter(email="nora@example.com").exists()
        assert Invitation.objects.get(pk=second.invitation.pk).is_usable

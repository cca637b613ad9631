"""The emailed invitation link: open, sign up, connect (SECURITY I5, I6; MC-3, MC-4)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client as Browser
from django.utils import timezone

from caseload.accounts.models import User
from caseload.clients import services
from caseload.clients.models import CareRelationship, CareState, Invitation
from tests.factories import PASSWORD, account, pending_relationship

pytestmark = pytest.mark.django_db


def emailed_link(run_tasks: Any, to: str) -> str:
    """Deliver queued email and return the invitation path from the message sent to `to`."""
    run_tasks()
    bodies = [message.body for message in mail.outbox if message.to == [to]]
    assert bodies, f"no email to {to}"
    match = re.search(r"/invite/[0-9a-f]+/", bodies[-1])
    assert match is not None
    return match.group(0)


def fresh(invitation: Invitation) -> Invitation:
    return Invitation.objects.get(pk=invitation.pk)


def signup(browser: Browser, email: str, password: str = PASSWORD) -> Any:
    return browser.post(
        "/accounts/signup/", {"email": email, "password1": password, "password2": password}
    )


@pytest.fixture
def pending(therapist: Any) -> CareRelationship:
    return pending_relationship(therapist, full_name="Pat Pending", email="pat@example.com")


# Opening the link -------------------------------------------------------------------------
def test_opening_the_link_does_not_consume_it(pending, run_tasks):
    link = emailed_link(run_tasks, "pat@example.com")
    invitation = pending.invitations.get()

    first = Browser().get(link)
    second = Browser().get(link)

    for response in (first, second):
        assert response.status_code == 200
        assert "Create your account" in response.content.decode()
        assert "Alice Rivera" in response.content.decode()
    assert fresh(invitation).is_usable
    assert fresh(invitation).accepted_at is None
    assert CareRelationship.objects.get(pk=pending.pk).state == CareState.INVITED


def test_full_signup_from_the_emailed_link(pending, run_tasks):
    link = emailed_link(run_tasks, "pat@example.com")
    invitation = pending.invitations.get()
    browser = Browser()
    browser.get(link)
    browser.get(link)  # a mail scanner, or a second click

    started = browser.post(f"{link}signup/")
    assert started.status_code == 302
    assert started["Location"] == "/accounts/signup/"
    form = browser.get("/accounts/signup/")
    assert form.status_code == 200
    assert 'name="password1"' in form.content.decode()
    assert 'value="pat@example.com"' in form.content.decode()

    response = signup(browser, "pat@example.com")

    assert response.status_code == 302
    user = User.objects.get(email="pat@example.com")
    assert user.full_name == "Pat Pending"
    address = EmailAddress.objects.get(user=user)
    assert address.verified and address.primary
    relationship = CareRelationship.objects.get(pk=pending.pk)
    assert relationship.state == CareState.ACTIVE
    assert relationship.client.account == user
    accepted = fresh(invitation)
    assert accepted.accepted_at is not None
    assert accepted.accepted_by == user
    # Signed in, in the portal, without a verification email.
    portal = browser.get("/", follow=True)
    assert portal.redirect_chain[-1][0] == "/portal/"
    assert "Alice Rivera" in portal.content.decode()
    # The link is now spent.
    gone = Browser().get(link)
    assert gone.status_code == 404
    assert "no longer valid" in gone.content.decode()


def test_therapist_sees_the_pending_badge_clear(therapist, pending, run_tasks, signed_in):
    link = emailed_link(run_tasks, "pat@example.com")
    therapist_browser = signed_in(therapist)
    listing = therapist_browser.get("/clients/").content.decode()
    assert ">Pending<" in listing

    browser = Browser()
    browser.post(f"{link}signup/")
    signup(browser, "pat@example.com")

    assert ">Pending<" not in therapist_browser.get("/clients/").content.decode()


def test_guardian_signs_up_for_the_child(therapist, run_tasks):
    added = services.client_add(
        actor=therapist,
        full_name="Theo Brandt",
        billing_type="cash_pay",
        is_child=True,
        guardian_name="Mara Brandt",
        guardian_email="mara@example.com",
        guardian_relationship="parent",
    )
    link = emailed_link(run_tasks, "mara@example.com")
    browser = Browser()
    assert "manage Theo Brandt" in browser.get(link).content.decode()
    browser.post(f"{link}signup/")

    signup(browser, "mara@example.com")

    user = User.objects.get(email="mara@example.com")
    assert user.full_name == "Mara Brandt"
    relationship = CareRelationship.objects.get(pk=added.relationship.pk)
    assert relationship.state == CareState.ACTIVE
    assert relationship.client.guardianship.account == user
    assert relationship.client.account is None
    assert "Theo Brandt" in browser.get("/portal/").content.decode()


def test_signup_with_a_different_email_is_refused(pending):
    invitation = pending.invitations.get()
    browser = Browser()
    browser.post(f"/invite/{invitation.token()}/signup/")

    response = signup(browser, "someone-else@example.com")

    assert response.status_code == 200
    assert "Sign up with the address your invitation was sent to: pat@example.com." in (
        response.content.decode()
    )
    assert not User.objects.filter(email="someone-else@example.com").exists()
    assert fresh(invitation).is_usable


def test_signup_email_differs_only_in_case(pending):
    browser = Browser()
    browser.post(f"/invite/{pending.invitations.get().token()}/signup/")

    response = signup(browser, "  PAT@Example.com ")

    assert response.status_code == 302
    assert User.objects.filter(email__iexact="pat@example.com").count() == 1
    assert User.objects.filter(email="pat@example.com").exists()


def test_signup_without_an_invitation_is_closed(db):
    browser = Browser()

    page = browser.get("/accounts/signup/")
    posted = signup(browser, "walk-in@example.com")

    assert "Accounts are by invitation" in page.content.decode()
    assert 'name="password1"' not in page.content.decode()
    assert "Accounts are by invitation" in posted.content.decode()
    assert not User.objects.exists()


def test_invitation_cannot_be_used_for_two_accounts(pending):
    token = pending.invitations.get().token()
    first = Browser()
    first.post(f"/invite/{token}/signup/")
    signup(first, "pat@example.com")

    second = Browser()
    assert second.post(f"/invite/{token}/signup/").status_code == 404
    assert "Accounts are by invitation" in second.get("/accounts/signup/").content.decode()
    assert User.objects.filter(email="pat@example.com").count() == 1


def test_invitation_withdrawn_after_it_was_put_in_the_session(therapist, pending):
    browser = Browser()
    browser.post(f"/invite/{pending.invitations.get().token()}/signup/")
    services.relationship_archive(relationship=pending, actor=pending.therapist)

    response = signup(browser, "pat@example.com")

    assert "Accounts are by invitation" in response.content.decode()
    assert not User.objects.filter(email="pat@example.com").exists()


# Links that no longer work ----------------------------------------------------------------
def _expire(invitation: Invitation) -> None:
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )


@pytest.mark.parametrize("how", ["garbage", "too_long", "used", "expired", "revoked", "rotated"])
def test_invalid_tokens_are_404_no_longer_valid(pending, client_user, how, signed_in):
    invitation = pending.invitations.get()
    token = invitation.token()
    if how == "garbage":
        token = "0" * 64
    elif how == "too_long":
        token = "a" * 500
    elif how == "used":
        services.invitation_accept(invitation=invitation, actor=account("pat@example.com"))
    elif how == "expired":
        _expire(invitation)
    elif how == "revoked":
        services.relationship_archive(relationship=pending, actor=pending.therapist)
    elif how == "rotated":
        services.invitation_resend(relationship=pending, actor=pending.therapist)

    for browser in (Browser(), signed_in(client_user)):
        for response in (
            browser.get(f"/invite/{token}/"),
            browser.post(f"/invite/{token}/signup/"),
            browser.post(f"/invite/{token}/respond/", {"answer": "approve"}),
        ):
            assert response.status_code in (404, 302)
            if response.status_code == 302:  # anonymous respond: sign in first
                assert response["Location"].startswith("/accounts/login/")
                continue
            assert "This link is no longer valid" in response.content.decode()
    if how != "used":
        assert not User.objects.filter(email="pat@example.com").exists()
    assert CareRelationship.objects.get(pk=pending.pk).state in (
        CareState.INVITED,
        CareState.ARCHIVED,
        CareState.ACTIVE,
    )


# Connection requests to an existing account -----------------------------------------------
@pytest.fixture
def bobs_request(colleague: Any, client_user: Any) -> Invitation:
    relationship = pending_relationship(colleague, full_name="Maya Patel", email="maya@example.com")
    return relationship.invitations.get()


def test_connection_link_anonymous_gets_a_sign_in_prompt(bobs_request):
    token = bobs_request.token()

    response = Browser().get(f"/invite/{token}/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Connection request" in html
    assert "Sign in as maya@example.com" in html
    assert f'href="/accounts/login/?next=/invite/{token}/"' in html
    assert "Create your account" not in html
    assert 'value="approve"' not in html
    # Starting a signup with a connection token leads to sign-in, not to a second account.
    started = Browser().post(f"/invite/{token}/signup/")
    assert started.status_code == 302
    assert started["Location"].startswith("/accounts/login/")


def test_connection_link_invitee_approves(client_user, bobs_request, signed_in):
    token = bobs_request.token()
    browser = signed_in(client_user)
    page = browser.get(f"/invite/{token}/").content.decode()
    assert 'value="approve"' in page

    response = browser.post(f"/invite/{token}/respond/", {"answer": "approve"})

    assert response.status_code == 302
    assert CareRelationship.objects.get(pk=bobs_request.relationship_id).state == CareState.ACTIVE
    assert fresh(bobs_request).accepted_by == client_user
    assert browser.get(f"/invite/{token}/").status_code == 404


def test_connection_link_invitee_declines(client_user, bobs_request, signed_in):
    browser = signed_in(client_user)

    browser.post(f"/invite/{bobs_request.token()}/respond/", {"answer": "decline"})

    assert CareRelationship.objects.get(pk=bobs_request.relationship_id).state == CareState.ENDED


@pytest.mark.parametrize("answer", ["approve", "decline"])
def test_connection_link_someone_else_cannot_answer(guardian_user, bobs_request, answer, signed_in):
    token = bobs_request.token()
    browser = signed_in(guardian_user)

    page = browser.get(f"/invite/{token}/").content.decode()
    response = browser.post(f"/invite/{token}/respond/", {"answer": answer})

    assert 'value="approve"' not in page
    assert "Sign in as maya@example.com" in page
    assert response.status_code == 404
    assert (
        CareRelationship.objects.get(pk=bobs_request.relationship_id).state
        == CareState.AWAITING_CONSENT
    )
    assert fresh(bobs_request).is_usable


@pytest.mark.parametrize("persona", ["therapist", "colleague", "practice_admin"])
def test_staff_cannot_answer_a_connection_request(request, bobs_request, persona, signed_in):
    browser = signed_in(request.getfixturevalue(persona))

    response = browser.post(f"/invite/{bobs_request.token()}/respond/", {"answer": "approve"})

    assert response.status_code == 404
    assert fresh(bobs_request).is_usable


def test_anonymous_cannot_answer(bobs_request):
    response = Browser().post(f"/invite/{bobs_request.token()}/respond/", {"answer": "approve"})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert fresh(bobs_request).is_usable


def test_sign_in_from_the_prompt_then_approve(client_user, bobs_request):
    token = bobs_request.token()
    browser = Browser()

    signed = browser.post(
        f"/accounts/login/?next=/invite/{token}/",
        {"login": "maya@example.com", "password": PASSWORD},
    )
    assert signed.status_code == 302
    assert signed["Location"] == f"/invite/{token}/"
    assert 'value="approve"' in browser.get(signed["Location"]).content.decode()
    browser.post(f"/invite/{token}/respond/", {"answer": "approve"})

    assert CareRelationship.objects.get(pk=bobs_request.relationship_id).state == CareState.ACTIVE

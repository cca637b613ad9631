"""The client's name a therapist sees is theirs to know: the one they typed, until the person
approves; then the one the person gives. Never the name another practice stored for the same
address, on any page: My Clients and its search, the profile, the home page, the audit log."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from caseload.clients import services
from caseload.clients.models import CareState
from caseload.visits import services as visit_services
from tests.factories import pending_relationship, staff

pytestmark = pytest.mark.django_db


def names_in_list(response: Any) -> list[str]:
    return re.findall(r'<span class="client-name">([^<]*)</span>', response.content.decode())


def add(browser: Any, full_name: str, email: str) -> Any:
    response = browser.post(
        "/clients/add/", {"full_name": full_name, "email": email, "billing_type": "cash_pay"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return response


def every_page(browser: Any, admin: Any, relationship: Any) -> str:
    """All the pages that name the client to the therapist (and the practice's audit log to
    its admin), in one string."""
    pages = [
        browser.get("/clients/"),
        browser.get(f"/clients/{relationship.public_id}/"),
        browser.get("/"),
        admin.get("/practice/audit/"),
    ]
    assert [page.status_code for page in pages] == [200] * len(pages)
    return "".join(page.content.decode() for page in pages)


@pytest.fixture
def outsider_admin(outsider: Any) -> Any:
    return staff(outsider.membership.practice, "admin", email="dana@example.com")


def test_a_connection_request_shows_only_the_name_the_second_practice_typed(
    active_client, outsider, outsider_admin, signed_in
):
    """Maya (an account holder, "Maya Patel" at alice's practice) is added elsewhere."""
    browser = signed_in(outsider)

    add(browser, "M. Patel-Jones", "maya@example.com")

    relationship = outsider.care_relationships.get()
    assert relationship.state == CareState.AWAITING_CONSENT
    assert relationship.client_id == active_client.client_id  # the same person
    assert names_in_list(browser.get("/clients/")) == ["M. Patel-Jones"]
    html = every_page(browser, signed_in(outsider_admin), relationship)
    assert "M. Patel-Jones" in html
    assert "Maya Patel" not in html
    # The other practice's name doesn't find the client; the typed name and the address do.
    assert names_in_list(browser.get("/clients/", {"q": "maya patel"})) == []
    assert names_in_list(browser.get("/clients/", {"q": "Patel-Jones"})) == ["M. Patel-Jones"]
    assert names_in_list(browser.get("/clients/", {"q": "maya@"})) == ["M. Patel-Jones"]


def test_once_the_person_approves_the_therapist_sees_the_name_they_give(
    active_client, client_user, outsider, signed_in
):
    browser = signed_in(outsider)
    add(browser, "M. Patel-Jones", "maya@example.com")
    relationship = outsider.care_relationships.get()
    client_user.full_name = "Maya R. Patel"  # the name on her own account
    client_user.save(update_fields=["full_name"])

    services.invitation_accept(invitation=relationship.invitations.get(), actor=client_user)

    assert names_in_list(browser.get("/clients/")) == ["Maya R. Patel"]
    assert "Maya R. Patel" in browser.get(f"/clients/{relationship.public_id}/").content.decode()
    assert names_in_list(browser.get("/clients/", {"q": "maya r"})) == ["Maya R. Patel"]
    assert names_in_list(browser.get("/clients/", {"q": "Patel-Jones"})) == []
    # Alice's own page follows the name her client gives too, once she accepted it there.
    assert names_in_list(signed_in(active_client.therapist).get("/clients/")) == ["Maya Patel"]


def test_a_client_who_never_signed_up_is_known_by_each_practices_own_name(
    therapist, outsider, outsider_admin, signed_in
):
    """Grace was invited by alice and never answered; charlie's practice adds her too."""
    pending_relationship(therapist, full_name="Grace Liu", email="grace@example.com")
    browser = signed_in(outsider)

    add(browser, "G. Liu-Wong", "grace@example.com")

    relationship = outsider.care_relationships.get()
    assert relationship.state == CareState.INVITED  # nobody to consent yet: the record opens
    visit_services.session_schedule(
        relationship=relationship,
        actor=outsider,
        starts_at=timezone.now() + timedelta(hours=2),
        duration_minutes=50,
        modality="in_person",
    )
    html = every_page(browser, signed_in(outsider_admin), relationship)
    assert html.count("G. Liu-Wong") >= 3  # list, profile, home, audit log
    assert "Grace Liu" not in html
    assert names_in_list(browser.get("/clients/", {"q": "grace liu"})) == []
    assert names_in_list(browser.get("/clients/", {"q": "grace@"})) == ["G. Liu-Wong"]
    # And alice still sees the name she typed.
    assert names_in_list(signed_in(therapist).get("/clients/")) == ["Grace Liu"]


def test_signing_up_from_the_second_invitation_takes_its_own_name(
    therapist, outsider, client, signed_in
):
    """The account a never-signed-up client makes from charlie's invitation is named as
    charlie typed it, not as alice's practice stored the person."""
    pending_relationship(therapist, full_name="Grace Liu", email="grace@example.com")
    added = services.client_add(
        actor=outsider, full_name="G. Liu-Wong", email="grace@example.com", billing_type=""
    )
    client.post(f"/invite/{added.invitation.token()}/signup/")
    response = client.post(
        "/accounts/signup/",
        {"email": "grace@example.com", "password1": "x-Long-pass-1", "password2": "x-Long-pass-1"},
    )
    assert response.status_code == 302

    added.relationship.refresh_from_db()
    assert added.relationship.client.account.full_name == "G. Liu-Wong"
    assert names_in_list(signed_in(outsider).get("/clients/")) == ["G. Liu-Wong"]

"""The client and guardian portal: connection requests, care, and nothing clinical."""

from __future__ import annotations

from typing import Any

import pytest

from caseload.clients import services
from caseload.clients.models import CareRelationship, CareState, Invitation
from tests.factories import pending_relationship

pytestmark = pytest.mark.django_db


@pytest.fixture
def bobs_request_to_maya(colleague: Any, client_user: Any) -> Invitation:
    """Bob (alice's colleague) asks Maya, who already has an account, to connect."""
    relationship = pending_relationship(colleague, full_name="Maya Patel", email="maya@example.com")
    assert relationship.state == CareState.AWAITING_CONSENT
    return relationship.invitations.get()


@pytest.fixture
def bobs_request_for_child(colleague: Any, guardian_user: Any) -> Invitation:
    """Bob asks Sam to connect for a second child, Ben."""
    added = services.client_add(
        actor=colleague,
        full_name="Ben Okafor",
        billing_type="cash_pay",
        is_child=True,
        guardian_name="Sam Okafor",
        guardian_email="sam@example.com",
        guardian_relationship="parent",
    )
    assert added.relationship.state == CareState.AWAITING_CONSENT
    return added.invitation


def state(invitation: Invitation) -> str:
    return CareRelationship.objects.get(pk=invitation.relationship_id).state


# Home -------------------------------------------------------------------------------------
def test_client_sees_pending_requests_and_active_care(client_user, bobs_request_to_maya, signed_in):
    response = signed_in(client_user).get("/portal/")

    html = response.content.decode()
    assert response.status_code == 200
    assert f'data-request="{bobs_request_to_maya.public_id}"' in html
    assert "Bob Lee" in html
    assert "would like to connect" in html
    assert "with you" in html
    assert f"/portal/requests/{bobs_request_to_maya.public_id}/approve/" in html
    assert f"/portal/requests/{bobs_request_to_maya.public_id}/decline/" in html
    care = html.split('id="care-title"')[1]
    assert "Alice Rivera" in care
    assert "Bob Lee" not in care  # not connected yet


def test_guardian_sees_requests_for_each_child(guardian_user, bobs_request_for_child, signed_in):
    html = signed_in(guardian_user).get("/portal/").content.decode()

    requests = html.split('id="requests-title"')[1].split('id="care-title"')[0]
    assert f'data-request="{bobs_request_for_child.public_id}"' in requests
    assert "Bob Lee" in requests
    assert "for Ben Okafor" in requests
    care = html.split('id="care-title"')[1]
    assert "Ava Okafor" in care
    assert "Alice Rivera" in care


def test_nothing_waiting(client_user, signed_in):
    html = signed_in(client_user).get("/portal/").content.decode()

    assert "No requests waiting." in html


def test_clients_do_not_see_each_others_requests(
    client_user, guardian_user, bobs_request_to_maya, bobs_request_for_child, signed_in
):
    maya = signed_in(client_user).get("/portal/").content.decode()
    sam = signed_in(guardian_user).get("/portal/").content.decode()

    assert str(bobs_request_for_child.public_id) not in maya
    assert "Ben Okafor" not in maya and "Ava Okafor" not in maya
    assert str(bobs_request_to_maya.public_id) not in sam
    assert "Maya Patel" not in sam


def test_withdrawn_reconnection_request_disappears(therapist, client_user, signed_in):
    """A request revoked by the therapist (here: by removing the client) can't be answered."""
    relationship = CareRelationship.objects.get(client__account=client_user)
    services.relationship_archive(relationship=relationship, actor=relationship.therapist)
    services.relationship_restore(relationship=relationship, actor=relationship.therapist)
    request = relationship.invitations.get(revoked_at=None, accepted_at=None)
    browser = signed_in(client_user)
    html = browser.get("/portal/").content.decode()
    assert "would like to reconnect" in html

    services.relationship_remove(relationship=relationship, actor=relationship.therapist)

    html = browser.get("/portal/").content.decode()
    assert str(request.public_id) not in html
    assert browser.post(f"/portal/requests/{request.public_id}/approve/").status_code == 404
    assert CareRelationship.objects.get(pk=relationship.pk).state == CareState.ENDED


@pytest.mark.parametrize("persona", ["therapist", "supervisor", "colleague", "practice_admin"])
def test_staff_have_no_portal(request, persona, bobs_request_to_maya, signed_in):
    browser = signed_in(request.getfixturevalue(persona))

    assert browser.get("/portal/").status_code == 404
    assert (
        browser.post(f"/portal/requests/{bobs_request_to_maya.public_id}/approve/").status_code
        == 404
    )
    assert state(bobs_request_to_maya) == CareState.AWAITING_CONSENT


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get("/portal/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/portal/"


# Approve / decline ------------------------------------------------------------------------
def test_client_approves(client_user, colleague, bobs_request_to_maya, signed_in):
    browser = signed_in(client_user)

    response = browser.post(f"/portal/requests/{bobs_request_to_maya.public_id}/approve/")

    assert response.status_code == 302
    assert response["Location"] == "/portal/"
    assert state(bobs_request_to_maya) == CareState.ACTIVE
    html = browser.get("/portal/").content.decode()
    assert "You are now connected with Bob Lee." in html
    assert "Bob Lee" in html.split('id="care-title"')[1]
    # The therapist can now open the profile's sections.
    bob = signed_in(colleague)
    profile = bob.get(f"/clients/{bobs_request_to_maya.relationship.public_id}/").content.decode()
    assert "Personal Information" in profile


def test_client_declines(client_user, bobs_request_to_maya, signed_in):
    browser = signed_in(client_user)

    response = browser.post(f"/portal/requests/{bobs_request_to_maya.public_id}/decline/")

    assert response.status_code == 302
    assert state(bobs_request_to_maya) == CareState.ENDED
    assert "You declined the request from Bob Lee." in browser.get("/portal/").content.decode()


def test_guardian_approves_for_the_child(guardian_user, bobs_request_for_child, signed_in):
    response = signed_in(guardian_user).post(
        f"/portal/requests/{bobs_request_for_child.public_id}/approve/"
    )

    assert response.status_code == 302
    assert state(bobs_request_for_child) == CareState.ACTIVE


def test_second_answer_changes_nothing(client_user, bobs_request_to_maya, signed_in):
    browser = signed_in(client_user)
    browser.post(f"/portal/requests/{bobs_request_to_maya.public_id}/approve/")

    assert (
        browser.post(f"/portal/requests/{bobs_request_to_maya.public_id}/decline/").status_code
        == 404
    )
    assert state(bobs_request_to_maya) == CareState.ACTIVE


def test_someone_elses_request_is_404(
    client_user, guardian_user, bobs_request_to_maya, bobs_request_for_child, signed_in
):
    maya, sam = signed_in(client_user), signed_in(guardian_user)

    for answer in ("approve", "decline"):
        assert (
            maya.post(f"/portal/requests/{bobs_request_for_child.public_id}/{answer}/").status_code
            == 404
        )
        assert (
            sam.post(f"/portal/requests/{bobs_request_to_maya.public_id}/{answer}/").status_code
            == 404
        )
    assert state(bobs_request_to_maya) == CareState.AWAITING_CONSENT
    assert state(bobs_request_for_child) == CareState.AWAITING_CONSENT


def test_unknown_request_is_404(client_user, signed_in):
    response = signed_in(client_user).post(
        "/portal/requests/00000000-0000-4000-8000-000000000000/approve/"
    )

    assert response.status_code == 404


def test_answering_needs_post(client_user, bobs_request_to_maya, signed_in):
    browser = signed_in(client_user)

    for answer in ("approve", "decline"):
        assert (
            browser.get(f"/portal/requests/{bobs_request_to_maya.public_id}/{answer}/").status_code
            == 405
        )
    assert state(bobs_request_to_maya) == CareState.AWAITING_CONSENT


# Nothing but what the portal needs --------------------------------------------------------
SECRETS = {
    "personal": {
        "phone": "+1 415-555-0132",
        "gender": "Gender-Marker-XYZ",
        "address": "77 Hidden Orchard Road",
    },
    "emergency": {
        "emergency_name": "Quentin Emergencyperson",
        "emergency_relationship": "Neighbour",
        "emergency_phone": "+1 212-736-5000",
        "emergency_email": "quentin@example.org",
    },
}
SECRET_VALUES = [
    "415-555-0132",
    "Gender-Marker-XYZ",
    "Hidden Orchard",
    "Quentin",
    "Emergencyperson",
    "212-736-5000",
    "quentin@example.org",
]


def _fill_details(relationship: CareRelationship) -> None:
    for section, values in SECRETS.items():
        services.relationship_update_details(
            relationship=relationship, section=section, values=values, actor=relationship.therapist
        )
    fresh = CareRelationship.objects.get(pk=relationship.pk)
    assert fresh.address == "77 Hidden Orchard Road"


def test_portal_pages_never_show_personal_information(
    active_client,
    child_client,
    client_user,
    guardian_user,
    bobs_request_to_maya,
    bobs_request_for_child,
    signed_in,
):
    _fill_details(active_client)
    _fill_details(child_client)
    # Pending requests carry details too, as soon as they're approved and filled in later.
    for user, invitation in (
        (client_user, bobs_request_to_maya),
        (guardian_user, bobs_request_for_child),
    ):
        browser = signed_in(user)
        pages = [
            browser.get("/portal/"),
            browser.get(f"/invite/{invitation.token()}/"),
        ]
        browser.post(f"/portal/requests/{invitation.public_id}/approve/")
        _fill_details(invitation.relationship)
        pages.append(browser.get("/portal/"))
        pages.append(browser.get("/", follow=True))  # the home page sends them to the portal
        for response in pages:
            assert response.status_code == 200
            html = response.content.decode()
            for value in SECRET_VALUES:
                assert value not in html, f"{value} leaked into {response.request['PATH_INFO']}"

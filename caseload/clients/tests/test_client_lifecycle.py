"""Archive, restore, remove and resend (MC-7) through the views."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import Client as Browser

from caseload.clients import services
from caseload.clients.models import CareRelationship, CareState, Invitation
from tests.factories import pending_relationship
from tests.html import redirect_target

pytestmark = pytest.mark.django_db


def url(relationship: CareRelationship, action: str = "") -> str:
    return f"/clients/{relationship.public_id}/" + (f"{action}/" if action else "")


def state(relationship: CareRelationship) -> str:
    return CareRelationship.objects.get(pk=relationship.pk).state


def outstanding(relationship: CareRelationship) -> Invitation | None:
    return Invitation.objects.filter(
        relationship=relationship, accepted_at=None, declined_at=None, revoked_at=None
    ).first()


@pytest.fixture
def pending(therapist: Any) -> CareRelationship:
    return pending_relationship(therapist, full_name="Pat Pending", email="pat@example.com")


# POST only --------------------------------------------------------------------------------
@pytest.mark.parametrize("action", ["archive", "restore", "resend-invitation"])
def test_get_is_405_and_changes_nothing(therapist, pending, action, signed_in):
    if action == "restore":
        services.relationship_archive(relationship=pending, actor=pending.therapist)
    before = (state(pending), outstanding(pending))

    response = signed_in(therapist).get(url(pending, action))

    assert response.status_code == 405
    assert (state(pending), outstanding(pending)) == before


# Archive ----------------------------------------------------------------------------------
def test_archive_moves_client_to_archived_and_revokes_invitation(therapist, pending, signed_in):
    invitation = outstanding(pending)
    browser = signed_in(therapist)

    response = browser.post(url(pending, "archive"))

    assert response.status_code == 302
    assert response["Location"] == url(pending, "preferences")  # where Archive and Restore are
    assert state(pending) == CareState.ARCHIVED
    assert Invitation.objects.get(pk=invitation.pk).revoked_at is not None
    page = browser.get(response["Location"]).content.decode()
    assert "Pat Pending was archived" in page
    assert (
        "Pat Pending" not in browser.get("/clients/").content.decode().split('id="client-list"')[1]
    )


def test_htmx_archive_answers_with_an_redirect_to(active_client, therapist, signed_in):
    response = signed_in(therapist).post(url(active_client, "archive"), HTTP_HX_REQUEST="true")

    assert url(active_client, "preferences") == redirect_target(response)
    assert state(active_client) == CareState.ARCHIVED


def test_archiving_twice_is_a_message_not_an_error(therapist, active_client, signed_in):
    browser = signed_in(therapist)
    browser.post(url(active_client, "archive"))

    response = browser.post(url(active_client, "archive"), follow=True)

    assert response.status_code == 200
    assert "Only active or pending clients can be archived." in response.content.decode()
    assert state(active_client) == CareState.ARCHIVED


# Restore ----------------------------------------------------------------------------------
def test_restore_of_client_who_never_signed_up_is_direct(therapist, pending, run_tasks, signed_in):
    browser = signed_in(therapist)
    browser.post(url(pending, "archive"))
    run_tasks()
    mail.outbox.clear()

    response = browser.post(url(pending, "restore"), follow=True)

    assert state(pending) == CareState.INVITED
    new_invitation = outstanding(pending)
    assert new_invitation is not None
    assert new_invitation.kind == "signup"
    assert "Pat Pending was restored." in response.content.decode()
    assert "Pat Pending" in browser.get("/clients/").content.decode().split('id="client-list"')[1]
    run_tasks()
    assert [message.to for message in mail.outbox] == [["pat@example.com"]]


def test_restore_of_client_with_account_needs_their_approval(
    therapist, active_client, client_user, run_tasks, signed_in
):
    browser = signed_in(therapist)
    browser.post(url(active_client, "archive"))

    response = browser.post(url(active_client, "restore"), follow=True)

    assert state(active_client) == CareState.ARCHIVED  # not silently restored
    request = outstanding(active_client)
    assert request is not None and request.kind == "connection"
    assert "so we sent them a new invitation" in response.content.decode()
    run_tasks()
    assert mail.outbox[-1].to == ["maya@example.com"]

    # A second restore doesn't send another request.
    again = browser.post(url(active_client, "restore"), follow=True)
    assert "already waiting" in again.content.decode()
    assert Invitation.objects.filter(relationship=active_client, kind="connection").count() == 1

    # The client approves in the portal; the relationship is active again, with its record.
    portal = signed_in(client_user)
    assert portal.post(f"/portal/requests/{request.public_id}/approve/").status_code == 302
    assert state(active_client) == CareState.ACTIVE


def test_restore_of_child_with_guardian_account_needs_guardian_approval(
    therapist, child_client, guardian_user, signed_in
):
    browser = signed_in(therapist)
    browser.post(url(child_client, "archive"))
    browser.post(url(child_client, "restore"))

    request = outstanding(child_client)
    assert state(child_client) == CareState.ARCHIVED
    assert request.kind == "connection"
    assert request.email == "sam@example.com"


def test_restore_of_active_client_is_refused_with_a_message(therapist, active_client, signed_in):
    response = signed_in(therapist).post(url(active_client, "restore"), follow=True)

    assert "Only archived clients can be restored." in response.content.decode()
    assert state(active_client) == CareState.ACTIVE


# Resend -----------------------------------------------------------------------------------
def test_resend_rotates_the_link(therapist, pending, run_tasks, signed_in):
    old = outstanding(pending)
    old_token = old.token()
    browser = signed_in(therapist)

    response = browser.post(url(pending, "resend-invitation"), follow=True)

    fresh = outstanding(pending)
    assert fresh.pk == old.pk
    assert fresh.token() != old_token
    assert "sent again with a new link" in response.content.decode()
    assert Browser().get(f"/invite/{old_token}/").status_code == 404
    assert Browser().get(f"/invite/{fresh.token()}/").status_code == 200
    run_tasks()
    # The newest email carries the new link; no email carries the old one.
    assert fresh.token() in mail.outbox[-1].body
    assert all(old_token not in message.body for message in mail.outbox)


def test_resend_without_an_outstanding_invitation_is_a_message(therapist, active_client, signed_in):
    response = signed_in(therapist).post(url(active_client, "resend-invitation"), follow=True)

    assert response.status_code == 200
    assert "There is no invitation waiting to be accepted." in response.content.decode()


# Remove -----------------------------------------------------------------------------------
def test_remove_get_shows_a_confirmation_and_changes_nothing(therapist, active_client, signed_in):
    response = signed_in(therapist).get(url(active_client, "remove"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Remove Maya Patel?" in html
    assert 'name="confirm"' in html
    assert state(active_client) == CareState.ACTIVE


@pytest.mark.parametrize("data", [{}, {"confirm": ""}])
def test_remove_without_confirmation_changes_nothing(therapist, active_client, data, signed_in):
    response = signed_in(therapist).post(url(active_client, "remove"), data)

    assert response.status_code == 200
    assert "Tick the box to confirm" in response.content.decode()
    assert state(active_client) == CareState.ACTIVE


def test_remove_with_confirmation_ends_the_relationship(therapist, active_client, signed_in):
    browser = signed_in(therapist)

    response = browser.post(url(active_client, "remove"), {"confirm": "on"})

    assert response.status_code == 302
    assert response["Location"] == "/clients/"
    fresh = CareRelationship.objects.get(pk=active_client.pk)  # the record is retained
    assert fresh.state == CareState.ENDED
    assert fresh.ended_reason == "removed"
    assert "was removed" in browser.get("/clients/").content.decode()
    assert browser.get(url(active_client)).status_code == 404
    assert browser.get(url(active_client, "remove")).status_code == 404
    assert browser.post(url(active_client, "restore")).status_code == 404
    assert browser.post(url(active_client, "personal"), {"gender": "x"}).status_code == 404


def test_remove_pending_revokes_its_invitation(therapist, pending, signed_in):
    token = outstanding(pending).token()

    signed_in(therapist).post(url(pending, "remove"), {"confirm": "on"})

    assert outstanding(pending) is None
    assert Browser().get(f"/invite/{token}/").status_code == 404


def test_htmx_remove_answers_with_an_redirect_to(active_client, therapist, signed_in):
    response = signed_in(therapist).post(
        url(active_client, "remove"), {"confirm": "on"}, HTTP_HX_REQUEST="true"
    )

    assert redirect_target(response) == "/clients/"
    assert state(active_client) == CareState.ENDED


# Only the owner ---------------------------------------------------------------------------
@pytest.mark.parametrize("action", ["archive", "restore", "resend-invitation", "remove"])
@pytest.mark.parametrize(
    "persona",
    ["supervisor", "colleague", "outsider", "practice_admin", "client_user", "guardian_user"],
)
def test_lifecycle_by_anyone_but_the_owner_is_404(request, pending, action, persona, signed_in):
    if action == "restore":
        services.relationship_archive(relationship=pending, actor=pending.therapist)
    before = (state(pending), outstanding(pending))
    browser = signed_in(request.getfixturevalue(persona))

    response = browser.post(url(pending, action), {"confirm": "on"})

    assert response.status_code == 404
    assert (state(pending), outstanding(pending)) == before
    if action == "remove":
        assert browser.get(url(pending, action)).status_code == 404

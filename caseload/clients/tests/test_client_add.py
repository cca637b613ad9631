"""Add a New Client (MC-1, MC-2, MC-3, MC-4) through the view, as a browser would post it."""

from __future__ import annotations

import re
import uuid

import pytest
from django.core import mail

from caseload.clients import services
from caseload.clients.models import CareRelationship, CareState, Client, Guardianship, Invitation
from tests.factories import account
from tests.html import field_errors, redirect_target

pytestmark = pytest.mark.django_db


def counts() -> tuple[int, int, int, int]:
    return (
        Client.objects.count(),
        CareRelationship.objects.count(),
        Invitation.objects.count(),
        Guardianship.objects.count(),
    )


ADULT = {"full_name": "Lena Ortiz", "email": "lena@example.com", "billing_type": "insurance"}
CHILD = {
    "is_child": "on",
    "full_name": "Theo Brandt",
    "guardian_name": "Mara Brandt",
    "guardian_email": "mara@example.com",
    "guardian_relationship": "parent",
    "billing_type": "cash_pay",
}


# GET --------------------------------------------------------------------------------------
def test_get_full_page(therapist, signed_in):
    response = signed_in(therapist).get("/clients/add/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html
    assert "Add a New Client" in html
    for name in ("full_name", "email", "billing_type", "is_child", "guardian_email"):
        assert f'name="{name}"' in html


def test_get_htmx_partial(therapist, signed_in):
    response = signed_in(therapist).get(
        "/clients/add/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="modal-body"
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert html.strip().startswith("<form")
    assert 'name="full_name"' in html


# Valid POST -------------------------------------------------------------------------------
def test_post_creates_client_and_redirects_to_profile(therapist, run_tasks, signed_in):
    browser = signed_in(therapist)
    response = browser.post("/clients/add/", ADULT)

    relationship = CareRelationship.objects.get(client__email="lena@example.com")
    expected = f"/clients/{relationship.public_id}/?created=1"
    assert response.status_code == 302
    assert response["Location"] == expected
    assert relationship.therapist == therapist
    assert relationship.state == CareState.INVITED
    assert relationship.billing_type == "insurance"
    assert relationship.invitations.get().kind == "signup"

    profile = browser.get(expected)
    html = profile.content.decode()
    assert "What&#x27;s next" in html or "What's next" in html
    checklist = re.search(r'<ul class="checklist">(.*?)</ul>', html, flags=re.S)
    assert checklist is not None
    items = re.findall(r"<li", checklist.group(1))
    assert len(items) == 3
    for label in (
        "Schedule the first session",
        "Assign intake documents",
        "Set up a treatment plan",
    ):
        assert label in checklist.group(1)
    assert "highlight" in html  # the checklist is highlighted right after creation
    assert "Lena Ortiz was added and invited." in html
    assert ">Pending<" in html

    # The invitation is emailed by the background task.
    assert run_tasks() == 1
    assert [message.to for message in mail.outbox] == [["lena@example.com"]]


def test_htmx_post_redirects_with_an_htmx_header(therapist, signed_in):
    response = signed_in(therapist).post(
        "/clients/add/", ADULT, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="modal-body"
    )

    relationship = CareRelationship.objects.get(client__email="lena@example.com")
    expected = f"/clients/{relationship.public_id}/?created=1"
    assert response.status_code in (200, 204)
    assert expected == redirect_target(response)


def test_email_is_trimmed_and_lower_cased(therapist, signed_in):
    signed_in(therapist).post("/clients/add/", {**ADULT, "email": "  Lena@Example.COM "})

    assert Client.objects.get().email == "lena@example.com"


def test_child_client_invites_the_guardian(therapist, run_tasks, signed_in):
    response = signed_in(therapist).post("/clients/add/", CHILD)

    client = Client.objects.get(full_name="Theo Brandt")
    relationship = client.care_relationships.get()
    assert response.status_code == 302
    assert response["Location"] == f"/clients/{relationship.public_id}/?created=1"
    assert client.is_child
    assert client.email is None
    assert client.guardianship.full_name == "Mara Brandt"
    assert client.guardianship.email == "mara@example.com"
    assert client.guardianship.relationship == "parent"
    assert relationship.invitations.get().email == "mara@example.com"
    run_tasks()
    assert [message.to for message in mail.outbox] == [["mara@example.com"]]


def test_child_ignores_a_client_email(therapist, signed_in):
    signed_in(therapist).post("/clients/add/", {**CHILD, "email": "theo@example.com"})

    client = Client.objects.get(full_name="Theo Brandt")
    assert client.email is None
    assert not Client.objects.filter(email="theo@example.com").exists()


def test_billing_type_ignored_when_billing_disabled(practice, therapist, signed_in):
    practice.billing_enabled = False
    practice.save()

    response = signed_in(therapist).post(
        "/clients/add/",
        {"full_name": "Lena Ortiz", "email": "lena@example.com", "billing_type": "insurance"},
    )

    assert response.status_code == 302
    assert CareRelationship.objects.get().billing_type == ""


def test_no_billing_field_when_billing_disabled(practice, therapist, signed_in):
    practice.billing_enabled = False
    practice.save()

    response = signed_in(therapist).post(
        "/clients/add/", {"full_name": "", "email": "lena@example.com"}
    )

    assert 'name="billing_type"' not in response.content.decode()
    assert field_errors(response, "billing_type") == []


# Bad input --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({**ADULT, "full_name": "  "}, "full_name", "Enter the client's full name."),
        ({**ADULT, "email": ""}, "email", "Enter the client's email address"),
        ({**ADULT, "email": "not-an-email"}, "email", "Enter a valid email address."),
        ({**ADULT, "billing_type": ""}, "billing_type", "Choose a billing type."),
        ({**ADULT, "billing_type": "barter"}, "billing_type", "Select a valid choice."),
        ({**CHILD, "full_name": ""}, "full_name", "Enter the child's full name."),
        ({**CHILD, "guardian_name": ""}, "guardian_name", "Enter the guardian's full name."),
        ({**CHILD, "guardian_email": ""}, "guardian_email", "Enter the guardian's email"),
        ({**CHILD, "guardian_email": "mara@"}, "guardian_email", "Enter a valid email address."),
        (
            {**CHILD, "guardian_relationship": ""},
            "guardian_relationship",
            "Choose the guardian's relationship",
        ),
        (
            {**CHILD, "guardian_relationship": "uncle"},
            "guardian_relationship",
            "Select a valid choice.",
        ),
    ],
)
def test_bad_input_shows_a_message_per_field_and_creates_nothing(
    therapist, data, field, message, signed_in
):
    before = counts()

    response = signed_in(therapist).post("/clients/add/", data)

    assert response.status_code == 200
    errors = field_errors(response, field)
    assert len(errors) == 1
    assert message in errors[0]
    assert counts() == before
    assert len(mail.outbox) == 0


def test_htmx_bad_input_returns_the_form_partial(therapist, signed_in):
    response = signed_in(therapist).post(
        "/clients/add/",
        {**ADULT, "email": "nope"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="modal-body",
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert field_errors(response, "email") == ["Enter a valid email address."]
    assert 'value="Lena Ortiz"' in html  # what was typed is kept


def test_empty_post_shows_every_required_message(therapist, signed_in):
    response = signed_in(therapist).post("/clients/add/", {})

    assert response.status_code == 200
    assert field_errors(response, "full_name")
    assert field_errors(response, "email")
    assert field_errors(response, "billing_type")
    assert Client.objects.count() == 0


def test_child_toggle_requires_guardian_fields_not_client_email(therapist, signed_in):
    response = signed_in(therapist).post(
        "/clients/add/", {"is_child": "on", "full_name": "Theo Brandt", "billing_type": "cash_pay"}
    )

    assert field_errors(response, "email") == []
    assert field_errors(response, "guardian_name")
    assert field_errors(response, "guardian_email")
    assert field_errors(response, "guardian_relationship")
    assert Client.objects.count() == 0


def test_child_fields_absent_when_child_accounts_disabled(practice, therapist, signed_in):
    practice.child_accounts_enabled = False
    practice.save()
    browser = signed_in(therapist)

    page = browser.get("/clients/add/").content.decode()
    assert 'name="is_child"' not in page
    assert 'name="guardian_email"' not in page

    # A forged child submission is treated as an adult one: the client's email is required.
    response = browser.post("/clients/add/", CHILD)
    assert response.status_code == 200
    assert field_errors(response, "email")
    assert Client.objects.count() == 0


# Duplicates and existing accounts ---------------------------------------------------------
def test_duplicate_email_links_to_the_existing_client(therapist, active_client, signed_in):
    before = counts()

    response = signed_in(therapist).post("/clients/add/", {**ADULT, "email": "MAYA@example.com"})

    html = response.content.decode()
    assert response.status_code == 200
    assert field_errors(response, "email") == ["You already have this client."]
    assert f'href="/clients/{active_client.public_id}/"' in html
    assert "Archived" not in field_errors(response, "email")[0]
    assert counts() == before


def test_duplicate_of_archived_client_offers_restore(therapist, active_client, signed_in):
    services.relationship_archive(relationship=active_client, actor=active_client.therapist)
    before = counts()

    response = signed_in(therapist).post("/clients/add/", {**ADULT, "email": "maya@example.com"})

    html = response.content.decode()
    assert field_errors(response, "email") == [
        "You already have this client, in your Archived list."
    ]
    assert f'href="/clients/{active_client.public_id}/"' in html
    assert "restore" in html
    assert counts() == before


def test_duplicate_child_is_refused_on_the_guardian_email(therapist, child_client, signed_in):
    before = counts()

    response = signed_in(therapist).post(
        "/clients/add/", {**CHILD, "full_name": "ava okafor", "guardian_email": "SAM@example.com"}
    )

    assert field_errors(response, "guardian_email") == ["You already have this client."]
    assert f'href="/clients/{child_client.public_id}/"' in response.content.decode()
    assert counts() == before


def test_another_therapists_client_is_not_a_duplicate(
    therapist, colleague, active_client, signed_in
):
    response = signed_in(colleague).post("/clients/add/", {**ADULT, "email": "maya@example.com"})

    assert response.status_code == 302
    relationship = CareRelationship.objects.get(therapist=colleague)
    assert relationship.client == active_client.client
    assert relationship.state == CareState.AWAITING_CONSENT


def test_existing_account_gets_a_connection_request(therapist, run_tasks, signed_in):
    account("erin@example.com", "Erin Existing")
    browser = signed_in(therapist)

    response = browser.post("/clients/add/", {**ADULT, "email": "erin@example.com"})

    relationship = CareRelationship.objects.get(client__email="erin@example.com")
    assert response.status_code == 302
    assert relationship.state == CareState.AWAITING_CONSENT
    assert relationship.invitations.get().kind == "connection"
    html = browser.get(response["Location"]).content.decode()
    assert "already has a Caseload account, so we sent a connection request" in html
    assert "Awaiting approval" in html
    run_tasks()
    assert mail.outbox[0].to == ["erin@example.com"]
    assert "connect" in mail.outbox[0].subject


def test_existing_guardian_account_gets_a_connection_request(therapist, guardian_user, signed_in):
    response = signed_in(therapist).post(
        "/clients/add/", {**CHILD, "full_name": "Ben Okafor", "guardian_email": "sam@example.com"}
    )

    relationship = CareRelationship.objects.get(client__full_name="Ben Okafor")
    assert response.status_code == 302
    assert relationship.state == CareState.AWAITING_CONSENT
    assert relationship.client.guardianship.account == guardian_user


def test_practice_admin_cannot_add(practice_admin, signed_in):
    browser = signed_in(practice_admin)

    assert browser.get("/clients/add/").status_code == 404
    assert browser.post("/clients/add/", ADULT).status_code == 404
    assert Client.objects.count() == 0


def test_portal_user_cannot_add(client_user, signed_in):
    assert signed_in(client_user).post("/clients/add/", ADULT).status_code == 404
    assert not Client.objects.filter(email="lena@example.com").exists()


def test_server_sets_therapist_and_state_not_the_form(therapist, colleague, signed_in):
    """SECURITY A4: extra POST fields can't choose the owner or the state."""
    signed_in(therapist).post(
        "/clients/add/",
        {**ADULT, "therapist": colleague.pk, "state": "active", "practice": 999},
    )

    relationship = CareRelationship.objects.get()
    assert relationship.therapist == therapist
    assert relationship.state == CareState.INVITED


@pytest.mark.parametrize("persona", ["colleague", "supervisor", "practice_admin", "outsider"])
def test_staff_address_is_refused_with_a_message(request, therapist, persona, signed_in):
    staff_email = request.getfixturevalue(persona).email
    before = counts()
    browser = signed_in(therapist)

    adult = browser.post("/clients/add/", {**ADULT, "email": staff_email.upper()})
    child = browser.post("/clients/add/", {**CHILD, "guardian_email": staff_email})

    assert adult.status_code == 200
    assert "staff account" in field_errors(adult, "email")[0]
    assert child.status_code == 200
    assert "staff account" in field_errors(child, "guardian_email")[0]
    assert counts() == before


# The same form sent again ---------------------------------------------------------------
def form_key(html: str) -> str:
    match = re.search(r'<input type="hidden" name="submission_key" value="([0-9a-f-]{36})"', html)
    assert match is not None, "the form carries its one-off key"
    return match.group(1)


def test_each_form_shown_carries_a_new_key(therapist, signed_in):
    browser = signed_in(therapist)

    first = form_key(browser.get("/clients/add/").content.decode())
    second = form_key(browser.get("/clients/add/").content.decode())

    assert first != second


def test_a_resubmitted_form_answers_with_the_client_it_created(therapist, signed_in):
    """The connection dropped after the commit; the therapist sends the same form again."""
    browser = signed_in(therapist)
    data = {**ADULT, "submission_key": form_key(browser.get("/clients/add/").content.decode())}
    first = browser.post("/clients/add/", data)
    before = counts()

    again = browser.post("/clients/add/", data, follow=True)

    relationship = CareRelationship.objects.get(therapist=therapist)
    assert redirect_target(first) == f"/clients/{relationship.public_id}/?created=1"
    assert again.status_code == 200
    assert again.redirect_chain[-1][0] == f"/clients/{relationship.public_id}/"
    html = again.content.decode()
    assert "Lena Ortiz was already added: this form had been sent before." in html
    assert "You already have this client" not in html
    assert counts() == before  # nothing new: no second client, relationship or invitation
    assert Invitation.objects.filter(relationship=relationship).count() == 1


def test_a_resubmitted_form_over_htmx_goes_to_the_client_too(therapist, signed_in):
    browser = signed_in(therapist)
    data = {**ADULT, "submission_key": form_key(browser.get("/clients/add/").content.decode())}
    browser.post("/clients/add/", data, HTTP_HX_REQUEST="true")

    again = browser.post("/clients/add/", data, HTTP_HX_REQUEST="true")

    relationship = CareRelationship.objects.get(therapist=therapist)
    assert redirect_target(again) == f"/clients/{relationship.public_id}/"
    assert CareRelationship.objects.count() == 1


def test_a_new_form_for_a_client_one_already_has_is_still_a_duplicate(therapist, signed_in):
    browser = signed_in(therapist)
    browser.post("/clients/add/", {**ADULT, "submission_key": str(uuid.uuid4())})

    again = browser.post("/clients/add/", {**ADULT, "submission_key": str(uuid.uuid4())})

    assert again.status_code == 200
    assert field_errors(again, "email") == ["You already have this client."]
    assert CareRelationship.objects.count() == 1


def test_another_therapist_sending_the_same_key_gets_no_one_elses_client(
    therapist, colleague, signed_in
):
    key = str(uuid.uuid4())
    signed_in(therapist).post("/clients/add/", {**ADULT, "submission_key": key})

    response = signed_in(colleague).post(
        "/clients/add/", {**ADULT, "full_name": "Lena O.", "submission_key": key}
    )

    mine = CareRelationship.objects.get(therapist=colleague)
    assert redirect_target(response) == f"/clients/{mine.public_id}/?created=1"
    assert mine.client_name == "Lena O."

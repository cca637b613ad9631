"""The client profile (MC-4, MC-6): who may open it, what it shows, and its section forms."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.utils import timezone

from caseload.audit.models import AuditEvent
from caseload.clients import services
from caseload.clients.models import CareRelationship, CareState
from tests.factories import account, active_relationship, pending_relationship
from tests.html import field_errors, redirect_target
from tests.html import post_form_actions as post_forms

pytestmark = pytest.mark.django_db


def url(relationship: CareRelationship, section: str = "") -> str:
    return f"/clients/{relationship.public_id}/" + (f"{section}/" if section else "")


def snapshot(relationship: CareRelationship) -> dict[str, Any]:
    fresh = CareRelationship.objects.get(pk=relationship.pk)
    return {
        field.name: getattr(fresh, field.attname)
        for field in CareRelationship._meta.concrete_fields
    }


PERSONAL = {
    "phone": "(415) 555-0132",
    "date_of_birth": "1990-04-03",
    "gender": "Woman",
    "address": "1 Main St\nSpringfield",
}


# Who may open it --------------------------------------------------------------------------
def test_owner_opens_the_profile_on_the_overview_with_every_tab(
    therapist, active_client, signed_in
):
    browser = signed_in(therapist)
    response = browser.get(url(active_client))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Maya Patel" in html
    assert "maya@example.com" in html
    assert 'aria-current="page">Overview</a>' in html
    for section in ("clinical", "personal", "emergency", "preferences", "sessions", "plans"):
        assert f'href="{url(active_client, section)}"' in html
    for section in ("personal", "emergency", "preferences"):
        tab = browser.get(url(active_client, section)).content.decode()
        assert url(active_client, section) in post_forms(tab), section
    assert url(active_client, "archive") in post_forms(
        browser.get(url(active_client, "preferences")).content.decode()
    )
    for title in (
        "Clinical Information",
        "Personal Information",
        "Emergency Contact",
        "Preferences",
        "Sessions &amp; Notes",
        "Treatment Plans",
        "Documents",
        "Messaging",
    ):
        assert title in html


def test_supervisor_gets_a_read_only_page(supervisor, active_client, signed_in):
    services.relationship_update_details(
        relationship=active_client,
        section="personal",
        values={"phone": "+1 415-555-0132"},
        actor=active_client.therapist,
    )

    response = signed_in(supervisor).get(url(active_client))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Maya Patel" in html
    assert "+1 415-555-0132" in html  # read-only display of the details
    assert "read-only" in html
    assert post_forms(html) == []
    assert "<input" not in html.split('id="client-profile"')[1].split("</article>")[0]
    assert "What&#x27;s next" not in html and "What's next" not in html
    assert url(active_client, "remove") not in html


@pytest.mark.parametrize(
    "persona", ["colleague", "outsider", "practice_admin", "client_user", "guardian_user"]
)
def test_everyone_else_gets_404(request, active_client, child_client, persona, signed_in):
    user = request.getfixturevalue(persona)
    browser = signed_in(user)

    assert browser.get(url(active_client)).status_code == 404
    assert browser.get(url(child_client)).status_code == 404
    assert (
        browser.get(
            url(active_client), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="client-profile"
        ).status_code
        == 404
    )


def test_unknown_id_is_404(therapist, signed_in):
    assert (
        signed_in(therapist).get("/clients/00000000-0000-4000-8000-000000000000/").status_code
        == 404
    )


def test_anonymous_is_sent_to_sign_in(client, active_client):
    response = client.get(url(active_client))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_removed_client_is_404_for_the_therapist(therapist, active_client, signed_in):
    services.relationship_remove(relationship=active_client, actor=active_client.therapist)

    assert signed_in(therapist).get(url(active_client)).status_code == 404


# What it shows ----------------------------------------------------------------------------
def test_awaiting_consent_shows_only_name_email_and_state(
    therapist, colleague, client_user, signed_in
):
    # Maya is alice's client with details alice recorded; bob now asks to connect.
    alices = CareRelationship.objects.get(client__account=client_user)
    services.relationship_update_details(
        relationship=alices,
        section="personal",
        values={"phone": "+1 415-555-0132", "address": "1 Secret Lane"},
        actor=alices.therapist,
    )
    bobs = pending_relationship(colleague, full_name="Maya Patel", email="maya@example.com")
    assert bobs.state == CareState.AWAITING_CONSENT

    response = signed_in(colleague).get(url(bobs))

    html = response.content.decode()
    profile = html.split('id="client-profile"')[1]
    assert response.status_code == 200
    assert "Maya Patel" in profile
    assert "maya@example.com" in profile
    assert "Awaiting approval" in profile
    assert "once they approve" in profile
    assert "Personal Information" not in profile
    assert "Emergency Contact" not in profile
    assert url(bobs, "personal") not in html
    assert "415-555-0132" not in html
    assert "Secret Lane" not in html


def test_new_therapist_starts_with_an_empty_record(therapist, colleague, client_user, signed_in):
    alices = CareRelationship.objects.get(client__account=client_user)
    services.relationship_update_details(
        relationship=alices,
        section="personal",
        values={"address": "1 Secret Lane"},
        actor=alices.therapist,
    )
    bobs = pending_relationship(colleague, full_name="Maya Patel", email="maya@example.com")
    services.invitation_accept(invitation=bobs.invitations.get(), actor=client_user)

    html = signed_in(colleague).get(url(bobs, "personal")).content.decode()

    assert url(bobs, "personal") in post_forms(html)
    assert "Secret Lane" not in html


def test_htmx_profile_request_returns_the_partial(therapist, active_client, signed_in):
    response = signed_in(therapist).get(
        url(active_client), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="client-profile"
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert html.strip().startswith("<article")
    assert "<html" not in html
    assert 'id="client-list"' not in html
    assert "Maya Patel" in html


def test_plain_profile_request_includes_the_list(therapist, active_client, signed_in):
    html = signed_in(therapist).get(url(active_client)).content.decode()

    assert "<html" in html
    assert 'id="client-list"' in html


def test_open_client_is_marked_current_in_the_list(therapist, active_client, signed_in):
    pending_relationship(therapist, full_name="Pat Pending", email="pat@example.com")

    html = signed_in(therapist).get(url(active_client)).content.decode()

    current = re.findall(r'<li class="current">\s*<a href="([^"]*)"', html)
    assert current == [url(active_client)]


def test_archived_profile_shows_the_archived_list(therapist, active_client, signed_in):
    pending_relationship(therapist, full_name="Pat Pending", email="pat@example.com")
    services.relationship_archive(relationship=active_client, actor=active_client.therapist)

    html = signed_in(therapist).get(url(active_client, "preferences")).content.decode()

    listing = html.split('id="client-list"')[1].split("</ul>")[0]
    assert "Maya Patel" in listing
    assert "Pat Pending" not in listing
    assert url(active_client, "restore") in post_forms(html)
    assert url(active_client, "preferences") not in post_forms(html)


def test_pending_profile_shows_invitation_and_resend(therapist, signed_in):
    relationship = pending_relationship(therapist, full_name="Pat Pending", email="pat@example.com")

    html = signed_in(therapist).get(url(relationship)).content.decode()

    assert "Invitation to sign up sent to pat@example.com" in html
    assert url(relationship, "resend-invitation") in post_forms(html)


@pytest.mark.parametrize("htmx", [False, True])
def test_every_view_writes_an_audit_event(therapist, supervisor, active_client, htmx, signed_in):
    headers = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "client-profile"} if htmx else {}
    for user in (therapist, supervisor, therapist):
        signed_in(user).get(url(active_client), **headers)

    events = AuditEvent.objects.filter(action="client.view").order_by("id")
    assert [event.actor for event in events] == [therapist, supervisor, therapist]
    assert {event.client_id for event in events} == {active_client.client_id}
    assert {event.object_id for event in events} == {str(active_client.public_id)}
    assert [event.actor_role for event in events] == ["therapist", "supervisor", "therapist"]


def test_denied_view_writes_no_client_view_event(colleague, active_client, signed_in):
    signed_in(colleague).get(url(active_client))

    assert not AuditEvent.objects.filter(action="client.view").exists()


# Section forms ----------------------------------------------------------------------------
def test_personal_information_saves(therapist, active_client, signed_in):
    response = signed_in(therapist).post(url(active_client, "personal"), PERSONAL)

    fresh = CareRelationship.objects.get(pk=active_client.pk)
    assert response.status_code == 302
    assert response["Location"] == url(active_client, "personal")
    assert fresh.phone == "+1 415-555-0132"
    assert fresh.date_of_birth == datetime.date(1990, 4, 3)
    assert fresh.gender == "Woman"
    assert fresh.address == "1 Main St\nSpringfield"
    event = AuditEvent.objects.get(action="client.update_personal")
    assert sorted(event.detail["fields"]) == ["address", "date_of_birth", "gender", "phone"]
    assert "Springfield" not in str(event.detail)


def test_htmx_section_post_returns_the_section(therapist, active_client, signed_in):
    response = signed_in(therapist).post(
        url(active_client, "personal"), PERSONAL, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="personal"
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert html.strip().startswith('<section id="personal"')
    assert "Saved." in html
    assert 'value="+1 415-555-0132"' in html


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({**PERSONAL, "phone": "12345"}, "phone", "phone number"),
        ({**PERSONAL, "phone": "call me"}, "phone", "Enter a phone number"),
        (
            {**PERSONAL, "date_of_birth": "2999-01-01"},
            "date_of_birth",
            "This date is in the future.",
        ),
        ({**PERSONAL, "date_of_birth": "31/31/1990"}, "date_of_birth", "Enter a valid date."),
    ],
)
def test_refused_personal_information_changes_nothing(
    therapist, active_client, data, field, message, signed_in
):
    before = snapshot(active_client)

    response = signed_in(therapist).post(url(active_client, "personal"), data)

    assert response.status_code == 200
    errors = field_errors(response, field)
    assert errors and message in errors[0]
    assert snapshot(active_client) == before
    assert not AuditEvent.objects.filter(action="client.update_personal").exists()


def test_birth_date_tomorrow_is_refused(therapist, active_client, signed_in):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)

    response = signed_in(therapist).post(
        url(active_client, "personal"), {**PERSONAL, "date_of_birth": tomorrow.isoformat()}
    )

    assert field_errors(response, "date_of_birth") == ["This date is in the future."]
    assert CareRelationship.objects.get(pk=active_client.pk).date_of_birth is None


def test_emergency_contact_saves_and_refuses_bad_email(therapist, active_client, signed_in):
    browser = signed_in(therapist)
    good = {
        "emergency_name": "Raj Patel",
        "emergency_relationship": "Brother",
        "emergency_phone": "212 736 5000",
        "emergency_email": "raj@example.com",
    }

    assert browser.post(url(active_client, "emergency"), good).status_code == 302
    saved = snapshot(active_client)
    assert saved["emergency_phone"] == "+1 212-736-5000"
    assert saved["emergency_email"] == "raj@example.com"

    response = browser.post(
        url(active_client, "emergency"),
        {**good, "emergency_name": "Changed", "emergency_email": "raj@"},
    )
    assert response.status_code == 200
    assert field_errors(response, "emergency_email") == ["Enter a valid email address."]
    assert snapshot(active_client) == saved


def test_htmx_refused_section_returns_the_section_with_errors(therapist, active_client, signed_in):
    response = signed_in(therapist).post(
        url(active_client, "emergency"),
        {"emergency_email": "nope"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="emergency",
    )

    html = response.content.decode()
    assert html.strip().startswith('<section id="emergency"')
    assert field_errors(response, "emergency_email") == ["Enter a valid email address."]


def test_preferences_change_billing_type_and_messaging(therapist, active_client, signed_in):
    response = signed_in(therapist).post(
        url(active_client, "preferences"), {"billing_type": "not_billed"}
    )

    fresh = CareRelationship.objects.get(pk=active_client.pk)
    assert response.status_code == 302
    assert fresh.billing_type == "not_billed"
    assert fresh.messaging_enabled is False  # an unticked checkbox is "off"


def test_preferences_refuse_unknown_or_missing_billing_type(therapist, active_client, signed_in):
    browser = signed_in(therapist)
    before = snapshot(active_client)

    for value in ("", "barter"):
        response = browser.post(
            url(active_client, "preferences"), {"billing_type": value, "messaging_enabled": "on"}
        )
        assert response.status_code == 200
        assert field_errors(response, "billing_type")
    assert snapshot(active_client) == before


def test_preferences_without_billing(practice, therapist, active_client, signed_in):
    practice.billing_enabled = False
    practice.save()

    response = signed_in(therapist).post(
        url(active_client, "preferences"), {"billing_type": "insurance"}
    )

    fresh = CareRelationship.objects.get(pk=active_client.pk)
    assert response.status_code == 302
    assert fresh.billing_type == "cash_pay"
    assert fresh.messaging_enabled is False


def test_section_post_ignores_fields_of_other_sections(
    therapist, colleague, active_client, signed_in
):
    """SECURITY A4: only the section's own fields are written."""
    signed_in(therapist).post(
        url(active_client, "personal"),
        {
            **PERSONAL,
            "state": "ended",
            "therapist": colleague.pk,
            "billing_type": "insurance",
            "emergency_name": "Nobody",
        },
    )

    fresh = CareRelationship.objects.get(pk=active_client.pk)
    assert fresh.state == CareState.ACTIVE
    assert fresh.therapist == therapist
    assert fresh.billing_type == "cash_pay"
    assert fresh.emergency_name == ""


@pytest.mark.parametrize("section", ["personal", "emergency", "preferences"])
@pytest.mark.parametrize(
    "persona", ["supervisor", "colleague", "outsider", "practice_admin", "client_user"]
)
def test_section_post_by_anyone_but_the_owner_is_404(
    request, active_client, section, persona, signed_in
):
    before = snapshot(active_client)
    browser = signed_in(request.getfixturevalue(persona))

    response = browser.post(url(active_client, section), {**PERSONAL, "billing_type": "insurance"})

    assert response.status_code == 404
    assert snapshot(active_client) == before


@pytest.mark.parametrize("section", ["personal", "emergency", "preferences"])
def test_section_get_shows_its_tab_read_first(therapist, active_client, section, signed_in):
    response = signed_in(therapist).get(url(active_client, section))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'aria-current="page">' in html
    assert '<details class="edit-on-demand">' in html  # the form opens on demand (Edit)
    assert '<details class="edit-on-demand" open>' not in html


def test_a_refused_save_keeps_the_form_open_with_its_error(therapist, active_client, signed_in):
    response = signed_in(therapist).post(
        url(active_client, "personal"), {**PERSONAL, "date_of_birth": "2999-01-01"}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert '<details class="edit-on-demand" open>' in html
    assert snapshot(active_client)["date_of_birth"] is None


@pytest.mark.parametrize("htmx", [False, True])
def test_archived_client_details_cannot_be_changed(therapist, active_client, htmx, signed_in):
    services.relationship_archive(relationship=active_client, actor=active_client.therapist)
    before = snapshot(active_client)
    headers = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "personal"} if htmx else {}
    browser = signed_in(therapist)

    response = browser.post(url(active_client, "personal"), PERSONAL, **headers)

    assert response.status_code == (200 if htmx else 302)
    assert redirect_target(response) == url(active_client, "personal")
    assert snapshot(active_client) == before
    html = browser.get(url(active_client, "personal")).content.decode()
    assert "Restore this client before changing their record." in html


def test_awaiting_consent_details_answer_404(therapist, signed_in):
    """A client awaiting approval has no record to write to: every record URL is 404."""
    account("erin@example.com", "Erin Existing")
    relationship = pending_relationship(
        therapist, full_name="Erin Existing", email="erin@example.com"
    )
    before = snapshot(relationship)

    response = signed_in(therapist).post(url(relationship, "personal"), PERSONAL)

    assert response.status_code == 404
    assert snapshot(relationship) == before


def test_two_clients_do_not_share_details(therapist, active_client, signed_in):
    other = active_relationship(therapist, full_name="Noor Haddad", email="noor@example.com")

    signed_in(therapist).post(url(active_client, "personal"), PERSONAL)

    assert snapshot(other)["address"] == ""


def test_profile_of_an_archived_client_asked_to_reconnect_shows_awaiting_approval_once(
    client, therapist, active_client
):
    from caseload.clients import services

    services.relationship_archive(relationship=active_client, actor=active_client.therapist)
    services.relationship_restore(relationship=active_client, actor=active_client.therapist)
    client.force_login(therapist)

    page = client.get(f"/clients/{active_client.public_id}/").content.decode()

    profile = page[page.index('id="profile-name"') :]
    assert profile.count(">Awaiting approval<") == 1

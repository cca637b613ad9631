"""Practice admin pages: settings, members and the audit log (no clinical access)."""

from __future__ import annotations

import pytest

from caseload.audit.models import AuditEvent
from caseload.audit.services import audit_record
from caseload.clients import services
from caseload.practices.models import Practice, telehealth_link
from tests.factories import pending_relationship

pytestmark = pytest.mark.django_db


SETTINGS = {
    "name": "Riverside Therapy",
    "time_zone": "Europe/London",
    "billing_enabled": "on",
    "booking_weeks_ahead": "4",
    "cancellation_window_hours": "24",
    "reminders": "off",
}


def test_admin_sees_settings_and_members(
    practice, practice_admin, therapist, colleague, supervisor, signed_in
):
    response = signed_in(practice_admin).get("/practice/")

    html = response.content.decode()
    assert response.status_code == 200
    assert f'value="{practice.name}"' in html
    for name in ("Alice Rivera", "Bob Lee", "Helen Brooks", "Priya Shah"):
        assert name in html
    # Alice's supervisor is shown beside her.
    alice_row = html.split("Alice Rivera")[1].split("</tr>")[0]
    assert "Helen Brooks" in alice_row


def test_admin_does_not_see_another_practices_members(practice_admin, outsider, signed_in):
    assert "Charlie Day" not in signed_in(practice_admin).get("/practice/").content.decode()


def test_admin_saves_settings(practice, practice_admin, signed_in):
    response = signed_in(practice_admin).post("/practice/", SETTINGS)

    fresh = Practice.objects.get(pk=practice.pk)
    assert response.status_code == 302
    assert response["Location"] == "/practice/"
    assert fresh.name == "Riverside Therapy"
    assert fresh.time_zone == "Europe/London"
    assert fresh.billing_enabled is True
    assert fresh.child_accounts_enabled is False
    event = AuditEvent.objects.get(action="practice.update_settings")
    assert event.actor == practice_admin
    assert "child_accounts_enabled" in event.detail["fields"]


def test_admin_turns_on_scheduling_settings(practice, practice_admin, signed_in):
    response = signed_in(practice_admin).post(
        "/practice/",
        {
            **SETTINGS,
            "booking_requests_enabled": "on",
            "booking_weeks_ahead": "6",
            "cancellation_window_hours": "48",
            "reminders": "both",
            "telehealth_url_template": "https://meet.example.org/caseload-{room}",
        },
    )

    assert response.status_code == 302
    fresh = Practice.objects.get(pk=practice.pk)
    assert fresh.booking_requests_enabled is True
    assert fresh.booking_weeks_ahead == 6
    assert fresh.cancellation_window_hours == 48
    assert fresh.reminder_offsets == (48, 24)
    assert (
        telehealth_link(fresh.telehealth_url_template, "r00m")
        == "https://meet.example.org/caseload-r00m"
    )


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (
            {**SETTINGS, "telehealth_url_template": "https://meet.example.org/fixed"},
            "telehealth_url_template",
        ),
        (
            {**SETTINGS, "telehealth_url_template": "http://meet.example.org/{room}"},
            "telehealth_url_template",
        ),
        (
            {**SETTINGS, "telehealth_url_template": "https://{room}.example.org/"},
            "telehealth_url_template",
        ),
        ({**SETTINGS, "booking_weeks_ahead": "0"}, "booking_weeks_ahead"),
        ({**SETTINGS, "cancellation_window_hours": "500"}, "cancellation_window_hours"),
        ({**SETTINGS, "reminders": "72"}, "reminders"),
        ({**SETTINGS, "time_zone": "Mars/Olympus"}, "time_zone"),
        ({**SETTINGS, "name": ""}, "name"),
        ({}, "name"),
    ],
)
def test_bad_settings_change_nothing(practice, practice_admin, data, field, signed_in):
    before = Practice.objects.values().get(pk=practice.pk)

    response = signed_in(practice_admin).post("/practice/", data)

    assert response.status_code == 200
    assert f'id="id_{field}_error"' in response.content.decode()
    assert Practice.objects.values().get(pk=practice.pk) == before


def test_settings_change_takes_effect_on_add_client(practice, practice_admin, therapist, signed_in):
    signed_in(practice_admin).post(
        "/practice/", {**SETTINGS, "name": "P", "time_zone": "UTC", "billing_enabled": ""}
    )

    page = signed_in(therapist).get("/clients/add/").content.decode()

    assert 'name="billing_type"' not in page
    assert 'name="is_child"' not in page


def test_audit_log_lists_this_practices_events(
    practice_admin, therapist, outsider, active_client, signed_in
):
    signed_in(therapist).get(f"/clients/{active_client.public_id}/")
    pending_relationship(outsider, full_name="Elsewhere Client", email="elsewhere@example.com")

    response = signed_in(practice_admin).get("/practice/audit/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "client.view" in html
    assert "alice@example.com" in html
    assert "Elsewhere Client" not in html
    assert "charlie@example.com" not in html


def test_audit_log_pages(practice_admin, therapist, active_client, signed_in):
    for _ in range(60):
        audit_record(
            action="client.view", actor=therapist, client=active_client.client, obj=active_client
        )
    admin = signed_in(practice_admin)

    first = admin.get("/practice/audit/").content.decode()
    second = admin.get("/practice/audit/", {"page": "2"}).content.decode()
    junk = admin.get("/practice/audit/", {"page": "x' OR 1=1"})

    assert "Page 1 of 2" in first
    assert "Page 2 of 2" in second
    assert junk.status_code == 200


@pytest.mark.parametrize(
    "persona", ["therapist", "supervisor", "outsider", "client_user", "guardian_user"]
)
def test_practice_pages_are_404_for_everyone_but_admins(request, practice, persona, signed_in):
    before = Practice.objects.values().get(pk=practice.pk)
    browser = signed_in(request.getfixturevalue(persona))

    assert browser.get("/practice/").status_code == 404
    assert browser.get("/practice/audit/").status_code == 404
    assert browser.post("/practice/", SETTINGS).status_code == 404
    assert Practice.objects.values().get(pk=practice.pk) == before


def test_admin_has_no_clinical_access(practice_admin, active_client, signed_in):
    services.relationship_update_details(
        relationship=active_client,
        section="personal",
        values={"address": "1 Secret Lane"},
        actor=active_client.therapist,
    )
    browser = signed_in(practice_admin)

    assert browser.get("/clients/").status_code == 404
    assert browser.get(f"/clients/{active_client.public_id}/").status_code == 404
    assert "Secret Lane" not in browser.get("/practice/audit/").content.decode()


def test_settings_service_refuses_anyone_but_the_practices_admin(practice, therapist):
    from caseload.practices.services import practice_update_settings

    with pytest.raises(PermissionError):
        practice_update_settings(practice=practice, values={"name": "Taken over"}, actor=therapist)
    practice.refresh_from_db()
    assert practice.name != "Taken over"

"""The calendar feed end to end: a clinician makes a feed address on the Calendar feed page,
a calendar app (plain HTTP) reads it, it parses with icalendar and names nobody; revoked, it
is gone. And the client sees the join link and turns reminders off in the portal."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import icalendar
import requests
from django.utils import timezone
from playwright.sync_api import Page, expect

from caseload.scheduling.models import ReminderPreference
from caseload.visits import services as visit_services
from tests.e2e.conftest import link_path, sign_in
from tests.e2e.test_accessibility import serious_violations

JOIN_TEMPLATE = "https://meet.example.com/{room}"


def schedule(relationship: Any, in_days: int, modality: str = "in_person") -> Any:
    return visit_services.session_schedule(
        relationship=relationship,
        actor=relationship.therapist,
        starts_at=timezone.now() + timedelta(days=in_days),
        duration_minutes=50,
        modality=modality,
    )


def test_a_feed_made_on_its_page_parses_names_nobody_and_dies_when_revoked(
    page: Page, live_server: Any, therapist: Any, active_client: Any
) -> None:
    active_client.practice.telehealth_url_template = JOIN_TEMPLATE
    active_client.practice.save(update_fields=["telehealth_url_template"])
    video = schedule(active_client, 2, modality="telehealth")
    schedule(active_client, 9)

    sign_in(page, therapist.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Calendar").click()
    page.get_by_role("link", name="Calendar feed").click()
    expect(page.get_by_role("heading", name="Calendar feed")).to_be_visible()
    page.get_by_role("button", name="Create a feed address").click()
    expect(page.get_by_text("Copy the address now: it won't be shown again.")).to_be_visible()
    address = page.get_by_label("Your feed address").input_value()
    assert re.search(r"/calendar/feeds/[\w-]{43}\.ics$", address)
    assert not serious_violations(page)

    url = f"{live_server.url}{link_path(address)}"
    response = requests.get(url, timeout=10)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "Maya" not in response.text and "Patel" not in response.text
    events = icalendar.Calendar.from_ical(response.content).walk("VEVENT")
    assert sorted(str(event["SUMMARY"]) for event in events) == [
        "Session · M.P.",
        "Video session · M.P.",
    ]
    assert JOIN_TEMPLATE.replace("{room}", video.video_room) in response.text

    page.goto("/calendar/feeds/")  # (a reload would post the form again: a second feed)
    expect(page.get_by_role("cell", name="Active")).to_be_visible()
    page.get_by_role("button", name=re.compile("^Revoke the feed")).click()
    expect(page.get_by_text("Calendar feed revoked.")).to_be_visible()
    assert requests.get(url, timeout=10).status_code == 404


def test_the_client_joins_from_the_portal_and_turns_reminders_off(
    page: Page, live_server: Any, active_client: Any, client_user: Any
) -> None:
    practice = active_client.practice
    practice.telehealth_url_template = JOIN_TEMPLATE
    practice.reminders = "both"
    practice.save(update_fields=["telehealth_url_template", "reminders"])
    video = schedule(active_client, 3, modality="telehealth")

    sign_in(page, client_user.email)
    join = page.get_by_role("link", name="Join video session")
    expect(join).to_have_attribute("href", JOIN_TEMPLATE.replace("{room}", video.video_room))
    expect(join).to_have_attribute("rel", "noopener noreferrer")
    page.get_by_role("link", name="Session reminders").click()
    expect(page.get_by_role("heading", name="Sessions and reminders")).to_be_visible()
    assert not serious_violations(page)
    page.get_by_label("Email me a reminder before each session").uncheck()
    page.get_by_role("button", name="Save reminder choice").click()
    expect(page.get_by_text("Your reminder choice is saved.")).to_be_visible()
    expect(page.get_by_label("Email me a reminder before each session")).not_to_be_checked()
    assert ReminderPreference.objects.get(relationship=active_client).email_opt_out

"""The client workspace in the browser: tabs with their own URLs, read first and edit on demand."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from tests.e2e.conftest import BrowserProblems, sign_in


def tabs(page: Page) -> Any:
    return page.get_by_role("navigation", name="Profile")


def test_tabs_have_their_own_urls_and_back_returns_to_the_last_one(
    page: Page, therapist: Any, active_client: Any, browser_problems: BrowserProblems
) -> None:
    profile = f"/clients/{active_client.public_id}/"
    sign_in(page, therapist.email)
    page.goto(profile)
    expect(tabs(page).get_by_role("link", name="Overview")).to_have_attribute(
        "aria-current", "page"
    )

    tabs(page).get_by_role("link", name="Sessions & Notes").click()
    expect(page).to_have_url(re.compile(rf"{profile}sessions/$"))
    expect(tabs(page).get_by_role("link", name="Sessions & Notes")).to_have_attribute(
        "aria-current", "page"
    )
    tabs(page).get_by_role("link", name="Emergency Contact").click()
    expect(page).to_have_url(re.compile(rf"{profile}emergency/$"))
    expect(page.get_by_role("heading", name="Emergency Contact")).to_be_visible()

    page.go_back()
    expect(page).to_have_url(re.compile(rf"{profile}sessions/$"))
    expect(tabs(page).get_by_role("link", name="Sessions & Notes")).to_have_attribute(
        "aria-current", "page"
    )
    page.go_back()
    expect(page).to_have_url(re.compile(rf"{profile}$"))

    page.goto(profile + "plans/")  # a bookmarked tab opens as itself
    expect(tabs(page).get_by_role("link", name="Treatment Plans")).to_have_attribute(
        "aria-current", "page"
    )


def test_two_sections_are_read_first_and_edited_in_place_with_a_field_error(
    page: Page, therapist: Any, active_client: Any, browser_problems: BrowserProblems
) -> None:
    profile = f"/clients/{active_client.public_id}/"
    sign_in(page, therapist.email)

    page.goto(profile + "personal/")
    personal = page.get_by_role("region", name="Personal Information")
    expect(personal.get_by_label("Phone")).to_be_hidden()  # read first: no open form
    personal.get_by_text("Edit personal information").click()
    personal.get_by_label("Date of birth").fill("2999-01-01")
    personal.get_by_label("Pronouns").fill("she/her")
    personal.get_by_role("button", name="Save").click()
    personal = page.get_by_role("region", name="Personal Information")
    expect(personal.locator(".error")).to_be_visible()  # the message is on the field
    expect(personal.get_by_label("Pronouns")).to_have_value("she/her")  # nothing lost
    personal.get_by_label("Date of birth").fill("1990-04-03")
    personal.get_by_role("button", name="Save").click()
    personal = page.get_by_role("region", name="Personal Information")
    expect(personal.get_by_role("status")).to_have_text("Saved.")
    expect(personal.locator("dl")).to_contain_text("she/her")
    expect(personal.get_by_label("Phone")).to_be_hidden()

    tabs(page).get_by_role("link", name="Emergency Contact").click()
    emergency = page.get_by_role("region", name="Emergency Contact")
    emergency.get_by_text("Edit emergency contact").click()
    emergency.get_by_label("Name").fill("Raj Patel")
    emergency.get_by_label("Email").fill("not-an-email")
    emergency.get_by_role("button", name="Save").click()
    emergency = page.get_by_role("region", name="Emergency Contact")
    expect(emergency.locator(".error")).to_contain_text("email")
    emergency.get_by_label("Email").fill("raj@example.com")
    emergency.get_by_role("button", name="Save").click()
    emergency = page.get_by_role("region", name="Emergency Contact")
    expect(emergency.locator("dl")).to_contain_text("Raj Patel")
    expect(emergency.locator("dl")).to_contain_text("raj@example.com")

    page.goto(profile)  # the overview shows what was saved
    expect(page.locator("#overview")).to_contain_text("she/her")


def test_leaving_a_tab_with_unsaved_changes_asks_first(
    page: Page, therapist: Any, active_client: Any
) -> None:
    profile = f"/clients/{active_client.public_id}/"
    sign_in(page, therapist.email)
    page.goto(profile + "personal/")
    personal = page.get_by_role("region", name="Personal Information")
    personal.get_by_text("Edit personal information").click()
    personal.get_by_label("Phone").fill("+1 415 555 0100")

    asked: list[str] = []

    def dismiss(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    tabs(page).get_by_role("link", name="Sessions & Notes").click()
    expect(page).to_have_url(re.compile(rf"{profile}personal/$"))  # stayed
    assert asked and "unsaved changes" in asked[0]

    page.once("dialog", lambda dialog: dialog.accept())
    tabs(page).get_by_role("link", name="Sessions & Notes").click()
    expect(page).to_have_url(re.compile(rf"{profile}sessions/$"))


def test_the_overview_of_a_demo_client_shows_her_figures_each_linked_to_its_tab(
    page: Page, browser_problems: BrowserProblems
) -> None:
    from django.core.management import call_command

    from caseload.clients.models import CareRelationship

    call_command("load_demo", verbosity=0)
    maya = CareRelationship.objects.get(client__email="maya.patel@demo.caseload.test")
    profile = f"/clients/{maya.public_id}/"
    sign_in(page, "therapist@demo.caseload.test", "caseload-demo-2026")
    page.goto(profile)

    overview = page.locator("#overview")
    expect(overview).to_contain_text("she/her")
    expect(overview).to_contain_text("born 14 Jun 1991")
    expect(overview).to_contain_text("+1 212 555 0147")
    expect(overview).to_contain_text("Cash Pay")
    expect(overview).to_contain_text("F41.1 Generalized anxiety disorder")
    expect(overview).to_contain_text("1 note due")
    expect(overview).to_contain_text(re.compile(r"PHQ-9\s+8 · Mild"))
    expect(overview).to_contain_text("down 8 since the first score of 16")
    expect(overview).to_contain_text(re.compile(r"GAD-7\s+7 · Mild"))
    expect(overview).to_contain_text("2 documents to review")
    expect(overview).to_contain_text("1 unread message")
    expect(overview).to_contain_text("Expires within 14 days")
    expect(overview.get_by_role("region", name="What's next")).to_have_count(0)  # all done

    for card, tab in [
        ("Clinical Information", "clinical/"),
        ("Sessions & Notes", "sessions/"),
        ("Documents", "documents/"),
        ("Messaging", "messaging/"),
        ("Treatment Plans", "plans/"),
    ]:
        title = re.compile(rf"^{re.escape(card)}\W*$")
        link = overview.get_by_role("region", name=title).get_by_role("link", name=title)
        expect(link).to_have_attribute("href", profile + tab)

    page.goto("/")  # the home page lists today's session and what's due
    expect(page.get_by_role("main")).to_contain_text("Maya Patel")
    expect(page.get_by_role("main")).to_contain_text("Documents to review")

"""MC-5 in the browser: the client list's search and filter, with and without JavaScript."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from caseload.clients import services
from tests.e2e.conftest import assert_not_reloaded, mark_page, sign_in
from tests.factories import active_child_relationship, active_relationship, pending_relationship


@pytest.fixture
def caseload(therapist: Any, colleague: Any) -> dict[str, Any]:
    """Alice's clients in every list state, and one of Bob's she must never see."""
    archived = active_relationship(therapist, full_name="Omar Haddad", email="omar@example.com")
    services.relationship_archive(relationship=archived, actor=archived.therapist)
    return {
        "sofia": pending_relationship(
            therapist, full_name="Sofía Márquez", email="sofia@example.com"
        ),
        "maya": active_relationship(therapist, full_name="Maya Patel", email="maya@example.com"),
        "ava": active_child_relationship(
            therapist,
            child_name="Ava Okafor",
            guardian_name="Sam Okafor",
            guardian_email="sam@example.com",
        ),
        "omar": archived,
        "bobs": pending_relationship(colleague, full_name="Sofia Bell", email="sbell@example.com"),
    }


def client_names(page: Page) -> Locator:
    return page.get_by_role("complementary", name="Client list").locator(".client-name")


def test_search_and_filter_narrow_the_list_in_place_and_a_click_opens_a_bookmarkable_profile(
    page: Page, therapist: Any, caseload: dict[str, Any]
) -> None:
    sign_in(page, therapist.email)
    page.goto("/clients/")  # sign-in lands on the home page
    expect(client_names(page)).to_have_text(["Ava Okafor", "Maya Patel", "Sofía Márquez"])
    mark_page(page)

    search = page.get_by_role("searchbox", name="Search by name or email")
    search.press_sequentially("sofia")  # no accent, lower case
    expect(client_names(page)).to_have_text(["Sofía Márquez"])
    expect(page).to_have_url(re.compile(r"/clients/\?q=sofia&filter=active$"))
    search.fill("sam okafor")  # a child matches by the guardian's name
    expect(client_names(page)).to_have_text(["Ava Okafor"])
    search.fill("nobody")
    expect(page.get_by_role("complementary", name="Client list")).to_contain_text(
        "No clients match “nobody”."
    )
    search.fill("")
    expect(client_names(page)).to_have_count(3)

    page.get_by_role("radio", name="Archived").check()
    expect(client_names(page)).to_have_text(["Omar Haddad"])
    assert_not_reloaded(page)

    page.get_by_role("link", name=re.compile("Omar Haddad")).click()
    profile = page.locator("#client-profile")
    expect(profile.get_by_role("heading", name="Omar Haddad")).to_be_visible()
    expect(profile.get_by_role("heading", name="Omar Haddad")).to_be_focused()
    expect(page).to_have_url(re.compile(rf"/clients/{caseload['omar'].public_id}/$"))
    expect(page.get_by_role("link", name=re.compile("Omar Haddad"))).to_have_attribute(
        "aria-current", "page"
    )
    assert_not_reloaded(page)

    page.go_back()
    expect(page).to_have_url(re.compile(r"/clients/\?(q=&)?filter=archived$"))
    expect(page.get_by_role("radio", name="Archived")).to_be_checked()
    expect(client_names(page)).to_have_text(["Omar Haddad"])
    expect(profile).to_contain_text("Select a client to see their profile.")
    page.wait_for_load_state()  # back reloaded the list page (no page snapshots are kept)

    page.go_forward()  # the bookmarkable URL serves the whole page
    expect(profile.get_by_role("heading", name="Omar Haddad")).to_be_visible()
    expect(page.get_by_role("radio", name="Archived")).to_be_checked()


def test_search_filter_and_profile_links_work_without_javascript(
    new_context: Callable[..., BrowserContext], therapist: Any, caseload: dict[str, Any]
) -> None:
    page = new_context(java_script_enabled=False).new_page()
    sign_in(page, therapist.email)
    page.goto("/clients/")  # sign-in lands on the home page
    page.get_by_role("searchbox", name="Search by name or email").fill("SOFIA")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"/clients/\?q=SOFIA&filter=active$"))
    expect(client_names(page)).to_have_text(["Sofía Márquez"])

    page.get_by_role("searchbox", name="Search by name or email").fill("")
    page.get_by_role("radio", name="Archived").check()
    page.get_by_role("button", name="Search").click()
    expect(client_names(page)).to_have_text(["Omar Haddad"])

    page.get_by_role("link", name=re.compile("Omar Haddad")).click()
    expect(page).to_have_url(re.compile(rf"/clients/{caseload['omar'].public_id}/"))
    expect(
        page.locator("#client-profile").get_by_role("heading", name="Omar Haddad")
    ).to_be_visible()
    expect(page.get_by_role("radio", name="Archived")).to_be_checked()

    page.get_by_role("radio", name="Active").check()
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=re.compile("Maya Patel")).click()
    expect(page).to_have_url(re.compile(rf"/clients/{caseload['maya'].public_id}/"))
    expect(
        page.locator("#client-profile").get_by_role("heading", name="Maya Patel")
    ).to_be_visible()

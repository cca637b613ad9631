"""A large caseload in the browser: count, sorting and paging with 600 clients; a phone."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.e2e.conftest import sign_in
from tests.factories import CareRelationshipFactory, ClientFactory, TherapySessionFactory


@pytest.fixture
def six_hundred(therapist: Any) -> list[Any]:
    relationships = [
        CareRelationshipFactory(
            therapist=therapist, client=ClientFactory(full_name=f"Client {n:04d}")
        )
        for n in range(600)
    ]
    # One client has the soonest session, another one later: "next session" sorts them first.
    soon, later = relationships[437], relationships[12]
    TherapySessionFactory(
        relationship=soon, starts_at=timezone.now() + timedelta(days=1), status="scheduled"
    )
    TherapySessionFactory(
        relationship=later, starts_at=timezone.now() + timedelta(days=3), status="scheduled"
    )
    return relationships


def names(page: Page) -> Any:
    return page.get_by_role("complementary", name="Client list").locator(".client-name")


def test_600_clients_are_counted_sorted_and_paged(
    page: Page, therapist: Any, six_hundred: list[Any]
) -> None:
    sign_in(page, therapist.email)
    page.goto("/clients/")

    expect(page.locator("#client-count")).to_have_text("600 active")
    expect(names(page)).to_have_count(50)
    expect(names(page).first).to_have_text("Client 0000")

    page.get_by_role("link", name="Show more").click()
    expect(names(page)).to_have_count(100)
    expect(names(page).nth(50)).to_have_text("Client 0050")

    page.locator("[data-sort-link=next]").click()
    expect(names(page).first).to_have_text("Client 0437")
    expect(names(page).nth(1)).to_have_text("Client 0012")
    expect(page.get_by_role("complementary", name="Client list")).to_contain_text("Next:")
    expect(page).to_have_url(re.compile(r"sort=next"))

    page.locator("#client-search-input").fill("Client 059")
    expect(names(page)).to_have_count(10)
    expect(page.locator("#client-count")).to_have_text("10 active")

    names(page).first.focus()  # arrow keys move through the list, Enter opens
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=2)).to_have_text(re.compile(r"Client 059\d"))


def test_on_a_phone_list_and_profile_are_two_screens(
    page: Page, therapist: Any, active_client: Any
) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, therapist.email)
    page.goto("/clients/")
    expect(names(page).first).to_be_visible()

    names(page).first.click()
    expect(page.get_by_role("heading", name="Maya Patel")).to_be_visible()
    expect(page.get_by_role("complementary", name="Client list")).to_be_hidden()
    back = page.get_by_role("link", name="← My Clients")
    expect(back).to_be_visible()

    tab_bar = page.get_by_role("navigation", name="Profile")
    overflow = tab_bar.evaluate(
        "nav => [nav.scrollWidth, nav.clientWidth, getComputedStyle(nav).overflowX]"
    )
    assert overflow[0] > overflow[1] and overflow[2] in ("auto", "scroll")  # scrolls sideways
    for link in [*tab_bar.get_by_role("link").all()[:3], back]:
        box = link.bounding_box()
        assert box is not None and box["height"] >= 44, box

    back.click()
    expect(names(page).first).to_be_visible()

"""MC-1, MC-2, MC-3: adding clients from the "Add a New Client" modal, and their sign-up."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from caseload.clients.models import CareRelationship, Client
from tests.e2e.conftest import link_path, sign_in
from tests.factories import PASSWORD


def _invitation_link(to: str) -> str:
    sent = [m for m in mail.outbox if to in m.to]
    assert sent, f"no email to {to}; outbox: {[m.to for m in mail.outbox]}"
    found = re.search(r"https?://\S+/invite/[^/\s]+/", sent[-1].body)
    assert found, sent[-1].body
    return link_path(found.group(0))


def test_adult_client_is_added_invited_signs_up_and_the_pending_badge_clears(
    page: Page, new_context, therapist, run_tasks
) -> None:
    sign_in(page, therapist.email)
    expect(page).to_have_url(re.compile(r"/clients/$"))
    page.get_by_role("link", name="Add a New Client").click()
    dialog = page.get_by_role("dialog", name="Add a New Client")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Full name")).to_be_focused()
    dialog.get_by_label("Full name").fill("Nora Quinn")
    dialog.get_by_label("Email", exact=True).fill("nora@example.com")
    dialog.get_by_label("Billing type").select_option(label="Insurance")
    dialog.get_by_role("button", name="Create").click()

    expect(page).to_have_url(re.compile(r"/clients/[0-9a-f-]{36}/"))
    profile = page.locator("#client-profile")
    expect(profile.get_by_role("heading", name="Nora Quinn")).to_be_visible()
    expect(profile.get_by_role("heading", name="What's next")).to_be_visible()
    sidebar = page.get_by_role("complementary", name="Client list")
    entry = sidebar.get_by_role("link", name=re.compile("Nora Quinn"))
    expect(entry).to_contain_text("Pending")

    assert run_tasks() >= 1
    link = _invitation_link("nora@example.com")

    invitee = new_context().new_page()
    invitee.goto(link)
    invitee.get_by_role("button", name="Create your account").click()
    expect(invitee).to_have_url(re.compile(r"/accounts/signup/"))
    email = invitee.get_by_label(re.compile("^Email"))
    if not email.input_value():
        email.fill("nora@example.com")
    expect(email).to_have_value("nora@example.com")
    invitee.get_by_label("Password", exact=True).fill(PASSWORD)
    invitee.get_by_label(re.compile(r"Password \(again\)")).fill(PASSWORD)
    invitee.get_by_role("button", name="Sign Up").click()
    expect(invitee).to_have_url(re.compile(r"/portal/$"))
    expect(invitee.get_by_role("button", name="Sign out")).to_be_visible()
    expect(invitee.get_by_text("Alice Rivera")).to_be_visible()

    page.reload()
    entry = sidebar.get_by_role("link", name=re.compile("Nora Quinn"))
    expect(entry).to_be_visible()
    expect(entry).not_to_contain_text("Pending")
    expect(page.locator("#client-profile .badges")).not_to_contain_text("Pending")
    relationship = CareRelationship.objects.get(client__email="nora@example.com")
    assert relationship.state == "active"
    assert relationship.billing_type == "insurance"
    assert Client.objects.get(email="nora@example.com").account is not None

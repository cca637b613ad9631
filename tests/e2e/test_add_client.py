"""MC-1 … MC-4 in the browser: the "Add a New Client" modal, invitations and sign-up."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import BrowserContext, Locator, Page, expect

from caseload.clients.models import CareRelationship, Client, Invitation
from tests.e2e.conftest import invitation_link, sign_in, sign_up_from_invitation
from tests.factories import active_relationship

PROFILE_URL = re.compile(r"/clients/[0-9a-f-]{36}/")


def open_add_client_modal(page: Page) -> Locator:
    page.get_by_role("link", name="Add a New Client").click()
    dialog = page.get_by_role("dialog", name="Add a New Client")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Full name", exact=True)).to_be_focused()  # focus moved in
    return dialog


def sidebar_entry(page: Page, name: str) -> Locator:
    sidebar = page.get_by_role("complementary", name="Client list")
    return sidebar.get_by_role("link", name=re.compile(name))


def test_adult_client_is_added_invited_signs_up_and_the_pending_badge_clears(
    page: Page, new_context: Callable[..., BrowserContext], therapist: Any, run_tasks: Any
) -> None:
    sign_in(page, therapist.email)
    page.goto("/clients/")  # sign-in lands on the home page
    expect(page).to_have_url(re.compile(r"/clients/$"))
    dialog = open_add_client_modal(page)
    dialog.get_by_label("Full name", exact=True).fill("Nora Quinn")
    dialog.get_by_label("Email", exact=True).fill("nora@example.com")
    dialog.get_by_label("Billing type").select_option(label="Insurance")
    dialog.get_by_role("button", name="Create").click()

    expect(page).to_have_url(PROFILE_URL)
    expect(dialog).to_be_hidden()
    profile = page.locator("#client-profile")
    expect(profile.get_by_role("heading", name="Nora Quinn")).to_be_visible()
    whats_next = profile.get_by_role("region", name="What's next")
    expect(whats_next).to_be_visible()
    expect(whats_next.get_by_role("link", name="Schedule the first session")).to_be_visible()
    expect(profile.locator(".badges")).to_contain_text("Pending")
    expect(sidebar_entry(page, "Nora Quinn")).to_contain_text("Pending")
    expect(sidebar_entry(page, "Nora Quinn")).to_have_attribute("aria-current", "page")

    assert run_tasks() >= 1
    link = invitation_link("nora@example.com")

    invitee = new_context().new_page()  # a fresh browser: nobody signed in
    sign_up_from_invitation(invitee, link, "nora@example.com")
    expect(invitee.get_by_role("region", name="Your care")).to_contain_text("Alice Rivera")

    page.reload()
    expect(sidebar_entry(page, "Nora Quinn")).to_be_visible()
    expect(sidebar_entry(page, "Nora Quinn")).not_to_contain_text("Pending")
    expect(page.locator("#client-profile .badges")).not_to_contain_text("Pending")
    relationship = CareRelationship.objects.get(client__email="nora@example.com")
    assert relationship.state == "active"
    assert relationship.billing_type == "insurance"
    assert relationship.client.account is not None


def test_bad_input_in_the_modal_shows_each_field_error_there_and_creates_nothing(
    page: Page, therapist: Any
) -> None:
    sign_in(page, therapist.email)
    page.goto("/clients/")  # sign-in lands on the home page
    # Keyboard only: open the modal from its button, type, submit with Enter.
    opener = page.get_by_role("link", name="Add a New Client")
    opener.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Add a New Client")
    expect(dialog.get_by_label("Full name", exact=True)).to_be_focused()
    page.keyboard.press("Tab")
    expect(dialog.get_by_label("Email", exact=True)).to_be_focused()
    page.keyboard.type("not-an-email")
    page.keyboard.press("Enter")

    expect(dialog).to_be_visible()
    expect(page).to_have_url(re.compile(r"/clients/$"))
    name = dialog.get_by_label("Full name", exact=True)
    email = dialog.get_by_label("Email", exact=True)
    billing = dialog.get_by_label("Billing type")
    expect(name).to_have_accessible_description("Enter the client's full name.")
    expect(email).to_have_accessible_description("Enter a valid email address.")
    expect(billing).to_have_accessible_description("Choose a billing type.")
    for field in (name, email, billing):
        expect(field).to_have_attribute("aria-invalid", "true")
    expect(name).to_be_focused()  # the first field with an error
    expect(email).to_have_value("not-an-email")  # what was typed is kept

    # Fixing one field keeps the others' errors, still inside the modal.
    name.fill("Nora Quinn")
    dialog.get_by_role("button", name="Create").click()
    expect(email).to_have_accessible_description("Enter a valid email address.")
    expect(name).not_to_have_attribute("aria-invalid", "true")
    expect(dialog).to_be_visible()
    assert not Client.objects.exists()
    assert not CareRelationship.objects.exists()
    assert not Invitation.objects.exists()

    # Closing the modal with the keyboard leaves the list as it was.
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()
    expect(page.get_by_role("complementary", name="Client list")).to_contain_text("No clients yet")


def test_child_client_is_added_with_a_guardian_who_signs_up_and_sees_the_childs_care(
    page: Page, new_context: Callable[..., BrowserContext], therapist: Any, run_tasks: Any
) -> None:
    sign_in(page, therapist.email)
    page.goto("/clients/")  # sign-in lands on the home page
    dialog = open_add_client_modal(page)
    expect(dialog.get_by_label("Guardian's email")).to_be_hidden()
    dialog.get_by_label("Child Account").check()
    expect(dialog.get_by_label("Email", exact=True)).to_be_hidden()
    expect(dialog.get_by_role("group", name="Parent or guardian")).to_be_visible()
    dialog.get_by_label("Child's full name").fill("Leo Brandt")
    dialog.get_by_label("Guardian's full name").fill("Jana Brandt")
    dialog.get_by_label("Guardian's email").fill("jana@example.com")
    dialog.get_by_label("Relationship").select_option(label="Parent")
    dialog.get_by_label("Billing type").select_option(label="Cash Pay")
    dialog.get_by_role("button", name="Create").click()

    expect(page).to_have_url(PROFILE_URL)
    profile = page.locator("#client-profile")
    expect(profile.get_by_role("heading", name="Leo Brandt")).to_be_visible()
    expect(profile).to_contain_text("Guardian: Jana Brandt (Parent), jana@example.com")
    expect(sidebar_entry(page, "Leo Brandt")).to_contain_text("Pending")

    assert run_tasks() >= 1
    guardian = new_context().new_page()
    sign_up_from_invitation(guardian, invitation_link("jana@example.com"), "jana@example.com")
    care = guardian.get_by_role("region", name="Your care")
    expect(care).to_contain_text("Leo Brandt with Alice Rivera")

    child = Client.objects.get(full_name="Leo Brandt")
    assert child.is_child and child.email is None and child.account is None
    assert child.guardianship.account is not None
    assert child.guardianship.account.email == "jana@example.com"
    page.reload()
    expect(sidebar_entry(page, "Leo Brandt")).not_to_contain_text("Pending")


def test_existing_account_gets_a_connection_request_and_the_profile_opens_once_approved(
    page: Page,
    new_context: Callable[..., BrowserContext],
    therapist: Any,
    colleague: Any,
    run_tasks: Any,
) -> None:
    active_relationship(colleague, full_name="Lena Ortiz", email="lena@example.com")

    sign_in(page, therapist.email)
    page.goto("/clients/")  # sign-in lands on the home page
    dialog = open_add_client_modal(page)
    dialog.get_by_label("Full name", exact=True).fill("Lena Ortiz")
    dialog.get_by_label("Email", exact=True).fill("LENA@example.com")
    dialog.get_by_label("Billing type").select_option(label="Cash Pay")
    dialog.get_by_role("button", name="Create").click()

    expect(page).to_have_url(PROFILE_URL)
    profile = page.locator("#client-profile")
    expect(profile.get_by_role("heading", name="Lena Ortiz")).to_be_visible()
    expect(profile.locator(".badges")).to_contain_text("Awaiting approval")
    expect(profile).to_contain_text("lena@example.com")
    expect(profile).to_contain_text("already has a Caseload account")
    expect(profile.get_by_role("heading", name="Personal Information")).to_have_count(0)
    expect(profile.get_by_role("region", name="What's next")).to_have_count(0)
    expect(sidebar_entry(page, "Lena Ortiz")).to_contain_text("Awaiting approval")
    assert Client.objects.filter(email__iexact="lena@example.com").count() == 1

    assert run_tasks() >= 1
    client = new_context().new_page()
    sign_in(client, "lena@example.com")
    expect(client).to_have_url(re.compile(r"/portal/$"))
    requests = client.get_by_role("region", name="Connection requests")
    expect(requests).to_contain_text("Alice Rivera")
    requests.get_by_role("button", name="Approve").click()
    expect(client.get_by_role("status")).to_contain_text("You are now connected with Alice Rivera")
    expect(client.get_by_role("region", name="Your care")).to_contain_text("Alice Rivera")
    expect(requests).to_contain_text("No requests waiting")

    page.reload()
    expect(profile.get_by_role("heading", name="Personal Information")).to_be_visible()
    expect(profile.locator(".badges")).not_to_contain_text("Awaiting approval")
    expect(sidebar_entry(page, "Lena Ortiz")).not_to_contain_text("Awaiting approval")

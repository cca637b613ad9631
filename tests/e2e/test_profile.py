"""MC-6 in the browser: profile sections edited in place, with validation."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from playwright.sync_api import Page, expect

from tests.e2e.conftest import assert_not_reloaded, mark_page, sign_in


def test_personal_information_shows_field_errors_in_place_then_saves_a_formatted_phone(
    page: Page, therapist: Any, active_client: Any
) -> None:
    sign_in(page, therapist.email)
    page.goto(f"/clients/{active_client.public_id}/personal/")
    mark_page(page)
    personal = page.get_by_role("region", name="Personal Information")
    personal.get_by_text("Edit personal information").click()  # read first: Edit opens the form
    phone = personal.get_by_label("Phone")
    birth_date = personal.get_by_label("Date of birth")
    tomorrow = date.today() + timedelta(days=2)

    phone.fill("12345")
    birth_date.fill(tomorrow.isoformat())
    personal.get_by_label("Gender").fill("Female")
    personal.get_by_role("button", name="Save").click()

    expect(phone).to_have_attribute("aria-invalid", "true")
    expect(phone).to_have_accessible_description(
        "Include the country code for numbers outside the US. "
        "This phone number doesn't exist. Check the digits."
    )
    expect(personal.get_by_text("This date is in the future.")).to_be_visible()
    expect(phone).to_be_focused()
    expect(phone).to_have_value("12345")
    assert_not_reloaded(page)
    active_client.refresh_from_db()
    assert (active_client.phone, active_client.date_of_birth, active_client.gender) == (
        "",
        None,
        "",
    )

    phone.fill("(415) 555-0132")
    birth_date.fill("1990-04-12")
    personal.get_by_role("button", name="Save").click()
    expect(personal.get_by_role("status")).to_have_text("Saved.")
    expect(personal.locator("dl")).to_contain_text("+1 415-555-0132")  # shown as text again
    expect(phone).to_be_hidden()  # the form closed after saving
    assert_not_reloaded(page)
    active_client.refresh_from_db()
    assert active_client.phone == "+1 415-555-0132"
    assert active_client.date_of_birth == date(1990, 4, 12)
    assert active_client.gender == "Female"

    page.reload()  # saved for real, not just shown
    personal = page.get_by_role("region", name="Personal Information")
    expect(personal.locator("dl")).to_contain_text("+1 415-555-0132")
    personal.get_by_text("Edit personal information").click()
    expect(personal.get_by_label("Phone")).to_have_value("+1 415-555-0132")

"""Booking in the browser (SCH-2): a client requests one of the therapist's free times in the
portal, the therapist finds it on the calendar and approves it on the home page, and the client
sees the session among
their upcoming sessions; then cancels it, told first that it isn't a late cancel."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.utils import timezone
from playwright.sync_api import BrowserContext, Page, expect

from caseload.scheduling.models import BookingRequest, BookingStatus
from caseload.scheduling.tests.booking_helpers import ready, zone
from caseload.visits.models import SessionStatus
from tests.e2e.conftest import sign_in
from tests.e2e.test_accessibility import serious_violations


def test_a_client_requests_a_slot_the_therapist_approves_and_the_client_sees_it(
    page: Page,
    new_context: Callable[..., BrowserContext],
    therapist: Any,
    active_client: Any,
    client_user: Any,
) -> None:
    free = ready(active_client, cancellation_window_hours=24)
    chosen = free[-1]  # weeks away: outside the cancellation window
    local = timezone.localtime(chosen, zone(active_client))
    slot_label = f"{local:%A %-d %B} at {local:%H:%M}"
    shown = f"{local:%A %-d %B %Y}, {local:%H:%M}"

    client = new_context().new_page()
    sign_in(client, client_user.email)
    client.get_by_role("link", name="Your sessions and session requests").click()
    client.get_by_role("link", name="Request a session").click()
    expect(client.get_by_role("heading", name="Request a session")).to_be_visible()
    violations = serious_violations(client)
    client.get_by_role("link", name=slot_label).click()
    confirm = client.get_by_role("region", name="Confirm your request")
    expect(confirm).to_contain_text(f"{local:%A %-d %B %Y} at {local:%H:%M}")
    violations += serious_violations(client)
    confirm.get_by_role("button", name="Request this time").click()
    expect(client).to_have_url(re.compile(r"/portal/sessions/$"))
    expect(client.locator("#messages")).to_contain_text("Requested — awaiting approval")
    expect(client.locator(".booking-pending")).to_contain_text(shown)
    expect(client.get_by_role("button", name="Withdraw")).to_be_visible()
    violations += serious_violations(client)

    sign_in(page, therapist.email)
    # The calendar draws the requested time; it leads to the home page's list to answer it.
    page.goto(f"/calendar/?view=week&date={local:%Y-%m-%d}")
    drawn = page.get_by_role(
        "link", name=re.compile(rf"^{local:%H:%M} to .*, session request from Maya Patel")
    )
    expect(drawn).to_contain_text("awaiting your approval")
    violations += serious_violations(page)
    drawn.click()
    expect(page).to_have_url(re.compile(r"/#home-bookings$"))
    requests = page.get_by_role("region", name="Booking requests")
    expect(requests).to_contain_text("Maya Patel")
    expect(requests).to_contain_text(f"{local:%a %-d %b %Y, %H:%M}")
    violations += serious_violations(page)
    requests.get_by_role("button", name=re.compile(r"^Approve Maya Patel")).click()
    expect(page.locator("#messages")).to_contain_text("Approved: Maya Patel's session on")
    expect(page.get_by_role("button", name=re.compile(r"^Approve"))).to_have_count(0)

    client.reload()
    upcoming = client.locator(".upcoming-sessions")
    expect(upcoming).to_contain_text(shown)
    expect(client.get_by_role("link", name="Request a session")).to_be_visible()
    upcoming.get_by_role("link", name=re.compile(r"^Cancel the session")).click()
    expect(client.get_by_text("so it is not a late cancel")).to_be_visible()
    violations += serious_violations(client)
    client.get_by_role("button", name="Cancel the session").click()
    expect(client.locator("#messages")).to_contain_text("Session cancelled.")
    expect(client.locator(".upcoming-sessions")).to_contain_text("No upcoming sessions.")

    assert violations == []
    booking = BookingRequest.objects.select_related("session").get()
    assert booking.status == BookingStatus.APPROVED
    assert booking.session is not None
    assert booking.session.starts_at == chosen
    assert booking.session.status == SessionStatus.CANCELLED

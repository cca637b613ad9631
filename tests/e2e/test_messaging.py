"""MSG-1, MSG-2 in the browser: a therapist and a client message each other live.

Two browser contexts (two people) on the ASGI live server, which serves the websocket too.
Every step that should happen live is checked without a reload of the page that shows it.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Locator, Page, expect

from caseload.messaging.models import Message
from tests.e2e.conftest import assert_not_reloaded, mark_page, sign_in

LIVE_MS = 2_000  # "within about a second", with room for a loaded machine


def conversation(page: Page) -> Locator:
    return page.locator("[data-conversation]")


def send(page: Page, text: str) -> None:
    page.get_by_role("textbox", name="Message").fill(text)
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("textbox", name="Message")).to_have_value("")


def test_therapist_and_client_exchange_messages_live_and_the_unread_badge_follows(
    asgi_live_server: Any,
    new_context: Any,
    therapist: Any,
    client_user: Any,
    active_client: Any,
) -> None:
    therapist_page = new_context(base_url=asgi_live_server.url).new_page()
    client_page = new_context(base_url=asgi_live_server.url).new_page()
    sign_in(therapist_page, therapist.email)
    sign_in(client_page, client_user.email)
    therapist_page.goto("/clients/")
    badge = therapist_page.get_by_role("complementary", name="Client list").locator(
        f'[data-unread-for="{active_client.public_id}"]'
    )
    expect(badge).to_be_hidden()
    mark_page(therapist_page)

    # The client opens the conversation from the portal and writes twice.
    client_page.get_by_role("link", name="Alice Rivera").click()
    expect(client_page.get_by_role("heading", name="Messages with Alice Rivera")).to_be_visible()
    expect(conversation(client_page)).to_contain_text("No messages yet.")
    send(client_page, "Could we move Thursday's session?")
    expect(badge).to_have_text("1 unread message", timeout=LIVE_MS)
    send(client_page, "Any time after 3 works for me.")
    expect(badge).to_have_text("2 unread messages", timeout=LIVE_MS)
    expect(client_page.locator("[data-read-state]")).to_have_text(["Sent", "Sent"])
    assert_not_reloaded(therapist_page)

    # The therapist opens Maya's profile in place and then its Messaging tab: seen, so read.
    therapist_page.get_by_role("link", name=re.compile("Maya Patel")).click()
    therapist_page.get_by_role("navigation", name="Profile").get_by_role(
        "link", name="Messaging"
    ).click()
    expect(therapist_page).to_have_url(
        re.compile(rf"/clients/{active_client.public_id}/messaging/$")
    )
    messaging = therapist_page.locator("#messaging")
    messaging.scroll_into_view_if_needed()
    expect(conversation(therapist_page)).to_contain_text("Could we move Thursday's session?")
    expect(conversation(therapist_page)).to_contain_text("Any time after 3 works for me.")
    expect(badge).to_be_hidden(timeout=LIVE_MS)
    expect(client_page.locator("[data-read-state]")).to_have_text(["Read", "Read"], timeout=LIVE_MS)
    assert_not_reloaded(therapist_page)

    # The therapist replies; the client's open conversation shows it without a reload.
    mark_page(client_page)
    send(therapist_page, "Yes: Thursday at 4pm. See https://example.org/directions")
    reply = conversation(client_page).locator("[data-message]").last
    expect(reply).to_contain_text("Yes: Thursday at 4pm.", timeout=LIVE_MS)
    expect(reply.get_by_role("link", name="https://example.org/directions")).to_have_attribute(
        "href", "https://example.org/directions"
    )
    expect(therapist_page.locator("[data-read-state]").last).to_have_text("Read", timeout=LIVE_MS)
    assert_not_reloaded(client_page)

    # While the therapist's conversation is open, a new message appears there and is read.
    send(client_page, "Perfect, thank you!")
    expect(conversation(therapist_page).locator("[data-message]").last).to_contain_text(
        "Perfect, thank you!", timeout=LIVE_MS
    )
    expect(client_page.locator("[data-read-state]").last).to_have_text("Read", timeout=LIVE_MS)
    expect(badge).to_be_hidden()
    assert_not_reloaded(therapist_page)
    assert_not_reloaded(client_page)

    texts = list(Message.objects.order_by("pk").values_list("text", "read_at"))
    assert [text for text, _ in texts] == [
        "Could we move Thursday's session?",
        "Any time after 3 works for me.",
        "Yes: Thursday at 4pm. See https://example.org/directions",
        "Perfect, thank you!",
    ]
    assert all(read_at is not None for _, read_at in texts)


def test_a_message_stays_unread_until_the_conversation_is_on_screen(
    asgi_live_server: Any,
    new_context: Any,
    therapist: Any,
    client_user: Any,
    active_client: Any,
) -> None:
    """Loaded into the page is not read: the conversation must be scrolled into view.

    A short window keeps the Messaging tab's conversation below the fold when it opens.
    """
    from caseload.messaging import services

    services.message_send(relationship=active_client, actor=client_user, text="Hello Alice")
    page = new_context(
        base_url=asgi_live_server.url, viewport={"width": 1280, "height": 300}
    ).new_page()
    sign_in(page, therapist.email)
    page.goto(f"/clients/{active_client.public_id}/messaging/")
    badge = page.get_by_role("complementary", name="Client list").locator(
        f'[data-unread-for="{active_client.public_id}"]'
    )
    expect(badge).to_have_text("1 unread message")
    expect(conversation(page)).to_contain_text("Hello Alice")
    expect(conversation(page)).not_to_be_in_viewport()

    page.wait_for_timeout(1_000)
    expect(badge).to_have_text("1 unread message")
    assert Message.objects.get().read_at is None

    page.locator("#messaging").scroll_into_view_if_needed()
    expect(badge).to_be_hidden(timeout=LIVE_MS)
    expect(page.get_by_role("button", name="Mark as read")).to_be_hidden()
    assert Message.objects.get().read_by == therapist

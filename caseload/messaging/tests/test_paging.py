"""Bounded conversations: a page of the newest messages, "Show earlier" for the page before,
with htmx and without JavaScript, for the therapist and the portal; and the Overview card."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.core.exceptions import BadRequest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from caseload.audit.models import AuditEvent
from caseload.clients.access import get_relationship_for_user
from caseload.clients.services import account_holder
from caseload.lib.http import SYSTEM
from caseload.messaging import services
from caseload.messaging.models import Message, Side
from caseload.messaging.sections import messaging_context, messaging_overview
from caseload.messaging.selectors import PAGE_SIZE, UnknownCursor, conversation_page
from tests.factories import active_relationship

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def converse(relationship, count: int) -> list[Message]:
    """`count` messages a minute apart, "Message 000" the oldest; the client (a child's
    guardian) writes the even ones, the therapist the odd ones."""
    start = timezone.now() - timedelta(minutes=count + 1)
    client = account_holder(relationship.client)
    return Message.objects.bulk_create(
        Message(
            relationship=relationship,
            sender=client if n % 2 == 0 else relationship.therapist,
            sender_side=Side.CLIENT if n % 2 == 0 else Side.THERAPIST,
            text=f"Message {n:03d}",
            created_at=start + timedelta(minutes=n),
        )
        for n in range(count)
    )


def texts(html: str) -> list[str]:
    return re.findall(r"Message \d{3}", html)


def tab_url(relationship) -> str:
    return f"/clients/{relationship.public_id}/messaging/"


def items_url(relationship) -> str:
    return f"/clients/{relationship.public_id}/messages/"


def portal_url(relationship) -> str:
    return f"/portal/messages/{relationship.public_id}/"


def earlier_control(html: str) -> tuple[str, str] | None:
    """(href, hx-get) of the "Show earlier messages" control, if there is one."""
    found = re.search(
        r'<li class="show-earlier"[^>]*><a id="messages-earlier" href="([^"]+)" hx-get="([^"]+)"',
        html,
    )
    return (unescape(found.group(1)), unescape(found.group(2))) if found else None


def numbers(n: range) -> list[str]:
    return [f"Message {i:03d}" for i in n]


# The selector ------------------------------------------------------------------------------
class TestConversationPage:
    def test_the_newest_page_is_oldest_to_newest_with_the_cursor_of_the_page_before(
        self, active_client
    ):
        sent = converse(active_client, 45)

        page = conversation_page(active_client, Side.THERAPIST)

        assert [m.text for m in page.messages] == numbers(range(25, 45))
        assert page.earlier == sent[25].public_id and page.is_latest

    def test_pages_before_walk_back_to_the_first_message_without_gaps(self, active_client):
        converse(active_client, 45)
        seen: list[str] = []
        page = conversation_page(active_client, Side.THERAPIST)
        seen[:0] = [m.text for m in page.messages]
        while page.earlier is not None:
            page = conversation_page(active_client, Side.THERAPIST, before=page.earlier)
            assert not page.is_latest and len(page.messages) <= PAGE_SIZE
            seen[:0] = [m.text for m in page.messages]

        assert seen == numbers(range(45))

    def test_messages_sent_in_the_same_instant_are_neither_lost_nor_repeated(
        self, active_client, client_user
    ):
        now = timezone.now()
        Message.objects.bulk_create(
            Message(
                relationship=active_client,
                sender=client_user,
                sender_side=Side.CLIENT,
                text=f"Message {n:03d}",
                created_at=now,
            )
            for n in range(PAGE_SIZE + 5)
        )

        newest = conversation_page(active_client, Side.THERAPIST)
        before = conversation_page(active_client, Side.THERAPIST, before=newest.earlier)

        assert [m.text for m in before.messages + newest.messages] == numbers(range(PAGE_SIZE + 5))
        assert before.earlier is None

    def test_a_message_of_another_conversation_is_an_unknown_cursor(
        self, active_client, child_client
    ):
        elsewhere = converse(child_client, 1)[0]

        with pytest.raises(UnknownCursor):
            conversation_page(active_client, Side.THERAPIST, before=elsewhere.public_id)


# The therapist's Messaging tab ---------------------------------------------------------------
class TestMessagingTab:
    def test_the_tab_opens_at_the_newest_messages_with_show_earlier(
        self, therapist, active_client, signed_in
    ):
        sent = converse(active_client, 30)

        html = signed_in(therapist).get(tab_url(active_client)).content.decode()

        assert texts(html) == numbers(range(10, 30))
        href, hx_get = earlier_control(html)
        assert href == f"{tab_url(active_client)}?before={sent[10].public_id}"
        assert hx_get == f"{items_url(active_client)}?before={sent[10].public_id}"

    def test_a_short_conversation_has_no_show_earlier(self, therapist, active_client, signed_in):
        converse(active_client, PAGE_SIZE)

        html = signed_in(therapist).get(tab_url(active_client)).content.decode()

        assert texts(html) == numbers(range(PAGE_SIZE))
        assert earlier_control(html) is None
        assert "Show the latest messages" not in html

    def test_show_earlier_with_htmx_returns_the_page_before_and_its_own_control(
        self, therapist, active_client, signed_in
    ):
        sent = converse(active_client, 50)
        browser = signed_in(therapist)

        html = browser.get(items_url(active_client), {"before": sent[30].public_id}, **HTMX)

        body = html.content.decode()
        assert html.status_code == 200
        assert texts(body) == numbers(range(10, 30))
        assert body.lstrip().startswith('<li class="show-earlier"')  # above the older messages
        assert earlier_control(body)[1].endswith(f"?before={sent[10].public_id}")
        last = browser.get(items_url(active_client), {"before": sent[10].public_id}).content
        assert texts(last.decode()) == numbers(range(10))
        assert earlier_control(last.decode()) is None

    def test_showing_earlier_is_audited_with_the_count_only(
        self, therapist, active_client, signed_in
    ):
        sent = converse(active_client, 30)

        signed_in(therapist).get(items_url(active_client), {"before": sent[10].public_id})

        event = AuditEvent.objects.filter(action="message.list").latest("pk")
        assert event.actor == therapist and event.detail == {"count": 10}
        assert "Message" not in str(event.detail)

    def test_the_tab_audits_the_count_it_shows(self, therapist, active_client, signed_in):
        converse(active_client, 30)

        signed_in(therapist).get(tab_url(active_client))

        assert AuditEvent.objects.get(action="message.list").detail == {"count": PAGE_SIZE}

    def test_without_javascript_the_section_shows_the_page_before(self, therapist, active_client):
        sent = converse(active_client, 50)
        gated = get_relationship_for_user(therapist, active_client.public_id)

        conversation = messaging_context(therapist, gated, SYSTEM, before=str(sent[30].public_id))[
            "conversation"
        ]

        assert [m.text for m in conversation.messages] == numbers(range(10, 30))
        assert conversation.earlier == sent[10].public_id
        assert not conversation.is_latest
        assert conversation.page_url == tab_url(active_client)

    def test_without_javascript_the_tab_link_shows_the_page_before(
        self, therapist, active_client, signed_in
    ):
        """Needs the workspace to pass the tab's `?before=` to the section's context."""
        sent = converse(active_client, 50)

        response = signed_in(therapist).get(tab_url(active_client), {"before": sent[30].public_id})

        html = response.content.decode()
        assert texts(html) == numbers(range(10, 30))
        assert earlier_control(html)[0] == f"{tab_url(active_client)}?before={sent[10].public_id}"
        assert f'<a href="{tab_url(active_client)}">Show the latest messages</a>' in html
        assert "data-earlier-page" in html  # the live channel doesn't append to an earlier page

    @pytest.mark.parametrize(
        "query",
        [
            {"before": "not-a-uuid"},
            {"before": "00000000-0000-0000-0000-000000000000"},
            {"after": "00000000-0000-0000-0000-000000000000"},
            {"after": "x", "before": "y"},
        ],
    )
    def test_a_bad_cursor_is_a_bad_request(self, therapist, active_client, signed_in, query):
        converse(active_client, 3)

        response = signed_in(therapist).get(items_url(active_client), query, **HTMX)

        assert response.status_code == 400
        assert not AuditEvent.objects.filter(action="message.list").exists()

    def test_both_cursors_together_are_a_bad_request(self, therapist, active_client, signed_in):
        sent = converse(active_client, 3)

        response = signed_in(therapist).get(
            items_url(active_client),
            {"after": sent[0].public_id, "before": sent[2].public_id},
        )

        assert response.status_code == 400

    def test_another_conversations_message_is_a_bad_cursor(
        self, therapist, active_client, child_client, signed_in
    ):
        converse(active_client, 3)
        elsewhere = converse(child_client, 1)[0]

        response = signed_in(therapist).get(
            items_url(active_client), {"before": elsewhere.public_id}
        )

        assert response.status_code == 400

    @pytest.mark.parametrize("before", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
    def test_a_bad_cursor_on_the_tab_is_a_bad_request(self, therapist, active_client, before):
        converse(active_client, 3)
        gated = get_relationship_for_user(therapist, active_client.public_id)

        with pytest.raises(BadRequest):
            messaging_context(therapist, gated, SYSTEM, before=before)

    def test_the_live_channels_fetch_after_the_newest_still_returns_only_newer(
        self, therapist, client_user, active_client, signed_in
    ):
        sent = converse(active_client, 30)
        services.message_send(relationship=active_client, actor=client_user, text="Message 999")

        response = signed_in(therapist).get(items_url(active_client), {"after": sent[-1].public_id})

        assert texts(response.content.decode()) == ["Message 999"]
        assert earlier_control(response.content.decode()) is None

    def test_the_tab_costs_the_same_for_5_and_200_messages(self, therapist, signed_in):
        short = active_relationship(therapist, full_name="Short Talk", email="short@example.com")
        long = active_relationship(therapist, full_name="Long Talk", email="long@example.com")
        converse(short, 5)
        converse(long, 200)
        browser = signed_in(therapist)

        def cost(relationship) -> tuple[int, int]:
            browser.get(tab_url(relationship))  # warm: session activity, caches
            with CaptureQueriesContext(connection) as captured:
                html = browser.get(tab_url(relationship)).content.decode()
            return len(captured), html.count("data-message=")

        (few, shown_few), (many, shown_many) = cost(short), cost(long)
        assert many == few
        assert (shown_few, shown_many) == (5, PAGE_SIZE)

    def test_show_earlier_costs_the_same_deep_in_a_long_conversation(
        self, therapist, active_client, signed_in
    ):
        sent = converse(active_client, 200)
        browser = signed_in(therapist)

        def cost(cursor: Message) -> int:
            with CaptureQueriesContext(connection) as captured:
                browser.get(items_url(active_client), {"before": cursor.public_id})
            return len(captured)

        cost(sent[190])
        assert cost(sent[25]) == cost(sent[190])


# The portal ----------------------------------------------------------------------------------
class TestPortalConversation:
    def test_the_portal_opens_at_the_newest_messages(self, client_user, active_client, signed_in):
        sent = converse(active_client, 30)

        html = signed_in(client_user).get(portal_url(active_client)).content.decode()

        assert texts(html) == numbers(range(10, 30))
        href, hx_get = earlier_control(html)
        assert href == f"{portal_url(active_client)}?before={sent[10].public_id}"
        assert hx_get == f"{portal_url(active_client)}items/?before={sent[10].public_id}"

    def test_without_javascript_the_portal_shows_the_page_before(
        self, client_user, active_client, signed_in
    ):
        sent = converse(active_client, 30)

        response = signed_in(client_user).get(
            portal_url(active_client), {"before": sent[10].public_id}
        )

        html = response.content.decode()
        assert texts(html) == numbers(range(10))
        assert earlier_control(html) is None
        assert f'<a href="{portal_url(active_client)}">Show the latest messages</a>' in html

    def test_show_earlier_with_htmx_in_the_portal(self, client_user, active_client, signed_in):
        sent = converse(active_client, 30)

        response = signed_in(client_user).get(
            f"{portal_url(active_client)}items/", {"before": sent[10].public_id}, **HTMX
        )

        assert texts(response.content.decode()) == numbers(range(10))
        event = AuditEvent.objects.filter(action="message.list").latest("pk")
        assert event.actor == client_user and event.detail == {"count": 10}

    @pytest.mark.parametrize("before", ["nope", "00000000-0000-0000-0000-000000000000"])
    def test_a_bad_cursor_in_the_portal_is_a_bad_request(
        self, client_user, active_client, signed_in, before
    ):
        converse(active_client, 3)
        browser = signed_in(client_user)

        assert browser.get(portal_url(active_client), {"before": before}).status_code == 400
        assert (
            browser.get(f"{portal_url(active_client)}items/", {"before": before}).status_code == 400
        )

    def test_the_portal_conversation_costs_the_same_for_5_and_200_messages(
        self, client_user, active_client, signed_in
    ):
        browser = signed_in(client_user)
        converse(active_client, 5)
        browser.get(portal_url(active_client))
        with CaptureQueriesContext(connection) as few:
            browser.get(portal_url(active_client))

        converse(active_client, 195)
        with CaptureQueriesContext(connection) as many:
            html = browser.get(portal_url(active_client)).content.decode()

        assert len(many) == len(few)
        assert html.count("data-message=") == PAGE_SIZE


# The Overview card ---------------------------------------------------------------------------
class TestOverviewCard:
    def card(self, browser, relationship) -> str:
        html = browser.get(f"/clients/{relationship.public_id}/").content.decode()
        found = re.search(
            r'<section class="overview-card" aria-labelledby="overview-messaging-title">.*?'
            r"</section>",
            html,
            re.S,
        )
        return found.group(0) if found else ""

    def test_the_owner_sees_unread_messages_from_the_client_linked_to_the_tab(
        self, therapist, client_user, active_client, signed_in
    ):
        services.message_send(relationship=active_client, actor=client_user, text="one")
        services.message_send(relationship=active_client, actor=client_user, text="two")
        services.message_send(relationship=active_client, actor=therapist, text="mine")

        card = self.card(signed_in(therapist), active_client)

        assert f'<a href="{tab_url(active_client)}">2 unread messages</a>' in card
        assert "one" not in card and "mine" not in card  # counts, never text
        assert not AuditEvent.objects.filter(action="message.list").exists()

    def test_once_read_the_card_says_so(self, therapist, client_user, active_client, signed_in):
        services.message_send(relationship=active_client, actor=client_user, text="one")
        services.message_mark_read(relationship=active_client, actor=therapist)

        card = self.card(signed_in(therapist), active_client)

        assert f'<a href="{tab_url(active_client)}">No unread messages</a>' in card
        assert "Last message" in card

    def test_the_supervisor_gets_no_messaging_card(
        self, supervisor, client_user, active_client, signed_in
    ):
        services.message_send(relationship=active_client, actor=client_user, text="one")

        assert self.card(signed_in(supervisor), active_client) == ""
        gated = get_relationship_for_user(supervisor, active_client.public_id)
        assert messaging_overview(supervisor, gated, SYSTEM) == {"messaging_overview": None}

    def test_before_signup_the_card_explains(self, therapist, signed_in):
        from tests.factories import pending_relationship

        pending = pending_relationship(therapist, full_name="Pat Pending", email="pat@example.com")

        card = self.card(signed_in(therapist), pending)

        assert "Messaging is available once the client signs up." in card

    def test_the_overview_costs_the_same_for_5_and_200_messages(self, therapist):
        short = active_relationship(therapist, full_name="Short Talk", email="short@example.com")
        long = active_relationship(therapist, full_name="Long Talk", email="long@example.com")
        converse(short, 5)
        converse(long, 200)

        def cost(relationship) -> tuple[int, int]:
            gated = get_relationship_for_user(therapist, relationship.public_id)
            with CaptureQueriesContext(connection) as captured:
                found = messaging_overview(therapist, gated, SYSTEM)["messaging_overview"]
            return len(captured), found.unread

        (few, unread_few), (many, unread_many) = cost(short), cost(long)
        assert many == few
        assert (unread_few, unread_many) == (3, 100)  # the client writes every other one

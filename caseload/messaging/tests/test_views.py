"""Messaging pages: the profile's Messaging section, the portal's Messages, the badges."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from caseload.audit.models import AuditEvent
from caseload.clients import services as client_services
from caseload.messaging import services
from caseload.messaging.models import Message
from tests.factories import account, active_relationship, pending_relationship

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def send(relationship, sender, text="Hello"):
    return services.message_send(relationship=relationship, actor=sender, text=text)


def profile(browser, relationship, **query) -> str:
    """The profile's Messaging tab."""
    response = browser.get(f"/clients/{relationship.public_id}/messaging/", query)
    assert response.status_code == 200
    return response.content.decode()


def section(html: str, element_id: str) -> str:
    found = re.search(rf'<section id="{element_id}".*?</section>', html, re.S)
    assert found, f"no section #{element_id}"
    return found.group(0)


def portal_url(relationship) -> str:
    return f"/portal/messages/{relationship.public_id}/"


# The therapist ----------------------------------------------------------------------------
class TestProfileSection:
    def test_the_conversation_shows_oldest_first_with_names_and_practice_times(
        self, therapist, client_user, active_client, signed_in
    ):
        first = send(active_client, client_user, "Can we move Thursday?")
        Message.objects.filter(pk=first.pk).update(
            created_at=datetime(2026, 3, 2, 15, 5, tzinfo=ZoneInfo("UTC"))
        )
        send(active_client, therapist, "Yes, 4pm works.")

        html = section(profile(signed_in(therapist), active_client), "messaging")

        assert html.index("Can we move Thursday?") < html.index("Yes, 4pm works.")
        assert "Maya Patel" in html and "Alice Rivera" in html
        assert "2 Mar 2026, 10:05 AM" in html  # New York, where the practice is
        assert 'name="text"' in html
        assert "Mark as read" in html  # without JavaScript, the button marks them read

    def test_own_messages_say_whether_they_were_read(
        self, therapist, client_user, active_client, signed_in
    ):
        send(active_client, therapist, "First")
        services.message_mark_read(relationship=active_client, actor=client_user)
        send(active_client, therapist, "Second")

        html = section(profile(signed_in(therapist), active_client), "messaging")

        states = re.findall(r"data-read-state>(\w+)<", html)
        assert states == ["Read", "Sent"]

    def test_text_is_plain_with_safe_clickable_links(
        self, therapist, client_user, active_client, signed_in
    ):
        send(
            active_client,
            client_user,
            '<script>alert("x")</script> <b>bold</b> see https://example.org/help?a=1&b=2 '
            "and javascript:alert(1)\nsecond line",
        )

        html = section(profile(signed_in(therapist), active_client), "messaging")

        assert "<script>alert" not in html and "<b>bold</b>" not in html
        assert "&lt;script&gt;" in html and "&lt;b&gt;bold&lt;/b&gt;" in html
        assert '<a href="https://example.org/help?a=1&amp;b=2" rel="nofollow">' in html
        assert 'href="javascript' not in html
        assert "second line" in html and "<br>second line" in html

    def test_viewing_the_conversation_is_audited_and_marks_nothing_read(
        self, therapist, client_user, active_client, signed_in
    ):
        send(active_client, client_user, "Sapphire-Secret-Word")

        profile(signed_in(therapist), active_client)

        event = AuditEvent.objects.get(action="message.list")
        assert event.actor == therapist and event.detail == {"count": 1}
        assert Message.objects.get().read_at is None

    @pytest.mark.parametrize(
        ("change", "notice"),
        [
            ("archive", "This client is archived: you can read the conversation"),
            ("messaging_off", "Messaging is turned off for this client"),
        ],
    )
    def test_a_read_only_conversation_explains_why_and_offers_no_form(
        self, therapist, client_user, active_client, change, notice, signed_in
    ):
        send(active_client, client_user, "Still here")
        if change == "archive":
            client_services.relationship_archive(
                relationship=active_client, actor=active_client.therapist
            )
        else:
            client_services.relationship_update_details(
                relationship=active_client,
                section="preferences",
                values={"messaging_enabled": False},
                actor=active_client.therapist,
            )

        html = section(profile(signed_in(therapist), active_client), "messaging")

        assert notice in html
        assert "Still here" in html
        assert 'name="text"' not in html

    def test_before_signup_the_section_explains_and_offers_nothing(self, therapist, signed_in):
        pending = pending_relationship(therapist, full_name="Pat Pending", email="pat@example.com")

        html = section(profile(signed_in(therapist), pending), "messaging")

        assert "Messaging is available once the client signs up." in html
        assert "<form" not in html and "data-message-list" not in html

    def test_the_supervisor_sees_that_messages_are_private(
        self, supervisor, client_user, active_client, signed_in
    ):
        send(active_client, client_user, "Sapphire-Secret-Word")

        page = profile(signed_in(supervisor), active_client)

        assert "private to them" in section(page, "messaging")
        assert "Sapphire" not in page
        assert "unread message" not in page
        assert not AuditEvent.objects.filter(action="message.list").exists()


class TestSending:
    def test_a_plain_post_sends_and_comes_back_to_the_section(
        self, therapist, active_client, signed_in
    ):
        response = signed_in(therapist).post(
            f"/clients/{active_client.public_id}/messages/send/", {"text": "  Hello Maya  "}
        )

        assert response.status_code == 302
        assert response["Location"] == f"/clients/{active_client.public_id}/messaging/"
        assert Message.objects.get().text == "Hello Maya"

    def test_htmx_gets_the_conversation_back_with_an_empty_form(
        self, therapist, active_client, signed_in
    ):
        response = signed_in(therapist).post(
            f"/clients/{active_client.public_id}/messages/send/", {"text": "Hello Maya"}, **HTMX
        )

        html = response.content.decode()
        assert response.status_code == 200
        assert "Hello Maya" in html and "data-conversation" in html
        assert re.search(r"<textarea[^>]*>\s*</textarea>", html)

    @pytest.mark.parametrize(
        ("text", "error"),
        [
            ("", "Write a message before sending."),
            ("   \n  ", "Write a message before sending."),
            ("z" * 5001, "A message can be at most 5,000 characters; this one has 5,001."),
        ],
    )
    @pytest.mark.parametrize("htmx", [True, False])
    def test_a_refused_message_shows_a_field_error_and_keeps_the_text(
        self, therapist, active_client, text, error, htmx, signed_in
    ):
        response = signed_in(therapist).post(
            f"/clients/{active_client.public_id}/messages/send/",
            {"text": text},
            **(HTMX if htmx else {}),
        )

        html = response.content.decode()
        assert response.status_code == 200
        assert error in html
        assert 'aria-invalid="true"' in html
        if len(text) > 100:
            assert text in html  # nothing typed is lost
        assert not Message.objects.exists()

    def test_an_archived_clients_form_post_is_refused_with_a_message(
        self, therapist, active_client, signed_in
    ):
        client_services.relationship_archive(
            relationship=active_client, actor=active_client.therapist
        )

        response = signed_in(therapist).post(
            f"/clients/{active_client.public_id}/messages/send/", {"text": "Hello"}, **HTMX
        )

        assert response.status_code == 200
        assert "This client is archived" in response.content.decode()
        assert not Message.objects.exists()

    def test_the_supervisor_cannot_send(self, supervisor, active_client, signed_in):
        response = signed_in(supervisor).post(
            f"/clients/{active_client.public_id}/messages/send/", {"text": "Hello"}
        )

        assert response.status_code == 404
        assert not Message.objects.exists()


class TestAwaitingApproval:
    """A client awaiting approval has no record URL at all (issue 9): messaging's are 404."""

    @pytest.fixture(params=["restore invitation", "connection request"])
    def awaiting(self, request, therapist, client_user, active_client):
        if request.param == "restore invitation":
            send(active_client, client_user, "Before the archive")
            client_services.relationship_archive(relationship=active_client, actor=therapist)
            client_services.relationship_restore(relationship=active_client, actor=therapist)
            return active_client
        account("lee@example.com", "Lee Park")
        return pending_relationship(therapist, full_name="Lee Park", email="lee@example.com")

    def test_every_messaging_url_is_404_for_the_therapist(self, therapist, awaiting, signed_in):
        browser = signed_in(therapist)
        base = f"/clients/{awaiting.public_id}/messages/"
        sent_before = Message.objects.count()

        for response in (
            browser.get(base),
            browser.post(f"{base}send/", {"text": "Hello"}),
            browser.post(f"{base}send/", {"text": "Hello"}, **HTMX),
            browser.post(f"{base}read/"),
        ):
            assert response.status_code == 404

        assert Message.objects.count() == sent_before
        assert not Message.objects.filter(read_at__isnull=False).exists()
        assert not AuditEvent.objects.filter(action="message.list").exists()


class TestFetchAndRead:
    def test_after_returns_only_newer_messages(
        self, therapist, client_user, active_client, signed_in
    ):
        first = send(active_client, client_user, "one")
        send(active_client, client_user, "two")
        send(active_client, therapist, "three")

        response = signed_in(therapist).get(
            f"/clients/{active_client.public_id}/messages/", {"after": str(first.public_id)}
        )

        html = response.content.decode()
        assert response.status_code == 200
        assert "one" not in html and "two" in html and "three" in html
        assert html.count("data-message=") == 2

    def test_a_malformed_after_is_a_bad_request(self, therapist, active_client, signed_in):
        response = signed_in(therapist).get(
            f"/clients/{active_client.public_id}/messages/", {"after": "'; DROP"}
        )

        assert response.status_code == 400

    def test_the_page_marks_what_it_showed_as_read(
        self, therapist, client_user, active_client, signed_in
    ):
        shown = send(active_client, client_user, "one")
        send(active_client, client_user, "two, not on screen yet")

        response = signed_in(therapist).post(
            f"/clients/{active_client.public_id}/messages/read/",
            {"through": str(shown.public_id)},
            HTTP_ACCEPT="application/json",
        )

        assert response.status_code == 200
        assert response.json() == {"ok": True}
        assert list(Message.objects.order_by("pk").values_list("read_at", flat=True))[1] is None
        assert Message.objects.filter(read_by=therapist).count() == 1

    def test_the_mark_as_read_button_works_without_javascript(
        self, therapist, client_user, active_client, signed_in
    ):
        message = send(active_client, client_user)

        response = signed_in(therapist).post(
            f"/clients/{active_client.public_id}/messages/read/",
            {"through": str(message.public_id)},
        )

        assert response.status_code == 302
        assert response["Location"] == f"/clients/{active_client.public_id}/messaging/"
        message.refresh_from_db()
        assert message.read_by == therapist


# The client list badge --------------------------------------------------------------------
class TestUnreadBadge:
    def test_the_list_shows_unread_messages_per_client(
        self, therapist, client_user, active_client, signed_in
    ):
        send(active_client, client_user, "one")
        send(active_client, client_user, "two")
        send(active_client, therapist, "mine don't count")

        html = signed_in(therapist).get("/clients/").content.decode()

        assert "2 unread messages" in html

        services.message_mark_read(relationship=active_client, actor=therapist)
        assert "unread message" not in signed_in(therapist).get("/clients/").content.decode()

    def test_the_list_counts_with_the_same_number_of_queries_whatever_the_clients(
        self, therapist, client_user, active_client, django_assert_num_queries, signed_in
    ):
        browser = signed_in(therapist)
        send(active_client, client_user)
        browser.get("/clients/")
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as one_client:
            browser.get("/clients/")
        for number in range(4):
            other = active_relationship(
                therapist, full_name=f"Client {number}", email=f"c{number}@example.com"
            )
            send(other, other.client.account, "hello")

        with django_assert_num_queries(len(one_client.captured_queries)):
            html = browser.get("/clients/").content.decode()
        assert html.count("1 unread message<") == 5


# The portal ---------------------------------------------------------------------------------
class TestPortal:
    def test_home_lists_a_conversation_per_care_relationship_with_unread_counts(
        self, therapist, client_user, active_client, signed_in
    ):
        send(active_client, therapist, "one")
        send(active_client, therapist, "two")

        html = signed_in(client_user).get("/portal/").content.decode()

        assert "Messages" in html
        assert f'href="{portal_url(active_client)}"' in html
        assert "2 unread messages" in html
        assert "one" not in html.split("Messages", 1)[1].split("Your care")[0]  # no text there

    def test_a_guardian_sees_the_childs_conversation_labelled_with_the_childs_name(
        self, therapist, guardian_user, child_client, signed_in
    ):
        send(child_client, therapist, "About Ava's session")

        home = signed_in(guardian_user).get("/portal/").content.decode()
        page = signed_in(guardian_user).get(portal_url(child_client)).content.decode()

        assert "Ava Okafor with Alice Rivera" in home
        assert "Ava Okafor: messages with Alice Rivera" in page
        assert "About Ava&#x27;s session" in page

    def test_the_client_reads_and_replies_in_the_portal(
        self, therapist, client_user, active_client, signed_in
    ):
        send(active_client, therapist, "How was the week?")
        browser = signed_in(client_user)

        page = browser.get(portal_url(active_client)).content.decode()
        assert "How was the week?" in page and "Alice Rivera" in page
        response = browser.post(f"{portal_url(active_client)}send/", {"text": "Better, thanks"})

        assert response.status_code == 302 and response["Location"] == portal_url(active_client)
        reply = Message.objects.get(text="Better, thanks")
        assert reply.sender == client_user

    def test_a_refused_portal_message_shows_the_error_on_the_page(
        self, client_user, active_client, signed_in
    ):
        response = signed_in(client_user).post(f"{portal_url(active_client)}send/", {"text": ""})

        assert response.status_code == 200
        assert "Write a message before sending." in response.content.decode()

    def test_an_archived_conversation_is_readable_but_closed(
        self, therapist, client_user, active_client, signed_in
    ):
        send(active_client, therapist, "Take care")
        client_services.relationship_archive(
            relationship=active_client, actor=active_client.therapist
        )
        browser = signed_in(client_user)

        page = browser.get(portal_url(active_client)).content.decode()
        response = browser.post(f"{portal_url(active_client)}send/", {"text": "Hello?"})

        assert "Take care" in page
        assert "This conversation is closed" in page and 'name="text"' not in page
        assert "read-only" in browser.get("/portal/").content.decode()
        assert "This conversation is" in response.content.decode()
        assert not Message.objects.filter(text="Hello?").exists()

    def test_a_removed_relationships_conversation_is_gone_from_the_portal(
        self, therapist, client_user, active_client, signed_in
    ):
        send(active_client, therapist, "Goodbye")
        client_services.relationship_remove(
            relationship=active_client, actor=active_client.therapist
        )
        browser = signed_in(client_user)

        assert browser.get(portal_url(active_client)).status_code == 404
        assert f'href="{portal_url(active_client)}"' not in browser.get("/portal/").content.decode()

    def test_someone_elses_conversation_is_404(
        self, client_user, guardian_user, active_client, child_client, signed_in
    ):
        assert signed_in(client_user).get(portal_url(child_client)).status_code == 404
        assert signed_in(guardian_user).get(portal_url(active_client)).status_code == 404
        response = signed_in(guardian_user).post(
            f"{portal_url(active_client)}send/", {"text": "sneaky"}
        )
        assert response.status_code == 404
        assert not Message.objects.exists()

    def test_portal_times_are_in_the_practice_time_zone(
        self, therapist, client_user, active_client, signed_in
    ):
        message = send(active_client, therapist, "Timed")
        Message.objects.filter(pk=message.pk).update(
            created_at=datetime(2026, 7, 1, 12, 0, tzinfo=ZoneInfo("UTC"))
        )

        page = signed_in(client_user).get(portal_url(active_client)).content.decode()

        assert "1 Jul 2026, 8:00 AM" in page  # New York in summer


class TestProfileSectionsSaved:
    def test_saving_another_section_in_place_does_not_load_the_messages(
        self, therapist, client_user, active_client, signed_in
    ):
        send(active_client, client_user, "Sapphire-Secret-Word")

        response = signed_in(therapist).post(
            f"/clients/{active_client.public_id}/personal/", {"gender": "Female"}, **HTMX
        )

        assert response.status_code == 200
        assert "Sapphire" not in response.content.decode()
        assert not AuditEvent.objects.filter(action="message.list").exists()

    def test_after_turning_messaging_off_the_messaging_tab_says_so(
        self, therapist, client_user, active_client, signed_in
    ):
        send(active_client, client_user, "Still readable")
        browser = signed_in(therapist)

        response = browser.post(
            f"/clients/{active_client.public_id}/preferences/",
            {"billing_type": "cash_pay"},  # the checkbox unticked: messaging off
            **HTMX,
        )

        assert response.status_code == 200
        messaging = section(profile(browser, active_client), "messaging")
        assert "Messaging is turned off for this client" in messaging
        assert "Still readable" in messaging and 'name="text"' not in messaging


# Audit of what the pages do ------------------------------------------------------------------
class TestAuditTrail:
    WHERE = {"REMOTE_ADDR": "203.0.113.9", "HTTP_USER_AGENT": "Caseload-Test-Browser"}

    def recorded(self, action):
        event = AuditEvent.objects.filter(action=action).latest("pk")
        assert event.request_id  # the request's id, as in the X-Request-Id header
        return event.actor, event.ip_address, event.user_agent

    def test_the_therapists_send_list_and_read_record_who_and_where(
        self, therapist, client_user, active_client, signed_in
    ):
        send(active_client, client_user)
        browser = signed_in(therapist)
        base = f"/clients/{active_client.public_id}/messages/"

        browser.post(f"{base}send/", {"text": "Reply"}, **self.WHERE)
        browser.get(base, **self.WHERE)
        browser.post(f"{base}read/", **self.WHERE)

        where = ("203.0.113.9", "Caseload-Test-Browser")
        for action in ("message.send", "message.list", "message.read"):
            assert self.recorded(action) == (therapist, *where), action

    def test_the_clients_send_list_and_read_record_who_and_where(
        self, therapist, client_user, active_client, signed_in
    ):
        send(active_client, therapist)
        browser = signed_in(client_user)

        browser.post(f"{portal_url(active_client)}send/", {"text": "Reply"}, **self.WHERE)
        browser.get(f"{portal_url(active_client)}items/", **self.WHERE)
        browser.post(f"{portal_url(active_client)}read/", **self.WHERE)

        where = ("203.0.113.9", "Caseload-Test-Browser")
        for action in ("message.send", "message.list", "message.read"):
            assert self.recorded(action) == (client_user, *where), action

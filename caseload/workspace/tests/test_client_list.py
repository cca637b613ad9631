"""The client list sidebar (MC-5): scope, search, filter, badges, htmx partial, query count."""

from __future__ import annotations

import re
from typing import Any

import pytest

from caseload.clients import services
from caseload.clients.models import CareRelationship
from tests.factories import (
    account,
    active_child_relationship,
    active_relationship,
    pending_relationship,
    staff,
)

pytestmark = pytest.mark.django_db


def names_in_list(response: Any) -> list[str]:
    """The client names shown in the sidebar list, in order."""
    html = response.content.decode()
    start = html.index('<div id="client-list">')
    return re.findall(r'<span class="client-name">([^<]*)</span>', html[start:])


def list_item(response: Any, name: str) -> str:
    """The HTML of the sidebar entry for `name`."""
    html = response.content.decode()
    for item in re.findall(r"<li[^>]*>.*?</li>", html, flags=re.S):
        if f'<span class="client-name">{name}</span>' in item:
            return item
    raise AssertionError(f"{name} is not in the list")


# Scope ------------------------------------------------------------------------------------
def test_therapist_sees_only_own_clients(therapist, colleague, outsider, active_client, signed_in):
    pending_relationship(colleague, full_name="Bob's Client", email="bobs@example.com")
    pending_relationship(outsider, full_name="Charlie's Client", email="charlies@example.com")

    response = signed_in(therapist).get("/clients/")

    assert response.status_code == 200
    assert names_in_list(response) == ["Maya Patel"]


def test_colleague_and_outsider_do_not_see_alices_clients(
    colleague, outsider, active_client, signed_in
):
    for user in (colleague, outsider):
        response = signed_in(user).get("/clients/")
        assert response.status_code == 200
        assert names_in_list(response) == []
        assert "Maya Patel" not in response.content.decode()


def test_supervisor_sees_supervisees_clients_but_not_others(
    supervisor, therapist, colleague, active_client, signed_in
):
    pending_relationship(colleague, full_name="Bob's Client", email="bobs@example.com")

    response = signed_in(supervisor).get("/clients/")

    assert names_in_list(response) == ["Maya Patel"]
    # The supervisor is told whose client it is.
    assert "Alice Rivera" in list_item(response, "Maya Patel")


def test_ended_relationships_are_not_listed(therapist, active_client, signed_in):
    services.relationship_remove(relationship=active_client, actor=active_client.therapist)

    assert names_in_list(signed_in(therapist).get("/clients/")) == []
    assert names_in_list(signed_in(therapist).get("/clients/?filter=archived")) == []


# Search -----------------------------------------------------------------------------------
def test_search_is_case_and_accent_insensitive(therapist, active_client, signed_in):
    pending_relationship(therapist, full_name="Sofía Núñez", email="SN@example.com")
    browser = signed_in(therapist)

    assert names_in_list(browser.get("/clients/", {"q": "sofia"})) == ["Sofía Núñez"]
    assert names_in_list(browser.get("/clients/", {"q": "NUNEZ"})) == ["Sofía Núñez"]
    assert names_in_list(browser.get("/clients/", {"q": "Núñ"})) == ["Sofía Núñez"]
    assert names_in_list(browser.get("/clients/", {"q": "maya"})) == ["Maya Patel"]
    assert names_in_list(browser.get("/clients/", {"q": "nobody"})) == []


def test_search_by_email(therapist, active_client, signed_in):
    pending_relationship(therapist, full_name="Sofía Núñez", email="sn@example.com")

    response = signed_in(therapist).get("/clients/", {"q": "MAYA@EXAMPLE"})

    assert names_in_list(response) == ["Maya Patel"]


def test_child_matches_by_guardian_name_and_email(
    therapist, active_client, child_client, signed_in
):
    browser = signed_in(therapist)

    assert names_in_list(browser.get("/clients/", {"q": "sam okafor"})) == ["Ava Okafor"]
    assert names_in_list(browser.get("/clients/", {"q": "sam@example"})) == ["Ava Okafor"]
    assert names_in_list(browser.get("/clients/", {"q": "ava"})) == ["Ava Okafor"]


def test_search_with_sql_wildcards_is_literal(therapist, active_client, signed_in):
    response = signed_in(therapist).get("/clients/", {"q": "%"})

    assert response.status_code == 200
    assert names_in_list(response) == []


def test_search_query_is_shown_back_escaped(therapist, active_client, signed_in):
    response = signed_in(therapist).get("/clients/", {"q": "<script>x</script>"})

    html = response.content.decode()
    assert "<script>x</script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html


# Filter -----------------------------------------------------------------------------------
def test_active_and_archived_filter(therapist, active_client, signed_in):
    archived = pending_relationship(therapist, full_name="Zed Archived", email="zed@example.com")
    services.relationship_archive(relationship=archived, actor=archived.therapist)
    browser = signed_in(therapist)

    assert names_in_list(browser.get("/clients/")) == ["Maya Patel"]
    assert names_in_list(browser.get("/clients/", {"filter": "active"})) == ["Maya Patel"]
    assert names_in_list(browser.get("/clients/", {"filter": "archived"})) == ["Zed Archived"]
    archived_search = browser.get("/clients/", {"filter": "archived", "q": "maya"})
    assert names_in_list(archived_search) == []


@pytest.mark.parametrize("value", ["ended", "ARCHIVED", "", "active;drop table", "client__email"])
def test_unknown_filter_is_400(therapist, active_client, value, signed_in):
    response = signed_in(therapist).get("/clients/", {"filter": value})

    assert response.status_code == 400


# Badges -----------------------------------------------------------------------------------
def test_badges_pending_awaiting_and_active(therapist, colleague, active_client, signed_in):
    pending_relationship(therapist, full_name="Pat Pending", email="pat@example.com")
    account("existing@example.com", "Erin Existing")
    pending_relationship(therapist, full_name="Erin Existing", email="existing@example.com")

    response = signed_in(therapist).get("/clients/")

    assert ">Pending<" in list_item(response, "Pat Pending")
    assert "Awaiting approval" not in list_item(response, "Pat Pending")
    assert ">Awaiting approval<" in list_item(response, "Erin Existing")
    assert ">Pending<" not in list_item(response, "Erin Existing")
    assert "badge" not in list_item(response, "Maya Patel").replace('class="badges"', "")


def test_archived_client_with_reconnection_request_shows_awaiting_approval(
    therapist, active_client, signed_in
):
    services.relationship_archive(relationship=active_client, actor=active_client.therapist)
    services.relationship_restore(relationship=active_client, actor=active_client.therapist)

    response = signed_in(therapist).get("/clients/", {"filter": "archived"})

    assert ">Awaiting approval<" in list_item(response, "Maya Patel")


def test_not_delivered_badge_after_smtp_failure(settings, therapist, run_tasks, signed_in):
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 2},
        }
    }
    settings.EMAIL_MAX_ATTEMPTS = 2
    pending_relationship(therapist, full_name="Nadia Undelivered", email="nadia@example.com")
    pending_relationship(therapist, full_name="Olga Fine", email="olga@example.com")
    browser = signed_in(therapist)
    assert "Not delivered" not in browser.get("/clients/").content.decode()

    run_tasks()

    response = browser.get("/clients/")
    assert "Not delivered" in list_item(response, "Nadia Undelivered")
    assert ">Pending<" in list_item(response, "Nadia Undelivered")


# htmx -------------------------------------------------------------------------------------
def test_htmx_list_request_returns_only_the_list_partial(therapist, active_client, signed_in):
    response = signed_in(therapist).get(
        "/clients/", {"q": "maya"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="client-list"
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert html.strip().startswith('<div id="client-list">')
    assert "<html" not in html
    assert "client-search" not in html
    assert names_in_list(response) == ["Maya Patel"]


def test_plain_request_returns_the_whole_page(therapist, active_client, signed_in):
    html = signed_in(therapist).get("/clients/").content.decode()

    assert "<html" in html
    assert 'id="client-list"' in html
    assert "Add a New Client" in html


# Query count ------------------------------------------------------------------------------
def _make_clients(therapist: Any, count: int, start: int = 0) -> None:
    """A mix of every kind of list entry: pending, awaiting approval, active, child."""
    kinds = ["pending", "active", "child", "awaiting"]
    for index in range(start, start + count):
        kind = kinds[index % len(kinds)]
        if kind == "pending":
            pending_relationship(
                therapist, full_name=f"Pending {index}", email=f"p{index}@example.com"
            )
        elif kind == "active":
            active_relationship(
                therapist, full_name=f"Active {index}", email=f"a{index}@example.com"
            )
        elif kind == "child":
            active_child_relationship(
                therapist,
                child_name=f"Child {index}",
                guardian_name=f"Guardian {index}",
                guardian_email=f"g{index}@example.com",
            )
        else:
            account(f"w{index}@example.com", f"Waiting {index}")
            pending_relationship(
                therapist, full_name=f"Waiting {index}", email=f"w{index}@example.com"
            )


#: Session, user, membership, the list itself, then the session's activity stamp is saved
#: (savepoint, update, release). Pinned so that a regression shows.
LIST_PAGE_QUERIES = 7


def _count_list_queries(browser: Any, django_assert_num_queries: Any) -> int:
    browser.get("/clients/")  # warm up: the first request stores session activity
    with django_assert_num_queries(LIST_PAGE_QUERIES) as captured:
        response = browser.get("/clients/")
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("persona", ["therapist", "supervisor"])
def test_list_query_count_is_constant(
    practice, therapist, supervisor, django_assert_num_queries, persona, signed_in
):
    user = {"therapist": therapist, "supervisor": supervisor}[persona]
    _make_clients(therapist, 2)
    with_two = _count_list_queries(signed_in(user), django_assert_num_queries)

    _make_clients(therapist, 18, start=100)
    assert CareRelationship.objects.filter(therapist=therapist).count() == 20
    with_twenty = _count_list_queries(signed_in(user), django_assert_num_queries)

    assert with_two == with_twenty == LIST_PAGE_QUERIES


def test_list_for_another_supervisor_is_empty(practice, therapist, active_client, signed_in):
    other = staff(practice, "supervisor", email="other-sup@example.com")

    assert names_in_list(signed_in(other).get("/clients/")) == []

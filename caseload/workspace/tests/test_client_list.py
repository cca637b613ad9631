"""The client list sidebar (MC-5): scope, search, filter, badges, htmx partial, query count."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from caseload.clients import services
from caseload.clients.models import CareRelationship
from caseload.visits.models import SessionStatus
from caseload.workspace.selectors import PAGE_SIZE
from tests.factories import (
    CareRelationshipFactory,
    TherapySessionFactory,
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


def names_in(html: str) -> list[str]:
    return re.findall(r'<span class="client-name">([^<]*)</span>', html)


def count_text(response: Any) -> str:
    match = re.search(r'<p id="client-count"[^>]*>([^<]*)</p>', response.content.decode())
    assert match, "no count"
    return match.group(1)


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


#: Session, user, membership, the page of the list, the count ("24 active"). The session's
#: activity stamp is saved at most once a minute, so not on this second request. Pinned so
#: that a regression shows.
LIST_PAGE_QUERIES = 5


def _count_list_queries(
    browser: Any, django_assert_num_queries: Any, url: str = "/clients/", **headers: Any
) -> int:
    browser.get("/clients/")  # warm up: the first request stores session activity
    with django_assert_num_queries(LIST_PAGE_QUERIES) as captured:
        response = browser.get(url, **headers)
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


# Count ------------------------------------------------------------------------------------
def test_count_follows_the_filter_and_the_search(therapist, active_client, signed_in):
    pending_relationship(therapist, full_name="Pat Pending", email="pat@example.com")
    pending_relationship(therapist, full_name="Sofía Núñez", email="sn@example.com")
    archived = pending_relationship(therapist, full_name="Zed Archived", email="zed@example.com")
    services.relationship_archive(relationship=archived, actor=archived.therapist)
    browser = signed_in(therapist)

    assert count_text(browser.get("/clients/")) == "3 active"
    assert count_text(browser.get("/clients/", {"filter": "archived"})) == "1 archived"
    assert count_text(browser.get("/clients/", {"q": "sofia"})) == "1 active"
    assert count_text(browser.get("/clients/", {"q": "nobody"})) == "0 active"


def test_htmx_list_request_updates_the_count_out_of_band(therapist, active_client, signed_in):
    pending_relationship(therapist, full_name="Pat Pending", email="pat@example.com")

    response = signed_in(therapist).get(
        "/clients/", {"q": "pending"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="client-list"
    )

    html = response.content.decode()
    assert re.search(r'<p id="client-count"[^>]*hx-swap-oob="innerHTML"[^>]*>1 active</p>', html)


# Next appointment and last seen ------------------------------------------------------------
def _at(relationship: Any, when: datetime, status: str = SessionStatus.SCHEDULED) -> Any:
    return TherapySessionFactory(relationship=relationship, starts_at=when, status=status)


def test_next_appointment_under_the_name_in_the_practice_time_zone(
    therapist, active_client, signed_in
):
    new_york = ZoneInfo("America/New_York")
    assert active_client.practice.time_zone == "America/New_York"
    _at(active_client, datetime(2099, 12, 8, 9, 0, tzinfo=new_york))
    _at(active_client, datetime(2099, 12, 1, 10, 0, tzinfo=new_york))  # the soonest
    _at(active_client, datetime(2099, 11, 1, 9, 0, tzinfo=new_york), SessionStatus.CANCELLED)
    _at(active_client, timezone.now() - timedelta(days=3))  # past: not next

    item = list_item(signed_in(therapist).get("/clients/"), "Maya Patel")

    # 10:00 in New York is 15:00 UTC: the practice's clock is shown, not the server's.
    assert re.search(
        r"Next: <time datetime=\"2099-12-01T10:00:00-05:00\">Tue 1 Dec, 10:00</time>", item
    )
    assert "Last seen" not in item


def test_last_seen_shows_when_no_session_is_booked(therapist, active_client, signed_in):
    new_york = ZoneInfo("America/New_York")
    _at(active_client, datetime(2020, 3, 2, 9, 0, tzinfo=new_york), SessionStatus.COMPLETED)
    _at(active_client, datetime(2020, 3, 9, 9, 0, tzinfo=new_york), SessionStatus.NO_SHOW)
    pending_relationship(therapist, full_name="Pat Pending", email="pat@example.com")
    response = signed_in(therapist).get("/clients/")

    item = list_item(response, "Maya Patel")
    assert "Next:" not in item
    assert ">2 Mar 2020</time>" in item  # the no-show a week later wasn't a visit
    assert "Next:" not in list_item(response, "Pat Pending")
    assert "Last seen" not in list_item(response, "Pat Pending")


# Sorting ----------------------------------------------------------------------------------
@pytest.fixture
def three_clients(therapist: Any) -> dict[str, Any]:
    """Ann: next session in 5 days, seen 20 days ago. Ben: next in 2 days, seen 2 days ago.
    Cal: nothing booked, never seen. Dee: nothing booked, seen 9 days ago."""
    now = timezone.now()
    clients = {
        name: active_relationship(therapist, full_name=name, email=f"{name.lower()}@example.com")
        for name in ("Ann", "Ben", "Cal", "Dee")
    }
    _at(clients["Ann"], now + timedelta(days=5))
    _at(clients["Ann"], now - timedelta(days=20), SessionStatus.COMPLETED)
    _at(clients["Ben"], now + timedelta(days=2))
    _at(clients["Ben"], now + timedelta(days=30))
    _at(clients["Ben"], now - timedelta(days=2))
    _at(clients["Dee"], now - timedelta(days=9), SessionStatus.COMPLETED)
    _at(clients["Dee"], now + timedelta(days=1), SessionStatus.CANCELLED)
    return clients


def test_sort_by_name_next_session_and_recently_seen(therapist, three_clients, signed_in):
    browser = signed_in(therapist)

    assert names_in_list(browser.get("/clients/")) == ["Ann", "Ben", "Cal", "Dee"]
    assert names_in_list(browser.get("/clients/", {"sort": "name"})) == ["Ann", "Ben", "Cal", "Dee"]
    # Soonest first; nobody booked goes last, by name.
    assert names_in_list(browser.get("/clients/", {"sort": "next"})) == ["Ben", "Ann", "Cal", "Dee"]
    # Most recently seen first; never seen goes last.
    assert names_in_list(browser.get("/clients/", {"sort": "recent"})) == [
        "Ben",
        "Dee",
        "Ann",
        "Cal",
    ]


def test_the_current_sort_is_marked_and_kept_across_search_filter_and_profile(
    therapist, three_clients, signed_in
):
    html = signed_in(therapist).get("/clients/", {"sort": "next", "q": "a"}).content.decode()

    assert re.search(r'data-sort-link="next" aria-current="true">Next session<', html)
    assert 'data-sort-link="name">Name<' in html
    # The search form submits the sort (the field sits in the list, which htmx swaps).
    assert '<input type="hidden" name="sort" value="next" form="client-search">' in html
    assert 'id="client-search"' in html
    # Another sort keeps the search; the profile links keep the sort for the list beside it.
    assert 'href="/clients/?q=a&amp;sort=recent"' in html
    profile = reverse_profile(three_clients["Ann"])
    assert f'href="{profile}?sort=next"' in html


def test_the_default_sort_adds_nothing_to_the_urls(therapist, three_clients, signed_in):
    html = signed_in(therapist).get("/clients/").content.decode()

    assert 'name="sort"' not in html
    assert f'href="{reverse_profile(three_clients["Ann"])}"' in html
    assert 'href="/clients/?sort=next"' in html


@pytest.mark.parametrize("value", ["Name", "", "client__full_name", "-name", "next;drop", "pk"])
def test_unknown_sort_is_400(therapist, active_client, value, signed_in):
    response = signed_in(therapist).get("/clients/", {"sort": value})

    assert response.status_code == 400


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1.5", "", " 2", "1_0", "²", "1001", "9" * 30])
def test_unknown_page_is_400(therapist, active_client, value, signed_in):
    response = signed_in(therapist).get("/clients/", {"page": value})

    assert response.status_code == 400


def test_a_profile_keeps_the_sort_of_the_list_beside_it(therapist, three_clients, signed_in):
    html = signed_in(therapist).get(reverse_profile(three_clients["Cal"]), {"sort": "next"})

    start = html.content.decode().index('<div id="client-list">')
    assert names_in(html.content.decode()[start:]) == ["Ben", "Ann", "Cal", "Dee"]


def reverse_profile(relationship: Any) -> str:
    return f"/clients/{relationship.public_id}/"


# Paging -----------------------------------------------------------------------------------
@pytest.fixture
def big_caseload(therapist: Any) -> list[Any]:
    """600 clients of Alice's, in name order. Every 20th one has a session booked: the later
    in the list, the sooner (so sorting by next session reverses them)."""
    rows = CareRelationshipFactory.create_batch(600, therapist=therapist)
    rows.sort(key=lambda row: row.client.full_name)
    now = timezone.now()
    for index, row in enumerate(rows[::20]):
        _at(row, now + timedelta(days=60 - index))
    return rows


def _more(browser: Any, query: dict[str, str]) -> Any:
    return browser.get(
        "/clients/", query, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="client-list-more"
    )


def test_a_large_caseload_is_paged_and_show_more_brings_the_next_page(
    therapist, big_caseload, signed_in
):
    names = [row.client.full_name for row in big_caseload]
    browser = signed_in(therapist)

    first = browser.get("/clients/")
    assert names_in_list(first) == names[:PAGE_SIZE] and PAGE_SIZE == 50
    assert count_text(first) == "600 active"
    html = first.content.decode()
    assert 'href="/clients/?page=2" hx-get="/clients/?page=2" hx-target="closest li"' in html
    assert ">50 of 600 shown<" in html

    # htmx: only the next rows and the next "Show more", to append in its place.
    more = _more(browser, {"page": "2"})
    more_html = more.content.decode()
    assert more_html.strip().startswith("<li")
    assert "<html" not in more_html and 'id="client-list"' not in more_html
    assert names_in(more_html) == names[50:100]
    assert 'href="/clients/?page=3"' in more_html
    assert ">100 of 600 shown<" in more_html

    # The last page has no "Show more".
    last = _more(browser, {"page": "12"}).content.decode()
    assert names_in(last) == names[550:]
    assert "Show more" not in last


def test_without_javascript_show_more_is_a_link_to_the_next_page(
    therapist, big_caseload, signed_in
):
    names = [row.client.full_name for row in big_caseload]

    second = signed_in(therapist).get("/clients/", {"page": "2"})

    assert second.status_code == 200
    assert names_in_list(second) == names[50:100]
    html = second.content.decode()
    assert "Clients 51–100 of 600" in html
    assert '<a href="/clients/">Back to the first 50</a>' in html
    assert 'href="/clients/?page=3"' in html


def test_sorting_600_clients_by_next_session_puts_the_soonest_first(
    therapist, big_caseload, signed_in
):
    booked = big_caseload[::20]  # 30 of them; the last booked is the soonest
    browser = signed_in(therapist)

    first = browser.get("/clients/", {"sort": "next"})

    shown = names_in_list(first)
    assert shown[:30] == [row.client.full_name for row in reversed(booked)]
    unbooked = [row.client.full_name for row in big_caseload if row not in booked]
    assert shown[30:] == unbooked[:20]
    # "Show more" keeps the sort.
    assert 'href="/clients/?sort=next&amp;page=2"' in first.content.decode()
    assert (
        names_in(_more(browser, {"sort": "next", "page": "2"}).content.decode()) == unbooked[20:70]
    )


def test_paging_keeps_the_search_and_the_filter(therapist, big_caseload, signed_in):
    archived = [row.client.full_name for row in big_caseload[:70]]
    for row in big_caseload[:70]:
        services.relationship_archive(relationship=row, actor=therapist)
    query = {"q": "client", "filter": "archived", "sort": "recent"}
    browser = signed_in(therapist)

    first = browser.get("/clients/", query)

    assert count_text(first) == "70 archived"
    assert names_in_list(first) == archived[:50]
    next_page = "/clients/?q=client&amp;filter=archived&amp;sort=recent&amp;page=2"
    assert f'href="{next_page}"' in first.content.decode()
    more = _more(browser, {**query, "page": "2"}).content.decode()
    assert names_in(more) == archived[50:]
    assert "Show more" not in more


def test_list_query_count_does_not_grow_with_600_clients(
    therapist, big_caseload, django_assert_num_queries, signed_in
):
    browser = signed_in(therapist)

    for url in ("/clients/", "/clients/?sort=next", "/clients/?sort=recent&page=7"):
        _count_list_queries(browser, django_assert_num_queries, url)
    _count_list_queries(
        browser,
        django_assert_num_queries,
        "/clients/?page=2",
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="client-list-more",
    )

"""The Sessions & Notes tab and its Overview card (issue 10): bounded whatever the history.

Past sessions are paged newest first, PAGE_SIZE at a time ("Show earlier": htmx appends the
next page, without JavaScript a `?before=` link opens the tab at that page); the next few
sessions are listed (the agenda has the rest); charts draw the latest scores. The tab and the
card cost the same queries with 5 and with 200 sessions.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from html import unescape
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import BadRequest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from caseload.audit.models import AuditEvent
from caseload.clients.access import get_relationship_for_user
from caseload.clients.models import CareRelationship
from caseload.lib.http import SYSTEM
from caseload.visits import services
from caseload.visits.charts import CHART_POINTS, trend_charts
from caseload.visits.models import SessionStatus, TherapySession
from caseload.visits.sections import SECTIONS, sessions_context
from caseload.visits.selectors import PAGE_SIZE, UPCOMING_SHOWN, past_sessions_page
from tests.factories import active_relationship

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")  # the fixture practice's time zone
HTMX = {"HTTP_HX_REQUEST": "true"}
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


# Helpers ------------------------------------------------------------------------------------
def past(relationship: CareRelationship, count: int, **values: Any) -> list[TherapySession]:
    """`count` past sessions a day apart, newest first (plain rows: no note)."""
    now = timezone.now().replace(second=0, microsecond=0)
    values.setdefault("status", SessionStatus.COMPLETED)
    TherapySession.objects.bulk_create(
        TherapySession(relationship=relationship, starts_at=now - timedelta(days=i + 1), **values)
        for i in range(count)
    )
    return list(
        TherapySession.objects.filter(relationship=relationship, starts_at__lt=now).order_by(
            "-starts_at", "-pk"
        )
    )


def upcoming(relationship: CareRelationship, count: int, **values: Any) -> list[TherapySession]:
    """`count` sessions to come, a day apart, soonest first."""
    start = timezone.now().replace(second=0, microsecond=0) + timedelta(days=1)
    TherapySession.objects.bulk_create(
        TherapySession(relationship=relationship, starts_at=start + timedelta(days=i), **values)
        for i in range(count)
    )
    return list(
        TherapySession.objects.filter(
            relationship=relationship, starts_at__gte=timezone.now()
        ).order_by("starts_at", "pk")
    )


def tab_url(relationship: CareRelationship) -> str:
    return reverse("workspace:sessions", args=[relationship.public_id])


def earlier_url(relationship: CareRelationship) -> str:
    return reverse("visits:session_history", args=[relationship.public_id])


def ids(sessions: list[TherapySession]) -> list[str]:
    return [str(session.public_id) for session in sessions]


def history_ids(html: str) -> list[str]:
    """The sessions of the history table (or of appended rows), in the order shown."""
    if 'class="session-history"' in html:
        html = html.split('class="session-history"', 1)[1].split("</table>", 1)[0]
    return re.findall(rf'/sessions/({UUID})/"', html)


def show_earlier(html: str) -> dict[str, str] | None:
    """The "Show earlier" control: its plain link (no JS) and its htmx request."""
    if 'class="show-earlier"' not in html:
        return None
    control = html.split('class="show-earlier"', 1)[1].split("</tr>", 1)[0]
    return {
        "href": unescape(re.search(r'href="([^"]+)"', control)[1]),  # type: ignore[index]
        "hx-get": unescape(re.search(r'hx-get="([^"]+)"', control)[1]),  # type: ignore[index]
        "hx-swap": re.search(r'hx-swap="([^"]+)"', control)[1],  # type: ignore[index]
        "text": " ".join(re.sub(r"<[^>]+>", " ", control.split(">", 1)[1]).split()),
    }


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def overview_card(html: str) -> str:
    assert 'aria-labelledby="overview-sessions-title"' in html, "no Sessions & Notes card"
    return html.split('aria-labelledby="overview-sessions-title"', 1)[1].split("</section>", 1)[0]


def queries(action: Callable[[], Any]) -> int:
    with CaptureQueriesContext(connection) as captured:
        action()
    return len(captured)


@pytest.fixture
def long_history(therapist: Any) -> CareRelationship:
    return active_relationship(therapist, full_name="Long History", email="long@example.com")


# The first page -----------------------------------------------------------------------------
def test_the_tab_shows_the_latest_page_of_past_sessions_newest_first(
    therapist, active_client, signed_in
):
    sessions = past(active_client, PAGE_SIZE + 5)

    response = signed_in(therapist).get(tab_url(active_client))

    html = response.content.decode()
    assert response.status_code == 200
    assert history_ids(html) == ids(sessions[:PAGE_SIZE])
    control = show_earlier(html)
    assert control is not None
    cursor = sessions[PAGE_SIZE - 1].public_id  # the last shown
    assert control["href"] == f"{tab_url(active_client)}?before={cursor}#session-history"
    assert control["hx-get"] == f"{earlier_url(active_client)}?before={cursor}"
    assert control["hx-swap"] == "outerHTML"
    assert control["text"].startswith("Show earlier")


def test_no_show_earlier_when_everything_fits(therapist, active_client, signed_in):
    sessions = past(active_client, PAGE_SIZE)

    html = signed_in(therapist).get(tab_url(active_client)).content.decode()

    assert history_ids(html) == ids(sessions)
    assert show_earlier(html) is None


# Show earlier, with htmx --------------------------------------------------------------------
def test_show_earlier_with_htmx_answers_the_next_rows_and_the_next_control(
    therapist, active_client, signed_in
):
    sessions = past(active_client, 2 * PAGE_SIZE + 3)
    browser = signed_in(therapist)
    first = show_earlier(browser.get(tab_url(active_client)).content.decode())
    assert first is not None

    second = browser.get(first["hx-get"], **HTMX)

    html = second.content.decode()
    assert second.status_code == 200
    assert "<html" not in html and "<table" not in html  # rows only, in place of the control
    assert html.lstrip().startswith("<tr")
    assert history_ids(html) == ids(sessions[PAGE_SIZE : 2 * PAGE_SIZE])
    assert "autofocus" in html.split("</tr>", 1)[0]  # focus moves to the first row shown
    following = show_earlier(html)
    assert following is not None
    assert following["hx-get"].endswith(f"?before={sessions[2 * PAGE_SIZE - 1].public_id}")

    last = browser.get(following["hx-get"], **HTMX).content.decode()

    assert history_ids(last) == ids(sessions[2 * PAGE_SIZE :])
    assert show_earlier(last) is None


def test_paging_through_sessions_that_start_at_the_same_time_shows_each_once(
    therapist, active_client, signed_in
):
    sessions = past(active_client, PAGE_SIZE + 10)
    same_time = sessions[PAGE_SIZE - 3].starts_at  # a tie across the page boundary
    TherapySession.objects.filter(
        pk__in=[s.pk for s in sessions[PAGE_SIZE - 3 : PAGE_SIZE + 4]]
    ).update(starts_at=same_time)
    expected = ids(
        list(
            TherapySession.objects.filter(relationship=active_client).order_by("-starts_at", "-pk")
        )
    )
    browser = signed_in(therapist)

    html = browser.get(tab_url(active_client)).content.decode()
    shown = history_ids(html)
    while (control := show_earlier(html)) is not None:
        html = browser.get(control["hx-get"], **HTMX).content.decode()
        shown += history_ids(html)

    assert shown == expected


def test_show_earlier_is_audited_as_a_view_of_the_sessions_tab(therapist, active_client, signed_in):
    sessions = past(active_client, PAGE_SIZE + 1)
    cursor = sessions[PAGE_SIZE - 1].public_id

    signed_in(therapist).get(f"{earlier_url(active_client)}?before={cursor}", **HTMX)

    event = AuditEvent.objects.filter(action="client.view").latest("pk")
    assert (event.actor, event.client) == (therapist, active_client.client)
    assert event.detail == {"tab": "sessions", "before": str(cursor)}


def test_show_earlier_without_htmx_opens_the_tab_at_that_page(therapist, active_client, signed_in):
    sessions = past(active_client, PAGE_SIZE + 1)
    cursor = sessions[PAGE_SIZE - 1].public_id

    response = signed_in(therapist).get(f"{earlier_url(active_client)}?before={cursor}")

    assert response.status_code == 302
    assert response["Location"] == f"{tab_url(active_client)}?before={cursor}"


# Show earlier, without JavaScript: the tab at that page ------------------------------------
def test_the_tab_at_an_earlier_page_shows_the_sessions_before_the_cursor(
    therapist, active_client, signed_in
):
    sessions = past(active_client, 2 * PAGE_SIZE + 3)
    browser = signed_in(therapist)
    first = show_earlier(browser.get(tab_url(active_client)).content.decode())
    assert first is not None

    response = browser.get(first["href"].split("#", 1)[0])

    html = response.content.decode()
    assert response.status_code == 200
    assert history_ids(html) == ids(sessions[PAGE_SIZE : 2 * PAGE_SIZE])
    assert "Back to the latest" in text_of(html)
    following = show_earlier(html)
    assert following is not None and following["href"].startswith(tab_url(active_client))


def test_the_section_context_pages_by_the_cursor(therapist, active_client):
    """What the tab's `?before=` feeds (the workspace passes it to the section context)."""
    sessions = past(active_client, PAGE_SIZE + 3)
    gated = get_relationship_for_user(therapist, active_client.public_id)

    latest = sessions_context(therapist, gated)
    earlier = sessions_context(therapist, gated, before=str(sessions[PAGE_SIZE - 1].public_id))

    assert latest["past_sessions"] == sessions[:PAGE_SIZE]
    assert latest["earlier_cursor"] == sessions[PAGE_SIZE - 1].public_id
    assert not latest["history_is_earlier_page"]
    assert earlier["past_sessions"] == sessions[PAGE_SIZE:]
    assert earlier["earlier_cursor"] is None
    assert earlier["history_is_earlier_page"]


# Cursors that don't belong ------------------------------------------------------------------
@pytest.mark.parametrize("cursor", ["nonsense", "1", "' OR 1=1 --", "%00"])
def test_a_malformed_cursor_is_a_bad_request(therapist, active_client, signed_in, cursor):
    past(active_client, PAGE_SIZE + 1)
    browser = signed_in(therapist)
    gated = get_relationship_for_user(therapist, active_client.public_id)

    assert browser.get(earlier_url(active_client), {"before": cursor}, **HTMX).status_code == 400
    assert browser.get(earlier_url(active_client), {"before": cursor}).status_code == 400
    with pytest.raises(BadRequest):
        sessions_context(therapist, gated, before=cursor)


def test_a_malformed_cursor_on_the_tab_is_a_bad_request(therapist, active_client, signed_in):
    past(active_client, PAGE_SIZE + 1)

    response = signed_in(therapist).get(tab_url(active_client), {"before": "nonsense"})

    assert response.status_code == 400


def test_another_clients_session_as_the_cursor_shows_nothing_of_theirs(
    therapist, active_client, long_history, signed_in
):
    past(active_client, PAGE_SIZE + 1)
    theirs = past(long_history, PAGE_SIZE + 5)
    browser = signed_in(therapist)
    gated = get_relationship_for_user(therapist, active_client.public_id)

    for cursor in (theirs[3].public_id, uuid4()):
        for response in (
            browser.get(earlier_url(active_client), {"before": cursor}, **HTMX),
            browser.get(tab_url(active_client), {"before": cursor}),
        ):
            assert response.status_code == 404
            assert not set(history_ids(response.content.decode())) & set(ids(theirs))
        with pytest.raises(Http404):
            sessions_context(therapist, gated, before=str(cursor))
        with pytest.raises(Http404):
            past_sessions_page(gated, before=cursor)


@pytest.mark.parametrize("persona", ["colleague", "outsider"])
def test_show_earlier_is_404_for_anyone_without_the_record(
    request, active_client, persona, signed_in
):
    sessions = past(active_client, PAGE_SIZE + 1)
    browser = signed_in(request.getfixturevalue(persona))

    url = f"{earlier_url(active_client)}?before={sessions[PAGE_SIZE - 1].public_id}"
    assert browser.get(url, **HTMX).status_code == 404
    assert browser.get(url).status_code == 404


def test_the_supervisor_can_show_earlier_sessions(supervisor, active_client, signed_in):
    sessions = past(active_client, PAGE_SIZE + 2)
    browser = signed_in(supervisor)

    html = browser.get(tab_url(active_client)).content.decode()
    control = show_earlier(html)
    assert control is not None
    rows = browser.get(control["hx-get"], **HTMX).content.decode()

    assert history_ids(rows) == ids(sessions[PAGE_SIZE:])


# Upcoming sessions and charts: bounded ------------------------------------------------------
def test_the_next_sessions_are_listed_soonest_first_and_the_agenda_has_the_rest(
    therapist, active_client, signed_in
):
    coming = upcoming(active_client, UPCOMING_SHOWN + 3, modality="telehealth")

    html = signed_in(therapist).get(tab_url(active_client)).content.decode()

    listed = html.split('id="upcoming-sessions"', 1)[1].split('id="session-history"', 1)[0]
    assert re.findall(rf'/sessions/({UUID})/"', listed) == ids(coming[:UPCOMING_SHOWN])
    first_unlisted = timezone.localtime(coming[UPCOMING_SHOWN].starts_at, NEW_YORK).date()
    agenda = f"{reverse('agenda')}?view=week&amp;date={first_unlisted:%Y-%m-%d}"
    assert f'href="{agenda}"' in listed
    assert "Later sessions are in your agenda" in text_of(listed)


def test_no_agenda_link_when_every_upcoming_session_is_listed(therapist, active_client, signed_in):
    upcoming(active_client, UPCOMING_SHOWN)

    html = signed_in(therapist).get(tab_url(active_client)).content.decode()

    assert reverse("agenda") + "?" not in html
    assert "Later sessions" not in html


def test_the_supervisor_is_not_sent_to_their_own_agenda(supervisor, active_client, signed_in):
    upcoming(active_client, UPCOMING_SHOWN + 1)

    html = signed_in(supervisor).get(tab_url(active_client)).content.decode()

    assert reverse("agenda") + "?" not in html
    assert "Later sessions are not listed here." in text_of(html)


def test_the_schedule_button_is_for_the_therapist_only(
    therapist, supervisor, active_client, signed_in
):
    new = reverse("visits:session_new", args=[active_client.public_id])

    assert new in signed_in(therapist).get(tab_url(active_client)).content.decode()
    assert new not in signed_in(supervisor).get(tab_url(active_client)).content.decode()


def test_the_mood_chart_draws_only_the_latest_scores(therapist, active_client, signed_in):
    sessions = past(active_client, CHART_POINTS + 14)
    for index, session in enumerate(sessions):  # newest first: moods 1, 2, 3 … cycling
        session.mood_score = index % 10 + 1
    TherapySession.objects.bulk_update(sessions, ["mood_score"])

    html = signed_in(therapist).get(tab_url(active_client)).content.decode()

    svg = html.split('class="mood-chart"', 1)[1].split("</svg>", 1)[0]
    expected = [str(index % 10 + 1) for index in reversed(range(CHART_POINTS))]
    assert re.findall(r'data-mood="(\d+)"', svg) == expected  # oldest of the latest first
    assert f"Mood over {CHART_POINTS} sessions" in html


def test_questionnaire_charts_keep_only_their_latest_scores() -> None:
    start = datetime(2024, 1, 1, 12, tzinfo=NEW_YORK)
    phq9 = [(start + timedelta(weeks=week), week % 27, "Mild") for week in range(60)]

    charts = trend_charts([], {"phq9": list(reversed(phq9))})

    assert [chart.key for chart in charts] == ["phq9"]
    points = charts[0].chart.points
    assert len(points) == CHART_POINTS
    assert [point.value for point in points] == [v for _, v, _ in phq9[-CHART_POINTS:]]


# The Overview card --------------------------------------------------------------------------
def test_the_overview_card_shows_next_and_last_session_and_notes_due(
    therapist, active_client, signed_in
):
    soon = timezone.localtime(timezone.now() + timedelta(days=3), NEW_YORK).replace(
        hour=22, minute=30, second=0, microsecond=0
    )  # 22:30 in New York: the next day in UTC
    cancelled = services.session_schedule(
        relationship=active_client,
        actor=therapist,
        starts_at=soon - timedelta(days=1),
        duration_minutes=50,
        modality="in_person",
    )
    services.session_update(session=cancelled, actor=therapist, values={"status": "cancelled"})
    following = services.session_schedule(
        relationship=active_client,
        actor=therapist,
        starts_at=soon,
        duration_minutes=50,
        modality="telehealth",
    )
    history = past(active_client, 3)  # completed, no notes: three notes due
    last = history[0]
    TherapySession.objects.filter(pk=history[1].pk).update(status=SessionStatus.NO_SHOW)

    html = signed_in(therapist).get(profile_url(active_client)).content.decode()

    card = overview_card(html)
    text = text_of(card)
    next_link = reverse("visits:session", args=[active_client.public_id, following.public_id])
    last_link = reverse("visits:session", args=[active_client.public_id, last.public_id])
    assert f'href="{next_link}"' in card  # not the cancelled one before it
    assert f"Next session {soon:%a} {soon.day} {soon:%b %Y}, 22:30 · Telehealth" in text
    shown_last = timezone.localtime(last.starts_at, NEW_YORK)
    assert f'href="{last_link}"' in card
    assert f"Last session {shown_last:%a} {shown_last.day} {shown_last:%b %Y} · Completed" in text
    assert "Notes due 2 notes due" in text  # the no-show needs no note
    assert f'href="{tab_url(active_client)}#session-history"' in card
    assert f'href="{tab_url(active_client)}"' in card  # the card's title


def test_the_overview_card_without_sessions_offers_to_schedule_one(
    therapist, supervisor, active_client, signed_in
):
    new = reverse("visits:session_new", args=[active_client.public_id])

    mine = text_of(
        overview_card(signed_in(therapist).get(profile_url(active_client)).content.decode())
    )
    theirs = overview_card(signed_in(supervisor).get(profile_url(active_client)).content.decode())

    assert "Next session None scheduled · Schedule a session" in mine
    assert "Last session None yet" in mine
    assert "Notes due None" in mine
    assert new not in theirs and "None scheduled" in text_of(theirs)


def profile_url(relationship: CareRelationship) -> str:
    return reverse("workspace:detail", args=[relationship.public_id])


# Queries don't grow with the history --------------------------------------------------------
def _grow(relationship: CareRelationship, sessions: int) -> None:
    past(relationship, sessions, mood_score=5)
    upcoming(relationship, sessions // 5 + 1)


def test_the_tab_costs_the_same_with_5_and_200_past_sessions(
    therapist, active_client, long_history, signed_in
):
    _grow(active_client, 5)
    _grow(long_history, 200)
    browser = signed_in(therapist)
    browser.get(tab_url(active_client))  # warm the session

    def tab(relationship: CareRelationship) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = browser.get(tab_url(relationship))
        assert len(history_ids(response.content.decode())) <= PAGE_SIZE
        return len(captured)

    assert tab(long_history) == tab(active_client)


def test_show_earlier_costs_the_same_with_5_and_200_past_sessions(
    therapist, active_client, long_history, signed_in
):
    small = past(active_client, 5)
    large = past(long_history, 200)
    browser = signed_in(therapist)
    browser.get(tab_url(active_client))  # warm the session

    def page(relationship: CareRelationship, cursor: TherapySession) -> int:
        url = f"{earlier_url(relationship)}?before={cursor.public_id}"
        with CaptureQueriesContext(connection) as captured:
            response = browser.get(url, **HTMX)
        assert len(history_ids(response.content.decode())) <= PAGE_SIZE
        return len(captured)

    assert page(long_history, large[0]) == page(active_client, small[0])


def test_the_section_context_costs_the_same_at_any_page(therapist, active_client, long_history):
    _grow(active_client, 5)
    large = past(long_history, 200)
    small = get_relationship_for_user(therapist, active_client.public_id)
    big = get_relationship_for_user(therapist, long_history.public_id)
    context = SECTIONS[0].context

    assert queries(lambda: context(therapist, big, SYSTEM)) == queries(
        lambda: context(therapist, small, SYSTEM)
    )
    assert queries(lambda: sessions_context(therapist, big, before=str(large[100].public_id))) == (
        queries(lambda: sessions_context(therapist, small)) + 1  # the cursor's own row
    )


def test_the_overview_costs_the_same_with_5_and_200_past_sessions(
    therapist, active_client, long_history, signed_in
):
    _grow(active_client, 5)
    _grow(long_history, 200)
    browser = signed_in(therapist)
    browser.get(profile_url(active_client))  # warm the session

    def overview(relationship: CareRelationship) -> int:
        return queries(lambda: browser.get(profile_url(relationship)))

    assert overview(long_history) == overview(active_client)
    card = SECTIONS[0].overview
    assert card is not None
    gated = get_relationship_for_user(therapist, long_history.public_id)
    assert queries(lambda: card(therapist, gated, SYSTEM)) == 3

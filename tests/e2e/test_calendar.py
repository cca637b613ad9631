"""SCH-1 in the browser: from the week view, schedule a weekly series in an empty slot, then
move "this and following" to a new time."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone
from playwright.sync_api import Page, expect

from caseload.scheduling.models import SessionSeries
from caseload.visits.models import TherapySession
from tests.e2e.conftest import assert_not_reloaded, mark_page, sign_in

NEW_YORK = ZoneInfo("America/New_York")  # the fixture practice's time zone


def next_monday() -> date:
    today = timezone.localdate(timezone=NEW_YORK)
    return today - timedelta(days=today.weekday()) + timedelta(weeks=1)


def test_schedule_a_weekly_series_from_the_week_view_and_move_this_and_following(
    page: Page, therapist: Any, active_client: Any
) -> None:
    monday = next_monday()
    sign_in(page, therapist.email)
    page.get_by_role("link", name="Calendar").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("My calendar")
    page.goto(f"/calendar/?view=week&date={monday:%Y-%m-%d}")

    page.get_by_role(
        "link", name=f"Schedule a session on {monday:%A} {monday.day} {monday:%B} at 10:00"
    ).click()
    expect(page.get_by_role("heading", name="Schedule a session")).to_be_visible()
    expect(page.get_by_role("textbox", name="Date", exact=True)).to_have_value(f"{monday:%Y-%m-%d}")
    expect(page.get_by_role("textbox", name="Start time")).to_have_value("10:00")
    page.get_by_label("Client").select_option(label="Maya Patel")
    page.get_by_role("combobox", name="Repeat", exact=True).select_option(label="Weekly")
    page.get_by_label("After a number of sessions").check()
    page.get_by_role("spinbutton", name="Number of sessions").fill("6")
    page.get_by_role("button", name="Schedule", exact=True).click()

    expect(page).to_have_url(re.compile(rf"/calendar/\?view=week&date={monday:%Y-%m-%d}$"))
    expect(page.get_by_role("status").first).to_contain_text("6 sessions scheduled, weekly")
    first = page.get_by_role("link", name=re.compile("^10:00 to 10:50, Maya Patel, Scheduled"))
    expect(first).to_be_visible()
    assert TherapySession.objects.count() == 6

    # Two weeks on with htmx (the URL follows, bookmarkable), open the third session.
    mark_page(page)
    page.get_by_role("link", name="Next week").click()
    third_monday = monday + timedelta(weeks=1)
    expect(page).to_have_url(re.compile(rf"date={third_monday:%Y-%m-%d}"))
    page.get_by_role("link", name="Next week").click()
    third_monday = monday + timedelta(weeks=2)
    expect(page).to_have_url(re.compile(rf"date={third_monday:%Y-%m-%d}"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{third_monday.day} ")
    assert_not_reloaded(page)  # the calendar partial was swapped in, the page stayed
    page.get_by_role("link", name=re.compile("^10:00 to 10:50, Maya Patel")).click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Maya Patel")
    expect(page.get_by_role("heading", name=re.compile("^Repeating: weekly"))).to_be_visible()
    page.get_by_role("textbox", name="Start time").fill("14:00")
    page.get_by_role("radio", name="This and following").check()
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page).to_have_url(re.compile(rf"date={third_monday:%Y-%m-%d}"))
    expect(page.get_by_role("link", name=re.compile("^14:00 to 14:50, Maya Patel"))).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("^10:00 to 10:50, Maya Patel"))).to_have_count(
        0
    )
    page.get_by_role("link", name="Previous week").click()
    expect(page.get_by_role("link", name=re.compile("^10:00 to 10:50, Maya Patel"))).to_be_visible()

    hours = [
        timezone.localtime(session.starts_at, NEW_YORK).hour
        for session in TherapySession.objects.order_by("starts_at")
    ]
    assert hours == [10, 10, 14, 14, 14, 14]
    assert SessionSeries.objects.count() == 2


def test_calendar_pages_have_no_serious_accessibility_violation(
    page: Page, therapist: Any, active_client: Any
) -> None:
    from caseload.scheduling import recurrence, services
    from tests.e2e.test_accessibility import check

    monday = next_monday()
    series = recurrence.series_create(
        relationship=active_client,
        actor=therapist,
        starts_at=datetime(monday.year, monday.month, monday.day, 10, tzinfo=NEW_YORK),
        duration_minutes=50,
        modality="telehealth",
        frequency="weekly",
        count=3,
    )
    services.blocked_time_add(
        clinician=therapist,
        actor=therapist,
        starts_at=series.starts_at + timedelta(days=1),
        ends_at=series.starts_at + timedelta(days=1, hours=2),
        reason="Training",
    )
    session = TherapySession.objects.order_by("starts_at").first()
    assert session is not None
    sign_in(page, therapist.email)

    found = check(
        page,
        [
            f"/calendar/?view=week&date={monday:%Y-%m-%d}",
            f"/calendar/?view=day&date={monday:%Y-%m-%d}",
            f"/calendar/?view=month&date={monday:%Y-%m-%d}",
            f"/calendar/new/?date={monday:%Y-%m-%d}&time=09:00",
            "/calendar/availability/",
            f"/calendar/sessions/{session.public_id}/",
        ],
    )

    assert not found, "\n".join(found)


def test_on_a_phone_the_week_is_a_list_of_days(
    page: Page, therapist: Any, active_client: Any
) -> None:
    from caseload.visits.services import session_schedule

    monday = next_monday()
    session_schedule(
        relationship=active_client,
        actor=therapist,
        starts_at=datetime(monday.year, monday.month, monday.day, 10, tzinfo=NEW_YORK),
        duration_minutes=50,
        modality="in_person",
    )
    page.set_viewport_size({"width": 390, "height": 800})
    sign_in(page, therapist.email)
    page.goto(f"/calendar/?view=week&date={monday:%Y-%m-%d}")

    session = page.get_by_role("link", name=re.compile("^10:00 to 10:50, Maya Patel"))
    expect(session).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("^Schedule a session on"))).to_have_count(0)
    # The days stack: Tuesday's heading is below Monday's session, not beside it.
    tuesday = page.get_by_role("heading", name=re.compile(r"^Tue "))
    session_box = session.bounding_box()
    tuesday_box = tuesday.bounding_box()
    assert session_box is not None and tuesday_box is not None
    assert tuesday_box["y"] > session_box["y"] + session_box["height"]

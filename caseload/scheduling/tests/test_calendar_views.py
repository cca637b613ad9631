"""The calendar pages (SCH-1): views, who sees whose calendar, scheduling, series actions."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from caseload.audit.models import AuditEvent
from caseload.clients import services as client_services
from caseload.scheduling import recurrence, services
from caseload.scheduling.forms import ScheduleForm, local_datetime
from caseload.scheduling.models import BookingRequest, BookingStatus, SessionSeries
from caseload.visits import services as visit_services
from caseload.visits.models import SessionStatus, TherapySession
from tests.factories import CareRelationshipFactory, TherapySessionFactory
from tests.html import field_errors

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
URL = "/calendar/"
HTMX = {"HTTP_HX_REQUEST": "true"}


def next_monday(hour: int = 10) -> datetime:
    today = timezone.localdate(timezone=NEW_YORK)
    monday = today - timedelta(days=today.weekday()) + timedelta(weeks=1)
    return datetime(monday.year, monday.month, monday.day, hour, tzinfo=NEW_YORK)


def schedule(relationship, starts_at, minutes=50):
    return visit_services.session_schedule(
        relationship=relationship,
        actor=relationship.therapist,
        starts_at=starts_at,
        duration_minutes=minutes,
        modality="in_person",
    )


def week_url(day, **extra):
    query = "&".join(f"{key}={value}" for key, value in extra.items())
    return f"{URL}?view=week&date={day:%Y-%m-%d}" + (f"&{query}" if query else "")


# The views -----------------------------------------------------------------------------------
def test_week_view_shows_the_therapists_sessions_by_name_with_a_link(
    therapist, active_client, signed_in
):
    monday = next_monday()
    session = schedule(active_client, monday + timedelta(days=2, hours=1))

    response = signed_in(therapist).get(week_url(monday))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Maya Patel" in html
    assert f"/calendar/sessions/{session.public_id}/" in html
    assert 'aria-label="11:00 to 11:50, Maya Patel, Scheduled, In person"' in html
    # Empty slots are links to schedule there, with the date and hour.
    assert f"/calendar/new/?date={monday:%Y-%m-%d}&amp;time=09:00" in html
    assert AuditEvent.objects.filter(action="calendar.view").count() == 1


def test_week_view_queries_do_not_grow_with_sessions(
    therapist, active_client, signed_in, django_assert_max_num_queries
):
    monday = next_monday()
    browser = signed_in(therapist)
    schedule(active_client, monday)
    browser.get(week_url(monday))  # warm the session and caches

    with django_assert_max_num_queries(12) as few:
        browser.get(week_url(monday))
    for day in range(7):
        for hour in (8, 10, 12, 14, 16):
            relationship = CareRelationshipFactory(therapist=therapist)
            TherapySessionFactory(
                relationship=relationship,
                starts_at=monday + timedelta(days=day, hours=hour - 10),
                status=SessionStatus.SCHEDULED,
            )
            if hour == 16:  # and a request awaiting approval the next hour
                request(relationship, monday + timedelta(days=day, hours=7), therapist)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = browser.get(week_url(monday))

    html = response.content.decode()
    assert html.count('class="cal-session ') == 43
    assert html.count('class="cal-session request ') == 7


def request(relationship, starts_at, by, status=BookingStatus.PENDING):
    """A booking request as the client made it (the services' rules are tested elsewhere)."""
    return BookingRequest.objects.create(
        relationship=relationship,
        requested_by=by,
        starts_at=starts_at,
        duration_minutes=50,
        modality="in_person",
        status=status,
    )


def test_requests_awaiting_approval_are_drawn_dashed_with_a_link_to_answer_them(
    therapist, active_client, client_user, child_client, guardian_user, signed_in
):
    monday = next_monday()
    request(active_client, monday + timedelta(days=1), client_user)
    request(child_client, monday + timedelta(days=2), guardian_user, BookingStatus.DECLINED)
    browser = signed_in(therapist)

    html = browser.get(week_url(monday)).content.decode()

    assert html.count('class="cal-session request ') == 1
    assert (
        'href="/#home-bookings" aria-label="10:00 to 10:50, session request from Maya Patel, '
        'awaiting your approval on the home page"'
    ) in html
    assert "Ava Okafor" not in html  # the declined one is not drawn
    month = browser.get(f"{URL}?view=month&date={monday:%Y-%m-%d}").content.decode()
    assert "10:00 Maya Patel (requested)" in month


def test_an_archived_clients_request_is_not_drawn_nor_warned_of(
    therapist, active_client, client_user, child_client, signed_in
):
    monday = next_monday()
    request(active_client, monday, client_user)
    client_services.relationship_archive(relationship=active_client, actor=therapist)
    browser = signed_in(therapist)

    assert 'class="cal-session request ' not in browser.get(week_url(monday)).content.decode()
    scheduled = browser.post("/calendar/new/", schedule_data(child_client, monday))
    assert scheduled.status_code == 302  # no warning of a request nobody can answer


def test_a_request_is_drawn_as_the_viewer_may_see_its_client(
    therapist, supervisor, practice_admin, active_client, client_user, signed_in
):
    monday = next_monday()
    request(active_client, monday, client_user)

    supervising = signed_in(supervisor).get(week_url(monday, clinician=therapist.public_id))
    admin = signed_in(practice_admin).get(week_url(monday, clinician=therapist.public_id))

    assert "session request from Maya Patel, awaiting approval" in supervising.content.decode()
    assert "/#home-bookings" not in supervising.content.decode()  # only the therapist answers
    admin_html = admin.content.decode()
    assert "Maya Patel" not in admin_html
    assert 'aria-label="10:00 to 10:50, session request, awaiting approval"' in admin_html
    assert "<strong>10:00</strong> Session request <span" in admin_html
    month = signed_in(practice_admin).get(
        f"{URL}?view=month&date={monday:%Y-%m-%d}&clinician={therapist.public_id}"
    )
    assert "10:00 Session request</li>" in month.content.decode()


def test_a_week_spanning_the_clock_change_shows_wall_clock_times(
    therapist, active_client, signed_in
):
    # The week of Monday 26 October 2026 ends on Sunday 1 November, when the clocks go back.
    before = schedule(active_client, datetime(2026, 10, 31, 10, tzinfo=NEW_YORK))
    after = schedule(active_client, datetime(2026, 11, 1, 10, tzinfo=NEW_YORK))

    html = signed_in(therapist).get(f"{URL}?view=week&date=2026-11-01").content.decode()

    rows = {}
    for session in (before, after):
        found = re.search(
            rf'class="cal-session col-(\d) at-(\d+) [^"]*" href="/calendar/sessions/'
            rf'{session.public_id}/" aria-label="([^"]+)"',
            html,
        )
        assert found, html
        rows[session.pk] = found.groups()
    assert rows[before.pk][0] == "7" and rows[after.pk][0] == "8"  # Saturday, Sunday
    assert rows[before.pk][1] == rows[after.pk][1]  # the same row: 10:00 on both days
    assert rows[before.pk][2].startswith("10:00 to 10:50")
    assert rows[after.pk][2].startswith("10:00 to 10:50")


def test_day_and_month_views(therapist, active_client, signed_in):
    monday = next_monday()
    schedule(active_client, monday)
    schedule(active_client, monday + timedelta(hours=2))
    browser = signed_in(therapist)

    day = browser.get(f"{URL}?view=day&date={monday:%Y-%m-%d}").content.decode()
    month = browser.get(f"{URL}?view=month&date={monday:%Y-%m-%d}").content.decode()

    assert "cal-grid days-1" in day and "Maya Patel" in day
    assert "2 sessions" in month
    assert "10:00 Maya Patel" in month and "12:00 Maya Patel" in month


def test_a_session_outside_the_default_hours_extends_the_grid(therapist, active_client, signed_in):
    monday = next_monday()
    schedule(active_client, monday.replace(hour=6))

    html = signed_in(therapist).get(week_url(monday)).content.decode()

    assert ">06:00</div>" in html


def test_htmx_navigation_gets_the_calendar_partial(therapist, signed_in):
    response = signed_in(therapist).get(f"{URL}?view=week&date=2027-01-04", **HTMX)

    html = response.content.decode()
    assert html.lstrip().startswith('<section id="calendar"')
    assert "<html" not in html
    assert 'hx-push-url="true"' in html
    assert "date=2026-12-28" in html and "date=2027-01-11" in html  # previous, next


@pytest.mark.parametrize(
    "query", ["view=year", "date=2027-13-01", "date=tomorrow", "date=1800-01-01"]
)
def test_bad_parameters_are_a_400(therapist, signed_in, query):
    assert signed_in(therapist).get(f"{URL}?{query}").status_code == 400


def test_blocked_time_and_working_hours_are_drawn(therapist, signed_in):
    monday = next_monday()
    services.working_hours_set(
        clinician=therapist, actor=therapist, days={0: [(time(9), time(17))]}
    )
    services.blocked_time_add(
        clinician=therapist,
        actor=therapist,
        starts_at=monday.replace(hour=12),
        ends_at=monday.replace(hour=13),
        reason="Training",
    )

    html = signed_in(therapist).get(week_url(monday)).content.decode()

    assert 'class="cal-working col-2 ' in html
    assert "Blocked: Training" in html


# Whose calendar --------------------------------------------------------------------------------
def test_supervisor_sees_a_supervisees_sessions_by_name(
    therapist, supervisor, active_client, signed_in
):
    monday = next_monday()
    schedule(active_client, monday)

    html = signed_in(supervisor).get(week_url(monday, clinician=therapist.public_id)).content
    html = html.decode()

    assert "Maya Patel" in html
    assert "Calendar of Alice Rivera" in html
    assert "/calendar/new/" not in html  # no scheduling in someone else's calendar


def test_admin_picks_any_clinician_and_sees_busy_without_names(
    therapist, colleague, supervisor, practice_admin, active_client, signed_in
):
    monday = next_monday()
    schedule(active_client, monday)
    browser = signed_in(practice_admin)

    html = browser.get(week_url(monday, clinician=therapist.public_id)).content.decode()

    assert "Maya Patel" not in html
    assert "Busy" in html
    assert "/calendar/sessions/" not in html
    picker = html.split('name="clinician"', 1)[1].split("</select>", 1)[0]
    assert {"Alice Rivera", "Bob Lee", "Helen Brooks"} <= set(
        re.findall(r">([^<]+)</option>", picker)
    )
    assert browser.get(URL).status_code == 200


def test_supervisor_picker_lists_themselves_and_supervisees_only(
    therapist, colleague, supervisor, signed_in
):
    browser = signed_in(supervisor)
    html = browser.get(URL).content.decode()

    picker = html.split('name="clinician"', 1)[1].split("</select>", 1)[0]
    assert set(re.findall(r">([^<]+)</option>", picker)) == {"Alice Rivera", "Helen Brooks"}
    assert browser.get(f"{URL}?clinician={colleague.public_id}").status_code == 404


def test_another_clinicians_calendar_is_a_404(
    therapist, colleague, outsider, signed_in, practice_admin
):
    assert signed_in(colleague).get(f"{URL}?clinician={therapist.public_id}").status_code == 404
    assert signed_in(therapist).get(f"{URL}?clinician={colleague.public_id}").status_code == 404
    assert signed_in(practice_admin).get(f"{URL}?clinician={outsider.public_id}").status_code == 404
    assert signed_in(therapist).get(f"{URL}?clinician=not-a-uuid").status_code == 404


def test_a_colleagues_session_in_my_calendar_is_never_there(
    therapist, colleague, active_client, signed_in
):
    """A therapist's own calendar shows only their sessions; a colleague's are not busy time."""
    colleague_client = CareRelationshipFactory(therapist=colleague)
    monday = next_monday()
    schedule(colleague_client, monday)

    html = signed_in(therapist).get(week_url(monday)).content.decode()

    assert colleague_client.client_name not in html
    assert "cal-session" not in html


def test_clients_have_no_calendar(client_user, signed_in):
    assert signed_in(client_user).get(URL).status_code == 404


# Scheduling from the calendar ---------------------------------------------------------------------
def schedule_data(relationship, day, **extra):
    return {
        "client": str(relationship.public_id),
        "date": f"{day:%Y-%m-%d}",
        "time": "10:00",
        "duration_minutes": "50",
        "modality": "in_person",
        "repeat": "none",
        "ends": "count",
        "count": "6",
        **extra,
    }


def test_the_form_is_prefilled_from_the_slot_and_lists_only_own_open_clients(
    therapist, colleague, active_client, signed_in
):
    CareRelationshipFactory(therapist=colleague, client_name="Zed Other")
    CareRelationshipFactory(therapist=therapist, client_name="Old Archived", state="archived")

    html = signed_in(therapist).get("/calendar/new/?date=2027-01-05&time=09:00").content.decode()

    assert 'value="2027-01-05"' in html and 'value="09:00"' in html
    assert "Maya Patel" in html
    assert "Zed Other" not in html and "Old Archived" not in html


def test_scheduling_one_session_redirects_to_its_week(therapist, active_client, signed_in):
    monday = next_monday()

    response = signed_in(therapist).post("/calendar/new/", schedule_data(active_client, monday))

    assert response.status_code == 302
    assert response["Location"] == f"/calendar/?view=week&date={monday:%Y-%m-%d}"
    session = TherapySession.objects.get()
    assert session.starts_at == monday
    assert not SessionSeries.objects.exists()


def test_scheduling_a_weekly_series_of_six(therapist, active_client, signed_in):
    monday = next_monday()

    response = signed_in(therapist).post(
        "/calendar/new/", schedule_data(active_client, monday, repeat="weekly")
    )

    assert response.status_code == 302
    series = SessionSeries.objects.get()
    assert series.count == 6
    assert TherapySession.objects.count() == 6


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ({"repeat": "weekly", "ends": "until", "until": ""}, "until", "Choose the date"),
        ({"repeat": "weekly", "count": ""}, "count", "after how many sessions"),
        ({"repeat": "weekly", "count": "0"}, "count", "at least 1 session"),
        ({"repeat": "weekly", "count": "500"}, "count", "at most 104"),
        ({"repeat": "weekly", "ends": "until", "until": "2020-01-01"}, "until", "can't end"),
        ({"repeat": "yearly"}, "repeat", "Select a valid choice"),
        ({"client": ""}, "client", "Choose the client"),
        ({"duration_minutes": "1000"}, "duration_minutes", "at most 8 hours"),
        ({"time": "25:00"}, "time", "Enter a valid time"),
    ],
)
def test_bad_schedule_input_gets_field_errors(active_client, extra, field, message):
    form = ScheduleForm(
        schedule_data(active_client, next_monday(), **extra),
        time_zone=NEW_YORK,
        clients=[(str(active_client.public_id), active_client.client_name)],
    )

    assert not form.is_valid()
    assert message in form.errors[field][0]


def test_another_therapists_client_is_refused(therapist, colleague, signed_in):
    other = CareRelationshipFactory(therapist=colleague)

    response = signed_in(therapist).post("/calendar/new/", schedule_data(other, next_monday()))

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not TherapySession.objects.exists()


def test_conflicts_warn_first_and_schedule_anyway_goes_ahead(therapist, active_client, signed_in):
    monday = next_monday()
    services.blocked_time_add(
        clinician=therapist,
        actor=therapist,
        starts_at=monday,
        ends_at=monday + timedelta(hours=1),
    )
    browser = signed_in(therapist)

    response = browser.post("/calendar/new/", schedule_data(active_client, monday))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Falls in blocked time." in html
    assert "Schedule anyway" in html
    assert not TherapySession.objects.exists()

    response = browser.post(
        "/calendar/new/", schedule_data(active_client, monday, allow_overlap="True")
    )
    assert response.status_code == 302
    assert TherapySession.objects.count() == 1


def test_scheduling_over_a_clients_request_warns_first(
    therapist, active_client, child_client, guardian_user, signed_in
):
    monday = next_monday()
    request(child_client, monday, guardian_user)  # Ava's guardian asked for Monday 10:00
    browser = signed_in(therapist)

    response = browser.post("/calendar/new/", schedule_data(active_client, monday))

    html = response.content.decode()
    assert "A client has asked for this time and is awaiting your approval" in html
    assert "Schedule anyway" in html
    assert not TherapySession.objects.exists()
    later = browser.post("/calendar/new/", schedule_data(active_client, monday, time="11:00"))
    assert later.status_code == 302  # 10:50 on: clear of the request


def test_moving_onto_a_clients_request_warns_first(
    therapist, series, child_client, guardian_user, signed_in
):
    second = session_at(series, 2)
    local = timezone.localtime(second.starts_at, NEW_YORK)
    request(child_client, local.replace(hour=15), guardian_user)
    move = {
        "date": f"{local:%Y-%m-%d}",
        "time": "15:30",
        "duration_minutes": "50",
        "modality": "in_person",
        "scope": "this",
    }

    warned = signed_in(therapist).post(f"/calendar/sessions/{second.public_id}/move/", move)

    assert "A client has asked for this time" in warned.content.decode()
    second.refresh_from_db()
    assert timezone.localtime(second.starts_at, NEW_YORK).hour == 10


def test_admin_and_supervisor_without_clients_cannot_schedule_for_others(
    practice_admin, supervisor, active_client, signed_in
):
    assert signed_in(practice_admin).get("/calendar/new/").status_code == 404
    response = signed_in(supervisor).post(
        "/calendar/new/", schedule_data(active_client, next_monday())
    )
    assert response.status_code == 200  # the form again: not one of their clients
    assert not TherapySession.objects.exists()


# A session's calendar page ------------------------------------------------------------------------
@pytest.fixture
def series(active_client):
    return recurrence.series_create(
        relationship=active_client,
        actor=active_client.therapist,
        starts_at=next_monday(),
        duration_minutes=50,
        modality="in_person",
        frequency="weekly",
        count=4,
    )


def session_at(series, position):
    return TherapySession.objects.get(
        series_occurrence__series=series, series_occurrence__position=position
    )


def test_the_session_page_offers_the_series_actions_to_the_therapist_only(
    therapist, supervisor, colleague, practice_admin, series, signed_in
):
    session = session_at(series, 2)
    url = f"/calendar/sessions/{session.public_id}/"

    mine = signed_in(therapist).get(url).content.decode()
    supervised = signed_in(supervisor).get(url)

    assert "This and following" in mine and "Cancel this and following" in mine
    assert supervised.status_code == 200
    assert "Cancel this and following" not in supervised.content.decode()
    assert signed_in(colleague).get(url).status_code == 404
    assert signed_in(practice_admin).get(url).status_code == 404


def test_moving_this_and_following_from_the_page(therapist, series, signed_in):
    second = session_at(series, 2)
    local = timezone.localtime(second.starts_at, NEW_YORK)

    response = signed_in(therapist).post(
        f"/calendar/sessions/{second.public_id}/move/",
        {
            "date": f"{local:%Y-%m-%d}",
            "time": "15:00",
            "duration_minutes": "50",
            "modality": "in_person",
            "scope": "following",
        },
    )

    assert response.status_code == 302
    hours = [
        timezone.localtime(s.starts_at, NEW_YORK).hour
        for s in TherapySession.objects.order_by("starts_at")
    ]
    assert hours == [10, 15, 15, 15]


def test_moving_only_this_session_from_the_page(therapist, series, signed_in):
    second = session_at(series, 2)
    local = timezone.localtime(second.starts_at, NEW_YORK)

    signed_in(therapist).post(
        f"/calendar/sessions/{second.public_id}/move/",
        {
            "date": f"{local:%Y-%m-%d}",
            "time": "15:00",
            "duration_minutes": "50",
            "modality": "in_person",
            "scope": "this",
        },
    )

    hours = [
        timezone.localtime(s.starts_at, NEW_YORK).hour
        for s in TherapySession.objects.order_by("starts_at")
    ]
    assert hours == [10, 15, 10, 10]


def test_cancel_this_and_following_from_the_page(therapist, colleague, series, signed_in):
    third = session_at(series, 3)
    url = f"/calendar/sessions/{third.public_id}/cancel/"

    assert signed_in(colleague).post(url, {"scope": "following"}).status_code == 404
    assert not TherapySession.objects.filter(status=SessionStatus.CANCELLED).exists()

    assert signed_in(therapist).post(url, {"scope": "following"}).status_code == 302
    statuses = list(TherapySession.objects.order_by("starts_at").values_list("status", flat=True))
    assert statuses == ["scheduled", "scheduled", "cancelled", "cancelled"]


def test_a_bad_move_gets_field_errors(therapist, series, signed_in):
    second = session_at(series, 2)

    response = signed_in(therapist).post(
        f"/calendar/sessions/{second.public_id}/move/",
        {"date": "", "time": "15:00", "duration_minutes": "2", "scope": "following"},
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "Choose the date." in html
    assert "at least 5 minutes" in html
    assert SessionSeries.objects.count() == 1


def test_moving_into_blocked_time_warns_first_then_save_anyway(therapist, series, signed_in):
    second = session_at(series, 2)
    local = timezone.localtime(second.starts_at, NEW_YORK)
    services.blocked_time_add(
        clinician=therapist,
        actor=therapist,
        starts_at=second.starts_at + timedelta(hours=5),
        ends_at=second.starts_at + timedelta(hours=6),
    )
    data = {
        "date": f"{local:%Y-%m-%d}",
        "time": "15:00",
        "duration_minutes": "50",
        "modality": "in_person",
        "scope": "this",
    }
    browser = signed_in(therapist)

    response = browser.post(f"/calendar/sessions/{second.public_id}/move/", data)

    assert response.status_code == 200
    assert "Falls in blocked time." in response.content.decode()
    assert "Save anyway" in response.content.decode()
    second.refresh_from_db()
    assert timezone.localtime(second.starts_at, NEW_YORK).hour == 10

    response = browser.post(
        f"/calendar/sessions/{second.public_id}/move/", {**data, "allow_overlap": "True"}
    )
    assert response.status_code == 302
    second.refresh_from_db()
    assert timezone.localtime(second.starts_at, NEW_YORK).hour == 15


# Dates at the ends of the calendar ---------------------------------------------------------
@pytest.mark.parametrize(("day", "clock"), [("9999-12-31", "23:00"), ("0001-01-01", "00:30")])
def test_a_date_out_of_range_is_a_field_error_when_scheduling(
    therapist, active_client, signed_in, day, clock
):
    response = signed_in(therapist).post(
        "/calendar/new/", schedule_data(active_client, next_monday(), date=day, time=clock)
    )

    assert response.status_code == 200
    assert "Choose a date between 1 January 1900 and 31 December 2199." in (
        response.content.decode()
    )
    assert not TherapySession.objects.exists()


def test_a_series_running_past_the_last_date_is_a_field_error(therapist, active_client, signed_in):
    response = signed_in(therapist).post(
        "/calendar/new/",
        schedule_data(active_client, next_monday(), date="2199-12-17", repeat="weekly", count="6"),
    )

    assert response.status_code == 200
    assert field_errors(response, "count") == [
        "The series would run past 31 December 2199; choose an earlier end."
    ]
    assert not TherapySession.objects.exists()


@pytest.mark.parametrize("day", ["1900-01-01", "1950-01-05", "2199-12-31"])
def test_every_date_a_session_can_take_opens_in_the_calendar(
    therapist, active_client, signed_in, day
):
    browser = signed_in(therapist)
    scheduled = browser.post(
        "/calendar/new/", schedule_data(active_client, next_monday(), date=day)
    )

    assert scheduled.status_code == 302
    for view in ("day", "week", "month"):
        assert browser.get(f"{URL}?view={view}&date={day}").status_code == 200, view


def test_a_date_out_of_range_is_a_field_error_when_moving(therapist, series, signed_in):
    second = session_at(series, 2)

    response = signed_in(therapist).post(
        f"/calendar/sessions/{second.public_id}/move/",
        {
            "date": "9999-12-31",
            "time": "23:00",
            "duration_minutes": "50",
            "modality": "in_person",
            "scope": "this",
        },
    )

    assert response.status_code == 200
    assert "Choose a date between" in response.content.decode()
    second.refresh_from_db()
    assert second.starts_at.year < 2100


def test_a_time_that_cannot_be_converted_is_a_field_error_even_inside_the_form_bounds():
    # Only the calendar's very ends overflow; the form's bounds keep them out, and the
    # conversion itself answers with a field error rather than an OverflowError.
    form = ScheduleForm(
        {"date": "9999-12-31", "time": "23:00"},
        time_zone=ZoneInfo("Pacific/Kiritimati"),
        clients=[],
    )
    assert not form.is_valid()
    assert "Choose a date between" in form.errors["date"][0]

    with pytest.raises(ValidationError, match="Choose a date between"):
        local_datetime(datetime(9999, 12, 31).date(), time(23), NEW_YORK)
    with pytest.raises(ValidationError, match="Choose a date between"):
        local_datetime(datetime(1, 1, 1).date(), time(0, 30), ZoneInfo("Asia/Tokyo"))

"""Booking in the portal and on the therapist's home page (SCH-2): who may do what, what the
pages say, and what the home page's list costs."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from caseload.scheduling import booking
from caseload.scheduling.models import BookingRequest, BookingStatus
from caseload.scheduling.tests.booking_helpers import ready, slots, zone
from caseload.visits import services as visits
from caseload.visits.models import SessionStatus, TherapySession
from tests.factories import CareRelationshipFactory, account

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def ask(relationship: Any, actor: Any, starts_at: datetime) -> BookingRequest:
    return booking.booking_request_create(
        relationship=relationship, actor=actor, starts_at=starts_at
    )


def schedule(relationship: Any, starts_at: datetime) -> TherapySession:
    return visits.session_schedule(
        relationship=relationship,
        actor=relationship.therapist,
        starts_at=starts_at,
        duration_minutes=50,
        modality="telehealth",
        allow_overlap=True,
    )


def text(response: Any) -> str:
    return response.content.decode()


def local(starts_at: datetime, relationship: Any, pattern: str) -> str:
    return timezone.localtime(starts_at, zone(relationship)).strftime(pattern)


# The portal -----------------------------------------------------------------------------
def test_the_portal_shows_no_booking_while_the_setting_is_off(
    active_client, client_user, signed_in
):
    browser = signed_in(client_user)
    schedule(active_client, timezone.now() + timedelta(days=2))

    assert "Your sessions and session requests" not in text(browser.get("/portal/"))
    assert browser.get("/portal/sessions/").status_code == 404
    assert browser.get(f"/portal/care/{active_client.public_id}/book/").status_code == 404
    session = TherapySession.objects.get()
    assert browser.get(f"/portal/sessions/{session.public_id}/cancel/").status_code == 404
    assert browser.post(f"/portal/sessions/{session.public_id}/cancel/").status_code == 404
    assert TherapySession.objects.get().status == SessionStatus.SCHEDULED


def shown_on(page: str, session: TherapySession, relationship: Any) -> bool:
    """The page shows the session at the practice's wall-clock time (not UTC's)."""
    local = timezone.localtime(session.starts_at, zone(relationship))
    return f"{local:%a %-d %b %Y, %H:%M}" in page or f"{local:%A %-d %B %Y, %H:%M}" in page


def test_every_portal_list_shows_the_same_sessions_at_the_practices_time(
    active_client, client_user, signed_in
):
    """One selector behind the home page, the reminders page and the sessions page."""
    practice = active_client.practice
    practice.telehealth_url_template = "https://meet.example.org/{room}"
    practice.save(update_fields=["telehealth_url_template"])
    # 15:30 in New York is 20:30 (or 19:30) in UTC: a page in UTC would show another hour.
    day = timezone.localdate(timezone=zone(active_client)) + timedelta(days=3)
    video = schedule(
        active_client, datetime(day.year, day.month, day.day, 15, 30, tzinfo=zone(active_client))
    )
    browser = signed_in(client_user)
    link = f"https://meet.example.org/{video.video_room}"

    # Booking off: the home and reminders pages list it with its join link; no sessions page.
    for url in ("/portal/", "/portal/reminders/"):
        page = text(browser.get(url))
        assert f'data-session="{video.public_id}"' in page
        assert shown_on(page, video, active_client), url
        assert link in page
        assert "Your sessions and session requests" not in page
        assert f"/portal/sessions/{video.public_id}/cancel/" not in page
    assert browser.get("/portal/sessions/").status_code == 404

    # Booking on: the sessions page lists the same session, with the link and cancelling.
    ready(active_client)
    home = text(browser.get("/portal/"))
    assert "Your sessions and session requests" in home
    sessions = text(browser.get("/portal/sessions/"))
    assert f'data-session="{video.public_id}"' in sessions
    assert shown_on(sessions, video, active_client)
    assert link in sessions
    assert f"/portal/sessions/{video.public_id}/cancel/" in sessions


def test_the_client_requests_a_slot_from_the_days_offered(active_client, client_user, signed_in):
    found = ready(active_client)
    browser = signed_in(client_user)
    assert "Your sessions and session requests" in text(browser.get("/portal/"))
    book = f"/portal/care/{active_client.public_id}/book/"

    page = text(browser.get(book))
    first_day = local(found[0], active_client, "%A %-d %B")
    assert f">{first_day}</h3>" in page
    assert "Request a session" in page
    at = timezone.localtime(found[1], zone(active_client)).isoformat()
    assert f"?at={at.replace(':', '%3A').replace('+', '%2B')}" in page

    confirm = text(browser.get(book, {"at": at}))
    assert "Confirm your request" in confirm
    assert local(found[1], active_client, "%H:%M") in confirm

    done = browser.post(book, {"starts_at": at}, follow=True)
    assert done.redirect_chain[-1][0] == "/portal/sessions/"
    page = text(done)
    assert "Requested — awaiting approval" in page
    assert "Withdraw" in page
    made = BookingRequest.objects.get()
    assert (made.starts_at, made.status, made.requested_by) == (
        found[1],
        BookingStatus.PENDING,
        client_user,
    )


def test_a_guardian_books_for_their_child(child_client, guardian_user, signed_in):
    found = ready(child_client)
    browser = signed_in(guardian_user)
    response = browser.post(
        f"/portal/care/{child_client.public_id}/book/", {"starts_at": found[0].isoformat()}
    )
    assert response.status_code == 302
    assert BookingRequest.objects.get().relationship == child_client
    assert "Ava Okafor with Alice Rivera" in text(browser.get("/portal/sessions/"))


#: Times at the ends of the calendar: their offset takes them out of range in UTC.
OUT_OF_RANGE = ["9999-12-31T23:59:59-23:00", "0001-01-01T00:00:00+23:00"]


@pytest.mark.parametrize(
    "value", ["", "tomorrow", "2030-01-01T10:00:00", "9" * 40, "x" * 41, *OUT_OF_RANGE]
)
def test_a_bad_time_is_a_message_not_an_error(active_client, client_user, signed_in, value):
    ready(active_client)
    response = signed_in(client_user).post(
        f"/portal/care/{active_client.public_id}/book/", {"starts_at": value}, follow=True
    )
    assert response.status_code == 200
    assert "Choose one of the times offered." in text(response)
    assert not BookingRequest.objects.exists()


@pytest.mark.parametrize("value", ["tomorrow", *OUT_OF_RANGE])
def test_a_bad_time_to_confirm_is_a_message_not_an_error(
    active_client, client_user, signed_in, value
):
    ready(active_client)

    response = signed_in(client_user).get(
        f"/portal/care/{active_client.public_id}/book/", {"at": value}
    )

    assert response.status_code == 200
    assert "That time is no longer free. Choose another time." in text(response)
    assert "Confirm your request" not in text(response)


def test_a_time_taken_meanwhile_says_so(active_client, child_client, client_user, signed_in):
    found = ready(active_client)
    browser = signed_in(client_user)
    schedule(child_client, found[0])
    book = f"/portal/care/{active_client.public_id}/book/"

    confirm = browser.get(book, {"at": found[0].isoformat()})
    assert "That time is no longer free" in text(confirm)
    assert "Confirm your request" not in text(confirm)
    posted = browser.post(book, {"starts_at": found[0].isoformat()}, follow=True)
    assert "That time is no longer free" in text(posted)
    assert not BookingRequest.objects.exists()


def test_a_second_request_is_refused_with_a_message(active_client, client_user, signed_in):
    found = ready(active_client)
    browser = signed_in(client_user)
    book = f"/portal/care/{active_client.public_id}/book/"
    browser.post(book, {"starts_at": found[0].isoformat()})

    again = browser.post(book, {"starts_at": found[1].isoformat()}, follow=True)

    assert again.status_code == 200
    assert "You already have a session request awaiting approval" in text(again)
    assert BookingRequest.objects.count() == 1
    assert "You already have a request awaiting approval" in text(browser.get(book))


def test_a_request_whose_time_passed_unanswered_leaves_both_pages(
    active_client, client_user, therapist, signed_in
):
    found = ready(active_client)
    made = ask(active_client, client_user, found[0])
    BookingRequest.objects.filter(pk=made.pk).update(
        starts_at=timezone.now() - timedelta(minutes=1)
    )
    portal = signed_in(client_user)
    book = f"/portal/care/{active_client.public_id}/book/"

    assert "You already have a request awaiting approval" not in text(portal.get(book))
    assert "Maya Patel" not in home(signed_in(therapist))
    again = portal.post(book, {"starts_at": found[1].isoformat()}, follow=True)

    assert "You already have a session request awaiting approval" not in text(again)
    made.refresh_from_db()
    assert made.status == BookingStatus.EXPIRED
    assert BookingRequest.objects.get(status=BookingStatus.PENDING).starts_at == found[1]


def test_withdrawing_from_the_sessions_page(active_client, client_user, signed_in):
    made = ask(active_client, client_user, ready(active_client)[0])
    browser = signed_in(client_user)

    done = browser.post(f"/portal/bookings/{made.public_id}/withdraw/", follow=True)

    assert "Request withdrawn." in text(done)
    made.refresh_from_db()
    assert made.status == BookingStatus.WITHDRAWN
    assert "Request a session" in text(done)


def test_upcoming_sessions_with_cancel_and_the_late_cancel_warning(
    active_client, client_user, signed_in
):
    ready(active_client, cancellation_window_hours=24)
    soon = schedule(active_client, timezone.now() + timedelta(hours=5))
    later = schedule(active_client, timezone.now() + timedelta(days=3))
    schedule(active_client, timezone.now() - timedelta(days=3))  # past: not listed
    browser = signed_in(client_user)

    page = text(browser.get("/portal/sessions/"))
    assert page.count('data-session="') == 2
    assert page.count("(now a late cancel)") == 1
    assert "Telehealth" in page

    late_page = text(browser.get(f"/portal/sessions/{soon.public_id}/cancel/"))
    assert "This will be a late cancel" in late_page
    assert "Cancel anyway (late cancel)" in late_page
    early_page = text(browser.get(f"/portal/sessions/{later.public_id}/cancel/"))
    assert "not a late cancel" in early_page

    done = browser.post(f"/portal/sessions/{soon.public_id}/cancel/", follow=True)
    assert "recorded as a late cancel" in text(done)
    browser.post(f"/portal/sessions/{later.public_id}/cancel/")
    statuses = dict(TherapySession.objects.values_list("pk", "status"))
    assert statuses[soon.pk] == SessionStatus.LATE_CANCELLED
    assert statuses[later.pk] == SessionStatus.CANCELLED
    assert "No upcoming sessions." in text(browser.get("/portal/sessions/"))


def test_another_clients_care_request_and_session_are_404(
    active_client, child_client, client_user, guardian_user, signed_in
):
    ready(active_client)
    found = ready(child_client)
    theirs = ask(child_client, guardian_user, found[0])
    session = schedule(child_client, timezone.now() + timedelta(days=2))
    browser = signed_in(client_user)

    for method, url, data in [
        ("get", f"/portal/care/{child_client.public_id}/book/", {}),
        ("post", f"/portal/care/{child_client.public_id}/book/", {"starts_at": found[1]}),
        ("post", f"/portal/bookings/{theirs.public_id}/withdraw/", {}),
        ("get", f"/portal/sessions/{session.public_id}/cancel/", {}),
        ("post", f"/portal/sessions/{session.public_id}/cancel/", {}),
        ("get", f"/portal/care/{uuid4()}/book/", {}),
    ]:
        assert getattr(browser, method)(url, data).status_code == 404, url
    theirs.refresh_from_db()
    session.refresh_from_db()
    assert (theirs.status, session.status) == (BookingStatus.PENDING, SessionStatus.SCHEDULED)
    assert BookingRequest.objects.count() == 1


@pytest.mark.parametrize("who", ["therapist", "colleague", "supervisor", "practice_admin"])
def test_staff_have_no_booking_pages_in_the_portal(request, active_client, client_user, who):
    found = ready(active_client)
    made = ask(active_client, client_user, found[0])
    session = schedule(active_client, timezone.now() + timedelta(days=2))
    browser = request.getfixturevalue("signed_in")(request.getfixturevalue(who))

    for method, url in [
        ("get", "/portal/sessions/"),
        ("get", f"/portal/care/{active_client.public_id}/book/"),
        ("post", f"/portal/bookings/{made.public_id}/withdraw/"),
        ("post", f"/portal/sessions/{session.public_id}/cancel/"),
    ]:
        assert getattr(browser, method)(url).status_code == 404, url


def test_signed_out_visitors_are_sent_to_sign_in(active_client, client):
    for url in ("/portal/sessions/", f"/portal/care/{active_client.public_id}/book/"):
        assert client.get(url).url.startswith("/accounts/login/")


# The therapist's home page ----------------------------------------------------------------
def home(browser: Any) -> str:
    return text(browser.get("/"))


def test_the_home_page_lists_requests_with_approve_and_decline(
    active_client, client_user, therapist, signed_in
):
    found = ready(active_client)
    browser = signed_in(therapist)
    ask(active_client, client_user, found[2])

    page = home(browser)

    assert "Booking requests" in page
    assert "1 session request awaiting your approval." in page
    assert "Maya Patel" in page
    assert local(found[2], active_client, "%a %-d %b %Y, %H:%M") in page
    made = BookingRequest.objects.get()
    assert f"/calendar/requests/{made.public_id}/approve/" in page
    assert f"/calendar/requests/{made.public_id}/decline/" in page


def test_a_colleague_and_the_supervisor_see_no_list_of_alices_requests(
    active_client, client_user, colleague, supervisor, signed_in
):
    ask(active_client, client_user, ready(active_client)[0])
    for viewer in (colleague, supervisor):
        page = home(signed_in(viewer))
        assert "/calendar/requests/" not in page
        assert "Maya Patel" not in page


def test_the_block_is_hidden_while_the_setting_is_off_and_nothing_waits(
    active_client, therapist, signed_in
):
    schedule(active_client, timezone.now() - timedelta(days=1))  # a note due: the page shows
    assert "Booking requests" not in home(signed_in(therapist))


def test_approving_from_the_home_page(active_client, client_user, therapist, signed_in):
    starts_at = ready(active_client)[1]
    made = ask(active_client, client_user, starts_at)
    browser = signed_in(therapist)

    done = browser.post(f"/calendar/requests/{made.public_id}/approve/", follow=True)

    assert done.redirect_chain[-1][0] == "/"
    assert "Approved: Maya Patel&#x27;s session on" in text(done)
    made.refresh_from_db()
    assert made.status == BookingStatus.APPROVED
    assert made.session is not None and made.session.starts_at == starts_at
    assert f"/calendar/requests/{made.public_id}/" not in text(done)
    portal = text(signed_in(client_user).get("/portal/sessions/"))
    assert f'data-session="{made.session.public_id}"' in portal


def test_declining_from_the_home_page_with_htmx(active_client, client_user, therapist, signed_in):
    made = ask(active_client, client_user, ready(active_client)[1])

    response = signed_in(therapist).post(f"/calendar/requests/{made.public_id}/decline/", **HTMX)

    assert response.status_code == 200
    assert json.loads(response["HX-Location"]) == {"path": "/"}
    made.refresh_from_db()
    assert made.status == BookingStatus.DECLINED
    assert not TherapySession.objects.exists()


def test_approving_a_time_taken_meanwhile_tells_the_therapist(
    active_client, child_client, client_user, therapist, signed_in
):
    starts_at = ready(active_client)[0]
    made = ask(active_client, client_user, starts_at)
    schedule(child_client, starts_at)

    done = signed_in(therapist).post(f"/calendar/requests/{made.public_id}/approve/", follow=True)

    page = text(done)
    assert "That time is no longer free" in page
    assert "Decline the request" in page
    made.refresh_from_db()
    assert made.status == BookingStatus.PENDING
    assert f"/calendar/requests/{made.public_id}/decline/" in page


@pytest.mark.parametrize(
    "who", ["colleague", "supervisor", "outsider", "practice_admin", "client_user"]
)
def test_someone_elses_request_is_404(request, active_client, client_user, signed_in, who):
    made = ask(active_client, client_user, ready(active_client)[0])
    browser = signed_in(request.getfixturevalue(who))

    for action in ("approve", "decline"):
        url = f"/calendar/requests/{made.public_id}/{action}/"
        assert browser.post(url).status_code == 404
        assert browser.post(url, **HTMX).status_code == 404
    assert signed_in(active_client.therapist).get(
        f"/calendar/requests/{made.public_id}/approve/"
    ).status_code in (404, 405)
    made.refresh_from_db()
    assert made.status == BookingStatus.PENDING


def test_a_get_changes_nothing(active_client, client_user, therapist, signed_in):
    made = ask(active_client, client_user, ready(active_client)[0])
    url = f"/calendar/requests/{made.public_id}/approve/"
    assert signed_in(therapist).get(url).status_code == 405
    made.refresh_from_db()
    assert made.status == BookingStatus.PENDING


def _home_queries(browser: Any) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert browser.get("/").status_code == 200
    return len(captured)


def test_the_home_block_costs_the_same_for_2_and_30_requests(therapist, signed_in):
    """Bounded like every home list, in a fixed number of queries."""
    relationships = CareRelationshipFactory.create_batch(30, therapist=therapist)
    ready(relationships[0], booking_weeks_ahead=4)
    free = slots(relationships[0])
    assert len(free) >= 30

    def request_for(relationship: Any, starts_at: datetime) -> None:
        holder = account(f"holder-{relationship.pk}@example.com")
        relationship.client.account = holder
        relationship.client.save(update_fields=["account"])
        ask(relationship, holder, starts_at)

    for relationship, starts_at in zip(relationships[:2], free, strict=False):
        request_for(relationship, starts_at)
    browser = signed_in(therapist)
    browser.get("/")
    few = _home_queries(browser)

    for relationship, starts_at in zip(relationships[2:], free[2:], strict=False):
        request_for(relationship, starts_at)
    many = _home_queries(browser)

    assert many == few
    page = home(browser)
    assert "30 session requests awaiting your approval." in page
    assert page.count('action="/calendar/requests/') == 2 * 10  # approve, decline; 10 rows
    assert "Showing the soonest 10 of 30." in page


def test_the_portal_sessions_page_costs_the_same_for_few_and_many_sessions(
    active_client, child_client, guardian_user, signed_in, django_assert_max_num_queries
):
    ready(active_client)
    ready(child_client)
    browser = signed_in(guardian_user)
    browser.get("/portal/sessions/")  # the session is loaded once
    for days in range(1, 3):
        schedule(child_client, timezone.now() + timedelta(days=days))
    with CaptureQueriesContext(connection) as few:
        browser.get("/portal/sessions/")
    for days in range(3, 30):
        schedule(child_client, timezone.now() + timedelta(days=days, hours=1))
    with CaptureQueriesContext(connection) as many:
        page = text(browser.get("/portal/sessions/"))
    assert len(many) == len(few)
    assert page.count('data-session="') == 20  # bounded

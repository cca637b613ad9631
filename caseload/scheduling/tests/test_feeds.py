"""Private calendar feeds (SCH-4): made with a token shown once, read back with icalendar,
no names, revocable, and nobody else's to manage."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import UTC, timedelta
from typing import Any

import icalendar
import pytest
from django.test import Client as Anonymous
from django.urls import reverse
from django.utils import timezone

from caseload.audit.models import AuditEvent
from caseload.clients.models import CareRelationship
from caseload.scheduling.feeds import feed_create, initials
from caseload.scheduling.models import CalendarFeed
from caseload.visits import services as visit_services
from caseload.visits.models import TherapySession
from tests.factories import active_relationship

pytestmark = pytest.mark.django_db

JOIN_TEMPLATE = "https://meet.example.com/{room}"


def schedule(
    relationship: CareRelationship, in_days: float, modality: str = "in_person"
) -> TherapySession:
    return visit_services.session_schedule(
        relationship=relationship,
        actor=relationship.therapist,
        starts_at=timezone.now() + timedelta(days=in_days),
        duration_minutes=50,
        modality=modality,
        allow_overlap=True,
    )


def feed_url(token: str) -> str:
    return reverse("feeds:ics", args=[token])


def create_on_page(browser: Any) -> str:
    """Create a feed through the page; the address it shows once."""
    response = browser.post(reverse("feeds:list"))
    assert response.status_code == 200
    found = re.search(r'value="http[^"]*/calendar/feeds/([^"/]+)\.ics"', response.content.decode())
    assert found is not None
    return found.group(1)


@pytest.fixture
def calendar(
    active_client: CareRelationship, therapist: Any, colleague: Any
) -> dict[str, TherapySession]:
    practice = active_client.practice
    practice.telehealth_url_template = JOIN_TEMPLATE
    practice.save(update_fields=["telehealth_url_template"])
    other = active_relationship(therapist, full_name="Jonas Whitfield", email="jonas@example.com")
    bobs = active_relationship(colleague, full_name="Greta Holm", email="greta@example.com")
    sessions = {
        "past": schedule(active_client, -10),
        "video": schedule(active_client, 3, modality="telehealth"),
        "other": schedule(other, 5),
        "cancelled": schedule(active_client, 6),
        "too_old": schedule(active_client, -40),
        "too_far": schedule(active_client, 200),
        "bobs": schedule(bobs, 4),
    }
    visit_services.session_update(
        session=sessions["cancelled"], actor=therapist, values={"status": "cancelled"}
    )
    return sessions


def test_the_feed_lists_the_clinicians_sessions_without_names(
    therapist: Any, signed_in: Callable[[Any], Any], calendar: dict[str, TherapySession]
) -> None:
    browser = signed_in(therapist)
    token = create_on_page(browser)
    response = Anonymous().get(feed_url(token))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert response["Cache-Control"] == "no-store"
    body = response.content.decode()
    for name in ("Maya", "Patel", "Jonas", "Whitfield", "Greta", "Holm", "Alice"):
        assert name not in body

    parsed = icalendar.Calendar.from_ical(response.content)
    events = {str(event["UID"]): event for event in parsed.walk("VEVENT")}
    expected = {
        f"{calendar[key].public_id}@caseload": calendar[key] for key in ("past", "video", "other")
    }
    assert set(events) == set(expected)
    video = events[f"{calendar['video'].public_id}@caseload"]
    assert str(video["SUMMARY"]) == "Video session · M.P."
    join_link = JOIN_TEMPLATE.replace("{room}", calendar["video"].video_room)
    assert str(video["LOCATION"]) == join_link
    start = video.decoded("DTSTART")
    assert start.utcoffset() == timedelta(0)
    assert abs(start - calendar["video"].starts_at.astimezone(UTC)) < timedelta(seconds=1)
    assert video.decoded("DTEND") - start == timedelta(minutes=50)
    assert re.search(r"DTSTART:\d{8}T\d{6}Z", body)
    other = events[f"{calendar['other'].public_id}@caseload"]
    assert str(other["SUMMARY"]) == "Session · J.W."
    assert str(other["LOCATION"]) == "In person"

    # The same UIDs next time: calendar apps update events rather than duplicate them.
    again = icalendar.Calendar.from_ical(Anonymous().get(feed_url(token)).content)
    assert {str(event["UID"]) for event in again.walk("VEVENT")} == set(events)


def test_the_token_is_shown_once_and_only_its_hash_is_stored(
    therapist: Any, signed_in: Callable[[Any], Any]
) -> None:
    browser = signed_in(therapist)
    token = create_on_page(browser)
    feed = CalendarFeed.objects.get()
    assert feed.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
    assert len(token) >= 43  # 256 bits
    assert token not in browser.get(reverse("feeds:list")).content.decode()
    event = AuditEvent.objects.get(action="calendar_feed.create")
    assert event.actor == therapist and token not in str(event.detail)


def test_a_revoked_feed_answers_404(
    therapist: Any, signed_in: Callable[[Any], Any], client: Any
) -> None:
    browser = signed_in(therapist)
    token = create_on_page(browser)
    feed = CalendarFeed.objects.get()
    assert client.get(feed_url(token)).status_code == 200
    response = browser.post(reverse("feeds:revoke", args=[feed.public_id]))
    assert response.status_code == 302
    assert client.get(feed_url(token)).status_code == 404
    feed.refresh_from_db()
    assert feed.revoked_at is not None
    assert AuditEvent.objects.filter(action="calendar_feed.revoke", actor=therapist).count() == 1
    assert "Revoked" in browser.get(reverse("feeds:list")).content.decode()


def test_an_unknown_token_is_404_and_logged_without_an_audit_row(
    client: Any, db: None, caplog: pytest.LogCaptureFixture
) -> None:
    """Anyone can make tokens up: each would otherwise write an audit row."""
    for token in ("not-a-real-token", "x" * 500, "y" * 43):
        assert client.get(feed_url(token)).status_code == 404
    assert not AuditEvent.objects.exists()
    warnings = [r for r in caplog.records if r.name == "caseload.scheduling.feeds"]
    assert [r.levelname for r in warnings] == ["WARNING"] * 3
    assert all("unknown token" in r.getMessage() for r in warnings)
    assert not any("not-a-real-token" in r.getMessage() for r in warnings)


def test_a_revoked_feed_polled_again_and_again_is_audited_once_per_interval(
    therapist: Any, client: Any
) -> None:
    new = feed_create(actor=therapist)
    new.feed.revoked_at = timezone.now()
    new.feed.save(update_fields=["revoked_at"])
    for _ in range(3):
        assert client.get(feed_url(new.token)).status_code == 404
    [denied] = AuditEvent.objects.filter(action="calendar_feed.fetch")
    assert denied.outcome == "denied"
    assert denied.object_id == str(new.feed.public_id)
    CalendarFeed.objects.filter(pk=new.feed.pk).update(
        last_used_at=timezone.now() - timedelta(minutes=6)
    )
    client.get(feed_url(new.token))
    assert AuditEvent.objects.filter(action="calendar_feed.fetch", outcome="denied").count() == 2


@pytest.mark.parametrize("role", ["admin", "supervisor"])
def test_a_feed_opens_only_while_its_owner_is_a_clinician(
    therapist: Any, client: Any, role: str
) -> None:
    new = feed_create(actor=therapist)
    assert client.get(feed_url(new.token)).status_code == 200
    membership = therapist.membership
    membership.role = role
    membership.save(update_fields=["role"])
    expected = 404 if role == "admin" else 200  # a supervisor still sees clients
    assert client.get(feed_url(new.token)).status_code == expected


def test_another_clinicians_feed_cannot_be_managed(
    therapist: Any,
    colleague: Any,
    supervisor: Any,
    outsider: Any,
    client_user: Any,
    signed_in: Callable[[Any], Any],
) -> None:
    new = feed_create(actor=therapist)
    revoke = reverse("feeds:revoke", args=[new.feed.public_id])
    for person in (colleague, supervisor, outsider, client_user):
        assert signed_in(person).post(revoke).status_code == 404
        assert (
            str(new.feed.public_id)
            not in signed_in(person).get(reverse("feeds:list")).content.decode()
        )
    new.feed.refresh_from_db()
    assert new.feed.revoked_at is None


def test_the_feed_page_is_for_clinicians_only(
    practice_admin: Any, client_user: Any, signed_in: Callable[[Any], Any], client: Any
) -> None:
    assert signed_in(practice_admin).get(reverse("feeds:list")).status_code == 404
    assert signed_in(client_user).get(reverse("feeds:list")).status_code == 404
    response = client.get(reverse("feeds:list"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_feed_records_its_last_use(therapist: Any, client: Any) -> None:
    new = feed_create(actor=therapist)
    client.get(feed_url(new.token))
    new.feed.refresh_from_db()
    assert new.feed.last_used_at is not None
    assert AuditEvent.objects.filter(action="calendar_feed.fetch", actor=therapist).exists()


def test_the_feed_costs_the_same_queries_for_many_sessions(
    active_client: CareRelationship,
    therapist: Any,
    client: Any,
    django_assert_max_num_queries: Any,
) -> None:
    new = feed_create(actor=therapist)
    for day in range(1, 30):
        schedule(active_client, day)
    with django_assert_max_num_queries(6):
        response = client.get(feed_url(new.token))
    assert len(icalendar.Calendar.from_ical(response.content).walk("VEVENT")) == 29


def test_a_clinician_has_at_most_five_active_feeds(
    therapist: Any, signed_in: Callable[[Any], Any]
) -> None:
    browser = signed_in(therapist)
    for _ in range(5):
        create_on_page(browser)
    response = browser.post(reverse("feeds:list"))
    assert response.status_code == 400
    assert "revoke one you no longer use" in response.content.decode()


@pytest.mark.parametrize(
    ("name", "expected"),
    [("Maya Patel", "M.P."), ("maya", "M."), ("Ana María de la Cruz", "A.C."), ("  ", "Client")],
)
def test_initials(name: str, expected: str) -> None:
    assert initials(name) == expected


def test_a_removed_clients_sessions_leave_the_feed(
    active_client: CareRelationship, therapist: Any, client: Any
) -> None:
    new = feed_create(actor=therapist)
    schedule(active_client, 2)

    def count() -> int:
        response = client.get(feed_url(new.token))
        return len(icalendar.Calendar.from_ical(response.content).walk("VEVENT"))

    assert count() == 1
    CareRelationship.objects.filter(pk=active_client.pk).update(state="ended")
    assert count() == 0


def test_the_feed_token_is_masked_in_logs() -> None:
    from caseload.lib.log_masking import mask_secret_paths

    line = '"GET /calendar/feeds/s3cr3t-Token_x.ics HTTP/1.1" 200'
    assert mask_secret_paths(line) == '"GET /calendar/feeds/[masked] HTTP/1.1" 200'
    assert mask_secret_paths("/calendar/feeds/") == "/calendar/feeds/"

"""Expressions built once that read the time when each query runs (the My Clients badges)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from caseload.accounts.models import User
from caseload.lib.expressions import CurrentDate, CurrentTime

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)


def _read(expression: object, therapist: User) -> object:
    return User.objects.filter(pk=therapist.pk).annotate(at=expression).values_list("at").get()[0]


def test_one_current_time_reads_the_clock_at_each_query(therapist: User) -> None:
    now = CurrentTime()
    with mock.patch("django.utils.timezone.now", return_value=MONDAY):
        assert _read(now, therapist) == MONDAY
    later = MONDAY + timedelta(hours=5)
    with mock.patch("django.utils.timezone.now", return_value=later):
        assert _read(now, therapist) == later


def test_current_date_is_today_in_the_active_time_zone_plus_days(therapist: User) -> None:
    soon = CurrentDate(days=14)
    with mock.patch("django.utils.timezone.now", return_value=MONDAY):
        with timezone.override(ZoneInfo("UTC")):
            assert _read(soon, therapist) == MONDAY.date() + timedelta(days=14)
        with timezone.override(ZoneInfo("Asia/Tokyo")):  # already Tuesday there
            assert _read(soon, therapist) == MONDAY.date() + timedelta(days=15)


def test_a_current_time_less_a_setting_reads_both_at_each_query(therapist: User, settings) -> None:
    settings.EMAIL_HANDOFF_STALE_SECONDS = 90
    stale = CurrentTime(ago=lambda: timedelta(seconds=settings.EMAIL_HANDOFF_STALE_SECONDS))
    with mock.patch("django.utils.timezone.now", return_value=MONDAY):
        assert _read(stale, therapist) == MONDAY - timedelta(seconds=90)
    settings.EMAIL_HANDOFF_STALE_SECONDS = 30
    later = MONDAY + timedelta(hours=1)
    with mock.patch("django.utils.timezone.now", return_value=later):
        assert _read(stale, therapist) == later - timedelta(seconds=30)


def test_the_list_badge_for_an_interrupted_email_follows_the_clock(
    therapist: User, signed_in: object
) -> None:
    """The "Not delivered" badge is built once per process: an invitation handed to the mail
    server a moment ago is not flagged, and the same one is once the hand-off is stale."""
    from caseload.clients.models import Invitation
    from caseload.lib.email import DeliveryStatus
    from tests.factories import pending_relationship

    pending_relationship(therapist, full_name="Pat Pending", email="pat@example.com")
    Invitation.objects.update(
        delivery_status=DeliveryStatus.SENDING, delivery_handed_at=timezone.now()
    )
    browser = signed_in(therapist)  # type: ignore[operator]
    assert ">Not delivered</span>" not in browser.get("/clients/").content.decode()
    with mock.patch("django.utils.timezone.now", return_value=timezone.now() + timedelta(hours=1)):
        assert ">Not delivered</span>" in browser.get("/clients/").content.decode()

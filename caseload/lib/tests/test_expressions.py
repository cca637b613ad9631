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

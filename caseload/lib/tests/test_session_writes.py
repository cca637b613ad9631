"""The session row is written when the session changes, not on every request: activity is
recorded at most once a minute (the idle limit stays right to within that minute)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client as Browser
from django.test.utils import CaptureQueriesContext

PAGE = "/clients/"


def session_writes(browser: Browser, path: str = PAGE, **extra: Any) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert browser.get(path, **extra).status_code == 200
    return sum(
        1
        for query in queries.captured_queries
        if "django_session" in query["sql"]
        and query["sql"].lstrip().upper().startswith(("UPDATE", "INSERT"))
    )


def recorded_activity(browser: Browser) -> int:
    value = browser.session["caseload_last_activity"]
    assert isinstance(value, int)
    return value


def set_activity(browser: Browser, seconds_ago: int) -> None:
    session = browser.session
    session["caseload_last_activity"] = int(time.time()) - seconds_ago
    session.save()


def test_requests_within_a_minute_do_not_write_the_session_row(
    therapist: Any, signed_in: Callable[[Any], Browser]
) -> None:
    browser = signed_in(therapist)
    browser.get(PAGE)  # the first request records the sign-in's start and activity
    row = Session.objects.get(session_key=browser.session.session_key)

    assert session_writes(browser) == 0
    assert session_writes(browser) == 0
    assert session_writes(browser, "/clinical/icd10/", data={"q": "anxiety"}) == 0
    after = Session.objects.get(session_key=row.session_key)
    assert (after.expire_date, after.session_data) == (row.expire_date, row.session_data)


def test_a_request_more_than_a_minute_later_records_the_activity(
    therapist: Any, signed_in: Callable[[Any], Browser]
) -> None:
    browser = signed_in(therapist)
    browser.get(PAGE)
    set_activity(browser, seconds_ago=61)

    assert session_writes(browser) == 1
    assert recorded_activity(browser) >= int(time.time()) - 5
    assert session_writes(browser) == 0


def test_a_short_idle_limit_records_activity_more_often(
    therapist: Any, signed_in: Callable[[Any], Browser], settings: Any
) -> None:
    # With a one-minute idle limit, activity recorded only once a minute would sign out
    # someone who clicked 40 seconds ago and again now, 61 seconds after the last record.
    settings.SESSION_IDLE_TIMEOUT_SECONDS = 60
    browser = signed_in(therapist)
    browser.get(PAGE)
    set_activity(browser, seconds_ago=40)

    assert session_writes(browser) == 1
    assert recorded_activity(browser) >= int(time.time()) - 5

"""Query-count guards: the list and every profile section cost the same whatever the history.

Counts are compared between a small and a large world in the same test, so a section that
starts querying per row (an N+1) or per item of history fails here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from caseload.clients.access import get_relationship_for_user
from caseload.lib.http import SYSTEM
from caseload.workspace.registry import PROFILE_SECTIONS
from tests.factories import CareRelationshipFactory, MessageFactory, TherapySessionFactory

pytestmark = pytest.mark.django_db


def _grow_history(relationship: Any, sessions: int, messages: int) -> None:
    TherapySessionFactory.create_batch(sessions, relationship=relationship, mood_score=5)
    MessageFactory.create_batch(messages, relationship=relationship)


def _queries(action: Callable[[], Any]) -> int:
    with CaptureQueriesContext(connection) as captured:
        action()
    return len(captured)


@pytest.mark.parametrize("section", PROFILE_SECTIONS, ids=lambda section: section.key)
def test_each_profile_section_costs_the_same_with_a_long_history(
    section: Any, therapist: Any, active_client: Any, colleague: Any
) -> None:
    from tests.factories import active_relationship

    small = active_client
    large = active_relationship(therapist, full_name="Long History", email="long@example.com")
    _grow_history(small, sessions=2, messages=2)
    _grow_history(large, sessions=40, messages=40)

    def render(relationship: Any) -> int:
        gated = get_relationship_for_user(therapist, relationship.public_id)
        return _queries(lambda: section.context(therapist, gated, SYSTEM))

    assert render(large) == render(small)


def test_the_profile_page_costs_the_same_with_a_long_history(
    therapist: Any, active_client: Any, signed_in: Any
) -> None:
    from tests.factories import active_relationship

    large = active_relationship(therapist, full_name="Long History", email="long@example.com")
    _grow_history(active_client, sessions=2, messages=2)
    _grow_history(large, sessions=40, messages=40)
    browser = signed_in(therapist)

    def page(relationship: Any) -> int:
        url = reverse("workspace:detail", args=[relationship.public_id])
        return _queries(lambda: browser.get(url))

    page(active_client)  # warm the session and the ICD-10 free caches
    assert page(large) == page(active_client)


def test_the_client_list_costs_the_same_for_3_and_60_clients(
    therapist: Any, signed_in: Any
) -> None:
    browser = signed_in(therapist)
    url = reverse("workspace:index")
    CareRelationshipFactory.create_batch(3, therapist=therapist)
    browser.get(url)
    few = _queries(lambda: browser.get(url))

    CareRelationshipFactory.create_batch(57, therapist=therapist)
    many = _queries(lambda: browser.get(url))

    assert many == few


@pytest.mark.parametrize(
    "tab",
    [
        "",
        "clinical",
        "personal",
        "emergency",
        "preferences",
        "sessions",
        "plans",
        "documents",
        "messaging",
    ],
)
def test_each_profile_tab_costs_the_same_for_5_and_500_sessions(
    therapist: Any, active_client: Any, signed_in: Any, tab: str
) -> None:
    from tests.factories import active_relationship

    large = active_relationship(therapist, full_name="Long History", email="long@example.com")
    _grow_history(active_client, sessions=5, messages=5)
    _grow_history(large, sessions=500, messages=100)
    browser = signed_in(therapist)

    def page(relationship: Any) -> int:
        url = f"/clients/{relationship.public_id}/" + (f"{tab}/" if tab else "")
        browser.get(url)  # warm
        return _queries(lambda: browser.get(url))

    assert page(large) == page(active_client)


def test_only_the_tab_shown_is_read_and_audited(
    therapist: Any, active_client: Any, signed_in: Any
) -> None:
    from caseload.audit.models import AuditEvent

    MessageFactory.create_batch(3, relationship=active_client)
    browser = signed_in(therapist)

    browser.get(f"/clients/{active_client.public_id}/sessions/")
    assert not AuditEvent.objects.filter(action="message.list").exists()
    browser.get(f"/clients/{active_client.public_id}/messaging/")
    assert AuditEvent.objects.filter(action="message.list").count() == 1
    views = AuditEvent.objects.filter(action="client.view").order_by("pk")
    assert [event.detail["tab"] for event in views] == ["sessions", "messaging"]

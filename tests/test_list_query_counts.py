"""Query-count guards on every list page: the cost follows the page, not the rows on it.

Each case renders a list once with a little data and once with much more, and the number of
queries must be the same (an N+1 or a per-row lookup fails here).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from caseload.audit.services import audit_record
from caseload.documents.library import sync_library
from caseload.documents.models import AssignedDocument
from caseload.messaging.services import message_send
from caseload.visits import services as visit_services
from tests.factories import CareRelationshipFactory, TherapySessionFactory

pytestmark = pytest.mark.django_db


def _queries(browser: Any, url: str) -> int:
    browser.get(url)  # warm: session activity, caches
    with CaptureQueriesContext(connection) as captured:
        response = browser.get(url)
    assert response.status_code == 200
    return len(captured)


def _sessions_this_week(therapist: Any, count: int) -> None:
    for _ in range(count):
        relationship = CareRelationshipFactory(therapist=therapist)
        TherapySessionFactory(relationship=relationship, starts_at=timezone.now())


def _signed_notes(therapist: Any, count: int) -> None:
    for n in range(count):
        relationship = CareRelationshipFactory(therapist=therapist)
        session = visit_services.session_schedule(
            relationship=relationship,
            actor=therapist,
            starts_at=timezone.now() - timedelta(days=n + 1),
            allow_overlap=True,
            duration_minutes=50,
            modality="in_person",
        )
        visit_services.note_save_and_sign(
            session=session, actor=therapist, note_format="soap", content={"subjective": "x"}
        )


def _audit_events(therapist: Any, count: int) -> None:
    for _ in range(count):
        audit_record(action="client.view", actor=therapist)


def _portal_documents(therapist: Any, relationship: Any, count: int) -> None:
    # Plain rows: the assigning service allows one open copy of a questionnaire at a time.
    phq9 = next(v for v in sync_library() if v.scoring == "phq9")
    AssignedDocument.objects.bulk_create(
        AssignedDocument(relationship=relationship, version=phq9, assigned_by=therapist)
        for _ in range(count)
    )


def _portal_messages(therapist: Any, relationship: Any, count: int) -> None:
    for n in range(count):
        message_send(relationship=relationship, actor=therapist, text=f"Note {n}")


Grow = Callable[[dict[str, Any], int], Any]
CASES: dict[str, tuple[str, Callable[[dict[str, Any]], str], Grow]] = {
    "agenda": (
        "therapist",
        lambda w: "/sessions/?view=week",
        lambda w, n: _sessions_this_week(w["therapist"], n),
    ),
    "supervision": (
        "supervisor",
        lambda w: "/supervision/",
        lambda w, n: _signed_notes(w["therapist"], n),
    ),
    "audit-log": (
        "practice_admin",
        lambda w: "/practice/audit/",
        lambda w, n: _audit_events(w["therapist"], n),
    ),
    "my-clients": (
        "therapist",
        lambda w: "/clients/",
        lambda w, n: CareRelationshipFactory.create_batch(n, therapist=w["therapist"]),
    ),
    "portal-documents": (
        "client_user",
        lambda w: "/portal/documents/",
        lambda w, n: _portal_documents(w["therapist"], w["active_client"], n),
    ),
    "portal-conversation": (
        "client_user",
        lambda w: f"/portal/messages/{w['active_client'].public_id}/",
        lambda w, n: _portal_messages(w["therapist"], w["active_client"], n),
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_a_list_page_costs_the_same_with_more_rows(
    request: Any,
    signed_in: Callable[[Any], Any],
    therapist: Any,
    supervisor: Any,
    practice_admin: Any,
    active_client: Any,
    case: str,
) -> None:
    persona, url_of, grow = CASES[case]
    world = {"therapist": therapist, "active_client": active_client}
    url = url_of(world)
    browser = signed_in(request.getfixturevalue(persona))
    grow(world, 2)
    few = _queries(browser, url)

    grow(world, 20)
    many = _queries(browser, url)

    assert many == few

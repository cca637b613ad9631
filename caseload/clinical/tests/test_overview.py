"""The Clinical Information card on the Overview tab: the primary diagnosis, the others."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from caseload.clients.access import get_relationship_for_user
from caseload.clients.models import CareRelationship
from caseload.clinical import services
from caseload.clinical.models import Diagnosis, DiagnosisStatus
from caseload.clinical.sections import SECTIONS
from caseload.lib.http import SYSTEM
from tests.factories import active_relationship

pytestmark = pytest.mark.django_db


def card(response: Any) -> str:
    html = response.content.decode()
    marker = 'aria-labelledby="overview-clinical-title"'
    assert marker in html, "no Clinical Information card"
    return html.split(marker, 1)[1].split("</section>", 1)[0]


def text(markup: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def overview_url(relationship: CareRelationship) -> str:
    return f"/clients/{relationship.public_id}/"


def tab_url(relationship: CareRelationship) -> str:
    return f"/clients/{relationship.public_id}/clinical/"


def test_card_shows_the_primary_diagnosis_and_counts_the_other_active_ones(
    therapist, active_client, signed_in
):
    for code in ("F41.1", "F33.1", "F43.10"):
        services.diagnosis_add(relationship=active_client, actor=therapist, code=code)
    resolved = active_client.diagnoses.get(code="F43.10")
    services.diagnosis_update(
        diagnosis=resolved, actor=therapist, values={"status": DiagnosisStatus.RESOLVED}
    )

    markup = card(signed_in(therapist).get(overview_url(active_client)))

    shown = text(markup)
    assert "Primary diagnosis F41.1 Generalized anxiety disorder" in shown
    assert "Other active diagnoses 1" in shown  # F33.1; the resolved F43.10 is not counted
    links = re.findall(r'href="([^"]+)"', markup)
    assert links and set(links) == {tab_url(active_client)}  # every figure links to its tab


def test_a_resolved_primary_diagnosis_says_so(therapist, active_client, signed_in):
    diagnosis = services.diagnosis_add(relationship=active_client, actor=therapist, code="F41.1")
    services.diagnosis_update(
        diagnosis=diagnosis, actor=therapist, values={"status": DiagnosisStatus.RESOLVED}
    )

    shown = text(card(signed_in(therapist).get(overview_url(active_client))))

    assert "F41.1 Generalized anxiety disorder (resolved)" in shown
    assert "Other active diagnoses 0" in shown


def test_without_a_diagnosis_the_therapist_is_offered_to_add_one(
    therapist, active_client, signed_in
):
    markup = card(signed_in(therapist).get(overview_url(active_client)))

    assert f'<a href="{tab_url(active_client)}">Add a diagnosis</a>' in markup
    assert "Other active diagnoses" not in text(markup)


def test_the_supervisor_reads_the_card_without_an_add_link(
    therapist, supervisor, active_client, signed_in
):
    empty = text(card(signed_in(supervisor).get(overview_url(active_client))))
    assert "Primary diagnosis None recorded" in empty
    assert "Add a diagnosis" not in empty

    services.diagnosis_add(relationship=active_client, actor=therapist, code="F41.1")
    shown = text(card(signed_in(supervisor).get(overview_url(active_client))))
    assert "F41.1 Generalized anxiety disorder" in shown


def _with_diagnoses(relationship: CareRelationship, count: int) -> CareRelationship:
    Diagnosis.objects.bulk_create(
        Diagnosis(
            relationship=relationship,
            code=f"Z{index:02d}.0",
            description=f"Diagnosis {index}",
            is_primary=index == 0,
        )
        for index in range(count)
    )
    return relationship


def _queries(action: Any) -> int:
    with CaptureQueriesContext(connection) as captured:
        action()
    return len(captured)


def test_the_card_costs_the_same_queries_for_1_and_40_diagnoses(therapist, active_client):
    (section,) = SECTIONS
    overview = section.overview
    assert overview is not None
    few = _with_diagnoses(active_client, 1)
    many = _with_diagnoses(
        active_relationship(therapist, full_name="Noor Haddad", email="noor@example.com"), 40
    )

    def cost(relationship: CareRelationship) -> int:
        gated = get_relationship_for_user(therapist, relationship.public_id)
        return _queries(lambda: overview(therapist, gated, SYSTEM))

    assert cost(many) == cost(few) <= 2
    gated = get_relationship_for_user(therapist, many.public_id)
    assert overview(therapist, gated, SYSTEM)["clinical_overview"]["other_active"] == 39


def test_the_overview_page_costs_the_same_for_1_and_40_diagnoses(
    therapist, active_client, signed_in
):
    few = _with_diagnoses(active_client, 1)
    many = _with_diagnoses(
        active_relationship(therapist, full_name="Noor Haddad", email="noor@example.com"), 40
    )
    browser = signed_in(therapist)
    browser.get(overview_url(few))  # warm the session

    assert _queries(lambda: browser.get(overview_url(many))) == _queries(
        lambda: browser.get(overview_url(few))
    )

"""Input that never 500s, and responses that no cache keeps (issue 11, items 4 and 10)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client as Browser
from django.utils import timezone

from caseload.lib.middleware import without_control_characters
from caseload.plans import services as plan_services
from caseload.visits import services as visit_services
from caseload.visits.models import ProgressNote
from tests.factories import pending_relationship

pytestmark = pytest.mark.django_db


def test_control_characters_are_taken_out_but_tabs_and_newlines_stay() -> None:
    assert without_control_characters("a\x00b\x07c\td\ne\r\x7f") == "abc\td\ne\r"
    # C1 controls and the bidirectional overrides that display a name reversed go too; the
    # marks right-to-left text needs stay, as do letters of every script.
    assert (
        without_control_characters("Zoë 李小龍 \u202eevil\u202c\u2066x\u2069\x85")
        == "Zoë 李小龍 evilx"
    )
    assert (
        without_control_characters("\u05e9\u05dc\u05d5\u05dd\u200f")
        == "\u05e9\u05dc\u05d5\u05dd\u200f"
    )


def test_a_nul_byte_in_a_progress_note_is_saved_without_it(
    therapist: Any, active_client: Any, signed_in: Any
) -> None:
    session = visit_services.session_schedule(
        relationship=active_client,
        actor=therapist,
        starts_at=timezone.now() - timedelta(days=1),
        duration_minutes=50,
        modality="in_person",
    )
    url = f"/clients/{active_client.public_id}/sessions/{session.public_id}/note/"

    response = signed_in(therapist).post(
        url, {"format": "soap", "section_subjective": "Slept\x00 badly", "action": "save"}
    )

    assert response.status_code in (200, 302)
    note = ProgressNote.objects.get(session=session)
    assert note.content["subjective"] == "Slept badly"


def test_a_nul_byte_in_the_client_search_is_not_an_error(
    therapist: Any, active_client: Any, signed_in: Any
) -> None:
    response = signed_in(therapist).get("/clients/", {"q": "Ma\x00ya"})

    assert response.status_code == 200
    assert "Maya Patel" in response.content.decode()


def test_a_nul_byte_in_personal_details_is_saved_without_it(
    therapist: Any, active_client: Any, signed_in: Any
) -> None:
    signed_in(therapist).post(
        f"/clients/{active_client.public_id}/personal/", {"gender": "Wo\x00man"}
    )

    active_client.refresh_from_db()
    assert active_client.gender == "Woman"


def test_every_signed_in_page_and_every_pdf_is_no_store(
    therapist: Any, active_client: Any, signed_in: Any
) -> None:
    browser = signed_in(therapist)
    for url in ("/", "/clients/", f"/clients/{active_client.public_id}/"):
        assert "no-store" in browser.get(url)["Cache-Control"], url
    plan = plan_services.plan_create(
        relationship=active_client,
        actor=therapist,
        html="<h2>Goals</h2>",
        effective_date=timezone.localdate(),
    )
    pdf = browser.get(f"/clients/{active_client.public_id}/plans/{plan.public_id}/pdf/")
    assert pdf["Content-Type"] == "application/pdf"
    assert "no-store" in pdf["Cache-Control"]


def test_anonymous_pages_are_no_store_too_the_invitation_page_above_all(therapist: Any) -> None:
    pending = pending_relationship(therapist, full_name="Pat Pending", email="pat@example.com")
    invitation_page = f"/invite/{pending.invitations.get().token()}/"
    browser = Browser()
    for url in (invitation_page, "/accounts/login/", "/accounts/password/reset/"):
        response = browser.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url

"""A note's optional risk assessment and mental status exam: in every format, validated,
signed with the note (its hash), shown when signed, and high risk without a safety plan
raises "needs attention"."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from caseload.clients.models import CareRelationship
from caseload.visits import services
from caseload.visits.models import NoteFormat, NoteStatus, ProgressNote, TherapySession
from caseload.visits.sections import ATTENTION

pytestmark = pytest.mark.django_db

HIGH_RISK = {
    "suicidal_ideation": "active",
    "plan": "yes",
    "intent": "no",
    "access_to_means": "yes",
    "homicidal_ideation": "none",
    "self_harm": "past",
    "protective_factors": "Close to her sister; future-oriented about work.",
    "risk_level": "high",
    "safety_plan_reviewed": "no",
}
MSE = {
    "appearance": {"choice": "appropriate", "text": ""},
    "mood": {"choice": "depressed", "text": "\u201cLow all week\u201d"},
    "affect": {"choice": "restricted", "text": ""},
    "insight": {"choice": "fair", "text": ""},
}


def past_session(relationship: CareRelationship, days_ago: int = 2) -> TherapySession:
    return services.session_schedule(
        relationship=relationship,
        actor=relationship.therapist,
        starts_at=timezone.now() - timedelta(days=days_ago),
        duration_minutes=50,
        modality="in_person",
    )


def signed_note(
    session: TherapySession, note_format: str = "soap", **structured: Any
) -> ProgressNote:
    key = {"soap": "subjective", "dap": "data", "birp": "behavior", "free_text": "note"}
    return services.note_save_and_sign(
        session=session,
        actor=session.relationship.therapist,
        note_format=note_format,
        content={key[note_format]: "Talked about work."},
        **structured,
    )


def page_url(session: TherapySession, action: str = "") -> str:
    return f"/clients/{session.relationship.public_id}/sessions/{session.public_id}/{action}"


def text(response: Any) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def high_risk_flag(relationship: CareRelationship) -> bool:
    signal = next(signal for signal in ATTENTION if signal.name == "note_high_risk")
    annotated = CareRelationship.objects.annotate(flag=signal.expression())
    return bool(annotated.get(pk=relationship.pk).flag)


@pytest.mark.parametrize("note_format", NoteFormat.values)
def test_every_format_signs_the_risk_assessment_and_mental_status_with_the_note(
    active_client: Any, note_format: str
) -> None:
    note = signed_note(
        past_session(active_client),
        note_format,
        risk_assessment=HIGH_RISK,
        mental_status=MSE,
    )

    assert note.risk_assessment == HIGH_RISK
    assert note.mental_status["mood"] == {"choice": "depressed", "text": "\u201cLow all week\u201d"}
    assert "speech" not in note.mental_status  # not assessed: left out
    assert note.verify()
    # The hash covers them: change the risk level behind the application's back.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE visits_progressnote SET risk_assessment = %s WHERE id = %s",
            ['{"risk_level": "low"}', note.pk],
        )
    assert not ProgressNote.objects.get(pk=note.pk).verify()


def test_a_signed_note_refuses_a_new_risk_assessment(active_client: Any) -> None:
    note = signed_note(past_session(active_client), risk_assessment={"risk_level": "low"})
    note.risk_assessment = {"risk_level": "high"}

    with pytest.raises(PermissionError, match="A signed note cannot be changed"):
        note.save()


def test_a_note_without_them_hashes_as_before(active_client: Any) -> None:
    note = signed_note(past_session(active_client))

    assert (note.risk_assessment, note.mental_status) == ({}, {})
    import hashlib
    import json

    legacy = json.dumps(
        {"format": note.format, "content": note.content}, sort_keys=True, ensure_ascii=False
    )
    assert note.content_sha256 == hashlib.sha256(legacy.encode()).hexdigest()


@pytest.mark.parametrize(
    ("risk", "mental_status", "field"),
    [
        ({"risk_level": "extreme"}, {}, "risk_risk_level"),
        ({"suicidal_ideation": "sometimes"}, {}, "risk_suicidal_ideation"),
        ({"protective_factors": "x" * 1001}, {}, "risk_protective_factors"),
        ({}, {"mood": {"choice": "sad"}}, "mse_mood"),
        ({}, {"affect": {"text": "y" * 1001}}, "mse_affect_text"),
    ],
)
def test_unknown_choices_are_refused_on_their_field(
    active_client: Any, risk: dict[str, Any], mental_status: dict[str, Any], field: str
) -> None:
    session = past_session(active_client)

    with pytest.raises(services.VisitError) as refused:
        services.note_save_draft(
            session=session,
            actor=active_client.therapist,
            note_format="soap",
            content={"subjective": "x"},
            risk_assessment=risk,
            mental_status=mental_status,
        )

    assert refused.value.field == field
    assert not ProgressNote.objects.exists()


def test_high_risk_without_a_safety_plan_needs_attention(active_client: Any) -> None:
    signed_note(past_session(active_client, days_ago=9), risk_assessment={"risk_level": "low"})
    assert not high_risk_flag(active_client)

    signed_note(past_session(active_client, days_ago=2), risk_assessment=HIGH_RISK)

    assert high_risk_flag(active_client)


def test_high_risk_with_the_safety_plan_reviewed_does_not(active_client: Any) -> None:
    signed_note(
        past_session(active_client),
        risk_assessment={**HIGH_RISK, "safety_plan_reviewed": "yes"},
    )

    assert not high_risk_flag(active_client)


def test_a_later_note_without_a_risk_assessment_does_not_clear_it(active_client: Any) -> None:
    signed_note(past_session(active_client, days_ago=9), risk_assessment=HIGH_RISK)
    signed_note(past_session(active_client, days_ago=2))  # the optional part left out

    assert high_risk_flag(active_client)

    signed_note(past_session(active_client, days_ago=1), risk_assessment={"risk_level": "low"})
    assert not high_risk_flag(active_client)


def test_a_draft_with_high_risk_does_not_raise_it_yet(active_client: Any) -> None:
    services.note_save_draft(
        session=past_session(active_client),
        actor=active_client.therapist,
        note_format="soap",
        content={"subjective": "x"},
        risk_assessment=HIGH_RISK,
    )

    assert not high_risk_flag(active_client)


# Through the page -----------------------------------------------------------------------
def test_the_note_form_offers_both_and_signs_what_was_chosen(
    therapist: Any, active_client: Any, signed_in: Any
) -> None:
    session = past_session(active_client)
    browser = signed_in(therapist)
    form = browser.get(page_url(session)).content.decode()
    assert "Risk assessment (optional)" in form and "Mental status exam (optional)" in form
    assert 'name="risk_suicidal_ideation"' in form and 'name="mse_judgment_text"' in form

    response = browser.post(
        page_url(session, "note/"),
        {
            "format": "dap",
            "section_data": "Reports a hard week.",
            "risk_suicidal_ideation": "passive",
            "risk_risk_level": "high",
            "risk_safety_plan_reviewed": "no",
            "mse_mood": "depressed",
            "mse_mood_text": "tearful",
            "sign": "1",
        },
    )

    assert response.status_code == 302
    note = ProgressNote.objects.get(session=session)
    assert note.status == NoteStatus.SIGNED
    assert note.risk_assessment == {
        "suicidal_ideation": "passive",
        "risk_level": "high",
        "safety_plan_reviewed": "no",
    }
    assert note.mental_status == {"mood": {"choice": "depressed", "text": "tearful"}}
    page = text(browser.get(page_url(session)))
    assert "Suicidal ideation Passive" in page
    assert "Mood Depressed — tearful" in page
    assert "Needs attention: high risk and no safety plan documented." in page
    listing = text(browser.get("/clients/"))
    assert "Needs attention: high risk, no safety plan" in listing


def test_an_unknown_choice_from_the_page_is_a_message_not_a_500(
    therapist: Any, active_client: Any, signed_in: Any
) -> None:
    session = past_session(active_client)

    response = signed_in(therapist).post(
        page_url(session, "note/"),
        {"format": "soap", "section_subjective": "x", "risk_risk_level": "extreme"},
    )

    assert response.status_code == 200
    assert "Risk level: choose one of the options." in text(response)

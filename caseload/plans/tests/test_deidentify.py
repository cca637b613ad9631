"""De-identification (TP-3): what a generator may learn about the client, and the scrubber."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone

from caseload.clients import services as client_services
from caseload.clients.models import CareRelationship
from caseload.clinical import services as clinical_services
from caseload.plans.generators import build_plan_input
from caseload.plans.generators.deidentify import (
    ADDRESS,
    BIRTH_DATE,
    CLIENT,
    EMAIL,
    GUARDIAN,
    PHONE,
    Scrubber,
    age_band,
)
from caseload.visits import services as visit_services
from caseload.visits.models import TherapySession
from tests.factories import active_relationship

START = date(2026, 11, 13)


def details(relationship: CareRelationship, section: str, **values: Any) -> CareRelationship:
    return client_services.relationship_update_details(
        relationship=relationship, section=section, values=values, actor=relationship.therapist
    )


def session(relationship: CareRelationship, days_ago: int) -> TherapySession:
    return visit_services.session_schedule(
        relationship=relationship,
        actor=relationship.therapist,
        starts_at=timezone.now() - timedelta(days=days_ago),
        duration_minutes=50,
        modality="in_person",
    )


def signed_note(
    relationship: CareRelationship, days_ago: int, therapist: Any, **content: str
) -> None:
    note = visit_services.note_save_draft(
        session=session(relationship, days_ago),
        actor=therapist,
        note_format="soap",
        content=content,
    )
    visit_services.note_sign(note=note, actor=therapist)


def dump(plan_input: Any) -> str:
    return json.dumps(plan_input.to_dict()).lower()


@pytest.fixture
def maya(active_client: CareRelationship, therapist: Any) -> CareRelationship:
    """Maya Patel's record, with identifiers scattered through the free text."""
    relationship = details(
        active_client,
        "personal",
        phone="415-555-0100",
        date_of_birth=date(1990, 3, 14),
        address="221 Baker Street, Apt 4B\nSan Francisco, CA 94110",
    )
    relationship = details(
        relationship,
        "emergency",
        emergency_name="Ravi Desai",
        emergency_phone="(415) 555-0199",
        emergency_email="ravi@example.com",
    )
    clinical_services.diagnosis_add(
        relationship=relationship, actor=relationship.therapist, code="F33.1"
    )
    clinical_services.diagnosis_add(
        relationship=relationship, actor=relationship.therapist, code="F41.1"
    )
    resolved = clinical_services.diagnosis_add(
        relationship=relationship, actor=relationship.therapist, code="F43.21"
    )
    clinical_services.diagnosis_update(
        diagnosis=resolved, actor=relationship.therapist, values={"status": "resolved"}
    )
    clinical_services.medication_save(
        relationship=relationship,
        actor=relationship.therapist,
        values={"name": "Sertraline", "dose": "50 mg", "frequency": "once daily"},
    )
    clinical_services.medication_save(
        relationship=relationship,
        actor=relationship.therapist,
        values={
            "name": "Fluoxetine",
            "dose": "20 mg",
            "frequency": "daily",
            "start_date": date(2024, 1, 1),
            "stop_date": date(2024, 6, 1),
        },
    )
    clinical_services.clinical_summary_update(
        relationship=relationship,
        actor=relationship.therapist,
        presenting_concerns=(
            "Maya Patel describes low mood and anhedonia since March. Her brother Ravi Desai "
            "is worried. Contact: maya@example.com, +1 (415) 555-0100."
        ),
        mental_health_history=(
            "MAYA was born 14 March 1990 (DOB: 03/14/1990) and lives at 221 Baker Street, "
            "Apt 4B, San Francisco, CA 94110. One prior depressive episode; no hospitalisation."
        ),
    )
    signed_note(
        relationship,
        20,
        therapist,
        subjective="Maya Patel, private details in the subjective section.",
        assessment="Oldest note: mood 3/10.",
        plan="Start behavioural activation.",
    )
    signed_note(
        relationship,
        14,
        therapist,
        assessment="Second note: mood 4/10.",
        plan="Activity schedule.",
    )
    signed_note(
        relationship,
        7,
        therapist,
        assessment="Maya said she feels hopeless at times; PHQ-9 14.",
        plan="Call me at 415-555-0100 or maya@example.com. Continue behavioural activation.",
    )
    draft = visit_services.note_save_draft(
        session=session(relationship, 1),
        actor=relationship.therapist,
        note_format="soap",
        content={"assessment": "DRAFT-ONLY text"},
    )
    assert draft.status == "draft"
    relationship.refresh_from_db()
    return relationship


def test_the_plan_input_holds_no_identifiers(maya: CareRelationship) -> None:
    plan_input = build_plan_input(maya, start_date=START)
    text = dump(plan_input)

    for identifier in (
        "maya",
        "patel",
        "ravi",
        "desai",
        "@example.com",
        "415",
        "555-01",
        "221 baker",
        "baker street",
        "apt 4b",
        "san francisco",
        "94110",
        "1990",
        "14 march",
        "03/14",
    ):
        assert identifier not in text, identifier


def test_the_plan_input_keeps_the_clinical_content(maya: CareRelationship) -> None:
    plan_input = build_plan_input(maya, start_date=START)

    assert plan_input.age_band == "30-39"
    assert plan_input.is_child is False
    assert plan_input.start_date == START
    assert [code for code, _ in plan_input.diagnoses] == ["F33.1", "F41.1"]  # resolved left out
    assert plan_input.diagnoses[0][1] == "Major depressive disorder, recurrent, moderate"
    assert plan_input.medications == ["Sertraline 50 mg, once daily"]  # stopped one left out
    assert plan_input.presenting_concerns == (
        f"{CLIENT} describes low mood and anhedonia since [date]. Her brother [contact] is "
        f"worried. Contact: {EMAIL}, {PHONE}."
    )
    assert plan_input.history == (
        f"{CLIENT} was born {BIRTH_DATE} (DOB: {BIRTH_DATE}) and lives at {ADDRESS}. "
        "One prior depressive episode; no hospitalisation."
    )


def test_the_last_three_signed_notes_are_used_newest_first(
    maya: CareRelationship, therapist: Any
) -> None:
    signed_note(maya, 30, therapist, assessment="Too old to be included.")

    notes = build_plan_input(maya, start_date=START).recent_notes

    assert len(notes) == 3
    assert notes[0] == (
        f"Assessment: {CLIENT} said she feels hopeless at times; PHQ-9 14.\n"
        f"Plan: Call me at {PHONE} or {EMAIL}. Continue behavioural activation."
    )
    assert notes[1].startswith("Assessment: Second note")
    assert notes[2].startswith("Assessment: Oldest note")
    joined = " ".join(notes)
    assert "DRAFT-ONLY" not in joined
    assert "Too old" not in joined
    assert "subjective" not in joined.lower()


def test_another_clients_notes_are_not_used(maya: CareRelationship, therapist: Any) -> None:
    other = active_relationship(therapist, full_name="Noor Haddad", email="noor@example.com")
    signed_note(other, 2, therapist, assessment="OTHER-CLIENT assessment.")

    notes = build_plan_input(maya, start_date=START).recent_notes

    assert not any("OTHER-CLIENT" in note for note in notes)


def test_a_child_is_banded_and_the_guardian_is_scrubbed(child_client: CareRelationship) -> None:
    relationship = details(child_client, "personal", date_of_birth=date(2016, 5, 2))
    clinical_services.clinical_summary_update(
        relationship=relationship,
        actor=relationship.therapist,
        presenting_concerns=(
            "Ava can't settle at bedtime; Sam Okafor (mum) is exhausted. Ava's teacher agrees."
        ),
        mental_health_history="",
    )

    plan_input = build_plan_input(relationship, start_date=START)

    assert plan_input.is_child is True
    assert plan_input.age_band == "6-12"
    assert plan_input.presenting_concerns == (
        f"{CLIENT} can't settle at bedtime; {GUARDIAN} (mum) is exhausted. "
        f"{CLIENT}'s teacher agrees."
    )
    assert "okafor" not in dump(plan_input)


def test_an_empty_record_gives_an_empty_input(active_client: CareRelationship) -> None:
    plan_input = build_plan_input(active_client, start_date=START)

    assert plan_input.age_band is None
    assert plan_input.diagnoses == [] and plan_input.medications == []
    assert plan_input.presenting_concerns == "" and plan_input.history == ""
    assert plan_input.recent_notes == []


def test_build_plan_input_reads_in_a_few_queries(
    maya: CareRelationship, django_assert_max_num_queries: Any
) -> None:
    relationship = CareRelationship.objects.select_related("client").get(pk=maya.pk)

    with django_assert_max_num_queries(8):
        build_plan_input(relationship, start_date=START)


# The scrubber --------------------------------------------------------------------------------
SCRUB = Scrubber(
    names=(("Maya Patel", CLIENT), ("Will Hope-Smith", GUARDIAN)),
    address="12 Elm Road\nPortland, OR 97201",
    birth_date=date(1990, 3, 14),
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Maya said so.", f"{CLIENT} said so."),
        ("MAYA PATEL, maya, Patel's", f"{CLIENT}, {CLIENT}, {CLIENT}'s"),
        ("Patel,  Maya", f"{CLIENT},  {CLIENT}"),
        ("Maya\u2019s sister", f"{CLIENT}\u2019s sister"),
        ("Will said he will call; hope is back. Hope-Smith agreed.", None),
        ("call me at 415-555-0100", f"call me at {PHONE}"),
        ("(415) 555-0100 / 415.555.0100 / 4155550100", f"{PHONE} / {PHONE} / {PHONE}"),
        ("+44 20 7946 0958 or 555-0100", f"{PHONE} or {PHONE}"),
        ("maya.patel+notes@mail.example.org", EMAIL),
        ("lives at 221B Baker Street with a cat", f"lives at {ADDRESS} with a cat"),
        ("moved to 40 North Shore Drive, Apt 2, Salem, MA 01970.", f"moved to {ADDRESS}."),
        ("PO Box 1234", ADDRESS),
        ("12 elm road", ADDRESS),  # the stored address, any case
        ("Portland, OR 97201", ADDRESS),
        ("born 1990-03-14, i.e. 14/03/1990, March 14th, 1990", None),
        ("DOB: 7 July 1985", f"DOB: {BIRTH_DATE}"),
        # Safe Harbor: every date element but the year, places below a state, other people.
        ("session on 2026-01-15 at 10:30", "session on [date] 2026 at 10:30"),
        ("seen 12/10/2025.", "seen [date] 2025."),
        ("Spent 3 days in St Louis.", "Spent 3 days in [place]."),
        ("Dr Mayall and Mr Patelson are unrelated.", "Dr [name] and Mr [name] are unrelated."),
        ("Moved to Hamilton. Columbia, MO next.", "Moved to [place]. [place], MO next."),
    ],
)
def test_the_scrubber_removes_identifiers(text: str, expected: str | None) -> None:
    scrubbed = SCRUB(text)

    if text.startswith("Will"):
        assert scrubbed == (f"{GUARDIAN} said he will call; hope is back. {GUARDIAN} agreed.")
    elif text.startswith("born"):
        assert scrubbed == f"born {BIRTH_DATE}, i.e. {BIRTH_DATE}, {BIRTH_DATE}"
    else:
        assert scrubbed == expected


@pytest.mark.parametrize(
    "text",
    [
        "PHQ-9 went 18 15 12 10 9 over five sessions.",
        "Sertraline 50 mg; sleeps 6-7 hours at 10:30.",
        "Took 2 pills at night. Spent 3 days in the hospital in 2019.",
        "Mood 4/10, GAD-7 of 12, PHQ-9 14.",
        "Low mood and anhedonia; hopeless at times; behavioural activation helps.",
        "Major depressive disorder, recurrent. She will try CBT; the Beck Depression Inventory.",
        "Client reports panic attacks twice a week; sleeps better since the last session.",
        "Columbia Suicide Severity Rating Scale negative; Hamilton Depression Rating Scale 18.",
        "DBT skills per Linehan; Stanley-Brown safety plan reviewed.",
    ],
)
def test_the_scrubber_keeps_clinical_text(text: str) -> None:
    assert SCRUB(text) == text


@pytest.mark.parametrize(
    ("birth", "on", "band"),
    [
        (date(1990, 3, 14), date(2026, 3, 13), "30-39"),
        (date(1996, 11, 14), date(2026, 11, 13), "18-29"),  # 29, a day before turning 30
        (date(1996, 11, 13), date(2026, 11, 13), "30-39"),  # 30 today
        (date(2008, 11, 14), date(2026, 11, 13), "13-17"),  # 17
        (date(2008, 11, 13), date(2026, 11, 13), "18-29"),  # 18 today
        (date(2021, 1, 1), date(2026, 11, 13), "0-5"),
        (date(2014, 1, 1), date(2026, 11, 13), "6-12"),
        (date(1935, 1, 1), date(2026, 11, 13), "90+"),
        (date(1937, 1, 1), date(2026, 11, 13), "80-89"),
        (None, date(2026, 11, 13), None),
        (date(2027, 1, 1), date(2026, 11, 13), None),
    ],
)
def test_age_band(birth: date | None, on: date, band: str | None) -> None:
    assert age_band(birth, on) == band

"""A demo-like client record, built through the services as a therapist would build it."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.utils import timezone

from caseload.clients import services as client_services
from caseload.clinical import services as clinical_services
from caseload.documents import services as document_services
from caseload.documents.library import sync_library
from caseload.messaging import services as messaging_services
from caseload.plans import services as plan_services
from caseload.visits import services as visit_services

#: Words that appear only in the signed note: the PDF test looks for them.
SIGNED_NOTE_TEXT = "Client describes the worry-time exercise as helpful"
ADDENDUM_TEXT = "Correction: the sleep diary starts on Monday"


def _answers(items: int, total: int) -> dict[str, str]:
    values = [0] * items
    for index in range(total):
        values[index % (items - 1 if items == 9 else items)] += 1
    return {f"q{n}": str(value) for n, value in enumerate(values, 1)}


def build_full_record(relationship: Any) -> Any:
    """Details, emergency contact, diagnoses, a medication, sessions with a signed note and an
    addendum, a plan with two versions, a signed intake, PHQ-9 and GAD-7, and messages."""
    therapist = relationship.therapist
    client_services.relationship_update_details(
        relationship=relationship,
        section="personal",
        values={"phone": "+1 212 555 0147", "date_of_birth": date(1991, 6, 14)},
        actor=therapist,
    )
    client_services.relationship_update_details(
        relationship=relationship,
        section="emergency",
        values={
            "emergency_name": "Ravi Patel",
            "emergency_relationship": "Brother",
            "emergency_phone": "+1 212 555 0199",
        },
        actor=therapist,
    )
    clinical_services.diagnosis_add(
        relationship=relationship, code="F41.1", onset_date=date(2025, 3, 1), actor=therapist
    )
    clinical_services.diagnosis_add(relationship=relationship, code="F33.1", actor=therapist)
    clinical_services.medication_save(
        relationship=relationship,
        values={"name": "Sertraline", "dose": "50 mg", "frequency": "Once daily"},
        actor=therapist,
    )
    zone = timezone.get_current_timezone()
    today = timezone.localdate()
    session = visit_services.session_schedule(
        relationship=relationship,
        starts_at=datetime.combine(today - timedelta(days=7), time(10, 0), tzinfo=zone),
        duration_minutes=50,
        modality="telehealth",
        actor=therapist,
    )
    visit_services.session_update(
        session=session, values={"status": "completed", "mood_score": 6}, actor=therapist
    )
    note = visit_services.note_save_and_sign(
        session=session,
        note_format="soap",
        content={
            "subjective": f"{SIGNED_NOTE_TEXT}; mood 6/10.",
            "objective": "Engaged, affect congruent.",
            "assessment": "Gradual improvement.",
            "plan": "Review sleep diary next session.",
        },
        actor=therapist,
    )
    visit_services.note_add_addendum(note=note, actor=therapist, text=ADDENDUM_TEXT)
    plan = plan_services.plan_create(
        relationship=relationship,
        actor=therapist,
        html="<h2>Goals</h2><p>Reduce worry to two days a week.</p>",
        effective_date=today - timedelta(days=30),
        review_date=today + timedelta(days=60),
    )
    plan_services.plan_save_version(
        plan=plan, actor=therapist, html="<h2>Goals</h2><p>Reduce worry to one day a week.</p>"
    )
    library = {version.template.library_key: version for version in sync_library()}
    account = relationship.client.account
    for key, answers, sign in (
        ("phq9", _answers(9, 12), {}),
        ("gad7", _answers(7, 9), {}),
        ("consent", {"understood": "yes"}, {"typed_name": "Maya Patel", "consent": True}),
    ):
        (document,) = document_services.document_assign(
            relationship=relationship, versions=[library[key]], due_date=None, actor=therapist
        )
        document_services.document_submit(document=document, actor=account, answers=answers, **sign)
    messaging_services.message_send(
        relationship=relationship, actor=account, text="The exercise helped this week."
    )
    messaging_services.message_send(
        relationship=relationship, actor=therapist, text="Glad to hear it, see you Tuesday."
    )
    relationship.refresh_from_db()
    return relationship

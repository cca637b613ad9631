"""The clinical record services: diagnoses, medications, history (MC-6 Clinical Information).

Every test drives the real services and the real ICD-10-CM index against the database.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from caseload.accounts.models import User
from caseload.audit.models import AuditEvent
from caseload.clients import services as client_services
from caseload.clients.models import CareRelationship
from caseload.clinical import services
from caseload.clinical.models import ClinicalSummary, Diagnosis, DiagnosisStatus, Medication
from caseload.clinical.services import ClinicalRecordError
from caseload.lib.http import AuditContext


def today() -> date:
    return timezone.localdate()


def audit_dump() -> str:
    """Everything stored in the audit trail, as one string to search for leaked text."""
    return json.dumps(list(AuditEvent.objects.values()), default=str)


def primaries(relationship: CareRelationship) -> list[str]:
    return list(relationship.diagnoses.filter(is_primary=True).values_list("code", flat=True))


def archived(relationship: CareRelationship) -> CareRelationship:
    return client_services.relationship_archive(
        relationship=relationship, actor=relationship.therapist
    )


def ended(relationship: CareRelationship) -> CareRelationship:
    return client_services.relationship_remove(
        relationship=relationship, actor=relationship.therapist
    )


# Adding a diagnosis ---------------------------------------------------------------------
def test_add_stores_the_canonical_code_and_its_published_description(
    therapist: User,
    active_client: CareRelationship,
) -> None:
    diagnosis = services.diagnosis_add(actor=therapist, relationship=active_client, code=" f411 ")

    diagnosis.refresh_from_db()
    assert diagnosis.code == "F41.1"
    assert diagnosis.description == "Generalized anxiety disorder"
    assert diagnosis.status == DiagnosisStatus.ACTIVE
    assert diagnosis.resolved_date is None


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("XYZ123", "XYZ123 is not an ICD-10-CM code"),
        ("anxiety", "ANXIETY is not an ICD-10-CM code"),
        ("F41.10", "F41.10 is not an ICD-10-CM code"),
        ("", "This is not an ICD-10-CM code"),
        ("F41", "F41 is a category, not a billable code"),
        ("f43.1", "F43.1 is a category, not a billable code"),
    ],
)
def test_add_refuses_invalid_and_non_billable_codes_and_saves_nothing(
    therapist: User, active_client: CareRelationship, code: str, message: str
) -> None:
    audit_before = AuditEvent.objects.count()

    with pytest.raises(ClinicalRecordError) as refused:
        services.diagnosis_add(actor=therapist, relationship=active_client, code=code)

    assert message in str(refused.value)
    assert refused.value.field == "code"
    assert Diagnosis.objects.count() == 0
    assert AuditEvent.objects.count() == audit_before


def test_first_diagnosis_becomes_primary_and_later_ones_do_not(
    therapist: User,
    active_client: CareRelationship,
) -> None:
    first = services.diagnosis_add(actor=therapist, relationship=active_client, code="F41.1")
    second = services.diagnosis_add(actor=therapist, relationship=active_client, code="F32.A")

    assert first.is_primary and not second.is_primary
    assert primaries(active_client) == ["F41.1"]


def test_adding_a_primary_diagnosis_moves_the_flag(
    therapist: User, active_client: CareRelationship
) -> None:
    services.diagnosis_add(actor=therapist, relationship=active_client, code="F41.1")

    services.diagnosis_add(
        actor=therapist, relationship=active_client, code="F43.10", is_primary=True
    )

    assert primaries(active_client) == ["F43.10"]


def test_making_another_diagnosis_primary_unsets_the_first(
    therapist: User,
    active_client: CareRelationship,
) -> None:
    services.diagnosis_add(actor=therapist, relationship=active_client, code="F41.1")
    other = services.diagnosis_add(actor=therapist, relationship=active_client, code="F32.A")

    services.diagnosis_update(actor=therapist, diagnosis=other, values={"is_primary": True})

    assert primaries(active_client) == ["F32.A"]


def test_the_primary_flag_cannot_simply_be_dropped(
    therapist: User, active_client: CareRelationship
) -> None:
    primary = services.diagnosis_add(actor=therapist, relationship=active_client, code="F41.1")
    services.diagnosis_add(actor=therapist, relationship=active_client, code="F32.A")

    with pytest.raises(ClinicalRecordError) as refused:
        services.diagnosis_update(actor=therapist, diagnosis=primary, values={"is_primary": False})

    assert refused.value.field == "is_primary"
    assert primaries(active_client) == ["F41.1"]


def test_primary_flags_on_different_records_do_not_collide(
    therapist: User, active_client: CareRelationship, child_client: CareRelationship
) -> None:
    services.diagnosis_add(actor=therapist, relationship=active_client, code="F41.1")
    services.diagnosis_add(actor=therapist, relationship=child_client, code="F41.1")

    assert primaries(active_client) == ["F41.1"] and primaries(child_client) == ["F41.1"]


@pytest.mark.parametrize("written", ["F41.1", "f411"])
def test_the_same_code_cannot_be_added_twice(
    therapist: User, active_client: CareRelationship, written: str
) -> None:
    services.diagnosis_add(actor=therapist, relationship=active_client, code="F41.1")

    with pytest.raises(ClinicalRecordError) as refused:
        services.diagnosis_add(actor=therapist, relationship=active_client, code=written)

    assert "F41.1 is already on this record" in str(refused.value)
    assert refused.value.field == "code"
    assert active_client.diagnoses.count() == 1


def test_onset_in_the_future_is_refused(therapist: User, active_client: CareRelationship) -> None:
    with pytest.raises(ClinicalRecordError) as refused:
        services.diagnosis_add(
            actor=therapist,
            relationship=active_client,
            code="F41.1",
            onset_date=today() + timedelta(days=1),
        )

    assert refused.value.field == "onset_date"
    assert Diagnosis.objects.count() == 0


def test_onset_today_or_earlier_is_kept(therapist: User, active_client: CareRelationship) -> None:
    diagnosis = services.diagnosis_add(
        actor=therapist, relationship=active_client, code="F41.1", onset_date=date(2024, 3, 1)
    )
    diagnosis.refresh_from_db()
    assert diagnosis.onset_date == date(2024, 3, 1)


# Updating and removing ------------------------------------------------------------------
def test_resolved_before_onset_is_refused_and_the_row_is_unchanged(
    therapist: User,
    active_client: CareRelationship,
) -> None:
    diagnosis = services.diagnosis_add(
        actor=therapist, relationship=active_client, code="F41.1", onset_date=date(2025, 6, 1)
    )

    with pytest.raises(ClinicalRecordError) as refused:
        services.diagnosis_update(
            actor=therapist,
            diagnosis=diagnosis,
            values={"status": DiagnosisStatus.RESOLVED, "resolved_date": date(2025, 5, 31)},
        )

    assert refused.value.field == "resolved_date"
    diagnosis.refresh_from_db()
    assert diagnosis.status == DiagnosisStatus.ACTIVE and diagnosis.resolved_date is None


def test_future_onset_or_resolved_date_is_refused_on_update(
    therapist: User,
    active_client: CareRelationship,
) -> None:
    diagnosis = services.diagnosis_add(actor=therapist, relationship=active_client, code="F41.1")
    tomorrow = today() + timedelta(days=1)

    for field in ("onset_date", "resolved_date"):
        with pytest.raises(ClinicalRecordError) as refused:
            services.diagnosis_update(
                actor=therapist, diagnosis=diagnosis, values={field: tomorrow}
            )
        assert refused.value.field == field
    diagnosis.refresh_from_db()
    assert diagnosis.onset_date is None and diagnosis.resolved_date is None


def test_resolving_sets_the_resolved_date_and_reactivating_clears_it(
    therapist: User,
    active_client: CareRelationship,
) -> None:
    diagnosis = services.diagnosis_add(actor=therapist, relationship=active_client, code="F41.1")

    services.diagnosis_update(
        actor=therapist, diagnosis=diagnosis, values={"status": DiagnosisStatus.RESOLVED}
    )
    diagnosis.refresh_from_db()
    assert diagnosis.status == DiagnosisStatus.RESOLVED
    assert diagnosis.resolved_date == today()

    services.diagnosis_update(
        actor=therapist, diagnosis=diagnosis, values={"status": DiagnosisStatus.ACTIVE}
    )
    diagnosis.refresh_from_db()
    assert diagnosis.status == DiagnosisStatus.ACTIVE and diagnosis.resolved_date is None


def test_resolving_keeps_a_given_resolved_date(
    therapist: User, active_client: CareRelationship
) -> None:
    diagnosis = services.diagnosis_add(
        actor=therapist, relationship=active_client, code="F41.1", onset_date=date(2024, 1, 10)
    )

    services.diagnosis_update(
        actor=therapist,
        diagnosis=diagnosis,
        values={"status": DiagnosisStatus.RESOLVED, "resolved_date": date(2025, 2, 3)},
    )

    diagnosis.refresh_from_db()
    assert diagnosis.resolved_date == date(2025, 2, 3)
    assert diagnosis.onset_date == date(2024, 1, 10)


def test_removing_the_primary_makes_the_oldest_active_diagnosis_primary(
    therapist: User,
    active_client: CareRelationship,
) -> None:
    primary = services.diagnosis_add(actor=therapist, relationship=active_client, code="F41.1")
    resolved = services.diagnosis_add(actor=therapist, relationship=active_client, code="F43.10")
    services.diagnosis_update(
        actor=therapist, diagnosis=resolved, values={"status": DiagnosisStatus.RESOLVED}
    )
    services.diagnosis_add(actor=therapist, relationship=active_client, code="F32.A")

    services.diagnosis_remove(actor=therapist, diagnosis=primary)

    assert not Diagnosis.objects.filter(pk=primary.pk).exists()
    assert primaries(active_client) == ["F32.A"]
    removed = AuditEvent.objects.get(action="diagnosis.remove")
    assert (removed.object_id, removed.detail) == (str(primary.public_id), {})


def test_removing_the_last_diagnosis_leaves_an_empty_record(
    therapist: User,
    active_client: CareRelationship,
) -> None:
    diagnosis = services.diagnosis_add(actor=therapist, relationship=active_client, code="F41.1")
    services.diagnosis_remove(actor=therapist, diagnosis=diagnosis)
    assert active_client.diagnoses.count() == 0


# Closed records -------------------------------------------------------------------------
def every_change(
    actor: User, relationship: CareRelationship, diagnosis: Diagnosis, medication: Medication
) -> list[Callable[[], object]]:
    """One attempt at each service that changes the record."""
    return [
        lambda: services.diagnosis_add(actor=actor, relationship=relationship, code="F32.A"),
        lambda: services.diagnosis_update(
            actor=actor, diagnosis=diagnosis, values={"status": DiagnosisStatus.RESOLVED}
        ),
        lambda: services.diagnosis_remove(actor=actor, diagnosis=diagnosis),
        lambda: services.medication_save(
            actor=actor, relationship=relationship, values={"name": "Lithium"}
        ),
        lambda: services.medication_save(
            actor=actor,
            relationship=relationship,
            medication=medication,
            values={"dose": "100 mg"},
        ),
        lambda: services.medication_remove(actor=actor, medication=medication),
        lambda: services.clinical_summary_update(
            actor=actor,
            relationship=relationship,
            presenting_concerns="x",
            mental_health_history="",
        ),
    ]


@pytest.mark.parametrize(
    ("close", "message"),
    [
        (archived, "Restore this client before changing their record."),
        (ended, "This client's record is closed."),
    ],
)
def test_archived_or_ended_record_refuses_every_change(
    therapist: User, active_client: CareRelationship, close: Any, message: str
) -> None:
    diagnosis = services.diagnosis_add(actor=therapist, relationship=active_client, code="F41.1")
    medication = services.medication_save(
        actor=therapist, relationship=active_client, values={"name": "Sertraline"}
    )
    relationship = close(active_client)
    diagnosis.refresh_from_db()
    medication.refresh_from_db()
    before = (Diagnosis.objects.count(), Medication.objects.count(), AuditEvent.objects.count())

    for attempt in every_change(therapist, relationship, diagnosis, medication):
        with pytest.raises(ClinicalRecordError) as refused:
            attempt()
        assert str(refused.value) == message

    after = (Diagnosis.objects.count(), Medication.objects.count(), AuditEvent.objects.count())
    assert after == before
    diagnosis.refresh_from_db()
    assert diagnosis.status == DiagnosisStatus.ACTIVE
    assert not ClinicalSummary.objects.filter(relationship=relationship).exists()


@pytest.mark.parametrize("persona", ["supervisor", "colleague"])
def test_only_the_clients_therapist_can_change_the_record(
    request: pytest.FixtureRequest, therapist: User, active_client: CareRelationship, persona: str
) -> None:
    """The views' gate lets only the owner in; a service called from elsewhere holds too."""
    diagnosis = services.diagnosis_add(actor=therapist, relationship=active_client, code="F41.1")
    medication = services.medication_save(
        actor=therapist, relationship=active_client, values={"name": "Sertraline"}
    )
    someone_else = request.getfixturevalue(persona)
    before = (Diagnosis.objects.count(), Medication.objects.count(), AuditEvent.objects.count())

    for attempt in every_change(someone_else, active_client, diagnosis, medication):
        with pytest.raises(ClinicalRecordError) as refused:
            attempt()
        assert str(refused.value) == "Only the client's therapist can change their record."

    after = (Diagnosis.objects.count(), Medication.objects.count(), AuditEvent.objects.count())
    assert after == before
    medication.refresh_from_db()
    assert medication.name == "Sertraline" and medication.dose == ""


# Audit ----------------------------------------------------------------------------------
def test_diagnosis_changes_are_audited_without_the_code_or_free_text(
    active_client: CareRelationship, therapist: User
) -> None:
    diagnosis = services.diagnosis_add(actor=therapist, relationship=active_client, code="F41.1")
    services.diagnosis_update(
        actor=therapist, diagnosis=diagnosis, values={"status": DiagnosisStatus.RESOLVED}
    )

    added = AuditEvent.objects.get(action="diagnosis.add")
    assert added.detail == {"primary": True}
    assert added.object_id == str(diagnosis.public_id)
    assert added.actor == therapist
    assert added.client == active_client.client
    assert added.object_id == str(diagnosis.public_id)
    updated = AuditEvent.objects.get(action="diagnosis.update")
    assert updated.detail == {"fields": ["status"]}
    assert "Generalized anxiety" not in audit_dump()


def test_every_change_is_audited_as_the_actor_with_where_it_came_from(
    active_client: CareRelationship, therapist: User
) -> None:
    context = AuditContext(ip_address="203.0.113.7", request_id="req-42", user_agent="Firefox")
    acting = {"actor": therapist, "audit_context": context}
    earlier = AuditEvent.objects.count()

    diagnosis = services.diagnosis_add(relationship=active_client, code="F41.1", **acting)
    services.diagnosis_update(diagnosis=diagnosis, values={"onset_date": None}, **acting)
    medication = services.medication_save(
        relationship=active_client, values={"name": "Sertraline"}, **acting
    )
    services.medication_save(
        relationship=active_client, medication=medication, values={"dose": "5 mg"}, **acting
    )
    services.clinical_summary_update(
        relationship=active_client, presenting_concerns="x", mental_health_history="", **acting
    )
    services.medication_remove(medication=medication, **acting)
    services.diagnosis_remove(diagnosis=diagnosis, **acting)

    events = list(
        AuditEvent.objects.order_by("id").values_list(
            "action", "actor", "ip_address", "request_id", "user_agent"
        )
    )[earlier:]
    assert [event[0] for event in events] == [
        "diagnosis.add",
        "diagnosis.update",
        "medication.add",
        "medication.update",
        "clinical_summary.update",
        "medication.remove",
        "diagnosis.remove",
    ]
    assert {event[1:] for event in events} == {(therapist.pk, "203.0.113.7", "req-42", "Firefox")}


# Medications ----------------------------------------------------------------------------
def test_medication_is_saved_updated_and_removed(
    therapist: User, active_client: CareRelationship
) -> None:
    medication = services.medication_save(
        actor=therapist,
        relationship=active_client,
        values={
            "name": "Sertraline",
            "dose": "50 mg",
            "frequency": "daily",
            "prescriber": "Dr Osei",
            "start_date": date(2025, 1, 5),
        },
    )

    updated = services.medication_save(
        actor=therapist,
        relationship=active_client,
        medication=medication,
        values={"dose": "100 mg"},
    )

    medication.refresh_from_db()
    assert updated.pk == medication.pk
    assert (medication.name, medication.dose, medication.frequency) == (
        "Sertraline",
        "100 mg",
        "daily",
    )
    assert medication.start_date == date(2025, 1, 5)

    services.medication_remove(actor=therapist, medication=medication)

    assert Medication.objects.count() == 0
    actions = list(
        AuditEvent.objects.filter(action__startswith="medication.")
        .order_by("id")
        .values_list("action", "detail")
    )
    assert actions == [
        (
            "medication.add",
            {"fields": ["dose", "frequency", "name", "prescriber", "start_date"]},
        ),
        ("medication.update", {"fields": ["dose"]}),
        ("medication.remove", {}),
    ]
    assert "Sertraline" not in audit_dump() and "Dr Osei" not in audit_dump()


def test_medication_stop_before_start_is_refused(
    therapist: User, active_client: CareRelationship
) -> None:
    with pytest.raises(ClinicalRecordError) as refused:
        services.medication_save(
            actor=therapist,
            relationship=active_client,
            values={
                "name": "Sertraline",
                "start_date": date(2025, 3, 1),
                "stop_date": date(2025, 2, 1),
            },
        )

    assert refused.value.field == "stop_date"
    assert Medication.objects.count() == 0


def test_medication_stop_date_alone_is_checked_against_the_stored_start(
    therapist: User,
    active_client: CareRelationship,
) -> None:
    medication = services.medication_save(
        actor=therapist,
        relationship=active_client,
        values={"name": "Sertraline", "start_date": date(2025, 3, 1)},
    )

    with pytest.raises(ClinicalRecordError) as refused:
        services.medication_save(
            actor=therapist,
            relationship=active_client,
            medication=medication,
            values={"stop_date": date(2025, 2, 1)},
        )

    assert refused.value.field == "stop_date"
    medication.refresh_from_db()
    assert medication.stop_date is None


def test_medication_needs_a_name(therapist: User, active_client: CareRelationship) -> None:
    with pytest.raises(ClinicalRecordError) as refused:
        services.medication_save(
            actor=therapist, relationship=active_client, values={"name": "  ", "dose": "5"}
        )
    assert refused.value.field == "name"
    assert Medication.objects.count() == 0


def test_a_medication_of_another_record_cannot_be_updated_through_this_one(
    therapist: User, active_client: CareRelationship, child_client: CareRelationship
) -> None:
    medication = services.medication_save(
        actor=therapist, relationship=child_client, values={"name": "Melatonin"}
    )

    with pytest.raises(Medication.DoesNotExist):
        services.medication_save(
            actor=therapist,
            relationship=active_client,
            medication=medication,
            values={"dose": "3 mg"},
        )
    medication.refresh_from_db()
    assert medication.dose == ""


# History and presenting concerns --------------------------------------------------------
def test_summary_update_is_audited_with_field_names_only(
    therapist: User,
    active_client: CareRelationship,
) -> None:
    concerns = "Panic attacks on the commute since the spring"
    history = "Two prior episodes of low mood, treated with CBT in 2019"

    services.clinical_summary_update(
        actor=therapist,
        relationship=active_client,
        presenting_concerns=concerns,
        mental_health_history="",
    )
    services.clinical_summary_update(
        actor=therapist,
        relationship=active_client,
        presenting_concerns=concerns,
        mental_health_history=history,
    )

    summary = ClinicalSummary.objects.get(relationship=active_client)
    assert (summary.presenting_concerns, summary.mental_health_history) == (concerns, history)
    details = list(
        AuditEvent.objects.filter(action="clinical_summary.update")
        .order_by("id")
        .values_list("detail", flat=True)
    )
    assert details == [{"fields": ["presenting_concerns"]}, {"fields": ["mental_health_history"]}]
    dump = audit_dump()
    assert "Panic attacks" not in dump and "prior episodes" not in dump


def test_summary_is_one_row_per_record(therapist: User, active_client: CareRelationship) -> None:
    for text in ("first", "second"):
        services.clinical_summary_update(
            actor=therapist,
            relationship=active_client,
            presenting_concerns=text,
            mental_health_history=text,
        )
    assert ClinicalSummary.objects.filter(relationship=active_client).count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        ClinicalSummary.objects.create(relationship=active_client)


def test_a_diagnosis_added_by_a_simultaneous_request_gets_a_message_not_a_crash(
    therapist: User,
    active_client: CareRelationship,
) -> None:
    """Both requests saw an empty record, so both want to be primary: the database refuses one."""
    from django.db.models.signals import pre_save

    def someone_else_adds_first(sender: Any, instance: Diagnosis, **kwargs: Any) -> None:
        pre_save.disconnect(someone_else_adds_first, sender=Diagnosis)
        Diagnosis.objects.create(
            relationship=instance.relationship, code="F32.A", description="x", is_primary=True
        )

    pre_save.connect(someone_else_adds_first, sender=Diagnosis)
    try:
        with pytest.raises(services.ClinicalRecordError) as refused:
            services.diagnosis_add(actor=therapist, relationship=active_client, code="F41.1")
    finally:
        pre_save.disconnect(someone_else_adds_first, sender=Diagnosis)

    assert refused.value.field == "code"
    assert "try again" in str(refused.value)
    assert not active_client.diagnoses.filter(code="F41.1").exists()

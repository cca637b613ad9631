"""What the database itself guarantees about the clinical record (SECURITY R1), whatever code
path writes: direct ORM writes that skip the services are refused by the constraints."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from caseload.clients.models import CareRelationship
from caseload.clinical import services
from caseload.clinical.models import ClinicalSummary, Diagnosis, DiagnosisStatus, Medication


def make_diagnosis(relationship: CareRelationship, code: str, **fields: object) -> Diagnosis:
    return Diagnosis.objects.create(
        relationship=relationship, code=code, description=f"Description of {code}", **fields
    )


def test_only_one_primary_diagnosis_per_record(active_client: CareRelationship) -> None:
    services.diagnosis_add(relationship=active_client, actor=active_client.therapist, code="F41.1")

    with pytest.raises(IntegrityError), transaction.atomic():
        make_diagnosis(active_client, "F32.A", is_primary=True)

    assert list(active_client.diagnoses.values_list("code", "is_primary")) == [("F41.1", True)]


def test_any_number_of_secondary_diagnoses(active_client: CareRelationship) -> None:
    make_diagnosis(active_client, "F41.1", is_primary=True)
    make_diagnosis(active_client, "F32.A")
    make_diagnosis(active_client, "F43.10")
    assert active_client.diagnoses.filter(is_primary=False).count() == 2


def test_each_record_has_its_own_primary(
    active_client: CareRelationship, child_client: CareRelationship
) -> None:
    make_diagnosis(active_client, "F41.1", is_primary=True)
    make_diagnosis(child_client, "F41.1", is_primary=True)
    assert Diagnosis.objects.filter(is_primary=True).count() == 2


def test_a_code_appears_once_per_record(active_client: CareRelationship) -> None:
    make_diagnosis(active_client, "F41.1")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_diagnosis(active_client, "F41.1")


def test_resolved_date_cannot_precede_onset(active_client: CareRelationship) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        make_diagnosis(
            active_client,
            "F41.1",
            onset_date=date(2025, 6, 1),
            resolved_date=date(2025, 5, 31),
        )
    # The same day, or either date missing, is fine.
    make_diagnosis(
        active_client, "F41.1", onset_date=date(2025, 6, 1), resolved_date=date(2025, 6, 1)
    )
    make_diagnosis(active_client, "F32.A", resolved_date=date(2025, 6, 1))


def test_medication_cannot_stop_before_it_starts(active_client: CareRelationship) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Medication.objects.create(
            relationship=active_client,
            name="Sertraline",
            start_date=date(2025, 3, 1),
            stop_date=date(2025, 2, 28),
        )
    assert Medication.objects.count() == 0


def test_one_clinical_summary_per_record(active_client: CareRelationship) -> None:
    ClinicalSummary.objects.create(relationship=active_client, presenting_concerns="a")
    with pytest.raises(IntegrityError), transaction.atomic():
        ClinicalSummary.objects.create(relationship=active_client, presenting_concerns="b")


def test_diagnoses_list_primary_first_then_active_then_by_code(
    active_client: CareRelationship,
) -> None:
    make_diagnosis(active_client, "F32.A", status=DiagnosisStatus.RESOLVED)
    make_diagnosis(active_client, "F43.10")
    make_diagnosis(active_client, "F90.0", is_primary=True)
    make_diagnosis(active_client, "F41.1")

    assert list(active_client.diagnoses.values_list("code", flat=True)) == [
        "F90.0",
        "F41.1",
        "F43.10",
        "F32.A",
    ]


def test_a_record_with_clinical_rows_cannot_be_deleted(active_client: CareRelationship) -> None:
    diagnosis = make_diagnosis(active_client, "F41.1")
    with pytest.raises(ProtectedError) as refused:
        active_client.delete()
    assert diagnosis in refused.value.protected_objects
    assert Diagnosis.objects.count() == 1


def test_str_shows_code_and_description(active_client: CareRelationship) -> None:
    diagnosis = services.diagnosis_add(
        relationship=active_client, actor=active_client.therapist, code="F41.1"
    )
    assert str(diagnosis) == "F41.1 Generalized anxiety disorder"

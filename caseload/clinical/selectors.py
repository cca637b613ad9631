"""Reads of the clinical record, always through the care relationship the user may see."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.http import Http404

from caseload.clients.models import CareRelationship
from caseload.clinical.models import ClinicalSummary, Diagnosis, DiagnosisStatus, Medication


def get_diagnosis(relationship: CareRelationship, public_id: UUID) -> Diagnosis:
    diagnosis = Diagnosis.objects.filter(relationship=relationship, public_id=public_id).first()
    if diagnosis is None:
        raise Http404("No such diagnosis.")
    return diagnosis


def get_medication(relationship: CareRelationship, public_id: UUID) -> Medication:
    medication = Medication.objects.filter(relationship=relationship, public_id=public_id).first()
    if medication is None:
        raise Http404("No such medication.")
    return medication


def summary_for(relationship: CareRelationship) -> ClinicalSummary:
    return ClinicalSummary.objects.filter(relationship=relationship).first() or ClinicalSummary(
        relationship=relationship
    )


@dataclass(frozen=True)
class DiagnosisOverview:
    """The record's primary diagnosis and how many other active ones it has."""

    primary: Diagnosis | None
    other_active: int


def diagnosis_overview(relationship: CareRelationship) -> DiagnosisOverview:
    """Two queries, whatever the number of diagnoses."""
    primary = (
        Diagnosis.objects.filter(relationship=relationship, is_primary=True)
        .only("public_id", "code", "description", "status")
        .first()
    )
    other_active = (
        Diagnosis.objects.filter(relationship=relationship, status=DiagnosisStatus.ACTIVE)
        .exclude(is_primary=True)
        .count()
    )
    return DiagnosisOverview(primary=primary, other_active=other_active)

"""Reads of the clinical record, always through the care relationship the user may see."""

from __future__ import annotations

from uuid import UUID

from django.http import Http404

from caseload.clients.models import CareRelationship
from caseload.clinical.models import ClinicalSummary, Diagnosis, Medication


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

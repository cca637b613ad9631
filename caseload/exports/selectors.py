"""Reads for exports: everything one client's record holds, and who may see an export."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from caseload.accounts.models import User
from caseload.clients.models import CareRelationship, CareState
from caseload.clinical.models import ClinicalSummary, Diagnosis, Medication
from caseload.documents.models import AssignedDocument
from caseload.exports.models import RecordExport
from caseload.messaging.models import Message
from caseload.plans.models import PlanVersion, TreatmentPlan
from caseload.practices.models import Role
from caseload.visits.models import NoteAddendum, TherapySession

#: A record the practice admin exports: everything but an ended relationship or a connection
#: request the client hasn't approved (its therapist can't open that record either).
PRACTICE_EXPORT_STATES = (CareState.INVITED, CareState.ACTIVE, CareState.ARCHIVED)


@dataclass(frozen=True)
class RecordData:
    """One care relationship's whole record, read once for the PDF and the FHIR bundle."""

    relationship: CareRelationship
    summary: ClinicalSummary | None
    diagnoses: list[Diagnosis]
    medications: list[Medication]
    sessions: list[TherapySession]
    plans: list[TreatmentPlan]
    documents: list[AssignedDocument]
    messages: list[Message]

    @property
    def client(self) -> Any:
        return self.relationship.client


def record_data(relationship: CareRelationship) -> RecordData:
    relationship = CareRelationship.objects.select_related(
        "client", "client__guardianship", "therapist", "practice"
    ).get(pk=relationship.pk)
    return RecordData(
        relationship=relationship,
        summary=ClinicalSummary.objects.filter(relationship=relationship).first(),
        diagnoses=list(Diagnosis.objects.filter(relationship=relationship)),
        medications=list(Medication.objects.filter(relationship=relationship)),
        sessions=list(
            TherapySession.objects.filter(relationship=relationship)
            .select_related("note", "note__signed_by", "note__cosigned_by")
            .prefetch_related(
                Prefetch("note__addenda", queryset=NoteAddendum.objects.select_related("author"))
            )
            .order_by("starts_at")
        ),
        plans=list(
            TreatmentPlan.objects.filter(relationship=relationship)
            .prefetch_related(
                Prefetch(
                    "versions",
                    queryset=PlanVersion.objects.select_related("author").order_by("number"),
                )
            )
            .order_by("effective_date", "created_at")
        ),
        documents=list(
            AssignedDocument.objects.filter(relationship=relationship)
            .select_related("version", "signature", "submitted_by")
            .order_by("assigned_at", "pk")
        ),
        messages=list(
            Message.objects.filter(relationship=relationship)
            .select_related("sender")
            .order_by("created_at", "pk")
        ),
    )


def practice_relationships_for_admin(user: User) -> QuerySet[CareRelationship]:
    """The records a practice admin exports: every client of their practice (none otherwise)."""
    membership = getattr(user, "membership", None)
    if membership is None or membership.role != Role.ADMIN:
        return CareRelationship.objects.none()
    return CareRelationship.objects.filter(
        practice_id=membership.practice_id, state__in=PRACTICE_EXPORT_STATES
    ).order_by("pk")


def get_export_for_user(user: User, public_id: UUID) -> RecordExport:
    """An export is seen by the person who asked for it only; anyone else gets a 404."""
    export = (
        RecordExport.objects.filter(public_id=public_id, requested_by=user).defer("archive").first()
    )
    if export is None:
        raise Http404("No such export.")
    return export


def exports_for_user(user: User) -> QuerySet[RecordExport]:
    return RecordExport.objects.filter(requested_by=user).defer("archive")

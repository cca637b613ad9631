"""Writes to the clinical record. One transaction each, audited, never with clinical text."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from caseload.accounts.models import User
from caseload.audit.services import audit_record
from caseload.clients.access import write_refusal
from caseload.clients.models import CareRelationship
from caseload.clinical import icd10
from caseload.clinical.models import ClinicalSummary, Diagnosis, DiagnosisStatus, Medication
from caseload.lib.http import SYSTEM, AuditContext


class ClinicalRecordError(Exception):
    """A rule refused the change. `field` names the form field the message belongs to."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _ensure_writable(actor: User, relationship: CareRelationship) -> None:
    """Only the client's own therapist writes, and only while the record is open (the care
    core's rule). The gate said so already; a service called from elsewhere is held to it."""
    refusal = write_refusal(
        actor, relationship, not_owner="Only the client's therapist can change their record."
    )
    if refusal is not None:
        raise ClinicalRecordError(refusal)


def _refuse_future(value: date | None, field: str) -> None:
    if value and value > timezone.localdate():
        raise ClinicalRecordError("This date is in the future.", field=field)


def _refuse_out_of_order(start: date | None, end: date | None, field: str, message: str) -> None:
    if start and end and end < start:
        raise ClinicalRecordError(message, field=field)


@transaction.atomic
def diagnosis_add(
    *,
    relationship: CareRelationship,
    actor: User,
    code: str,
    is_primary: bool = False,
    onset_date: date | None = None,
    audit_context: AuditContext = SYSTEM,
) -> Diagnosis:
    """Add a billable ICD-10-CM code. The first diagnosis on a record is primary."""
    _ensure_writable(actor, relationship)
    entry = icd10.lookup_billable(code)
    if entry is None:
        raise ClinicalRecordError(_invalid_code_message(code), field="code")
    if relationship.diagnoses.filter(code=entry.code).exists():
        raise ClinicalRecordError(f"{entry.code} is already on this record.", field="code")
    _refuse_future(onset_date, "onset_date")
    first = not relationship.diagnoses.exists()
    if is_primary:
        relationship.diagnoses.filter(is_primary=True).update(is_primary=False)
    try:
        with transaction.atomic():
            diagnosis = Diagnosis.objects.create(
                relationship=relationship,
                code=entry.code,
                description=entry.description,
                is_primary=is_primary or first,
                onset_date=onset_date,
            )
    except IntegrityError:
        # A simultaneous request added this code, or the record's first (primary) diagnosis.
        raise ClinicalRecordError(
            "The record changed while you were adding this diagnosis. Check it and try again.",
            field="code",
        ) from None
    audit_record(
        action="diagnosis.add",
        actor=actor,
        audit_context=audit_context,
        client=relationship.client,
        obj=diagnosis,
        detail={"primary": diagnosis.is_primary},
    )
    return diagnosis


def _invalid_code_message(code: str) -> str:
    cleaned = code.strip().upper()
    if icd10.is_category(cleaned):
        return (
            f"{cleaned} is a category, not a billable code. Pick one of the more specific "
            "codes under it."
        )
    return f"{cleaned or 'This'} is not an ICD-10-CM code. Search by code or by words."


@transaction.atomic
def diagnosis_update(
    *,
    diagnosis: Diagnosis,
    actor: User,
    values: dict[str, Any],
    audit_context: AuditContext = SYSTEM,
) -> Diagnosis:
    """Change status, dates or the primary flag. The code itself never changes."""
    relationship = diagnosis.relationship
    _ensure_writable(actor, relationship)
    diagnosis = Diagnosis.objects.select_for_update().get(pk=diagnosis.pk)
    onset = values.get("onset_date", diagnosis.onset_date)
    resolved = values.get("resolved_date", diagnosis.resolved_date)
    status = values.get("status", diagnosis.status)
    _refuse_future(onset, "onset_date")
    _refuse_future(resolved, "resolved_date")
    _refuse_out_of_order(
        onset, resolved, "resolved_date", "The resolved date is before the onset date."
    )
    if status == DiagnosisStatus.RESOLVED and resolved is None:
        resolved = timezone.localdate()
    if status == DiagnosisStatus.ACTIVE:
        resolved = None
    if "is_primary" in values and not values["is_primary"] and diagnosis.is_primary:
        # One diagnosis on a record is always primary: move the flag, don't drop it.
        raise ClinicalRecordError("Mark another diagnosis as primary instead.", field="is_primary")
    if values.get("is_primary") and not diagnosis.is_primary:
        relationship.diagnoses.filter(is_primary=True).update(is_primary=False)
    diagnosis.onset_date = onset
    diagnosis.resolved_date = resolved
    diagnosis.status = status
    if "is_primary" in values:
        diagnosis.is_primary = bool(values["is_primary"])
    diagnosis.save(
        update_fields=["onset_date", "resolved_date", "status", "is_primary", "updated_at"]
    )
    audit_record(
        action="diagnosis.update",
        actor=actor,
        audit_context=audit_context,
        client=relationship.client,
        obj=diagnosis,
        detail={"fields": sorted(values)},
    )
    return diagnosis


@transaction.atomic
def diagnosis_remove(
    *, diagnosis: Diagnosis, actor: User, audit_context: AuditContext = SYSTEM
) -> None:
    """Remove a diagnosis entered in error (a resolved one should be marked resolved).

    Removing the primary diagnosis makes the longest-standing remaining one (active first)
    primary, so a record with diagnoses always has exactly one.
    """
    relationship = diagnosis.relationship
    _ensure_writable(actor, relationship)
    diagnosis = Diagnosis.objects.select_for_update().get(pk=diagnosis.pk)
    audit_record(
        action="diagnosis.remove",
        actor=actor,
        audit_context=audit_context,
        client=relationship.client,
        obj=diagnosis,
    )
    was_primary = diagnosis.is_primary
    diagnosis.delete()
    if was_primary:
        successor = (
            # "active" sorts before "resolved".
            relationship.diagnoses.order_by("status", "created_at", "pk")
            .select_for_update()
            .first()
        )
        if successor is not None:
            successor.is_primary = True
            successor.save(update_fields=["is_primary", "updated_at"])


MEDICATION_FIELDS = ("name", "dose", "frequency", "prescriber", "start_date", "stop_date")


@transaction.atomic
def medication_save(
    *,
    relationship: CareRelationship,
    actor: User,
    values: dict[str, Any],
    medication: Medication | None = None,
    audit_context: AuditContext = SYSTEM,
) -> Medication:
    _ensure_writable(actor, relationship)
    if medication is None:
        medication = Medication(relationship=relationship)
        action = "medication.add"
    else:
        medication = Medication.objects.select_for_update().get(
            pk=medication.pk, relationship=relationship
        )
        action = "medication.update"
    for name in MEDICATION_FIELDS:
        if name in values:
            setattr(medication, name, values[name])
    # Checked on the merged values: changing only one date still compares with the other.
    if not str(medication.name or "").strip():
        raise ClinicalRecordError("Enter the medication's name.", field="name")
    _refuse_out_of_order(
        medication.start_date,
        medication.stop_date,
        "stop_date",
        "The stop date is before the start date.",
    )
    medication.save()
    audit_record(
        action=action,
        actor=actor,
        audit_context=audit_context,
        client=relationship.client,
        obj=medication,
        detail={"fields": sorted(values)},
    )
    return medication


@transaction.atomic
def medication_remove(
    *, medication: Medication, actor: User, audit_context: AuditContext = SYSTEM
) -> None:
    relationship = medication.relationship
    _ensure_writable(actor, relationship)
    audit_record(
        action="medication.remove",
        actor=actor,
        audit_context=audit_context,
        client=relationship.client,
        obj=medication,
    )
    medication.delete()


@transaction.atomic
def clinical_summary_update(
    *,
    relationship: CareRelationship,
    actor: User,
    presenting_concerns: str,
    mental_health_history: str,
    audit_context: AuditContext = SYSTEM,
) -> ClinicalSummary:
    _ensure_writable(actor, relationship)
    summary, _ = ClinicalSummary.objects.select_for_update().get_or_create(
        relationship=relationship
    )
    changed = [
        name
        for name, value in (
            ("presenting_concerns", presenting_concerns),
            ("mental_health_history", mental_health_history),
        )
        if getattr(summary, name) != value
    ]
    summary.presenting_concerns = presenting_concerns
    summary.mental_health_history = mental_health_history
    summary.save()
    audit_record(
        action="clinical_summary.update",
        actor=actor,
        audit_context=audit_context,
        client=relationship.client,
        obj=relationship,
        detail={"fields": changed},
    )
    return summary

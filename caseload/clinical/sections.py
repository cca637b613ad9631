"""What clinical shows in the client workspace: its profile section(s) and attention signals."""

from __future__ import annotations

from typing import Any

from django.forms import Form

from caseload.accounts.models import User
from caseload.clients.models import CareRelationship
from caseload.clients.sections import AttentionSignal, ProfileSection
from caseload.clinical.forms import (
    ClinicalSummaryForm,
    DiagnosisAddForm,
    MedicationForm,
)
from caseload.clinical.models import Medication
from caseload.clinical.selectors import diagnosis_overview, summary_for
from caseload.lib.http import AuditContext

SECTION_TEMPLATE = "clinical/partials/_clinical_section.html"
OVERVIEW_TEMPLATE = "clinical/partials/_overview_clinical.html"


def medication_auto_id(medication: Medication) -> str:
    """Field ids of a row's edit form: unique on the page, the field names stay the same."""
    return f"id_medication_{medication.public_id.hex[:8]}_%s"


def clinical_context(
    viewer: User, relationship: CareRelationship, forms: dict[str, Form] | None = None
) -> dict[str, Any]:
    """Everything the Clinical Information tab shows, read first: the record as text; its
    forms (bound ones keep what was typed and their errors) open on demand.

    `relationship` came through the access gate: `relationship.access` says who may edit.
    """
    summary = summary_for(relationship)
    forms = dict(forms or {})
    forms.setdefault("diagnosis_add", DiagnosisAddForm())
    forms.setdefault("medication", MedicationForm())
    forms.setdefault(
        "summary",
        ClinicalSummaryForm(
            initial={
                "presenting_concerns": summary.presenting_concerns,
                "mental_health_history": summary.mental_health_history,
            }
        ),
    )
    can_edit = relationship.access.can_write
    medications = list(relationship.medications.all())
    # Each row has its own edit form (the refused one, with its errors, after a failed save).
    medication_rows = [
        (
            medication,
            forms.get(f"medication_{medication.public_id}")
            or MedicationForm(
                initial={name: getattr(medication, name) for name in MedicationForm.base_fields},
                auto_id=medication_auto_id(medication),
            )
            if can_edit
            else None,
        )
        for medication in medications
    ]
    return {
        "relationship": relationship,
        "clinical_can_edit": can_edit,
        "diagnoses": list(relationship.diagnoses.all()),
        "medications": medications,
        "medication_rows": medication_rows,
        "summary": summary,
        "clinical_forms": forms,
    }


def clinical_overview(
    viewer: User, relationship: CareRelationship, audit_context: AuditContext
) -> dict[str, Any]:
    """The Overview card: the primary diagnosis and the count of other active ones."""
    overview = diagnosis_overview(relationship)
    return {
        "clinical_overview": {
            "primary": overview.primary,
            "other_active": overview.other_active,
            "can_add": relationship.access.can_write,
        }
    }


SECTIONS = [
    ProfileSection(
        "clinical",
        "Clinical Information",
        SECTION_TEMPLATE,
        lambda viewer, relationship, audit_context: clinical_context(viewer, relationship),
        overview=clinical_overview,
        overview_template=OVERVIEW_TEMPLATE,
    )
]
ATTENTION: list[AttentionSignal] = []

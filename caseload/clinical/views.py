"""Clinical Information on the client's profile: diagnoses, medications, history (MC-6)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.forms import Form
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from caseload.accounts.http import AuthenticatedHttpRequest
from caseload.clients.access import get_relationship_for_user
from caseload.clients.models import CareRelationship
from caseload.clinical import icd10, services
from caseload.clinical.forms import (
    ClinicalSummaryForm,
    DiagnosisAddForm,
    DiagnosisUpdateForm,
    MedicationForm,
)
from caseload.clinical.models import Diagnosis
from caseload.clinical.sections import SECTION_TEMPLATE, clinical_context, medication_auto_id
from caseload.clinical.selectors import get_diagnosis, get_medication
from caseload.lib.http import redirect_to
from caseload.practices.http import clinician_required


def _section_response(
    request: AuthenticatedHttpRequest,
    relationship: CareRelationship,
    forms: dict[str, Form] | None = None,
) -> HttpResponse:
    if request.htmx:
        return render(
            request, SECTION_TEMPLATE, clinical_context(request.user, relationship, forms)
        )
    if forms:  # errors, without JavaScript: the section on a page of its own
        context = clinical_context(request.user, relationship, forms)
        return render(request, "clinical/section_page.html", context)
    return redirect_to(request, reverse("workspace:clinical", args=[relationship.public_id]))


def _refused(
    request: AuthenticatedHttpRequest,
    relationship: CareRelationship,
    form: Form,
    form_key: str,
    error: services.ClinicalRecordError,
) -> HttpResponse:
    if error.field and error.field in form.fields:
        form.add_error(error.field, str(error))
        return _section_response(request, relationship, {form_key: form})
    # Not about one field (e.g. an archived record, whose section shows no forms): say it
    # in the page's status messages, which the section response carries along.
    messages.error(request, str(error))
    return _section_response(request, relationship)


@require_GET
@clinician_required
def icd10_search(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Search-as-you-type over billable ICD-10-CM codes (HTML options for the picker)."""
    query = (request.GET.get("code") or request.GET.get("q") or "").strip()[:80]
    results = icd10.search(query, limit=15) if len(query) >= 2 else []
    return render(
        request, "clinical/partials/_icd10_results.html", {"results": results, "query": query}
    )


@require_POST
@clinician_required
def diagnosis_add(request: AuthenticatedHttpRequest, client_id: UUID) -> HttpResponse:
    relationship = get_relationship_for_user(request.user, client_id, write=True)
    form = DiagnosisAddForm(request.POST)
    if not form.is_valid():
        return _section_response(request, relationship, {"diagnosis_add": form})
    try:
        diagnosis = services.diagnosis_add(
            relationship=relationship,
            **form.cleaned_data,
            actor=request.user,
            audit_context=request.audit_context,
        )
    except services.ClinicalRecordError as error:
        return _refused(request, relationship, form, "diagnosis_add", error)
    messages.success(request, f"Added {diagnosis.code} {diagnosis.description}.")
    return _section_response(request, relationship)


@require_POST
@clinician_required
def diagnosis_update(
    request: AuthenticatedHttpRequest, client_id: UUID, diagnosis_id: UUID
) -> HttpResponse:
    relationship = get_relationship_for_user(request.user, client_id, write=True)
    diagnosis = get_diagnosis(relationship, diagnosis_id)
    form = DiagnosisUpdateForm(request.POST)
    try:
        if not form.is_valid():
            error = next(iter(form.errors.values()))[0]
            raise services.ClinicalRecordError(f"{diagnosis.code}: {error}")
        # Only what was sent changes: the row's buttons send the fields they are about.
        values = {name: value for name, value in form.cleaned_data.items() if name in request.POST}
        services.diagnosis_update(
            diagnosis=diagnosis,
            values=values,
            actor=request.user,
            audit_context=request.audit_context,
        )
    except services.ClinicalRecordError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _diagnosis_change_message(diagnosis, values))
    return _section_response(request, relationship)


def _diagnosis_change_message(diagnosis: Diagnosis, values: dict[str, Any]) -> str:
    if values.get("is_primary") and not diagnosis.is_primary:
        return f"{diagnosis.code} is now the primary diagnosis."
    if values.get("status") and values["status"] != diagnosis.status:
        return f"{diagnosis.code} marked {values['status']}."
    return f"{diagnosis.code} updated."


@require_POST
@clinician_required
def diagnosis_remove(
    request: AuthenticatedHttpRequest, client_id: UUID, diagnosis_id: UUID
) -> HttpResponse:
    relationship = get_relationship_for_user(request.user, client_id, write=True)
    diagnosis = get_diagnosis(relationship, diagnosis_id)
    try:
        services.diagnosis_remove(
            diagnosis=diagnosis, actor=request.user, audit_context=request.audit_context
        )
    except services.ClinicalRecordError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Removed {diagnosis.code} from the record.")
    return _section_response(request, relationship)


@require_POST
@clinician_required
def medication_add(request: AuthenticatedHttpRequest, client_id: UUID) -> HttpResponse:
    relationship = get_relationship_for_user(request.user, client_id, write=True)
    form = MedicationForm(request.POST)
    if not form.is_valid():
        return _section_response(request, relationship, {"medication": form})
    try:
        medication = services.medication_save(
            relationship=relationship,
            values=form.cleaned_data,
            actor=request.user,
            audit_context=request.audit_context,
        )
    except services.ClinicalRecordError as error:
        return _refused(request, relationship, form, "medication", error)
    messages.success(request, f"Added {medication.name}.")
    return _section_response(request, relationship)


@require_POST
@clinician_required
def medication_update(
    request: AuthenticatedHttpRequest, client_id: UUID, medication_id: UUID
) -> HttpResponse:
    relationship = get_relationship_for_user(request.user, client_id, write=True)
    medication = get_medication(relationship, medication_id)
    form = MedicationForm(request.POST, auto_id=medication_auto_id(medication))
    key = f"medication_{medication.public_id}"
    if not form.is_valid():
        return _section_response(request, relationship, {key: form})
    try:
        services.medication_save(
            relationship=relationship,
            medication=medication,
            values=form.cleaned_data,
            actor=request.user,
            audit_context=request.audit_context,
        )
    except services.ClinicalRecordError as error:
        return _refused(request, relationship, form, key, error)
    messages.success(request, f"Saved {form.cleaned_data['name']}.")
    return _section_response(request, relationship)


@require_POST
@clinician_required
def medication_remove(
    request: AuthenticatedHttpRequest, client_id: UUID, medication_id: UUID
) -> HttpResponse:
    relationship = get_relationship_for_user(request.user, client_id, write=True)
    medication = get_medication(relationship, medication_id)
    try:
        services.medication_remove(
            medication=medication, actor=request.user, audit_context=request.audit_context
        )
    except services.ClinicalRecordError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Removed {medication.name}.")
    return _section_response(request, relationship)


@require_POST
@clinician_required
def summary_update(request: AuthenticatedHttpRequest, client_id: UUID) -> HttpResponse:
    relationship = get_relationship_for_user(request.user, client_id, write=True)
    form = ClinicalSummaryForm(request.POST)
    if not form.is_valid():
        return _section_response(request, relationship, {"summary": form})
    try:
        services.clinical_summary_update(
            relationship=relationship,
            **form.cleaned_data,
            actor=request.user,
            audit_context=request.audit_context,
        )
    except services.ClinicalRecordError as error:
        return _refused(request, relationship, form, "summary", error)
    messages.success(request, "Saved.")
    return _section_response(request, relationship)

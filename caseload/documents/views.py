"""Documents: the profile section, the template library and builder, and the portal (DOC-1 … 4)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms import BaseFormSet
from django.http import Http404, HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from caseload.accounts.http import AuthenticatedHttpRequest
from caseload.audit.services import audit_record
from caseload.clients.access import get_relationship_for_user
from caseload.clients.models import CareRelationship
from caseload.documents import schedules, services
from caseload.documents.content import CONSENT_TEXT, verify
from caseload.documents.fields import AnswerForm, FieldType
from caseload.documents.forms import (
    MAX_QUESTIONS,
    AssignForm,
    FieldSpecForm,
    FieldSpecFormSet,
    ScheduleForm,
    SignatureForm,
    TemplateForm,
    initial_from_specs,
)
from caseload.documents.models import AssignedDocument, DocumentTemplate
from caseload.documents.sections import document_rows_context, documents_context, parse_cursor
from caseload.documents.selectors import (
    DocumentPdf,
    PortalDocument,
    UnknownCursor,
    answer_rows,
    assign_choices,
    chosen_versions,
    follow_up_of,
    get_document_for_user,
    get_portal_document,
    get_schedule_for_relationship,
    get_template_for_user,
    library_and_practice_templates,
    library_template,
    portal_document_instance,
    portal_document_pdf,
    portal_documents_split,
    portal_notified,
    staff_document_pdf,
)
from caseload.lib.http import redirect_to
from caseload.practices.http import clinician_required, portal_user_required

SECTION_TEMPLATE = "documents/partials/_documents_section.html"


def _section_response(
    request: AuthenticatedHttpRequest,
    relationship: CareRelationship,
    assign_form: AssignForm | None = None,
) -> HttpResponse:
    if request.htmx:
        return render(
            request, SECTION_TEMPLATE, documents_context(request.user, relationship, assign_form)
        )
    if assign_form is not None:  # errors, without JavaScript: the section on its own page
        context = documents_context(request.user, relationship, assign_form)
        return render(request, "documents/section_page.html", context)
    return redirect_to(request, reverse("workspace:documents", args=[relationship.public_id]))


@require_POST
@clinician_required
def assign(request: AuthenticatedHttpRequest, client_id: UUID) -> HttpResponse:
    """DOC-2: assign one or more documents, with an optional due date."""
    relationship = get_relationship_for_user(request.user, client_id, write=True)
    form = AssignForm(request.POST, choices=assign_choices(request.user))
    if not form.is_valid():
        return _section_response(request, relationship, form)
    try:
        documents = services.document_assign(
            relationship=relationship,
            versions=chosen_versions(form.cleaned_data["templates"]),
            due_date=form.cleaned_data["due_date"],
            actor=request.user,
            audit_context=request.audit_context,
        )
    except services.DocumentError as error:
        if error.field in form.fields:
            form.add_error(error.field, str(error))
            return _section_response(request, relationship, form)
        messages.error(request, str(error))
        return _section_response(request, relationship)
    messages.success(request, _assigned_message(relationship, len(documents)))
    return _section_response(request, relationship)


@require_POST
@clinician_required
def schedule_create(request: AuthenticatedHttpRequest, client_id: UUID) -> HttpResponse:
    """Measurement-based care: schedule the PHQ-9 or GAD-7 to recur (decision 0026)."""
    relationship = get_relationship_for_user(request.user, client_id, write=True)
    form = ScheduleForm(request.POST)
    tab = reverse("workspace:documents", args=[relationship.public_id])
    if not form.is_valid():
        messages.error(request, str(next(iter(form.errors.values()))[0]))
        return redirect(tab)
    template = library_template(form.cleaned_data["questionnaire"])
    try:
        if template is None:
            raise services.DocumentError("The questionnaire library isn't loaded.")
        schedule = schedules.questionnaire_schedule_create(
            relationship=relationship,
            template=template,
            cadence=form.cleaned_data["cadence"],
            every_weeks=form.cleaned_data["every_weeks"],
            actor=request.user,
            audit_context=request.audit_context,
        )
    except services.DocumentError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{template.title} scheduled {schedule.describe()}.")
    return redirect(tab)


@require_POST
@clinician_required
def schedule_stop(
    request: AuthenticatedHttpRequest, client_id: UUID, schedule_id: UUID
) -> HttpResponse:
    relationship = get_relationship_for_user(request.user, client_id, write=True)
    schedule = get_schedule_for_relationship(relationship, schedule_id)
    try:
        schedules.questionnaire_schedule_stop(
            schedule=schedule, actor=request.user, audit_context=request.audit_context
        )
    except services.DocumentError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Schedule stopped.")
    return redirect("workspace:documents", relationship.public_id)


@require_GET
@clinician_required
def document_rows(request: AuthenticatedHttpRequest, client_id: UUID) -> HttpResponse:
    """The rows of "Show earlier documents" (htmx): the page after `?before=` (without it,
    the newest), then its own control. Without JavaScript the same link opens the Documents
    tab with that page."""
    relationship = get_relationship_for_user(request.user, client_id)
    before = parse_cursor(request.GET.get("before"))
    context = document_rows_context(relationship, before=before)
    audit_record(
        action="client.view",
        actor=request.user,
        audit_context=request.audit_context,
        client=relationship.client,
        practice=relationship.practice,
        obj=relationship,
        detail={"tab": "documents", "before": str(before) if before else None},
    )
    return render(request, "documents/partials/_document_rows.html", context)


def _assigned_message(relationship: CareRelationship, count: int) -> str:
    if portal_notified(relationship):
        told = "We've emailed the client a link to the portal."
        if relationship.client.is_child:
            told = "We've emailed the guardian a link to the portal."
    else:
        told = "The client will see them in the portal once they sign up."
    return f"Assigned {count} document{'s' if count != 1 else ''}. {told}"


@require_GET
@clinician_required
def document_detail(
    request: AuthenticatedHttpRequest, client_id: UUID, document_id: UUID
) -> HttpResponse:
    """A document as the client completed it, read-only, with its signature and score."""
    relationship, document = get_document_for_user(request.user, client_id, document_id)
    audit_record(
        action="document.view",
        actor=request.user,
        audit_context=request.audit_context,
        client=relationship.client,
        practice=relationship.practice,
        obj=document,
    )
    return render(
        request,
        "documents/document.html",
        {
            "relationship": relationship,
            "document": document,
            "rows": document.answer_rows(),
            "verification": verify(document) if document.is_submitted else None,
            "can_edit": relationship.access.is_owner,
            "follow_up": follow_up_of(document),
        },
    )


def _pdf_response(
    request: AuthenticatedHttpRequest, pdf: DocumentPdf, audited: AssignedDocument
) -> HttpResponse:
    """The PDF of `pdf` (named columns only); `audited` is for the audit trail, not the page."""
    from caseload.lib.pdf import render_pdf  # WeasyPrint loads slowly: only when exporting

    content = render_pdf(
        "documents/pdf.html", {"document": pdf, "generated_at": timezone.localtime()}
    )
    audit_record(
        action="document.export_pdf",
        actor=request.user,
        audit_context=request.audit_context,
        client=audited.relationship.client,
        practice=audited.relationship.practice,
        obj=audited,
    )
    response = HttpResponse(content, content_type="application/pdf")
    slug = "".join(c if c.isalnum() else "-" for c in pdf.title.lower()).strip("-")
    response["Content-Disposition"] = f'attachment; filename="{slug[:60]}.pdf"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
@clinician_required
def document_pdf(
    request: AuthenticatedHttpRequest, client_id: UUID, document_id: UUID
) -> HttpResponse:
    relationship, document = get_document_for_user(request.user, client_id, document_id)
    if not document.is_submitted:
        messages.error(request, "The client hasn't completed this document yet.")
        return redirect("documents:document", relationship.public_id, document.public_id)
    return _pdf_response(request, staff_document_pdf(relationship, document), document)


@require_POST
@clinician_required
def document_review(
    request: AuthenticatedHttpRequest, client_id: UUID, document_id: UUID
) -> HttpResponse:
    relationship, document = get_document_for_user(request.user, client_id, document_id, write=True)
    try:
        services.document_mark_reviewed(
            document=document, actor=request.user, audit_context=request.audit_context
        )
    except services.DocumentError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{document.version.title} marked reviewed.")
    return redirect("documents:document", relationship.public_id, document.public_id)


@require_POST
@clinician_required
def document_follow_up(
    request: AuthenticatedHttpRequest, client_id: UUID, document_id: UUID
) -> HttpResponse:
    """ "Followed up": the therapist closes a flagged answer's alert with a short note (from the
    home page, which it returns to, or from the document)."""
    relationship, document = get_document_for_user(request.user, client_id, document_id, write=True)
    try:
        services.document_follow_up(
            document=document,
            actor=request.user,
            note=request.POST.get("note", ""),
            audit_context=request.audit_context,
        )
    except services.DocumentError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Follow-up recorded for {relationship.client_name}'s answer.")
    if request.POST.get("next") == "home":
        return redirect("home")
    return redirect("documents:document", relationship.public_id, document.public_id)


@require_POST
@clinician_required
def document_remind(
    request: AuthenticatedHttpRequest, client_id: UUID, document_id: UUID
) -> HttpResponse:
    relationship, document = get_document_for_user(request.user, client_id, document_id, write=True)
    try:
        services.document_send_reminder(
            document=document, actor=request.user, audit_context=request.audit_context
        )
    except services.DocumentError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Reminder sent.")
    return _section_response(request, relationship)


# The template library and the form builder (DOC-1) -------------------------------------------
@require_GET
@clinician_required
def template_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    templates = library_and_practice_templates(request.user)
    return render(
        request,
        "documents/templates.html",
        {
            "library": [t for t in templates if t.is_library],
            "own": [t for t in templates if not t.is_library],
        },
    )


@require_GET
@clinician_required
def template_detail(request: AuthenticatedHttpRequest, template_id: UUID) -> HttpResponse:
    """A preview of the latest version, as the client will see it (inputs disabled)."""
    template = get_template_for_user(request.user, template_id)
    version = template.versions.order_by("-number").first()
    assert version is not None
    form = AnswerForm(specs=version.fields, final=True)
    for field in form.fields.values():
        field.disabled = True
    return render(
        request,
        "documents/template_detail.html",
        {
            "template": template,
            "version": version,
            "form": form,
            "signature_field": _signature_field(version.fields),
            "version_count": template.versions.count(),
        },
    )


def _signature_field(specs: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((spec for spec in specs if spec["type"] == FieldType.SIGNATURE), None)


def _builder(
    request: AuthenticatedHttpRequest,
    template: DocumentTemplate | None,
    form: TemplateForm,
    formset: BaseFormSet[FieldSpecForm],
    *,
    error: str = "",
) -> HttpResponse:
    return render(
        request,
        "documents/builder.html",
        {
            "template": template,
            "form": form,
            "formset": formset,
            "builder_error": error,
        },
    )


def _posted_rows(data: QueryDict) -> list[dict[str, Any]]:
    """The builder's rows as typed so far, redisplayed as they were (no validation yet)."""
    try:
        total = min(int(data.get("fields-TOTAL_FORMS", "0")), MAX_QUESTIONS)
    except ValueError:
        total = 0
    rows = []
    for index in range(total):
        prefix = f"fields-{index}-"
        if data.get(f"{prefix}DELETE"):
            continue
        row: dict[str, Any] = {
            name: data.get(prefix + name, "") for name in FieldSpecForm.base_fields
        }
        row["required"] = bool(data.get(f"{prefix}required"))
        rows.append(row)
    return rows


def _builder_post(
    request: AuthenticatedHttpRequest, template: DocumentTemplate | None
) -> HttpResponse:
    form = TemplateForm(request.POST)
    if "add_field" in request.POST:  # "Add a question": the same page with one more row
        rows = _posted_rows(request.POST)
        full = len(rows) >= MAX_QUESTIONS
        if not full:
            rows.append({"type": FieldType.SHORT_TEXT, "required": True})
        return _builder(
            request,
            template,
            TemplateForm(initial={k: request.POST.get(k, "") for k in ("title", "intro")}),
            FieldSpecFormSet(prefix="fields", initial=rows),
            error=f"A form has {MAX_QUESTIONS} questions at most." if full else "",
        )
    formset = FieldSpecFormSet(request.POST, prefix="fields")
    if not (form.is_valid() and formset.is_valid()):
        return _builder(request, template, form, formset)
    specs = [row.spec() for row in formset.ordered_forms]
    values = {
        "actor": request.user,
        "title": form.cleaned_data["title"],
        "intro": form.cleaned_data["intro"],
        "fields": specs,
        "audit_context": request.audit_context,
    }
    try:
        if template is None:
            template = services.template_create(practice=request.user.membership.practice, **values)
            messages.success(request, f"{template.title} saved.")
        else:
            version = services.template_update(template=template, **values)
            messages.success(request, f"{version.title} saved as version {version.number}.")
    except (services.DocumentError, ValidationError) as problem:
        text = problem.messages[0] if isinstance(problem, ValidationError) else str(problem)
        return _builder(request, template, form, formset, error=text)
    return redirect("document_templates:detail", template.public_id)


@require_http_methods(["GET", "POST"])
@clinician_required
def template_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _builder_post(request, None)
    formset = FieldSpecFormSet(prefix="fields", initial=[{"type": FieldType.SHORT_TEXT}])
    return _builder(request, None, TemplateForm(), formset)


def _own_template(request: AuthenticatedHttpRequest, template_id: UUID) -> DocumentTemplate:
    template = get_template_for_user(request.user, template_id)
    if template.is_library or template.archived_at is not None:
        raise Http404("Library templates are not edited.")
    return template


@require_http_methods(["GET", "POST"])
@clinician_required
def template_edit(request: AuthenticatedHttpRequest, template_id: UUID) -> HttpResponse:
    template = _own_template(request, template_id)
    if request.method == "POST":
        return _builder_post(request, template)
    version = template.versions.order_by("-number").first()
    assert version is not None
    form = TemplateForm(initial={"title": version.title, "intro": version.intro})
    formset = FieldSpecFormSet(prefix="fields", initial=initial_from_specs(version.fields))
    return _builder(request, template, form, formset)


@require_POST
@clinician_required
def template_archive(request: AuthenticatedHttpRequest, template_id: UUID) -> HttpResponse:
    template = _own_template(request, template_id)
    try:
        services.template_archive(
            template=template, actor=request.user, audit_context=request.audit_context
        )
    except services.DocumentError as error:
        messages.error(request, str(error))
        return redirect("document_templates:detail", template.public_id)
    messages.success(
        request, f"{template.title} archived. Documents already assigned are not affected."
    )
    return redirect("document_templates:list")


# The portal -----------------------------------------------------------------------------
@require_GET
@portal_user_required
def portal_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Documents to complete, then the latest completed; `?before=` the earlier completed."""
    before = parse_cursor(request.GET.get("before"))
    try:
        documents = portal_documents_split(request.user, before=before)
    except UnknownCursor:
        return HttpResponseBadRequest("Unknown document.")
    return render(request, "documents/portal_list.html", {"documents": documents})


def _portal_page(
    request: AuthenticatedHttpRequest,
    document: PortalDocument,
    form: AnswerForm | None = None,
    signature_form: SignatureForm | None = None,
    status: int = 200,
) -> HttpResponse:
    signature_field = _signature_field(document.fields)
    if document.is_open:
        form = form or AnswerForm(initial=document.answers, specs=document.fields, final=False)
        if signature_field:
            signature_form = signature_form or SignatureForm()
    return render(
        request,
        "documents/portal_document.html",
        {
            "document": document,
            "form": form,
            "signature_field": signature_field,
            "signature_form": signature_form,
            "consent_text": CONSENT_TEXT,
            "rows": None if document.is_open else answer_rows(document.fields, document.answers),
            "first_crisis_question": document.first_crisis_question,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@portal_user_required
def portal_document(request: AuthenticatedHttpRequest, document_id: UUID) -> HttpResponse:
    """Fill in a document: save progress and come back, or submit (and sign)."""
    document = get_portal_document(request.user, document_id)
    if request.method == "GET":
        opened = portal_document_instance(document.pk)
        audit_record(
            action="document.open",
            actor=request.user,
            audit_context=request.audit_context,
            client=opened.relationship.client,
            practice=opened.relationship.practice,
            obj=opened,
        )
        return _portal_page(request, document)
    if not document.is_open:
        messages.error(request, "This document has been submitted and can no longer be changed.")
        return redirect("portal:document", document.public_id)
    submitting = "submit" in request.POST
    form = AnswerForm(request.POST, specs=document.fields, final=submitting)
    signature_form = (
        SignatureForm(request.POST) if submitting and _signature_field(document.fields) else None
    )
    valid = form.is_valid()
    if signature_form is not None:
        valid = signature_form.is_valid() and valid
    if not valid:
        messages.error(request, "Some answers need your attention.")
        return _portal_page(request, document, form, signature_form, status=200)
    instance = portal_document_instance(document.pk)
    try:
        if submitting:
            services.document_submit(
                document=instance,
                actor=request.user,
                answers=form.answers(),
                typed_name=signature_form.cleaned_data["typed_name"] if signature_form else "",
                consent=bool(signature_form and signature_form.cleaned_data["consent"]),
                audit_context=request.audit_context,
            )
            signed = bool(signature_form)
            messages.success(
                request, f"{document.title} {'signed and ' if signed else ''}submitted. Thank you."
            )
            submitted = get_portal_document(request.user, document.public_id)
            if submitted.asks_for_crisis_response:  # where to turn, at once
                return redirect("portal:document_submitted", document.public_id)
            return redirect("portal:documents")
        services.document_save_progress(
            document=instance,
            actor=request.user,
            answers=form.answers(),
            audit_context=request.audit_context,
        )
    except services.DocumentError as error:
        target = signature_form if signature_form is not None and error.field else form
        if error.field and target is not None and error.field in target.fields:
            target.add_error(error.field, str(error))
        else:
            messages.error(request, str(error))
        return _portal_page(request, document, form, signature_form)
    messages.success(request, "Your progress is saved. You can come back to it at any time.")
    return redirect("portal:document", document.public_id)


@require_GET
@portal_user_required
def portal_submitted(request: AuthenticatedHttpRequest, document_id: UUID) -> HttpResponse:
    """The confirmation after submitting; with the crisis text when the answers ask for it."""
    document = get_portal_document(request.user, document_id)
    if document.is_open:
        return redirect("portal:document", document.public_id)
    return render(request, "documents/portal_submitted.html", {"document": document})


@require_GET
@portal_user_required
def portal_pdf(request: AuthenticatedHttpRequest, document_id: UUID) -> HttpResponse:
    """The client's copy: named columns only, without the therapist's score (decision 0006)."""
    found = get_portal_document(request.user, document_id)
    if found.is_open:
        messages.error(request, "Submit the document first to download it.")
        return redirect("portal:document", found.public_id)
    pdf = portal_document_pdf(request.user, found.public_id)
    return _pdf_response(request, pdf, portal_document_instance(found.pk))

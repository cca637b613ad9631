"""Treatment Plans on the client's profile (TP-1 … TP-6)."""

from __future__ import annotations

from urllib.parse import urlsplit
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from caseload.accounts.http import AuthenticatedHttpRequest
from caseload.audit.services import audit_record
from caseload.clients.access import get_relationship_for_user
from caseload.clients.models import CareRelationship
from caseload.lib.http import redirect_to
from caseload.plans import services
from caseload.plans.forms import GenerateForm, PlanDatesForm, PlanEditorForm, options_label
from caseload.plans.generators import (
    PlanOptions,
    build_plan_input,
    input_digest,
    review_messages,
    sends_outside,
)
from caseload.plans.models import (
    GenerationStatus,
    PlanGeneration,
    PlanVersion,
    TreatmentPlan,
    VersionSource,
)
from caseload.plans.sanitize import sanitize_plan_html
from caseload.plans.selectors import (
    get_generation,
    get_plan,
    get_version,
    latest_version,
    plan_pdf_context,
    plan_status,
    plan_versions,
    version_diff,
    with_label,
)
from caseload.practices.http import clinician_required


def _plan_url(relationship: CareRelationship, plan: TreatmentPlan) -> str:
    return reverse("plans:plan", args=[relationship.public_id, plan.public_id])


def _editor(
    request: AuthenticatedHttpRequest,
    relationship: CareRelationship,
    form: PlanEditorForm,
    plan: TreatmentPlan | None = None,
    generation: PlanGeneration | None = None,
) -> HttpResponse:
    # The editor loads this HTML into the page: never what was posted, only what would be kept.
    html = form["html"].value() or ""
    return render(
        request,
        "plans/editor.html",
        {
            "relationship": relationship,
            "form": form,
            "editor_html": sanitize_plan_html(html) if html else "",
            "plan": plan,
            "generation": generation,
            "options_label": options_label(generation.options) if generation else "",
            "generate_form": GenerateForm(initial=generation.options if generation else None),
        },
    )


def _save(
    request: AuthenticatedHttpRequest,
    relationship: CareRelationship,
    form: PlanEditorForm,
    plan: TreatmentPlan | None,
) -> HttpResponse:
    data = form.cleaned_data
    generation = (
        get_generation(relationship, data["generation"]) if data.get("generation") else None
    )
    source = VersionSource.GENERATED if generation else VersionSource.MANUAL
    options = {**generation.options, "generator": generation.generator} if generation else None
    try:
        if plan is None:
            plan = services.plan_create(
                relationship=relationship,
                actor=request.user,
                html=data["html"],
                title=data["title"],
                effective_date=data["effective_date"],
                review_date=data.get("review_date"),
                source=source,
                options=options,
                audit_context=request.audit_context,
            )
            messages.success(request, "Treatment plan saved as version 1.")
        else:
            version = services.plan_save_version(
                plan=plan,
                actor=request.user,
                html=data["html"],
                source=source,
                options=options,
                audit_context=request.audit_context,
            )
            messages.success(request, f"Saved as version {version.number}.")
    except services.PlanError as error:
        form.add_error(error.field if error.field in form.fields else None, str(error))
        return _editor(request, relationship, form, plan, generation)
    return redirect_to(request, _plan_url(relationship, plan))


@require_http_methods(["GET", "POST"])
@clinician_required
def plan_new(request: AuthenticatedHttpRequest, client_id: UUID) -> HttpResponse:
    """The editor of a new plan: empty ("Write it myself"), or a finished draft (?draft=<id>)."""
    relationship = get_relationship_for_user(request.user, client_id, write=True)
    if request.method == "POST":
        form = PlanEditorForm(request.POST)
        if form.is_valid():
            return _save(request, relationship, form, None)
        return _editor(request, relationship, form)
    generation = _finished_draft(request, relationship)
    initial = {"html": generation.html, "generation": generation.public_id} if generation else {}
    if generation is not None:  # the draft is built from the record: opening it is a read
        audit_record(
            action="plan.view_draft",
            actor=request.user,
            audit_context=request.audit_context,
            client=relationship.client,
            obj=generation,
        )
    return _editor(request, relationship, PlanEditorForm(initial=initial), None, generation)


def _finished_draft(
    request: AuthenticatedHttpRequest, relationship: CareRelationship
) -> PlanGeneration | None:
    draft_id = request.GET.get("draft")
    if not draft_id:
        return None
    try:
        generation = get_generation(relationship, UUID(draft_id))
    except ValueError:
        raise Http404("No such draft.") from None
    return generation if generation.status == GenerationStatus.DONE else None


@require_http_methods(["GET", "POST"])
@clinician_required
def plan_edit(request: AuthenticatedHttpRequest, client_id: UUID, plan_id: UUID) -> HttpResponse:
    relationship = get_relationship_for_user(request.user, client_id, write=True)
    plan = get_plan(relationship, plan_id)
    if request.method == "POST":
        form = PlanEditorForm(request.POST, existing=True)
        if form.is_valid():
            return _save(request, relationship, form, plan)
        return _editor(request, relationship, form, plan)
    generation = _finished_draft(request, relationship)
    latest = latest_version(plan)
    html = generation.html if generation else latest.html
    initial = {"html": html, "generation": generation.public_id if generation else None}
    audit_record(
        action="plan.view",
        actor=request.user,
        audit_context=request.audit_context,
        client=relationship.client,
        obj=plan,
        detail={"version": latest.number, "editor": True},
    )
    return _editor(
        request, relationship, PlanEditorForm(initial=initial, existing=True), plan, generation
    )


@require_GET
@clinician_required
def plan_create_choice(request: AuthenticatedHttpRequest, client_id: UUID) -> HttpResponse:
    """TP-1 "Create Treatment Plan" asks first: write it myself, or generate with AI."""
    relationship = get_relationship_for_user(request.user, client_id, write=True)
    return _choice_page(request, relationship, GenerateForm())


def _choice_page(
    request: AuthenticatedHttpRequest, relationship: CareRelationship, form: GenerateForm
) -> HttpResponse:
    context = {"relationship": relationship, "generate_form": form}
    return render(request, "plans/create.html", context)


@require_POST
@clinician_required
def plan_generate(request: AuthenticatedHttpRequest, client_id: UUID) -> HttpResponse:
    """TP-2 "Generate with AI": queue the draft and show its progress.

    Posted by the choice page (a new plan) and by the editor (a new version of `plan`).
    A refused request for a new plan comes back to the choice page with what was chosen.
    """
    relationship = get_relationship_for_user(request.user, client_id, write=True)
    form = GenerateForm(request.POST)
    plan = _posted_plan(request, relationship)
    if not form.is_valid():
        if plan is None:
            return _choice_page(request, relationship, form)
        messages.error(request, "Choose a length, a tone and a format.")
        return redirect_to(request, reverse("workspace:plans", args=[relationship.public_id]))
    if sends_outside() and request.POST.get("step") != "send":
        return _review_page(request, relationship, form.cleaned_data, plan)
    try:
        generation = services.plan_generation_request(
            relationship=relationship,
            actor=request.user,
            options=form.cleaned_data,
            plan=plan,
            reviewed_digest=request.POST.get("digest", "")[:64],
            start_date=timezone.localdate(),
            audit_context=request.audit_context,
        )
    except services.PlanError as error:
        if plan is None:
            form.add_error(None, str(error))
            return _choice_page(request, relationship, form)
        messages.error(request, str(error))
        return redirect_to(request, reverse("workspace:plans", args=[relationship.public_id]))
    return redirect_to(
        request, reverse("plans:generation", args=[relationship.public_id, generation.public_id])
    )


def _review_page(
    request: AuthenticatedHttpRequest,
    relationship: CareRelationship,
    options: dict[str, str],
    plan: TreatmentPlan | None,
) -> HttpResponse:
    """ "Review what will be sent": exactly the text the outside AI service would receive."""
    plan_input = build_plan_input(relationship, start_date=timezone.localdate())
    sent = review_messages(plan_input, PlanOptions(**options))
    context = {
        "relationship": relationship,
        "plan": plan,
        "options": options,
        "options_label": options_label(options),
        "system_text": sent[0]["content"],
        "clinical_text": sent[1]["content"],
        "digest": input_digest(plan_input),
        "service_host": urlsplit(str(getattr(settings, "PLAN_AI_BASE_URL", ""))).hostname or "",
    }
    return render(request, "plans/review.html", context)


def _posted_plan(
    request: AuthenticatedHttpRequest, relationship: CareRelationship
) -> TreatmentPlan | None:
    if not request.POST.get("plan"):
        return None
    try:
        return get_plan(relationship, UUID(request.POST["plan"]))
    except ValueError:
        raise Http404("No such plan.") from None


@require_GET
@clinician_required
def generation_status(
    request: AuthenticatedHttpRequest, client_id: UUID, generation_id: UUID
) -> HttpResponse:
    """The draft's progress. htmx polls this every second until it is ready or failed."""
    relationship = get_relationship_for_user(request.user, client_id, write=True)
    generation = get_generation(relationship, generation_id)
    if generation.status == GenerationStatus.DONE:
        target = (
            reverse("plans:edit", args=[relationship.public_id, generation.plan.public_id])
            if generation.plan
            else reverse("plans:new", args=[relationship.public_id])
        )
        url = f"{target}?draft={generation.public_id}"
        if request.htmx:  # the polling fragment: the whole page goes to the editor
            return HttpResponseClientRedirect(url)
        return redirect_to(request, url)
    if request.htmx and request.GET.get("seen") == generation.status:
        return HttpResponse(status=204)  # unchanged: htmx keeps the page (and polling) as is
    template = "plans/partials/_generation.html" if request.htmx else "plans/generation.html"
    return render(
        request,
        template,
        {
            "relationship": relationship,
            "generation": generation,
            "options_label": options_label(generation.options),
        },
    )


def _requested_version(request: AuthenticatedHttpRequest, plan: TreatmentPlan) -> PlanVersion:
    """?version=N, or the latest; anything else is a 404."""
    number = request.GET.get("version")
    try:
        return get_version(plan, int(number)) if number else latest_version(plan)
    except ValueError:
        raise Http404("No such version.") from None


@require_GET
@clinician_required
def plan_detail(request: AuthenticatedHttpRequest, client_id: UUID, plan_id: UUID) -> HttpResponse:
    relationship = get_relationship_for_user(request.user, client_id)
    plan = get_plan(relationship, plan_id)
    version = with_label(_requested_version(request, plan))
    audit_record(
        action="plan.view",
        actor=request.user,
        audit_context=request.audit_context,
        client=relationship.client,
        obj=plan,
        detail={"version": version.number},
    )
    versions = plan_versions(plan)
    return render(
        request,
        "plans/plan.html",
        {
            "relationship": relationship,
            "plan": plan,
            "version": version,
            "latest": versions[0],
            "versions": versions,
            "status": plan_status(plan),
            "can_edit": relationship.access.can_write,
            "dates_form": PlanDatesForm(
                initial={"effective_date": plan.effective_date, "review_date": plan.review_date}
            ),
        },
    )


@require_GET
@clinician_required
def plan_diff(request: AuthenticatedHttpRequest, client_id: UUID, plan_id: UUID) -> HttpResponse:
    """TP-4: compare two versions (?from=1&to=2)."""
    relationship = get_relationship_for_user(request.user, client_id)
    plan = get_plan(relationship, plan_id)
    try:
        older = get_version(plan, int(request.GET.get("from", "")))
        newer = get_version(plan, int(request.GET.get("to", "")))
    except ValueError:
        raise Http404("Choose two versions.") from None
    audit_record(
        action="plan.diff",
        actor=request.user,
        audit_context=request.audit_context,
        client=relationship.client,
        obj=plan,
        detail={"from": older.number, "to": newer.number},
    )
    context = {"relationship": relationship, "plan": plan, "older": older, "newer": newer}
    return render(request, "plans/diff.html", {**context, "diff": version_diff(older, newer)})


@require_POST
@clinician_required
def plan_restore(
    request: AuthenticatedHttpRequest, client_id: UUID, plan_id: UUID, number: int
) -> HttpResponse:
    relationship = get_relationship_for_user(request.user, client_id, write=True)
    plan = get_plan(relationship, plan_id)
    get_version(plan, number)
    try:
        version = services.plan_restore(
            plan=plan,
            actor=request.user,
            number=number,
            audit_context=request.audit_context,
        )
    except services.PlanError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Version {number} restored as version {version.number}.")
    return redirect_to(request, _plan_url(relationship, plan))


@require_POST
@clinician_required
def plan_dates(request: AuthenticatedHttpRequest, client_id: UUID, plan_id: UUID) -> HttpResponse:
    relationship = get_relationship_for_user(request.user, client_id, write=True)
    plan = get_plan(relationship, plan_id)
    form = PlanDatesForm(request.POST)
    if form.is_valid():
        try:
            services.plan_update_dates(
                plan=plan,
                actor=request.user,
                audit_context=request.audit_context,
                **form.cleaned_data,
            )
        except services.PlanError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, "Dates saved.")
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect_to(request, _plan_url(relationship, plan))


@require_GET
@clinician_required
def plan_pdf(request: AuthenticatedHttpRequest, client_id: UUID, plan_id: UUID) -> HttpResponse:
    """TP-6: the plan as a PDF with letterhead, diagnoses, version, dates and signature lines."""
    relationship = get_relationship_for_user(request.user, client_id)
    plan = get_plan(relationship, plan_id)
    version = _requested_version(request, plan)
    context = plan_pdf_context(
        relationship,
        plan,
        version,
        with_supervisor=request.GET.get("supervisor") == "1",
        with_client=request.GET.get("client") == "1",
    )
    from caseload.lib.pdf import render_pdf  # WeasyPrint loads slowly: only when exporting

    pdf = render_pdf("plans/pdf.html", context)
    audit_record(
        action="plan.export_pdf",
        actor=request.user,
        audit_context=request.audit_context,
        client=relationship.client,
        obj=plan,
        detail={"version": version.number},
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="treatment-plan-v{version.number}.pdf"'
    response["X-Content-Type-Options"] = "nosniff"
    return response

"""Import clients from a CSV: upload, mapping, preview, progress and the report.

A therapist imports into their own caseload; a practice admin into any clinician's of the
practice. Anyone else, and any import outside one's reach, is a 404.
"""

from __future__ import annotations

from collections import Counter
from uuid import UUID

from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from caseload.accounts.http import AuthenticatedHttpRequest
from caseload.accounts.models import User
from caseload.imports import services
from caseload.imports.forms import MappingForm, StartForm, UploadForm
from caseload.imports.models import ClientImport, ImportStatus, RowOutcome
from caseload.practices.http import client_importer_required

PREVIEW_LIMIT = 200  # rows listed per group on the preview page


def _imports_for(user: User) -> QuerySet[ClientImport]:
    membership = user.membership
    if membership.is_admin:
        return ClientImport.objects.filter(practice_id=membership.practice_id)
    return ClientImport.objects.filter(therapist=user)


def _get_import(request: AuthenticatedHttpRequest, import_id: UUID) -> ClientImport:
    return get_object_or_404(
        _imports_for(request.user).select_related("practice", "therapist", "created_by"),
        public_id=import_id,
    )


@require_http_methods(["GET", "POST"])
@client_importer_required
def import_upload(request: AuthenticatedHttpRequest) -> HttpResponse:
    practice = request.user.membership.practice
    for_admin = request.user.membership.is_admin
    form = UploadForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
        practice=practice,
        for_admin=for_admin,
    )
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            client_import = services.import_create(
                actor=request.user,
                therapist=form.cleaned_data["clinician"] if for_admin else request.user,
                file_name=upload.name or "clients.csv",
                data=upload.read(),
                audit_context=request.audit_context,
            )
        except services.ImportFileError as error:
            form.add_error("file", str(error))
        except services.ImportServiceError as error:
            form.add_error(None, str(error))
        else:
            return redirect("imports:mapping", client_import.public_id)
    return render(request, "imports/upload.html", {"form": form, "for_admin": for_admin})


@require_http_methods(["GET", "POST"])
@client_importer_required
def import_mapping(request: AuthenticatedHttpRequest, import_id: UUID) -> HttpResponse:
    client_import = _get_import(request, import_id)
    if client_import.status != ImportStatus.MAPPING:
        return redirect("imports:progress", client_import.public_id)
    form = MappingForm(
        request.POST if request.method == "POST" else None,
        headers=client_import.headers,
        mapping=client_import.mapping,
        samples=services.samples(client_import),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.import_set_mapping(
                client_import=client_import, mapping=form.mapping(), actor=request.user
            )
        except services.ImportServiceError as error:
            form.add_error(None, str(error))
        else:
            return redirect("imports:preview", client_import.public_id)
    context = {
        "client_import": client_import,
        "form": form,
        "previous": services.previous_import(client_import),
    }
    return render(request, "imports/mapping.html", context)


@require_http_methods(["GET", "POST"])
@client_importer_required
def import_preview(request: AuthenticatedHttpRequest, import_id: UUID) -> HttpResponse:
    client_import = _get_import(request, import_id)
    if client_import.status != ImportStatus.MAPPING:
        return redirect("imports:progress", client_import.public_id)
    planned = services.plan_rows(client_import)
    possible = [row for row in planned if row.status == services.RowStatus.POSSIBLE]
    form = StartForm(
        request.POST if request.method == "POST" else None,
        possible=[(row.number, f"Row {row.number}: {row.full_name}") for row in possible],
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.import_start(
                client_import=client_import,
                send_invitations=form.cleaned_data["invitations"] == "now",
                confirmed_rows=form.cleaned_data["confirmed"],
                actor=request.user,
                audit_context=request.audit_context,
            )
        except services.ImportServiceError as error:
            messages.error(request, str(error))
        return redirect("imports:progress", client_import.public_id)
    counts = Counter(row.status for row in planned)
    groups = [
        (
            "Rows with errors (they will not be imported)",
            "errors",
            [r for r in planned if r.status == services.RowStatus.ERROR],
        ),
        (
            "Duplicates (they will be skipped)",
            "duplicates",
            [
                r
                for r in planned
                if r.status in (services.RowStatus.DUPLICATE, services.RowStatus.IMPORTED)
            ],
        ),
        (
            "Ready to import",
            "ready",
            [r for r in planned if r.status == services.RowStatus.READY],
        ),
    ]
    context = {
        "client_import": client_import,
        "form": form,
        "possible": possible,
        "groups": [(title, slug, rows[:PREVIEW_LIMIT], len(rows)) for title, slug, rows in groups],
        "counts": {
            "total": len(planned),
            "ready": counts[services.RowStatus.READY],
            "errors": counts[services.RowStatus.ERROR],
            "duplicates": counts[services.RowStatus.DUPLICATE]
            + counts[services.RowStatus.IMPORTED],
            "possible": counts[services.RowStatus.POSSIBLE],
        },
        "previous": services.previous_import(client_import),
    }
    return render(request, "imports/preview.html", context)


@require_GET
@client_importer_required
def import_progress(request: AuthenticatedHttpRequest, import_id: UUID) -> HttpResponse:
    client_import = _get_import(request, import_id)
    if client_import.status == ImportStatus.MAPPING:
        return redirect("imports:mapping", client_import.public_id)
    context = {
        "client_import": client_import,
        "counts": services.outcome_counts(client_import),
        "outcomes": RowOutcome,
    }
    if request.htmx:
        return render(request, "imports/progress.html#progress", context)
    return render(request, "imports/progress.html", context)


@require_GET
@client_importer_required
def import_report(request: AuthenticatedHttpRequest, import_id: UUID) -> HttpResponse:
    client_import = _get_import(request, import_id)
    if not client_import.is_finished:
        raise Http404("The report is ready once the import has finished.")
    response = HttpResponse(services.report_csv(client_import), content_type="text/csv")
    name = f"import-report-{client_import.created_at:%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_POST
@client_importer_required
def import_send_invitations(request: AuthenticatedHttpRequest, import_id: UUID) -> HttpResponse:
    client_import = _get_import(request, import_id)
    try:
        count = services.import_send_invitations(
            client_import=client_import, actor=request.user, audit_context=request.audit_context
        )
    except services.ImportServiceError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{count} invitations are on their way.")
    return redirect("imports:progress", client_import.public_id)

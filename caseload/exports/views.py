"""Whole-record exports: ask for one, watch it being built, download it once."""

from __future__ import annotations

from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from caseload.accounts.http import AuthenticatedHttpRequest
from caseload.clients.access import get_relationship_for_user
from caseload.exports import services
from caseload.exports.selectors import (
    exports_for_user,
    get_export_for_user,
    practice_relationships_for_admin,
)
from caseload.lib.http import redirect_to
from caseload.practices.http import (
    clinician_required,
    practice_admin_required,
    role_of,
    staff_required,
)


@require_POST
@clinician_required
def export_client(request: AuthenticatedHttpRequest, client_id: UUID) -> HttpResponse:
    """ "Export record" on the profile: the client's own therapist only (404 for others)."""
    relationship = get_relationship_for_user(request.user, client_id)
    if not relationship.access.is_owner:
        raise Http404("No such client.")
    try:
        export = services.export_request_client(
            relationship=relationship, actor=request.user, audit_context=request.audit_context
        )
    except services.ExportError as error:
        messages.error(request, str(error))
        return redirect_to(request, reverse("workspace:detail", args=[relationship.public_id]))
    return redirect_to(request, reverse("exports:status", args=[export.public_id]))


@require_POST
@practice_admin_required
def export_practice(request: AuthenticatedHttpRequest) -> HttpResponse:
    try:
        export = services.export_request_practice(
            actor=request.user, audit_context=request.audit_context
        )
    except services.ExportError as error:
        messages.error(request, str(error))
        return redirect_to(request, reverse("exports:index"))
    return redirect_to(request, reverse("exports:status", args=[export.public_id]))


@require_GET
@staff_required
def export_index(request: AuthenticatedHttpRequest) -> HttpResponse:
    is_admin = role_of(request.user) == "admin"
    return render(
        request,
        "exports/index.html",
        {
            "exports": exports_for_user(request.user)[:20],
            "is_admin": is_admin,
            "valid_hours": settings.RECORD_EXPORT_VALID_HOURS,
            "practice_clients": practice_relationships_for_admin(request.user).count()
            if is_admin
            else 0,
        },
    )


@require_GET
@staff_required
def export_status(request: AuthenticatedHttpRequest, export_id: UUID) -> HttpResponse:
    """The export's progress; htmx polls the partial every second while it is being built."""
    export = get_export_for_user(request.user, export_id)
    seen = f"{export.status}:{export.done}"
    if request.htmx and request.GET.get("seen") == seen:
        return HttpResponse(status=204)  # unchanged: htmx keeps the page (and polling) as is
    template = "exports/partials/_status.html" if request.htmx else "exports/status.html"
    return render(request, template, {"export": export, "seen": seen})


@require_GET
@staff_required
def export_download(request: AuthenticatedHttpRequest, export_id: UUID) -> HttpResponse:
    """The ZIP, once. A second visit, or one after the link expired, gets 410 and a page."""
    export = get_export_for_user(request.user, export_id)
    try:
        archive = services.export_download(
            export=export, actor=request.user, audit_context=request.audit_context
        )
    except services.ExportNotAllowed as error:
        raise Http404("No such export.") from error
    except services.ExportGone as error:
        return render(
            request, "exports/gone.html", {"export": export, "reason": str(error)}, status=410
        )
    response = HttpResponse(archive, content_type="application/zip")
    stamp = export.created_at.strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="caseload-record-export-{stamp}.zip"'
    response["X-Content-Type-Options"] = "nosniff"
    return response

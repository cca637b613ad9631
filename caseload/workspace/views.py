"""The clinician's workspace: My Clients, the client profile and its sections, home.

The profile is composed from the sections that `registry.PROFILE_SECTIONS` lists; this module
never imports a feature app's views.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from caseload.accounts.http import AuthenticatedHttpRequest
from caseload.audit.services import audit_record
from caseload.clients import services
from caseload.clients.access import get_relationship_for_user
from caseload.clients.models import CareRelationship
from caseload.clients.selectors import outstanding_invitation
from caseload.lib.http import redirect_to
from caseload.practices.http import clinician_required, role_of
from caseload.practices.models import Role
from caseload.workspace.details import DETAIL_FORMS, details_form
from caseload.workspace.registry import PROFILE_SECTIONS
from caseload.workspace.selectors import (
    ClientListParams,
    ListFilter,
    attach_badges,
    client_rows,
    whats_next,
)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("account_login")
    role = role_of(request.user)
    if role == Role.ADMIN:
        return redirect("practices:settings")
    if role is None:
        return redirect("portal:home")
    return redirect("workspace:index")


def _list_params(request: AuthenticatedHttpRequest) -> ClientListParams | None:
    """Parse the list's query string through an allow-list (SECURITY A6)."""
    raw_filter = request.GET.get("filter", ListFilter.ACTIVE)
    try:
        list_filter = ListFilter(raw_filter)
    except ValueError:
        return None
    return ClientListParams(query=request.GET.get("q", "").strip()[:100], filter=list_filter)


def _sidebar_context(request: AuthenticatedHttpRequest, params: ClientListParams) -> dict[str, Any]:
    return {
        "params": params,
        "relationships": client_rows(request.user, params),
        "can_add_clients": request.user.membership.role in (Role.THERAPIST, Role.SUPERVISOR),
    }


@require_GET
@clinician_required
def client_index(request: AuthenticatedHttpRequest) -> HttpResponse:
    params = _list_params(request)
    if params is None:
        return HttpResponseBadRequest("Unknown filter.")
    context = _sidebar_context(request, params)
    if request.htmx and request.htmx.target == "client-list":
        return render(request, "workspace/index.html#client_list", context)
    return render(request, "workspace/index.html", context)


def _profile_context(
    request: AuthenticatedHttpRequest,
    relationship: CareRelationship,
    forms: dict[str, Any] | None = None,
    *,
    sections: set[str] | None = None,
) -> dict[str, Any]:
    """The profile, composed from the registry. `sections` limits which sections compute
    their context (showing the conversation is an audited read: only when it is shown)."""
    access = relationship.access
    forms = forms or {}
    for key in DETAIL_FORMS:
        forms.setdefault(key, details_form(key, relationship))
    shown = [section for section in PROFILE_SECTIONS if access.can_read or not section.needs_record]
    record: dict[str, Any] = {}
    for section in shown:
        if sections is None or section.key in sections:
            record.update(section.context(request.user, relationship, request.audit_context))
    return {
        **record,
        "profile_sections": shown,
        "relationship": relationship,
        "client": relationship.client,
        "access": access,
        "can_edit": access.can_manage,
        "invitation": outstanding_invitation(relationship),
        "whats_next": whats_next(relationship) if access.can_write else [],
        "just_created": request.GET.get("created") == "1",
        "forms": forms,
        "practice": relationship.practice,
    }


@require_GET
@clinician_required
def client_detail(request: AuthenticatedHttpRequest, client_id: UUID) -> HttpResponse:
    relationship = attach_badges(get_relationship_for_user(request.user, client_id, record=False))
    audit_record(
        action="client.view",
        actor=request.user,
        audit_context=request.audit_context,
        client=relationship.client,
        obj=relationship,
    )
    context = _profile_context(request, relationship)
    context["current_id"] = relationship.public_id  # marks the open client in the list
    if request.htmx and not request.htmx.boosted and request.htmx.target == "client-profile":
        return render(request, "workspace/detail.html#profile", context)
    params = _list_params(request) or ClientListParams()
    if relationship.is_archived:
        params = ClientListParams(query=params.query, filter=ListFilter.ARCHIVED)
    context.update(_sidebar_context(request, params))
    return render(request, "workspace/detail.html", context)


@require_POST
@clinician_required
def client_update_section(
    request: AuthenticatedHttpRequest, client_id: UUID, section: str
) -> HttpResponse:
    relationship = get_relationship_for_user(request.user, client_id, write=True)
    # The form validates a detached copy, so a refused form leaves nothing changed.
    detached = CareRelationship.objects.select_related("practice").get(pk=relationship.pk)
    form = details_form(section, detached, data=request.POST)
    template = f"workspace/partials/_section_{section}.html"
    if form.is_valid():
        try:
            services.relationship_update_details(
                relationship=relationship,
                section=section,
                values=form.cleaned_data,
                actor=request.user,
                audit_context=request.audit_context,
            )
        except services.ClientServiceError as error:
            # Archived or ended: the record is read-only for now.
            messages.error(request, str(error))
            return redirect_to(request, reverse("workspace:detail", args=[relationship.public_id]))
        relationship.refresh_from_db()  # keeps the access decided by the gate
        if not request.htmx:
            messages.success(request, "Saved.")
            url = reverse("workspace:detail", args=[relationship.public_id])
            return redirect_to(request, f"{url}#{section}")
        # Turning messaging on or off also refreshes the Messaging section (out of band).
        context = _profile_context(
            request, relationship, sections={"messaging"} if section == "preferences" else set()
        )
        context["saved_section"] = section
        return render(request, template, context)
    if request.htmx:
        context = _profile_context(request, relationship, forms={section: form}, sections=set())
        return render(request, template, context)
    context = _profile_context(request, relationship, forms={section: form})
    context.update(_sidebar_context(request, ClientListParams()))
    return render(request, "workspace/detail.html", context)

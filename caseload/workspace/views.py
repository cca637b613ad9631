"""The clinician's workspace: My Clients, the client profile and its sections, home.

The profile is composed from the sections that `registry.PROFILE_SECTIONS` lists; this module
never imports a feature app's views.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

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
from caseload.workspace.home import home_page
from caseload.workspace.registry import OVERVIEW, PROFILE_SECTIONS, SECTIONS_BY_KEY
from caseload.workspace.selectors import (
    MAX_PAGE,
    PAGE_SIZE,
    ClientListParams,
    ListFilter,
    ListSort,
    attach_badges,
    client_page,
    whats_next,
)


@require_GET
def home(request: AuthenticatedHttpRequest) -> HttpResponse:
    """A clinician's home page: what needs them today. Everyone else is sent on."""
    if not request.user.is_authenticated:
        return redirect("account_login")
    role = role_of(request.user)
    if role == Role.ADMIN:
        return redirect("practices:settings")
    if role is None:
        return redirect("portal:home")
    page = home_page(request.user)
    audit_record(
        action="home.view",
        actor=request.user,
        audit_context=request.audit_context,
        detail=page.counts(),
    )
    return render(request, "workspace/home.html", {"home": page})


def _list_params(request: AuthenticatedHttpRequest) -> ClientListParams | None:
    """Parse the list's query string through an allow-list (SECURITY A6): None if refused."""
    raw_page = request.GET.get("page", "1")
    try:
        list_filter = ListFilter(request.GET.get("filter", ListFilter.ACTIVE))
        sort = ListSort(request.GET.get("sort", ListSort.NAME))
    except ValueError:
        return None
    if not (raw_page.isascii() and raw_page.isdigit() and 1 <= int(raw_page) <= MAX_PAGE):
        return None
    query = request.GET.get("q", "").strip()[:100]
    return ClientListParams(query=query, filter=list_filter, sort=sort, page=int(raw_page))


#: Reversed in place of a client's id, so a list page reverses a profile URL once, not per row.
_ANY_CLIENT = UUID(int=0)


def _sidebar_context(request: AuthenticatedHttpRequest, params: ClientListParams) -> dict[str, Any]:
    page = client_page(request.user, params)
    prefix, suffix = reverse("workspace:detail", args=[_ANY_CLIENT]).split(str(_ANY_CLIENT))
    query = params.profile_query
    for row in page.rows:  # the template's hot path: one string per row, no reverse() per row
        url = f"{prefix}{row.public_id}{suffix}"
        setattr(row, "profile_url", url)  # noqa: B010
        setattr(row, "profile_link", f"{url}{query}")  # noqa: B010  (keeps the list's params)
        # <time datetime>: in the practice's zone, as the date filter beside it shows it.
        for name in ("next_session", "last_seen"):
            at = getattr(row, f"{name}_at")
            setattr(row, f"{name}_iso", timezone.localtime(at).isoformat() if at else "")
    return {
        "params": params,
        "list_page": page,
        "relationships": page.rows,
        "page_size": PAGE_SIZE,
        "can_add_clients": request.user.membership.role in (Role.THERAPIST, Role.SUPERVISOR),
    }


@require_GET
@clinician_required
def client_index(request: AuthenticatedHttpRequest) -> HttpResponse:
    """My Clients. htmx asks for the list alone (search, filter, sort) or, for "Show more",
    the next page's rows to append; without JavaScript every one is a whole page."""
    params = _list_params(request)
    if params is None:
        return HttpResponseBadRequest("Unknown filter, sort or page.")
    context = _sidebar_context(request, params)
    target = request.htmx.target if request.htmx else None
    if target == "client-list-more":
        return render(request, "workspace/index.html#client_rows", context)
    if target == "client-list":
        return render(request, "workspace/index.html#client_list", {**context, "list_swap": True})
    return render(request, "workspace/index.html", context)


def _profile_context(
    request: AuthenticatedHttpRequest,
    relationship: CareRelationship,
    tab: str,
    forms: dict[str, Any] | None = None,
    *,
    compute: bool = True,
) -> dict[str, Any]:
    """The profile shell and one tab. Only the tab shown is queried (and audited, when its
    read is audited): the Overview asks each section for its summary, another tab for its
    whole context. `compute=False` renders a details section alone (an htmx save)."""
    access = relationship.access
    forms = forms or {}
    for key in DETAIL_FORMS:
        forms.setdefault(key, details_form(key, relationship))
    shown = [section for section in PROFILE_SECTIONS if access.can_read or not section.needs_record]
    context: dict[str, Any] = {}
    if compute and access.can_read:
        if tab == OVERVIEW:
            for section in shown:
                if section.overview is not None:
                    context.update(
                        section.overview(request.user, relationship, request.audit_context)
                    )
            context["whats_next"] = whats_next(relationship) if access.can_write else []
            context["overview_sections"] = [s for s in shown if s.overview is not None]
        else:
            section = SECTIONS_BY_KEY[tab]
            paging = {"before": request.GET.get("before") or None} if section.paged else {}
            context.update(
                section.context(request.user, relationship, request.audit_context, **paging)
            )
            context["section_template"] = section.template
    return {
        **context,
        "tab": tab,
        "profile_sections": shown,
        "relationship": relationship,
        "client": relationship.client,
        "access": access,
        "can_edit": access.can_manage,
        "invitation": outstanding_invitation(relationship),
        "just_created": request.GET.get("created") == "1",
        "forms": forms,
        "practice": relationship.practice,
    }


def _profile_page(
    request: AuthenticatedHttpRequest, relationship: CareRelationship, context: dict[str, Any]
) -> HttpResponse:
    context["current_id"] = relationship.public_id  # marks the open client in the list
    if request.htmx and not request.htmx.boosted and request.htmx.target == "client-profile":
        return render(request, "workspace/detail.html#profile", context)
    params = _list_params(request) or ClientListParams()
    if relationship.is_archived:
        params = replace(params, filter=ListFilter.ARCHIVED, page=1)
    context.update(_sidebar_context(request, params))
    return render(request, "workspace/detail.html", context)


def _open_profile(request: AuthenticatedHttpRequest, client_id: UUID, tab: str) -> CareRelationship:
    """The gate, the badges and the audited view of one tab of the profile."""
    record = tab != OVERVIEW  # a client awaiting approval shows only the overview card
    relationship = attach_badges(get_relationship_for_user(request.user, client_id, record=record))
    audit_record(
        action="client.view",
        actor=request.user,
        audit_context=request.audit_context,
        client=relationship.client,
        obj=relationship,
        detail={"tab": tab},
    )
    return relationship


@require_GET
@clinician_required
def client_detail(request: AuthenticatedHttpRequest, client_id: UUID) -> HttpResponse:
    """The Overview tab: the client at a glance (the profile's default tab)."""
    relationship = _open_profile(request, client_id, OVERVIEW)
    return _profile_page(request, relationship, _profile_context(request, relationship, OVERVIEW))


@require_GET
@clinician_required
def client_tab(request: AuthenticatedHttpRequest, client_id: UUID, tab: str) -> HttpResponse:
    """One tab of the profile, with its own URL (bookmarkable; Back works)."""
    relationship = _open_profile(request, client_id, tab)
    return _profile_page(request, relationship, _profile_context(request, relationship, tab))


@require_http_methods(["GET", "POST"])
@clinician_required
def client_details(
    request: AuthenticatedHttpRequest, client_id: UUID, section: str
) -> HttpResponse:
    """Personal Information, Emergency Contact, Preferences: a tab (GET), saved in place (POST)."""
    if request.method == "GET":
        return client_tab(request, client_id, section)
    return client_update_section(request, client_id, section)


def client_update_section(
    request: AuthenticatedHttpRequest, client_id: UUID, section: str
) -> HttpResponse:
    relationship = get_relationship_for_user(request.user, client_id, write=True)
    # The form validates a detached copy, so a refused form leaves nothing changed.
    detached = CareRelationship.objects.select_related("practice").get(pk=relationship.pk)
    form = details_form(section, detached, data=request.POST)
    template = f"workspace/partials/_section_{section}.html"
    tab_url = reverse(f"workspace:{section}", args=[relationship.public_id])
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
            return redirect_to(request, tab_url)
        relationship.refresh_from_db()  # keeps the access decided by the gate
        if not request.htmx:
            messages.success(request, "Saved.")
            return redirect_to(request, tab_url)
        context = _profile_context(request, relationship, section, compute=False)
        context["saved_section"] = section
        return render(request, template, context)
    if request.htmx:
        context = _profile_context(
            request, relationship, section, forms={section: form}, compute=False
        )
        return render(request, template, context)
    context = _profile_context(request, relationship, section, forms={section: form})
    return _profile_page(request, relationship, context)

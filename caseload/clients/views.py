"""My Clients: the client list, adding clients, the profile and its sections (MC-1 … MC-7)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from caseload.audit.services import audit_record
from caseload.clients import services
from caseload.clients.forms import (
    AddClientForm,
    EmergencyContactForm,
    PersonalInformationForm,
    PreferencesForm,
    RemoveClientForm,
)
from caseload.clients.models import CareRelationship
from caseload.clients.selectors import (
    Access,
    ClientListParams,
    ListFilter,
    access_for,
    client_list,
    get_relationship_for_user,
    outstanding_invitation,
)
from caseload.clinical.views import clinical_context
from caseload.documents.views import documents_context
from caseload.lib.http import AuthenticatedHttpRequest, clinician_required, htmx_redirect
from caseload.messaging.views import messaging_context
from caseload.plans.views import plans_context
from caseload.practices.models import Practice, Role
from caseload.visits.views import sessions_context

SECTION_FORMS = {
    "personal": PersonalInformationForm,
    "emergency": EmergencyContactForm,
    "preferences": PreferencesForm,
}


def _section_form(
    section: str, practice: Practice, instance: CareRelationship, data: Any = None
) -> Any:
    if section == "preferences":
        return PreferencesForm(data, instance=instance, practice=practice)
    return SECTION_FORMS[section](data, instance=instance)


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
        "relationships": list(client_list(request.user, params)),
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
        return render(request, "clients/index.html#client_list", context)
    return render(request, "clients/index.html", context)


def _whats_next(relationship: CareRelationship) -> list[dict[str, Any]]:
    """MC-2: derived from data, never stored ticks."""
    profile = reverse("clients:detail", args=[relationship.public_id])
    return [
        {
            "label": "Schedule the first session",
            "url": reverse("visits:session_new", args=[relationship.public_id]),
            "done": relationship.sessions.exists(),
        },
        {
            "label": "Assign intake documents",
            "url": f"{profile}#documents",
            "done": relationship.documents.exists(),
        },
        {
            "label": "Set up a treatment plan",
            "url": reverse("plans:new", args=[relationship.public_id]),
            "done": relationship.treatment_plans.exists(),
        },
    ]


def _profile_context(
    request: AuthenticatedHttpRequest,
    relationship: CareRelationship,
    forms: dict[str, Any] | None = None,
    *,
    with_messages: bool = True,
) -> dict[str, Any]:
    """The whole profile. `with_messages=False` when only one section is rendered: showing
    the conversation is an audited read, so it is loaded only when it is shown."""
    practice = relationship.practice
    access = access_for(request.user, relationship)
    forms = forms or {}
    for section in SECTION_FORMS:
        forms.setdefault(section, _section_form(section, practice, relationship))
    record: dict[str, Any] = {}
    if relationship.can_open_record:
        record = {
            **clinical_context(request.user, relationship),
            **sessions_context(request.user, relationship),
            **plans_context(request.user, relationship),
            **documents_context(request.user, relationship),
            **(messaging_context(request, relationship) if with_messages else {}),
        }
    return {
        **record,
        "relationship": relationship,
        "client": relationship.client,
        "can_edit": access == Access.WRITE,
        "invitation": outstanding_invitation(relationship),
        "whats_next": _whats_next(relationship),
        "just_created": request.GET.get("created") == "1",
        "forms": forms,
        "practice": practice,
    }


@require_GET
@clinician_required
def client_detail(request: AuthenticatedHttpRequest, client_id: UUID) -> HttpResponse:
    relationship = get_relationship_for_user(request.user, client_id)
    audit_record(
        action="client.view", request=request, client=relationship.client, obj=relationship
    )
    context = _profile_context(request, relationship)
    context["current_id"] = relationship.public_id  # marks the open client in the list
    if request.htmx and not request.htmx.boosted and request.htmx.target == "client-profile":
        return render(request, "clients/detail.html#profile", context)
    params = _list_params(request) or ClientListParams()
    if relationship.is_archived:
        params = ClientListParams(query=params.query, filter=ListFilter.ARCHIVED)
    context.update(_sidebar_context(request, params))
    return render(request, "clients/detail.html", context)


@require_http_methods(["GET", "POST"])
@clinician_required
def client_add(request: AuthenticatedHttpRequest) -> HttpResponse:
    practice = request.user.membership.practice
    # An empty POST is still a submission: bind it so that it shows the required messages.
    form = AddClientForm(request.POST if request.method == "POST" else None, practice=practice)
    duplicate = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            added = services.client_add(
                therapist=request.user,
                full_name=data["full_name"],
                email=data.get("email") or "",
                billing_type=data.get("billing_type") or "",
                is_child=bool(data.get("is_child")),
                guardian_name=data.get("guardian_name") or "",
                guardian_email=data.get("guardian_email") or "",
                guardian_relationship=data.get("guardian_relationship") or "",
                request=request,
            )
        except services.DuplicateClientError as error:
            duplicate = error.relationship
            form.add_error(
                "guardian_email" if data.get("is_child") else "email",
                "You already have this client."
                if not duplicate.is_archived
                else "You already have this client, in your Archived list.",
            )
        except services.ClientServiceError as error:
            # E.g. a staff member's address: a rule refused it, say so beside the address.
            form.add_error("guardian_email" if data.get("is_child") else "email", str(error))
        else:
            relationship = added.relationship
            if relationship.is_awaiting_consent:
                messages.success(
                    request,
                    f"{relationship.client} already has a Caseload account, so we sent a "
                    "connection request. You can open their profile once they approve it.",
                )
            else:
                messages.success(request, f"{relationship.client} was added and invited.")
            url = reverse("clients:detail", args=[relationship.public_id]) + "?created=1"
            return htmx_redirect(url, request)
    context = {"form": form, "duplicate": duplicate}
    if request.htmx:
        return render(request, "clients/add.html#add_form", context)
    return render(request, "clients/add.html", context)


@require_POST
@clinician_required
def client_update_section(
    request: AuthenticatedHttpRequest, client_id: UUID, section: str
) -> HttpResponse:
    relationship = get_relationship_for_user(request.user, client_id, access=Access.WRITE)
    # The form validates a detached copy, so a refused form leaves nothing changed.
    detached = CareRelationship.objects.get(pk=relationship.pk)
    form = _section_form(section, relationship.practice, detached, data=request.POST)
    if form.is_valid():
        try:
            relationship = services.relationship_update_details(
                relationship=relationship,
                section=section,
                values=form.cleaned_data,
                request=request,
            )
        except services.ClientServiceError as error:
            # Archived, awaiting approval or ended: the record is read-only for now.
            messages.error(request, str(error))
            return htmx_redirect(reverse("clients:detail", args=[relationship.public_id]), request)
        if not request.htmx:
            messages.success(request, "Saved.")
            url = reverse("clients:detail", args=[relationship.public_id])
            return htmx_redirect(f"{url}#{section}", request)
        # Turning messaging on or off also refreshes the Messaging section (out of band).
        context = _profile_context(request, relationship, with_messages=section == "preferences")
        context["saved_section"] = section
        return render(request, f"clients/detail.html#section_{section}", context)
    context = _profile_context(
        request, relationship, forms={section: form}, with_messages=not request.htmx
    )
    if request.htmx:
        return render(request, f"clients/detail.html#section_{section}", context)
    context.update(_sidebar_context(request, ClientListParams()))
    return render(request, "clients/detail.html", context)


def _lifecycle_action(
    request: AuthenticatedHttpRequest, client_id: UUID, action: str
) -> HttpResponse:
    relationship = get_relationship_for_user(request.user, client_id, access=Access.WRITE)
    service = {
        "archive": services.relationship_archive,
        "restore": services.relationship_restore,
        "resend": lambda **kw: services.invitation_resend(**kw).relationship,
    }[action]
    try:
        relationship = service(relationship=relationship, request=request)
    except services.ClientServiceError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _lifecycle_message(action, relationship))
    return htmx_redirect(reverse("clients:detail", args=[relationship.public_id]), request)


def _lifecycle_message(action: str, relationship: CareRelationship) -> str:
    name = relationship.client.full_name
    if action == "archive":
        return f"{name} was archived. You'll find them under Archived."
    if action == "resend":
        return "The invitation was sent again with a new link."
    if relationship.is_archived:
        return (
            f"{name} has an account, so we sent them a new invitation. "
            "They'll move back to Active when they accept it."
        )
    return f"{name} was restored."


@require_POST
@clinician_required
def client_archive(request: AuthenticatedHttpRequest, client_id: UUID) -> HttpResponse:
    return _lifecycle_action(request, client_id, "archive")


@require_POST
@clinician_required
def client_restore(request: AuthenticatedHttpRequest, client_id: UUID) -> HttpResponse:
    return _lifecycle_action(request, client_id, "restore")


@require_POST
@clinician_required
def client_resend_invitation(request: AuthenticatedHttpRequest, client_id: UUID) -> HttpResponse:
    return _lifecycle_action(request, client_id, "resend")


@require_http_methods(["GET", "POST"])
@clinician_required
def client_remove(request: AuthenticatedHttpRequest, client_id: UUID) -> HttpResponse:
    """MC-7: remove only after an explicit confirmation step."""
    relationship = get_relationship_for_user(request.user, client_id, access=Access.WRITE)
    form = RemoveClientForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        services.relationship_remove(relationship=relationship, request=request)
        messages.success(
            request,
            f"{relationship.client.full_name} was removed. Their record is retained as the law "
            "requires, but you no longer have access to it.",
        )
        return htmx_redirect(reverse("clients:index"), request)
    return render(request, "clients/remove.html", {"relationship": relationship, "form": form})

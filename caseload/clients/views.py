"""The care core's own actions: add a client (MC-3), archive, restore, resend, remove (MC-7).

The list and the profile that show them are the workspace's (`caseload.workspace`)."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from caseload.accounts.http import AuthenticatedHttpRequest
from caseload.clients import services
from caseload.clients.access import access_for, get_relationship_for_user
from caseload.clients.forms import (
    AddClientForm,
    RemoveClientForm,
)
from caseload.clients.models import CareRelationship, CareState
from caseload.lib.http import redirect_to
from caseload.practices.http import clinician_required


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
                actor=request.user,
                full_name=data["full_name"],
                email=data.get("email") or "",
                billing_type=data.get("billing_type") or "",
                is_child=bool(data.get("is_child")),
                guardian_name=data.get("guardian_name") or "",
                guardian_email=data.get("guardian_email") or "",
                guardian_relationship=data.get("guardian_relationship") or "",
                submission_key=data.get("submission_key"),
                audit_context=request.audit_context,
            )
        except services.AlreadyAddedError as error:
            # This very form was sent before (the answer got lost): show what it created.
            earlier = error.relationship
            if earlier.state == CareState.ENDED:
                messages.info(request, "This form was already sent; that client was removed.")
                return redirect_to(request, reverse("workspace:index"))
            messages.info(
                request,
                f"{earlier.client_name} was already added: this form had been sent before. "
                "Here is their profile.",
            )
            return redirect_to(request, reverse("workspace:detail", args=[earlier.public_id]))
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
                    f"{relationship.client_name} already has a Caseload account, so we sent a "
                    "connection request. You can open their profile once they approve it.",
                )
            else:
                messages.success(request, f"{relationship.client_name} was added and invited.")
            url = reverse("workspace:detail", args=[relationship.public_id]) + "?created=1"
            return redirect_to(request, url)
    context = {"form": form, "duplicate": duplicate}
    if request.htmx:
        return render(request, "clients/add.html#add_form", context)
    return render(request, "clients/add.html", context)


def _lifecycle_action(
    request: AuthenticatedHttpRequest, client_id: UUID, action: str
) -> HttpResponse:
    relationship = get_relationship_for_user(request.user, client_id, write=True, record=False)
    service = {
        "archive": services.relationship_archive,
        "restore": services.relationship_restore,
        "resend": lambda **kw: services.invitation_resend(**kw).relationship,
    }[action]
    try:
        relationship = service(
            relationship=relationship, actor=request.user, audit_context=request.audit_context
        )
    except services.ClientServiceError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _lifecycle_message(action, relationship))
    # Back to the Preferences tab, where these actions live; to the profile card while the
    # client is awaiting approval (a restore request or a connection request).
    awaiting = access_for(request.user, relationship).awaiting_approval
    tab = "workspace:detail" if awaiting or action == "resend" else "workspace:preferences"
    return redirect_to(request, reverse(tab, args=[relationship.public_id]))


def _lifecycle_message(action: str, relationship: CareRelationship) -> str:
    name = relationship.client_name
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
    relationship = get_relationship_for_user(request.user, client_id, write=True, record=False)
    form = RemoveClientForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        services.relationship_remove(
            relationship=relationship, actor=request.user, audit_context=request.audit_context
        )
        messages.success(
            request,
            f"{relationship.client_name} was removed. Their record is retained as the law "
            "requires, but you no longer have access to it.",
        )
        return redirect_to(request, reverse("workspace:index"))
    return render(request, "clients/remove.html", {"relationship": relationship, "form": form})

"""Practice admin pages: settings, members and the audit log (no clinical access)."""

from __future__ import annotations

from allauth.mfa.models import Authenticator
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Exists, Max, OuterRef, Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from caseload.accounts.http import AuthenticatedHttpRequest
from caseload.audit.models import AuditEvent
from caseload.practices.forms import PracticeSettingsForm
from caseload.practices.http import practice_admin_required
from caseload.practices.services import practice_update_settings
from caseload.practices.two_factor import FACTOR_TYPES


@require_http_methods(["GET", "POST"])
@practice_admin_required
def practice_settings(request: AuthenticatedHttpRequest) -> HttpResponse:
    practice = request.user.membership.practice
    form = PracticeSettingsForm(
        request.POST if request.method == "POST" else None,
        instance=type(practice).objects.get(pk=practice.pk),
    )
    if request.method == "POST" and form.is_valid():
        practice_update_settings(
            practice=practice,
            values=form.cleaned_data,
            actor=request.user,
            audit_context=request.audit_context,
        )
        messages.success(request, "Practice settings saved.")
        return redirect("practices:settings")
    members = (
        practice.memberships.select_related("user", "supervisor__user")
        .annotate(
            # Who has set up two-factor sign-in (the setting above requires it of everyone).
            has_second_factor=Exists(
                Authenticator.objects.filter(user_id=OuterRef("user_id"), type__in=FACTOR_TYPES)
            )
        )
        .order_by("role", "user__full_name")
    )
    return render(request, "practices/settings.html", {"form": form, "members": members})


@require_GET
@practice_admin_required
def audit_log(request: AuthenticatedHttpRequest) -> HttpResponse:
    practice = request.user.membership.practice
    # The client as this practice knows them (the name its therapist typed, or the one the
    # client gave on approving): never a name another practice stored for the same person.
    events = (
        AuditEvent.objects.filter(practice=practice)
        .annotate(
            client_label=Max(
                "client__care_relationships__client_name",
                filter=Q(client__care_relationships__practice=practice),
            )
        )
        .order_by("-created_at", "-id")
    )
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(request, "practices/audit_log.html", {"page": page})

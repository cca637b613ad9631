"""The account's "API tokens" page: create (shown once), list and revoke personal tokens."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from caseload.accounts.http import AuthenticatedHttpRequest
from caseload.api import services
from caseload.api.forms import TokenForm
from caseload.api.selectors import get_token_for_user, tokens_for
from caseload.practices.http import clinician_required


@require_http_methods(["GET", "POST"])
@clinician_required
def token_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = TokenForm(request.POST if request.method == "POST" else None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            created = services.token_create(
                actor=request.user,
                name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"],
                expires_in_days=form.cleaned_data["expires_in_days"],
                audit_context=request.audit_context,
            )
        except services.TokenError as error:
            form.add_error(error.field, str(error))
        else:
            form = TokenForm()
    status = 400 if request.method == "POST" and created is None else 200
    return render(
        request,
        "api/tokens.html",
        {"form": form, "created": created, "tokens": list(tokens_for(request.user))},
        status=status,
    )


@require_POST
@clinician_required
def token_revoke(request: AuthenticatedHttpRequest, token_id: UUID) -> HttpResponse:
    token = get_token_for_user(request.user, token_id)
    services.token_revoke(actor=request.user, token=token, audit_context=request.audit_context)
    messages.success(request, f"Token “{token.name}” revoked. It no longer works.")
    return redirect("api_tokens:list")

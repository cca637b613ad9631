"""Denied attempts are audited too (SECURITY U1): every 404 a signed-in user meets."""

from __future__ import annotations

from collections.abc import Callable

from django.http import Http404, HttpRequest, HttpResponse

from caseload.accounts.models import User
from caseload.audit.models import Outcome
from caseload.audit.services import audit_record
from caseload.lib.http import AuditContext
from caseload.lib.log_masking import mask_secret_paths


class AuditDeniedMiddleware:
    """Record a signed-in user's 404s: to Caseload, "not yours" and "missing" are the same."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        if isinstance(exception, Http404) and request.user.is_authenticated:
            audit_record(
                action="access.denied",
                actor=request.user if isinstance(request.user, User) else None,
                audit_context=AuditContext.from_request(request),
                outcome=Outcome.DENIED,
                detail={"method": request.method, "path": mask_secret_paths(request.path)[:300]},
            )

"""The typed request of a signed-in user."""

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from caseload.accounts.models import User
from caseload.lib.http import AuditContext


class AuthenticatedHttpRequest(HttpRequest):
    user: User
    htmx: HtmxDetails  # set by django_htmx's HtmxMiddleware
    audit_context: AuditContext  # set by caseload.lib.middleware.RequestIdMiddleware

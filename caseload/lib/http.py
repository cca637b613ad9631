"""HTTP helpers every app shares: the audit context of a request and htmx-aware redirects.

A leaf module: it knows Django and django-htmx, no Caseload app.
"""

from __future__ import annotations

import contextvars
import ipaddress
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django_htmx.http import HttpResponseLocation

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


def current_request_id() -> str:
    return _request_id.get()


def _valid_ip(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, read the way allauth's rate limits read it.

    Behind N trusted proxies the client is the N-th address from the right of
    X-Forwarded-For: the entries left of it were sent by the client and can be forged.
    """
    proxies = getattr(settings, "ALLAUTH_TRUSTED_PROXY_COUNT", 0)
    forwarded = [ip.strip() for ip in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if proxies > 0 and len(forwarded) >= proxies:
        found = _valid_ip(forwarded[-proxies])
        if found:
            return found
    return _valid_ip(request.META.get("REMOTE_ADDR"))


@dataclass(frozen=True, slots=True)
class AuditContext:
    """Where an action came from, for the audit trail. Services get this, never a request."""

    ip_address: str | None = None
    request_id: str = ""
    user_agent: str = ""

    @classmethod
    def from_request(cls, request: HttpRequest) -> AuditContext:
        return cls(
            ip_address=client_ip(request),
            request_id=current_request_id(),
            user_agent=request.headers.get("user-agent", "")[:300],
        )


#: Actions with no request behind them: the task worker, management commands, the demo.
SYSTEM = AuditContext()


def redirect_to(request: HttpRequest, url: str) -> HttpResponse:
    """After a successful post: htmx follows `HX-Location`, a plain form post a redirect."""
    if getattr(request, "htmx", False):
        return HttpResponseLocation(url)
    return redirect(url)

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest

from caseload.practices.http import role_of


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    role = role_of(user) if user is not None and user.is_authenticated else None
    return {
        "nav_role": role,
        "nav_is_portal_user": bool(user and user.is_authenticated and role is None),
        # The demo's email outbox: for the practice's staff, in DEBUG only (never a client).
        "show_outbox": settings.DEBUG and role is not None,
        # The live channel (decision 0011) exists only where the ASGI application serves the
        # page: under a WSGI server the page doesn't try, and works by reloads alone.
        "live_events_url": "/ws/events/"
        if isinstance(request, ASGIRequest) and user is not None and user.is_authenticated
        else "",
    }

"""Request id, client IP and session time limits (SECURITY I7, U1)."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from caseload.lib.http import AuditContext, _request_id, current_request_id

#: Requests carrying this header (htmx polling) don't count as user activity.
BACKGROUND_HEADER = "HTTP_X_CASELOAD_BACKGROUND"


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        return True


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _request_id.set(str(uuid.uuid4()))
        request.audit_context = AuditContext.from_request(request)  # type: ignore[attr-defined]
        try:
            response = self.get_response(request)
            response["X-Request-Id"] = _request_id.get()
            return response
        finally:
            _request_id.reset(token)


def session_timed_out(session: Mapping[str, Any] | SessionBase, now: int | None = None) -> bool:
    """Has this session passed its idle or absolute limit? (Shared with the live channel.)"""
    now = int(time.time()) if now is None else now
    started = session.get("caseload_started", now)
    last = session.get("caseload_last_activity", now)
    idle = now - last > settings.SESSION_IDLE_TIMEOUT_SECONDS
    too_long = now - started > settings.SESSION_ABSOLUTE_TIMEOUT_SECONDS
    return bool(idle or too_long)


class SessionTimeoutMiddleware:
    """Sign out after SESSION_IDLE_TIMEOUT_SECONDS idle or SESSION_ABSOLUTE_TIMEOUT_SECONDS."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = int(time.time())
            session = request.session
            session.setdefault("caseload_started", now)
            if session_timed_out(session, now):
                logout(request)
                messages.info(request, "You were signed out after a period of inactivity.")
                if request.headers.get("HX-Request"):
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = settings.LOGIN_URL_PATH
                    return response
                return redirect(f"{settings.LOGIN_URL_PATH}?next={request.path}")
            if BACKGROUND_HEADER not in request.META:
                session["caseload_last_activity"] = now
        return self.get_response(request)

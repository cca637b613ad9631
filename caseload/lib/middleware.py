"""Request id, client IP and session time limits (SECURITY I7, U1)."""

from __future__ import annotations

import contextvars
import ipaddress
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")

#: Requests carrying this header (htmx polling) don't count as user activity.
BACKGROUND_HEADER = "HTTP_X_CASELOAD_BACKGROUND"


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


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        return True


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _request_id.set(str(uuid.uuid4()))
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


class PracticeTimeZoneMiddleware:
    """Show times in the practice's time zone to its staff (stored in UTC)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from caseload.practices.models import Membership

        membership = None
        if request.user.is_authenticated:
            # One query for membership and practice, kept on the user for the views.
            membership = (
                Membership.objects.select_related("practice")
                .filter(user_id=request.user.pk)
                .first()
            )
        if membership is not None:
            request.user.membership = membership  # type: ignore[union-attr]
            timezone.activate(ZoneInfo(membership.practice.time_zone))
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            # The thread serves other requests (and tasks) next: leave it on UTC.
            timezone.deactivate()

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
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.utils.cache import patch_cache_control

from caseload.lib.http import AuditContext, _request_id, current_request_id

#: Requests carrying this header (htmx polling) don't count as user activity.
BACKGROUND_HEADER = "HTTP_X_CASELOAD_BACKGROUND"
#: Activity is recorded in the session at most this often: a request within a minute of the
#: last recorded one doesn't write the session row (search-as-you-type would write it on
#: every keystroke). The idle limit is kept to within this much: at most a minute early.
#: A short idle limit records it more often (a tenth of the limit), or someone active within
#: the limit would be signed out.
ACTIVITY_RESOLUTION_SECONDS = 60


def activity_resolution() -> int:
    return max(1, min(ACTIVITY_RESOLUTION_SECONDS, settings.SESSION_IDLE_TIMEOUT_SECONDS // 10))


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
            last = session.get("caseload_last_activity")
            if BACKGROUND_HEADER not in request.META and (
                last is None or now - last >= activity_resolution()
            ):
                session["caseload_last_activity"] = now
        return self.get_response(request)


#: C0 and C1 control characters other than tab, newline and carriage return (NUL among
#: them): PostgreSQL refuses NUL in text, and none of them belongs in anything a person types.
#: With them, the bidirectional embeddings, overrides and isolates (U+202A–U+202E,
#: U+2066–U+2069): typed into a name, U+202E shows it reversed, a spoofed name in every list.
#: The left-to-right and right-to-left marks (U+200E, U+200F) stay: right-to-left text uses them.
CONTROL_CHARACTERS = dict.fromkeys(c for c in range(32) if c not in (9, 10, 13))
CONTROL_CHARACTERS.update(dict.fromkeys(range(127, 160)))
CONTROL_CHARACTERS.update(dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)]))


def without_control_characters(value: str) -> str:
    return value.translate(CONTROL_CHARACTERS)


class StripControlCharactersMiddleware:
    """Every text input, in one place: control characters are taken out of form posts and
    query strings before any view or form sees them (a NUL byte was a 500 on PostgreSQL)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.GET = self._cleaned(request.GET)  # type: ignore[assignment]
        if request.method == "POST" and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            request.POST = self._cleaned(request.POST)  # type: ignore[assignment]
        return self.get_response(request)

    @staticmethod
    def _cleaned(data: QueryDict) -> QueryDict:
        if not any(
            value != without_control_characters(value)
            for values in data.lists()
            for value in values[1]
        ):
            return data
        cleaned = QueryDict(mutable=True)
        for key, values in data.lists():
            cleaned.setlist(
                without_control_characters(key), [without_control_characters(v) for v in values]
            )
        cleaned._mutable = False
        return cleaned


class NoStoreMiddleware:
    """Nothing about a client stays in a browser's or a proxy's cache: every response the app
    renders is `Cache-Control: no-store` — signed-in pages, PDFs, and anonymous pages too, such
    as an invitation page, whose link carries a secret and whose body names the therapist.
    Static files never reach this middleware (WhiteNoise answers them first); a view that
    sets its own caching (the favicon) keeps it, unless the person is signed in."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        if (
            signed_in
            or not response.has_header("Cache-Control")
            or response.get("Content-Type", "").startswith("application/pdf")
        ):
            patch_cache_control(response, no_store=True, private=True)
        return response

"""Who is calling: a personal access token or the app's own session (decision 0029).

Both set `request.user` (the owner) and `request.api_token` (None for the session), and
count the call against a per-caller rate limit kept in the default cache.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from ninja.security import HttpBearer
from ninja.security.apikey import APIKeyCookie
from ninja.utils import check_csrf

from caseload.accounts.models import User
from caseload.api.models import ApiToken
from caseload.api.problems import Problem
from caseload.api.selectors import token_from_secret
from caseload.practices.two_factor import held_at_set_up

#: The fixed window of the rate limit, in seconds.
RATE_WINDOW = 60


def check_rate_limit(caller: str) -> None:
    """At most `API_RATE_LIMIT` calls per caller per minute: beyond it, 429 with Retry-After."""
    limit: int = settings.API_RATE_LIMIT
    now = time.time()
    key = f"api-rate:{caller}:{int(now // RATE_WINDOW)}"
    try:  # the usual case: the window's counter exists (one round trip)
        count = cache.incr(key)
    except ValueError:  # the first call of the window, or the counter just expired
        count = 1 if cache.add(key, 1, timeout=RATE_WINDOW + 5) else cache.incr(key)
    if count > limit:
        retry_after = int(RATE_WINDOW - now % RATE_WINDOW) + 1
        raise Problem(
            429,
            f"At most {limit} requests a minute; try again in {retry_after} seconds.",
            headers={"Retry-After": str(retry_after)},
        )


class TokenAuth(HttpBearer):
    """`Authorization: Bearer cl_…`: a personal access token."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        found: ApiToken | None = token_from_secret(token)
        if found is None:
            raise Problem(401, "The token is unknown, expired or revoked.")
        if held_at_set_up(found.user):  # whatever token they made before the rule
            raise Problem(
                403,
                "Your practice requires two-factor sign-in for staff: sign in to Caseload "
                "and set up an authenticator app or a security key before using the API.",
            )
        request.user = found.user
        request.api_token = found  # type: ignore[attr-defined]
        check_rate_limit(f"token:{found.pk}")
        return found.user


class SessionAuth(APIKeyCookie):
    """The signed-in session, for the app's own pages; writes need the CSRF token."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self) -> None:
        super().__init__(csrf=True)  # so the docs' "Try it out" sends the CSRF token

    def _get_key(self, request: HttpRequest) -> str | None:
        # CSRF is checked in `authenticate`, once the caller is known to use the session: a
        # token call with a stale cookie is not refused for it.
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        if "authorization" in request.headers or not request.user.is_authenticated:
            return None
        if check_csrf(request) is not None:
            raise Problem(403, "CSRF check failed: send the X-CSRFToken header.")
        request.api_token = None  # type: ignore[attr-defined]
        check_rate_limit(f"user:{request.user.pk}")
        return request.user


def writer(request: HttpRequest) -> User:
    """The caller, if it may write: a read-only token is refused (403)."""
    token: ApiToken | None = getattr(request, "api_token", None)
    if token is not None and not token.can_write:
        raise Problem(403, "This token is read-only: create a token with write scope.")
    user = request.user
    assert isinstance(user, User)
    return user

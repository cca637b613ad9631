"""RFC 9457 problem details: every error the API answers is one of these."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse

PROBLEM_TYPE = "application/problem+json"

#: The `type` URI of each status (relative: resolved against the API's base URL).
TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    422: "Validation failed",
    429: "Too many requests",
}


class Problem(Exception):
    """Raise to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}
        self.code = code


def problem_type(status: int, code: str | None = None) -> str:
    slug = code or TITLES.get(status, "error").lower().replace(" ", "-")
    return f"/api/v1/problems/{slug}"


def problem_response(request: HttpRequest, problem: Problem) -> HttpResponse:
    body: dict[str, Any] = {
        "type": problem_type(problem.status, problem.code),
        "title": TITLES.get(problem.status, "Error"),
        "status": problem.status,
        "detail": problem.detail,
        "instance": request.path,
    }
    if problem.errors is not None:
        body["errors"] = problem.errors
    response = HttpResponse(json.dumps(body), status=problem.status, content_type=PROBLEM_TYPE)
    for name, value in problem.headers.items():
        response[name] = value
    if problem.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="caseload"'
    return response


def field_errors(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    """django-ninja's validation errors as `{"field": "body.starts_at", "detail": "…"}`."""
    found = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ()) if str(part) != "payload"]
        found.append({"field": ".".join(location), "detail": str(error.get("msg", "Invalid."))})
    return found

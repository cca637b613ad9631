"""Sign-ins, failed sign-ins and sign-outs are audited (PR-1, SECURITY U1)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from caseload.audit.models import Outcome
from caseload.audit.services import audit_record
from caseload.lib.http import SYSTEM, AuditContext


def _context(request: HttpRequest | None) -> AuditContext:
    return AuditContext.from_request(request) if request is not None else SYSTEM


@receiver(user_logged_in)
def audit_sign_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    audit_record(action="auth.sign_in", actor=user, audit_context=_context(request))


@receiver(user_logged_out)
def audit_sign_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit_record(action="auth.sign_out", actor=user, audit_context=_context(request))


@receiver(user_login_failed)
def audit_failed_sign_in(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    attempted = str(credentials.get("email") or credentials.get("username") or "")[:254]
    audit_record(
        action="auth.sign_in",
        audit_context=_context(request),
        outcome=Outcome.FAILED,
        actor_email=attempted,
    )

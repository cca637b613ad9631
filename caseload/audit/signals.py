"""Sign-ins, failed sign-ins, sign-outs and second factors are audited (PR-1, SECURITY U1).

Never a secret: no password, code or key in the detail, only what kind of factor it was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from allauth.mfa import signals as mfa_signals
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from caseload.audit.models import Outcome
from caseload.audit.services import audit_record
from caseload.lib.http import SYSTEM, AuditContext


def audit_context_of(request: HttpRequest | None) -> AuditContext:
    return AuditContext.from_request(request) if request is not None else SYSTEM


_context = audit_context_of


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


def _factor(authenticator: Any) -> dict[str, Any]:
    return {"type": str(authenticator.type)}


@receiver(mfa_signals.authentication_failed)
def audit_failed_second_factor(
    sender: Any, request: HttpRequest | None, user: Any, authenticator: Any, **kwargs: Any
) -> None:
    """A wrong authenticator code (at sign-in or when reauthenticating)."""
    detail = _factor(authenticator)
    if kwargs.get("reauthentication"):
        detail["reauthentication"] = True
    audit_record(
        action="auth.second_factor",
        actor=user,
        audit_context=_context(request),
        outcome=Outcome.FAILED,
        detail=detail,
    )


def _audit_factor_change(action: str) -> Callable[..., None]:
    def audit(
        sender: Any, request: HttpRequest | None, user: Any, authenticator: Any, **kwargs: Any
    ) -> None:
        audit_record(
            action=action,
            actor=user,
            audit_context=_context(request),
            detail=_factor(authenticator),
        )

    return audit


# A factor added or removed; new recovery codes (the old ones no longer work).
for _signal, _action in (
    (mfa_signals.authenticator_added, "auth.second_factor_add"),
    (mfa_signals.authenticator_removed, "auth.second_factor_remove"),
    (mfa_signals.authenticator_reset, "auth.second_factor_reset"),
):
    _signal.connect(_audit_factor_change(_action), weak=False, dispatch_uid=_action)

"""allauth's second-factor forms, audited when the rate limit refuses a code (SECURITY U1).

A wrong code is audited by the `authentication_failed` receiver (signals.py); allauth sends
no signal for a code it refuses unseen because of too many failures, so those are recorded
here. Settings: MFA_FORMS.
"""

from __future__ import annotations

from typing import Any

from allauth.core import context
from allauth.mfa.base.forms import AuthenticateForm, ReauthenticateForm
from django import forms

from caseload.audit.models import Outcome
from caseload.audit.services import audit_record
from caseload.audit.signals import audit_context_of

TOO_MANY_ATTEMPTS = "too_many_login_attempts"


def _audit_refused(user: Any, *, reauthentication: bool) -> None:
    detail: dict[str, Any] = {"reason": "too_many_attempts"}
    if reauthentication:
        detail["reauthentication"] = True
    audit_record(
        action="auth.second_factor",
        actor=user,
        audit_context=audit_context_of(context.request),
        outcome=Outcome.DENIED,
        detail=detail,
    )


class _AuditRefusedCodes:
    """`clean_code` of allauth's form, with a code refused by the limit audited."""

    reauthentication = False
    user: Any

    def clean_code(self) -> str:
        try:
            return str(super().clean_code())  # type: ignore[misc]
        except forms.ValidationError as error:
            if error.code == TOO_MANY_ATTEMPTS:
                _audit_refused(self.user, reauthentication=self.reauthentication)
            raise


def _code_field() -> forms.CharField:
    """allauth's code field with a visible limit (a TOTP or recovery code is a few characters;
    every text field shows and enforces its limit)."""
    return forms.CharField(
        label="Code",
        max_length=CODE_MAX_LENGTH,
        widget=forms.TextInput(attrs={"placeholder": "Code", "autocomplete": "one-time-code"}),
    )


CODE_MAX_LENGTH = 32


# allauth ships no type hints: its form classes are `Any` to mypy.
class AuditedAuthenticateForm(_AuditRefusedCodes, AuthenticateForm):  # type: ignore[misc]
    code = _code_field()


class AuditedReauthenticateForm(_AuditRefusedCodes, ReauthenticateForm):  # type: ignore[misc]
    reauthentication = True
    code = _code_field()

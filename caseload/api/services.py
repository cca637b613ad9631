"""Personal access tokens: create (the token is returned once) and revoke."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from caseload.accounts.models import User
from caseload.api.models import TOKEN_PREFIX, ApiToken, TokenScope, hash_token
from caseload.audit.services import audit_record
from caseload.lib.http import SYSTEM, AuditContext
from caseload.lib.middleware import without_control_characters

#: The lifetimes offered, in days; the longest is a year.
EXPIRY_DAYS = (7, 30, 90, 365)
#: How many active tokens one person may hold.
MAX_ACTIVE_TOKENS = 20


class TokenError(Exception):
    """A rule refused the change; `field` names the form field the message belongs to."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    #: The token itself: shown once, never stored.
    secret: str


@transaction.atomic
def token_create(
    *,
    actor: User,
    name: str,
    scope: str,
    expires_in_days: int,
    audit_context: AuditContext = SYSTEM,
) -> NewToken:
    name = without_control_characters(name).strip()
    if not name:
        raise TokenError("Give the token a name, e.g. the script that uses it.", field="name")
    if len(name) > 100:
        raise TokenError("A name has at most 100 characters.", field="name")
    if scope not in TokenScope.values:
        raise TokenError("Choose read only or read and write.", field="scope")
    if expires_in_days not in EXPIRY_DAYS:
        raise TokenError("Choose when the token expires.", field="expires_in_days")
    active = ApiToken.objects.filter(
        user=actor, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).count()
    if active >= MAX_ACTIVE_TOKENS:
        raise TokenError(f"You have {active} active tokens: revoke one you no longer use first.")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=actor,
        name=name,
        token_hash=hash_token(secret),
        hint=secret[:8],
        scope=scope,
        expires_at=timezone.now() + timedelta(days=expires_in_days),
    )
    audit_record(
        action="api_token.create",
        actor=actor,
        audit_context=audit_context,
        obj=token,
        detail={"scope": scope, "expires_in_days": expires_in_days},
    )
    return NewToken(token=token, secret=secret)


@transaction.atomic
def token_revoke(*, actor: User, token: ApiToken, audit_context: AuditContext = SYSTEM) -> ApiToken:
    """Revoke one of the actor's own tokens; it stops working at once. Revoking twice is a no-op."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.user_id != actor.pk:
        raise TokenError("That token isn't yours.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(action="api_token.revoke", actor=actor, audit_context=audit_context, obj=token)
    return token

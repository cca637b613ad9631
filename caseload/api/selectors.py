"""Reads of personal access tokens."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from caseload.accounts.models import User
from caseload.api.models import TOKEN_PREFIX, ApiToken, hash_token

#: `last_used_at` is written at most this often per token (not on every request).
LAST_USED_PRECISION = timedelta(minutes=5)


def tokens_for(user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user)


def get_token_for_user(user: User, public_id: UUID) -> ApiToken:
    token = tokens_for(user).filter(public_id=public_id).first()
    if token is None:
        raise Http404("No such token.")
    return token


def token_from_secret(secret: str) -> ApiToken | None:
    """The active token `secret` names, with its (active) owner; None for anything else."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 100:
        return None
    token = (
        ApiToken.objects.select_related("user", "user__membership__practice")
        .filter(token_hash=hash_token(secret), revoked_at__isnull=True)
        .first()
    )
    if token is None or token.is_expired or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token

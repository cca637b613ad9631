"""Writing audit events. Every read, change, export and sign-in goes through `audit_record`.

The audit layer sits below practices and the care core, so it takes the practice, the client
and the object as plain models and stores their keys: it never imports what it records.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from caseload.accounts.models import User
from caseload.audit.models import AuditEvent, Outcome
from caseload.lib.http import SYSTEM, AuditContext


def actor_role(user: User | None) -> str:
    if user is None or not user.is_authenticated:
        return "anonymous"
    membership = getattr(user, "membership", None)
    if membership is not None:
        return str(membership.role)
    return "client"


def audit_record(
    *,
    action: str,
    actor: User | None = None,
    audit_context: AuditContext = SYSTEM,
    client: models.Model | None = None,
    practice: models.Model | None = None,
    obj: models.Model | None = None,
    outcome: str = Outcome.OK,
    detail: dict[str, Any] | None = None,
    actor_email: str = "",
) -> AuditEvent:
    """Write one audit event. `audit_context` says where the action came from (IP, request
    id, user agent): `request.audit_context` in a view, `SYSTEM` in tasks and commands."""
    practice_id = practice.pk if practice is not None else None
    if practice_id is None and actor is not None:
        membership = getattr(actor, "membership", None)
        practice_id = membership.practice_id if membership is not None else None
    object_type, object_id = "", ""
    if obj is not None:
        object_type = obj._meta.label_lower
        object_id = str(getattr(obj, "public_id", obj.pk))
    return AuditEvent.objects.create(
        actor=actor,
        actor_email=actor.email if actor is not None else actor_email,
        actor_role=actor_role(actor),
        practice_id=practice_id,
        client_id=client.pk if client is not None else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        outcome=outcome,
        ip_address=audit_context.ip_address,
        request_id=audit_context.request_id,
        user_agent=audit_context.user_agent,
        detail=detail or {},
    )

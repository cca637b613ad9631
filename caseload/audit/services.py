"""Writing audit events. Every read, change, export and sign-in goes through `audit_record`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import HttpRequest

from caseload.audit.models import AuditEvent, Outcome
from caseload.lib.middleware import client_ip, current_request_id

if TYPE_CHECKING:
    from caseload.accounts.models import User
    from caseload.clients.models import Client
    from caseload.practices.models import Practice


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
    request: HttpRequest | None = None,
    client: Client | None = None,
    practice: Practice | None = None,
    obj: Any = None,
    outcome: str = Outcome.OK,
    detail: dict[str, Any] | None = None,
    actor_email: str = "",
) -> AuditEvent:
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    if practice is None and actor is not None:
        membership = getattr(actor, "membership", None)
        practice = membership.practice if membership is not None else None
    object_type, object_id = "", ""
    if obj is not None:
        object_type = obj._meta.label_lower
        object_id = str(getattr(obj, "public_id", obj.pk))
    return AuditEvent.objects.create(
        actor=actor,
        actor_email=actor.email if actor is not None else actor_email,
        actor_role=actor_role(actor),
        practice=practice,
        client=client,
        action=action,
        object_type=object_type,
        object_id=object_id,
        outcome=outcome,
        ip_address=client_ip(request) if request is not None else None,
        request_id=current_request_id(),
        detail=detail or {},
    )

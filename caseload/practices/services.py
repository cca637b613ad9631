"""Writes to practices and memberships."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest

from caseload.audit.services import audit_record
from caseload.practices.models import Practice


@transaction.atomic
def practice_update_settings(
    *, practice: Practice, values: dict[str, Any], request: HttpRequest | None = None
) -> Practice:
    fields = ("name", "time_zone", "billing_enabled", "child_accounts_enabled")
    changed = [
        name for name in fields if name in values and getattr(practice, name) != values[name]
    ]
    for name in changed:
        setattr(practice, name, values[name])
    if changed:
        practice.save(update_fields=changed)
    audit_record(
        action="practice.update_settings",
        request=request,
        practice=practice,
        obj=practice,
        detail={"fields": changed},
    )
    return practice

"""Writes to practices and memberships."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from caseload.accounts.models import User
from caseload.audit.services import audit_record
from caseload.lib.http import SYSTEM, AuditContext
from caseload.practices.models import Practice, Role


@transaction.atomic
def practice_update_settings(
    *,
    practice: Practice,
    values: dict[str, Any],
    actor: User,
    audit_context: AuditContext = SYSTEM,
) -> Practice:
    """A practice admin changes the practice's settings (name, time zone, billing, children,
    two-factor sign-in for staff, phone, crisis text, and scheduling: booking requests,
    cancellation window, reminders, the telehealth link)."""
    membership = getattr(actor, "membership", None)
    if membership is None or membership.practice_id != practice.pk or membership.role != Role.ADMIN:
        raise PermissionError("Only the practice's admin can change its settings.")
    fields = (
        "name",
        "time_zone",
        "billing_enabled",
        "child_accounts_enabled",
        "staff_two_factor_required",
        "phone",
        "crisis_text",
        "booking_requests_enabled",
        "booking_weeks_ahead",
        "cancellation_window_hours",
        "reminders",
        "sms_reminders_enabled",
        "telehealth_url_template",
    )
    changed = [
        name for name in fields if name in values and getattr(practice, name) != values[name]
    ]
    for name in changed:
        setattr(practice, name, values[name])
    if changed:
        practice.save(update_fields=changed)
    audit_record(
        action="practice.update_settings",
        actor=actor,
        audit_context=audit_context,
        practice=practice,
        obj=practice,
        detail={"fields": changed},
    )
    return practice

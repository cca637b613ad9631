"""A clinician's availability (SCH-1): working hours per weekday and blocked times.

Only the clinician changes their own; times are wall-clock times in the practice's time zone.
"""

from __future__ import annotations

from datetime import datetime, time

from django.db import transaction

from caseload.accounts.models import User
from caseload.audit.services import audit_record
from caseload.lib.http import SYSTEM, AuditContext
from caseload.scheduling.models import BlockedTime, WorkingHours

#: The longest a blocked time may run (a long leave is several entries, or one per term).
MAX_BLOCK_DAYS = 366


class AvailabilityError(Exception):
    """A rule refused the change; `field` names the form field the message belongs to."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _ensure_own(clinician: User, actor: User) -> None:
    if clinician.pk != actor.pk:
        raise AvailabilityError("Only the clinician can change their own availability.")


@transaction.atomic
def working_hours_set(
    *,
    clinician: User,
    actor: User,
    days: dict[int, list[tuple[time, time]]],
    audit_context: AuditContext = SYSTEM,
) -> list[WorkingHours]:
    """Replace the clinician's working hours: `days` maps a weekday (0 Monday … 6 Sunday) to
    its spans; a weekday left out or with no spans is not worked. Spans may not overlap."""
    _ensure_own(clinician, actor)
    rows = []
    for weekday, spans in sorted(days.items()):
        if not 0 <= weekday <= 6:
            raise AvailabilityError("A weekday is 0 (Monday) to 6 (Sunday).")
        ordered = sorted(spans)
        for index, (start, end) in enumerate(ordered):
            if end <= start:
                raise AvailabilityError("End after the start.", field=f"day{weekday}")
            if index and start < ordered[index - 1][1]:
                raise AvailabilityError("The spans of a day overlap.", field=f"day{weekday}")
            rows.append(WorkingHours(clinician=clinician, weekday=weekday, start=start, end=end))
    WorkingHours.objects.filter(clinician=clinician).delete()
    created = WorkingHours.objects.bulk_create(rows)
    audit_record(
        action="availability.hours_set",
        actor=actor,
        audit_context=audit_context,
        detail={"spans": len(rows)},
    )
    return created


@transaction.atomic
def blocked_time_add(
    *,
    clinician: User,
    actor: User,
    starts_at: datetime,
    ends_at: datetime,
    reason: str = "",
    audit_context: AuditContext = SYSTEM,
) -> BlockedTime:
    _ensure_own(clinician, actor)
    if ends_at <= starts_at:
        raise AvailabilityError("The blocked time ends after it starts.", field="end_time")
    if (ends_at - starts_at).days > MAX_BLOCK_DAYS:
        raise AvailabilityError("Block at most a year at a time.", field="end_date")
    reason = reason.strip()
    if len(reason) > 120:
        raise AvailabilityError("Keep the reason to 120 characters.", field="reason")
    blocked = BlockedTime.objects.create(
        clinician=clinician, starts_at=starts_at, ends_at=ends_at, reason=reason
    )
    audit_record(
        action="availability.block_add", actor=actor, audit_context=audit_context, obj=blocked
    )
    return blocked


@transaction.atomic
def blocked_time_delete(
    *, blocked: BlockedTime, actor: User, audit_context: AuditContext = SYSTEM
) -> None:
    if blocked.clinician_id != actor.pk:
        raise AvailabilityError("Only the clinician can change their own availability.")
    audit_record(
        action="availability.block_delete", actor=actor, audit_context=audit_context, obj=blocked
    )
    blocked.delete()

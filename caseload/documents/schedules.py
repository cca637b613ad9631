"""Measurement-based care: questionnaires assigned on a schedule by the worker (decision 0026).

A therapist schedules a PHQ-9 or GAD-7 to recur every N weeks or before each session. The
task `assign_scheduled_questionnaires` assigns what is due through `document_assign` (which
emails the client as any assignment does) and then enqueues itself again with `run_after`,
an hour later, while any schedule is running: one chain of runs, restarted by every new
schedule and by `manage.py assign_scheduled_questionnaires`.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.tasks import default_task_backend, task
from django.utils import timezone

from caseload.accounts.models import User
from caseload.audit.services import audit_record
from caseload.clients.access import write_refusal
from caseload.clients.models import CareRelationship, CareState
from caseload.documents.models import (
    Cadence,
    DocumentTemplate,
    QuestionnaireSchedule,
)
from caseload.documents.services import DocumentError, document_assign
from caseload.lib.http import SYSTEM, AuditContext
from caseload.visits.models import SessionStatus, TherapySession

logger = logging.getLogger(__name__)

#: How often the worker looks for what is due.
INTERVAL = timedelta(hours=1)
#: "Before each session": assigned once the session is this close.
BEFORE_SESSION = timedelta(days=2)


@transaction.atomic
def questionnaire_schedule_create(
    *,
    relationship: CareRelationship,
    template: DocumentTemplate,
    cadence: str,
    every_weeks: int | None,
    actor: User,
    audit_context: AuditContext = SYSTEM,
) -> QuestionnaireSchedule:
    """Start a recurring questionnaire; the first is assigned at the worker's next run."""
    refusal = write_refusal(
        actor, relationship, not_owner="Only the client's therapist schedules questionnaires."
    )
    if refusal is not None:
        raise DocumentError(refusal)
    if not template.is_library or template.library_key not in ("phq9", "gad7"):
        raise DocumentError("Schedule the PHQ-9 or the GAD-7.", field="template")
    if cadence not in Cadence.values:
        raise DocumentError("Choose every N weeks or before each session.", field="cadence")
    if cadence == Cadence.EVERY_N_WEEKS and (every_weeks is None or not 1 <= every_weeks <= 12):
        raise DocumentError("Repeat every 1 to 12 weeks.", field="every_weeks")
    if QuestionnaireSchedule.objects.filter(
        relationship=relationship, template=template, stopped_at__isnull=True
    ).exists():
        raise DocumentError(f"{template.title} is already scheduled.", field="template")
    weekly = cadence == Cadence.EVERY_N_WEEKS
    try:
        with transaction.atomic():  # the same form sent twice at once: the index decides
            schedule = QuestionnaireSchedule.objects.create(
                relationship=relationship,
                template=template,
                cadence=cadence,
                every_weeks=every_weeks if weekly else None,
                next_due=_today(relationship) if weekly else None,
                created_by=actor,
            )
    except IntegrityError:
        raise DocumentError(f"{template.title} is already scheduled.", field="template") from None
    audit_record(
        action="questionnaire_schedule.create",
        actor=actor,
        audit_context=audit_context,
        client=relationship.client,
        obj=schedule,
        detail={"cadence": cadence, "every_weeks": schedule.every_weeks},
    )
    transaction.on_commit(lambda: assign_scheduled_questionnaires.enqueue())
    return schedule


@transaction.atomic
def questionnaire_schedule_stop(
    *, schedule: QuestionnaireSchedule, actor: User, audit_context: AuditContext = SYSTEM
) -> None:
    relationship = schedule.relationship
    refusal = write_refusal(actor, relationship, not_owner="Only the client's therapist stops it.")
    if refusal is not None:
        raise DocumentError(refusal)
    QuestionnaireSchedule.objects.filter(pk=schedule.pk, stopped_at__isnull=True).update(
        stopped_at=timezone.now()
    )
    audit_record(
        action="questionnaire_schedule.stop",
        actor=actor,
        audit_context=audit_context,
        client=relationship.client,
        obj=schedule,
    )


def _today(relationship: CareRelationship) -> date:
    return timezone.localdate(timezone=ZoneInfo(relationship.practice.time_zone))


def _due_session(schedule: QuestionnaireSchedule) -> TherapySession | None:
    """The next session within BEFORE_SESSION not yet covered by this schedule."""
    now = timezone.now()
    sessions = TherapySession.objects.filter(
        relationship=schedule.relationship,
        status=SessionStatus.SCHEDULED,
        starts_at__gt=now,
        starts_at__lte=now + BEFORE_SESSION,
    )
    if schedule.last_session_start is not None:
        sessions = sessions.filter(starts_at__gt=schedule.last_session_start)
    return sessions.order_by("starts_at").first()


def _run_one(schedule: QuestionnaireSchedule) -> bool:
    """Assign the schedule's questionnaire if it is due; True when one was assigned."""
    relationship = schedule.relationship
    today = _today(relationship)
    session: TherapySession | None = None
    if schedule.cadence == Cadence.EVERY_N_WEEKS:
        if schedule.next_due is None or schedule.next_due > today:
            return False
        schedule.next_due = today + timedelta(weeks=schedule.every_weeks or 1)
    else:
        session = _due_session(schedule)
        if session is None:
            return False
        schedule.last_session_start = session.starts_at
    schedule.save(update_fields=["next_due", "last_session_start"])
    version = schedule.template.versions.order_by("-number").first()
    if version is None:
        return False
    try:
        document_assign(
            relationship=relationship,
            versions=[version],
            due_date=(
                timezone.localtime(
                    session.starts_at, ZoneInfo(relationship.practice.time_zone)
                ).date()
                if session
                else None
            ),
            actor=schedule.created_by,
        )
    except DocumentError as refused:  # e.g. the last one isn't completed yet: not twice
        logger.info("scheduled questionnaire %s not assigned: %s", schedule.pk, refused)
        return False
    return True


@task(queue_name="default")
def assign_scheduled_questionnaires() -> str:
    """Assign every scheduled questionnaire that is due, then run again in an hour."""
    assigned = 0
    running = QuestionnaireSchedule.objects.filter(
        stopped_at__isnull=True, relationship__state=CareState.ACTIVE
    ).select_related("relationship__practice", "relationship__client", "template", "created_by")
    for schedule in running:
        with transaction.atomic():
            locked = (
                QuestionnaireSchedule.objects.select_for_update(of=("self",))
                .select_related(
                    "relationship__practice", "relationship__client", "template", "created_by"
                )
                .get(pk=schedule.pk)
            )
            if locked.stopped_at is None and _run_one(locked):
                assigned += 1
    if running.exists() and default_task_backend.supports_defer:
        assign_scheduled_questionnaires.using(run_after=timezone.now() + INTERVAL).enqueue()
    return f"assigned {assigned}"

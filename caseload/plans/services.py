"""Writes to treatment plans: every save is a new immutable version. One transaction each."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from caseload.accounts.models import User
from caseload.audit.services import audit_record
from caseload.clients.access import write_refusal
from caseload.clients.models import CareRelationship
from caseload.lib.fields import FIRST_DATE, LAST_DATE, OUT_OF_RANGE
from caseload.lib.http import SYSTEM, AuditContext
from caseload.plans.generators import build_plan_input, input_digest, sends_outside
from caseload.plans.models import (
    PlanGeneration,
    PlanVersion,
    TreatmentPlan,
    VersionSource,
)
from caseload.plans.sanitize import sanitize_plan_html
from caseload.plans.tasks import generate_plan_draft

REVIEW_AFTER_DAYS = 90


class PlanError(Exception):
    """A rule refused the change; `field` names the form field the message belongs to."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _ensure_writable(actor: User, relationship: CareRelationship) -> None:
    """Only the client's own therapist writes, and only while the record is open (the care
    core's rule). The gate said so already; a service called from elsewhere is held to it."""
    refusal = write_refusal(
        actor,
        relationship,
        not_owner="Only the client's therapist can change their treatment plans.",
    )
    if refusal is not None:
        raise PlanError(refusal)


def _clean(html: str) -> str:
    cleaned = sanitize_plan_html(html)
    if not cleaned.replace("<p></p>", "").replace("<br>", "").strip():
        raise PlanError("Write the plan before saving it.", field="html")
    return cleaned


def _check_in_range(value: date, field: str) -> None:
    if not FIRST_DATE <= value <= LAST_DATE:
        raise PlanError(OUT_OF_RANGE, field=field)


def _check_dates(effective_date: date, review_date: date) -> None:
    _check_in_range(effective_date, "effective_date")
    _check_in_range(review_date, "review_date")
    if review_date <= effective_date:
        raise PlanError("The review date must be after the effective date.", field="review_date")


def _new_version(
    plan: TreatmentPlan,
    *,
    author: User,
    html: str,
    source: str,
    options: dict[str, Any] | None = None,
    restored_from: int | None = None,
) -> PlanVersion:
    latest = plan.versions.aggregate(latest=Max("number"))["latest"] or 0
    return PlanVersion.objects.create(
        plan=plan,
        number=latest + 1,
        html=html,
        author=author,
        source=source,
        options=options or {},
        restored_from=restored_from,
    )


@transaction.atomic
def plan_create(
    *,
    relationship: CareRelationship,
    actor: User,
    html: str,
    effective_date: date,
    review_date: date | None = None,
    title: str = "Treatment plan",
    source: str = VersionSource.MANUAL,
    options: dict[str, Any] | None = None,
    audit_context: AuditContext = SYSTEM,
) -> TreatmentPlan:
    """TP-1: a new plan with its first version. The review date defaults to 90 days on."""
    _ensure_writable(actor, relationship)
    cleaned = _clean(html)
    _check_in_range(effective_date, "effective_date")  # before the default review date is added
    review_date = review_date or min(effective_date + timedelta(days=REVIEW_AFTER_DAYS), LAST_DATE)
    _check_dates(effective_date, review_date)
    plan = TreatmentPlan.objects.create(
        relationship=relationship,
        title=title.strip() or "Treatment plan",
        effective_date=effective_date,
        review_date=review_date,
        created_by=actor,
    )
    version = _new_version(plan, author=actor, html=cleaned, source=source, options=options)
    audit_record(
        action="plan.create",
        actor=actor,
        audit_context=audit_context,
        client=relationship.client,
        obj=plan,
        detail={"version": version.number, "source": source},
    )
    return plan


@transaction.atomic
def plan_save_version(
    *,
    plan: TreatmentPlan,
    actor: User,
    html: str,
    source: str = VersionSource.MANUAL,
    options: dict[str, Any] | None = None,
    audit_context: AuditContext = SYSTEM,
) -> PlanVersion:
    """TP-4: every save is a new immutable version (author, time, source)."""
    plan = TreatmentPlan.objects.select_for_update().select_related("relationship").get(pk=plan.pk)
    _ensure_writable(actor, plan.relationship)
    cleaned = _clean(html)
    latest = plan.versions.order_by("-number").first()
    if latest is not None and latest.html == cleaned:
        raise PlanError("Nothing changed since the last version.", field="html")
    version = _new_version(plan, author=actor, html=cleaned, source=source, options=options)
    audit_record(
        action="plan.save_version",
        actor=actor,
        audit_context=audit_context,
        client=plan.relationship.client,
        obj=plan,
        detail={"version": version.number},
    )
    return version


@transaction.atomic
def plan_restore(
    *,
    plan: TreatmentPlan,
    actor: User,
    number: int,
    audit_context: AuditContext = SYSTEM,
) -> PlanVersion:
    """Restoring makes a new version with the old text; history is never rewritten."""
    plan = TreatmentPlan.objects.select_for_update().select_related("relationship").get(pk=plan.pk)
    _ensure_writable(actor, plan.relationship)
    old = plan.versions.filter(number=number).first()
    if old is None:
        raise PlanError("There is no such version.")
    version = _new_version(
        plan, author=actor, html=old.html, source=VersionSource.RESTORED, restored_from=number
    )
    audit_record(
        action="plan.restore",
        actor=actor,
        audit_context=audit_context,
        client=plan.relationship.client,
        obj=plan,
        detail={"version": version.number, "restored_from": number},
    )
    return version


@transaction.atomic
def plan_update_dates(
    *,
    plan: TreatmentPlan,
    actor: User,
    effective_date: date,
    review_date: date,
    audit_context: AuditContext = SYSTEM,
) -> TreatmentPlan:
    plan = TreatmentPlan.objects.select_for_update().select_related("relationship").get(pk=plan.pk)
    _ensure_writable(actor, plan.relationship)
    _check_dates(effective_date, review_date)
    plan.effective_date = effective_date
    plan.review_date = review_date
    plan.save(update_fields=["effective_date", "review_date"])
    audit_record(
        action="plan.update_dates",
        actor=actor,
        audit_context=audit_context,
        client=plan.relationship.client,
        obj=plan,
    )
    return plan


@transaction.atomic
def plan_generation_request(
    *,
    relationship: CareRelationship,
    actor: User,
    options: dict[str, str],
    plan: TreatmentPlan | None = None,
    reviewed_digest: str = "",
    start_date: date | None = None,
    audit_context: AuditContext = SYSTEM,
) -> PlanGeneration:
    """TP-2: queue a draft; the worker fills it. Nothing is a plan until the therapist saves.

    With an outside AI service configured, the therapist must first have reviewed what will
    be sent: `reviewed_digest` is `input_digest()` of the input they saw. The input is built
    again here; if the record changed since, nothing is queued. The generation keeps the
    reviewed input and the worker sends exactly that.
    """
    _ensure_writable(actor, relationship)
    if plan is not None and plan.relationship_id != relationship.pk:
        raise PlanError("There is no such plan.")
    reviewed_input = None
    if sends_outside():
        if not reviewed_digest:
            raise PlanError("Review what will be sent before it leaves the practice.")
        plan_input = build_plan_input(relationship, start_date=start_date or timezone.localdate())
        if input_digest(plan_input) != reviewed_digest:
            raise PlanError(
                "The record changed after you reviewed it. Review what will be sent again."
            )
        reviewed_input = plan_input.to_dict()
    generation = PlanGeneration.objects.create(
        relationship=relationship,
        plan=plan,
        requested_by=actor,
        options=options,
        reviewed_input=reviewed_input,
    )
    generate_plan_draft.enqueue(generation.pk)
    audit_record(
        action="plan.generate",
        actor=actor,
        audit_context=audit_context,
        client=relationship.client,
        obj=generation,
        detail={"options": options, "reviewed": reviewed_input is not None},
    )
    return generation

"""Writes to treatment plans: every save is a new immutable version. One transaction each."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from caseload.accounts.models import User
from caseload.audit.services import audit_record
from caseload.clients.models import CareRelationship, CareState
from caseload.plans.models import (
    PlanGeneration,
    PlanVersion,
    TreatmentPlan,
    VersionSource,
)
from caseload.plans.sanitize import sanitize_plan_html
from caseload.plans.selectors import EXPIRY_WARNING_DAYS

if TYPE_CHECKING:
    from django.http import HttpRequest

REVIEW_AFTER_DAYS = 90


class PlanError(Exception):
    """A rule refused the change; `field` names the form field the message belongs to."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _ensure_open(relationship: CareRelationship) -> None:
    if relationship.state not in (CareState.ACTIVE, CareState.INVITED):
        raise PlanError("Restore this client before changing their treatment plans.")


def _clean(html: str) -> str:
    cleaned = sanitize_plan_html(html)
    if not cleaned.replace("<p></p>", "").replace("<br>", "").strip():
        raise PlanError("Write the plan before saving it.", field="html")
    return cleaned


def _check_dates(effective_date: date, review_date: date) -> None:
    if review_date <= effective_date:
        raise PlanError("The review date must be after the effective date.", field="review_date")


def _new_version(
    plan: TreatmentPlan,
    *,
    user: User,
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
        author=user,
        source=source,
        options=options or {},
        restored_from=restored_from,
    )


@transaction.atomic
def plan_create(
    *,
    relationship: CareRelationship,
    user: User,
    html: str,
    effective_date: date,
    review_date: date | None = None,
    title: str = "Treatment plan",
    source: str = VersionSource.MANUAL,
    options: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> TreatmentPlan:
    """TP-1: a new plan with its first version. The review date defaults to 90 days on."""
    _ensure_open(relationship)
    cleaned = _clean(html)
    review_date = review_date or effective_date + timedelta(days=REVIEW_AFTER_DAYS)
    _check_dates(effective_date, review_date)
    plan = TreatmentPlan.objects.create(
        relationship=relationship,
        title=title.strip() or "Treatment plan",
        effective_date=effective_date,
        review_date=review_date,
        created_by=user,
    )
    version = _new_version(plan, user=user, html=cleaned, source=source, options=options)
    audit_record(
        action="plan.create",
        actor=user,
        request=request,
        client=relationship.client,
        obj=plan,
        detail={"version": version.number, "source": source},
    )
    return plan


@transaction.atomic
def plan_save_version(
    *,
    plan: TreatmentPlan,
    user: User,
    html: str,
    source: str = VersionSource.MANUAL,
    options: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> PlanVersion:
    """TP-4: every save is a new immutable version (author, time, source)."""
    plan = TreatmentPlan.objects.select_for_update().select_related("relationship").get(pk=plan.pk)
    _ensure_open(plan.relationship)
    cleaned = _clean(html)
    latest = plan.versions.order_by("-number").first()
    if latest is not None and latest.html == cleaned:
        raise PlanError("Nothing changed since the last version.", field="html")
    version = _new_version(plan, user=user, html=cleaned, source=source, options=options)
    audit_record(
        action="plan.save_version",
        actor=user,
        request=request,
        client=plan.relationship.client,
        obj=plan,
        detail={"version": version.number},
    )
    return version


@transaction.atomic
def plan_restore(
    *, plan: TreatmentPlan, user: User, number: int, request: HttpRequest | None = None
) -> PlanVersion:
    """Restoring makes a new version with the old text; history is never rewritten."""
    plan = TreatmentPlan.objects.select_for_update().select_related("relationship").get(pk=plan.pk)
    _ensure_open(plan.relationship)
    old = plan.versions.filter(number=number).first()
    if old is None:
        raise PlanError("There is no such version.")
    version = _new_version(
        plan, user=user, html=old.html, source=VersionSource.RESTORED, restored_from=number
    )
    audit_record(
        action="plan.restore",
        actor=user,
        request=request,
        client=plan.relationship.client,
        obj=plan,
        detail={"version": version.number, "restored_from": number},
    )
    return version


@transaction.atomic
def plan_update_dates(
    *,
    plan: TreatmentPlan,
    user: User,
    effective_date: date,
    review_date: date,
    request: HttpRequest | None = None,
) -> TreatmentPlan:
    plan = TreatmentPlan.objects.select_for_update().select_related("relationship").get(pk=plan.pk)
    _ensure_open(plan.relationship)
    _check_dates(effective_date, review_date)
    plan.effective_date = effective_date
    plan.review_date = review_date
    plan.save(update_fields=["effective_date", "review_date"])
    audit_record(
        action="plan.update_dates",
        actor=user,
        request=request,
        client=plan.relationship.client,
        obj=plan,
    )
    return plan


@transaction.atomic
def generation_request(
    *,
    relationship: CareRelationship,
    user: User,
    options: dict[str, str],
    plan: TreatmentPlan | None = None,
    request: HttpRequest | None = None,
) -> PlanGeneration:
    """TP-2: queue a draft; the worker fills it. Nothing is a plan until the therapist saves."""
    from caseload.plans.tasks import generate_plan_draft

    _ensure_open(relationship)
    generation = PlanGeneration.objects.create(
        relationship=relationship, plan=plan, requested_by=user, options=options
    )
    generate_plan_draft.enqueue(generation.pk)
    audit_record(
        action="plan.generate",
        actor=user,
        request=request,
        client=relationship.client,
        obj=generation,
        detail={"options": options},
    )
    return generation


def plan_status(plan: TreatmentPlan, today: date | None = None) -> str:
    """TP-5: "expired", "expiring" (within 14 days) or "current"."""
    today = today or timezone.localdate()
    if plan.review_date < today:
        return "expired"
    if plan.review_date <= today + timedelta(days=EXPIRY_WARNING_DAYS):
        return "expiring"
    return "current"

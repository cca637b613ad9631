"""Reads of treatment plans, always through the care relationship the user may see."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from caseload.clients.models import CareRelationship
from caseload.plans.models import PlanGeneration, PlanVersion, TreatmentPlan

#: A plan is "expiring" this many days before its review date.
EXPIRY_WARNING_DAYS = 14


def get_plan(relationship: CareRelationship, public_id: UUID) -> TreatmentPlan:
    plan = TreatmentPlan.objects.filter(relationship=relationship, public_id=public_id).first()
    if plan is None:
        raise Http404("No such plan.")
    return plan


def get_version(plan: TreatmentPlan, number: int) -> PlanVersion:
    version = plan.versions.select_related("author").filter(number=number).first()
    if version is None:
        raise Http404("No such version.")
    return version


def latest_version(plan: TreatmentPlan) -> PlanVersion:
    version = plan.versions.select_related("author").order_by("-number").first()
    if version is None:  # a plan is always created with its first version
        raise Http404("No such version.")
    return version


def get_generation(relationship: CareRelationship, public_id: UUID) -> PlanGeneration:
    generation = PlanGeneration.objects.filter(
        relationship=relationship, public_id=public_id
    ).first()
    if generation is None:
        raise Http404("No such draft.")
    return generation


def plans_for(relationship: CareRelationship) -> QuerySet[TreatmentPlan]:
    return TreatmentPlan.objects.filter(relationship=relationship).order_by(
        "-effective_date", "-pk"
    )


def needs_review_q(today: date | None = None) -> Q:
    """Plans expired or expiring within 14 days (needs attention, TP-5)."""
    today = today or timezone.localdate()
    return Q(review_date__lte=today + timedelta(days=EXPIRY_WARNING_DAYS))

"""What plans shows in the client workspace: its profile section(s) and attention signals."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, OuterRef, Subquery, Value, When
from django.utils import timezone

from caseload.accounts.models import User
from caseload.clients.models import CareRelationship
from caseload.clients.sections import AttentionSignal, ProfileSection
from caseload.lib.expressions import CurrentDate
from caseload.lib.http import AuditContext
from caseload.plans.models import TreatmentPlan
from caseload.plans.selectors import EXPIRY_WARNING_DAYS, current_plan, plan_status, plans_for

SECTION_TEMPLATE = "plans/partials/_plans_section.html"
OVERVIEW_TEMPLATE = "plans/partials/_overview_plans.html"


def plans_context(viewer: User, relationship: CareRelationship) -> dict[str, Any]:
    """The Treatment Plans tab: every plan with its status, and "Create Treatment Plan",
    which asks how to start (write it myself, or generate with AI).

    `relationship` came through the access gate: `relationship.access` says who may edit.
    """
    today = timezone.localdate()
    plans = [{"plan": plan, "status": plan_status(plan, today)} for plan in plans_for(relationship)]
    return {"plans": plans, "plans_can_edit": relationship.access.can_write}


def plans_overview(
    viewer: User, relationship: CareRelationship, audit_context: AuditContext
) -> dict[str, Any]:
    """The Overview card: the current plan's review date and its state (one query)."""
    plan = current_plan(relationship)
    return {
        "plans_overview": {
            "plan": plan,
            "status": plan_status(plan) if plan else None,
            "can_create": relationship.access.can_write,
        }
    }


def _plan_review_date() -> Subquery:
    latest = (
        TreatmentPlan.objects.filter(relationship=OuterRef("pk"))
        .order_by("-effective_date", "-pk")
        .values("review_date")[:1]
    )
    return Subquery(latest)


def _plan_state() -> Case:
    """Needs `plan_review_date` annotated first (it is, by the order of ATTENTION). Today is
    read when the query runs, so the expression can be built once."""
    return Case(
        When(plan_review_date__lt=CurrentDate(), then=Value("expired")),
        When(
            plan_review_date__lte=CurrentDate(days=EXPIRY_WARNING_DAYS),
            then=Value("expiring"),
        ),
        default=Value(""),
    )


ATTENTION = [
    AttentionSignal("plan_review_date", _plan_review_date),
    AttentionSignal("plan_state", _plan_state),
]
SECTIONS = [
    ProfileSection(
        "plans",
        "Treatment Plans",
        SECTION_TEMPLATE,
        lambda viewer, relationship, audit_context: plans_context(viewer, relationship),
        overview=plans_overview,
        overview_template=OVERVIEW_TEMPLATE,
    )
]

"""Reads of treatment plans, always through the care relationship the user may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from caseload.clients.models import CareRelationship
from caseload.clinical.models import DiagnosisStatus
from caseload.plans.diff import DiffLine, diff_versions
from caseload.plans.forms import options_label
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


def current_plan(relationship: CareRelationship) -> TreatmentPlan | None:
    """The plan in force: the latest by effective date (as the client list's badge reads it)."""
    return plans_for(relationship).first()


def needs_review_q(today: date | None = None) -> Q:
    """Plans expired or expiring within 14 days (needs attention, TP-5)."""
    today = today or timezone.localdate()
    return Q(review_date__lte=today + timedelta(days=EXPIRY_WARNING_DAYS))


def plan_status(plan: TreatmentPlan, today: date | None = None) -> str:
    """TP-5: "expired", "expiring" (within 14 days) or "current"."""
    today = today or timezone.localdate()
    if plan.review_date < today:
        return "expired"
    if plan.review_date <= today + timedelta(days=EXPIRY_WARNING_DAYS):
        return "expiring"
    return "current"


def plan_versions(plan: TreatmentPlan) -> list[PlanVersion]:
    """Every version, newest first, each with its generation options as shown."""
    versions = list(plan.versions.select_related("author").order_by("-number"))
    for version in versions:
        with_label(version)
    return versions


def with_label(version: PlanVersion) -> PlanVersion:
    """The version with `options_label` ("Long · Conversational · …") for the template."""
    version.options_label = options_label(version.options)  # type: ignore[attr-defined]
    return version


#: Unchanged lines shown around each change in a diff; longer runs fold away.
DIFF_CONTEXT = 2


@dataclass(frozen=True)
class DiffBlock:
    """A run of diff lines: shown (changes and their context) or folded (3+ unchanged)."""

    folded: bool
    lines: list[DiffLine]


@dataclass(frozen=True)
class PlanDiff:
    blocks: list[DiffBlock]
    added: int
    removed: int


def version_diff(older: PlanVersion, newer: PlanVersion) -> PlanDiff:
    """TP-4: two versions compared block by block, long unchanged runs folded."""
    lines = diff_versions(older.html, newer.html)
    changed = [index for index, line in enumerate(lines) if line.kind != "same"]
    return PlanDiff(
        blocks=_diff_blocks(lines, changed),
        added=sum(lines[i].kind == "added" for i in changed),
        removed=sum(lines[i].kind == "removed" for i in changed),
    )


def _diff_blocks(lines: list[DiffLine], changed: list[int]) -> list[DiffBlock]:
    shown = {
        i
        for c in changed
        for i in range(max(0, c - DIFF_CONTEXT), min(len(lines), c + DIFF_CONTEXT + 1))
    }
    runs: list[tuple[bool, list[DiffLine]]] = []
    for index, line in enumerate(lines):
        folded = bool(changed) and index not in shown
        if not runs or runs[-1][0] != folded:
            runs.append((folded, []))
        runs[-1][1].append(line)
    blocks: list[DiffBlock] = []
    for folded, run in runs:
        folded = folded and len(run) >= 3  # no "1 unchanged line"
        if blocks and not blocks[-1].folded and not folded:
            blocks[-1].lines.extend(run)
        else:
            blocks.append(DiffBlock(folded=folded, lines=run))
    return blocks


def plan_pdf_context(
    relationship: CareRelationship,
    plan: TreatmentPlan,
    version: PlanVersion,
    *,
    with_supervisor: bool,
    with_client: bool,
) -> dict[str, Any]:
    """TP-6: what the plan's PDF shows: letterhead, client, active diagnoses, signatures."""
    return {
        "relationship": relationship,
        "client": relationship.client,
        "practice": relationship.practice,
        "plan": plan,
        "version": version,
        "diagnoses": list(relationship.diagnoses.filter(status=DiagnosisStatus.ACTIVE)),
        "supervisor": relationship.therapist.membership.supervisor,
        "with_supervisor": with_supervisor,
        "with_client": with_client,
        "generated_at": timezone.localtime(),
    }

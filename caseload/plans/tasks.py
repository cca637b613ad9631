"""Plan generation runs in the worker (TP-3): the page polls its state."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from django.tasks import task
from django.utils import timezone

from caseload.plans.generators import (
    GenerationError,
    PlanInput,
    PlanOptions,
    build_plan_input,
    get_generator,
)
from caseload.plans.models import GenerationStatus, PlanGeneration
from caseload.plans.sanitize import sanitize_plan_html

logger = logging.getLogger(__name__)


@task()
def generate_plan_draft(generation_id: int) -> str:
    generation = PlanGeneration.objects.select_related(
        "relationship__client", "relationship__practice"
    ).get(pk=generation_id)
    PlanGeneration.objects.filter(pk=generation_id).update(status=GenerationStatus.RUNNING)
    try:
        options = PlanOptions(**generation.options)
        if generation.reviewed_input is not None:  # what the therapist reviewed, as it was
            plan_input = PlanInput.from_dict(generation.reviewed_input)
        else:
            # The practice's today: the worker runs on UTC, the therapist's evening may not.
            today = timezone.localdate(
                timezone=ZoneInfo(generation.relationship.practice.time_zone)
            )
            plan_input = build_plan_input(generation.relationship, start_date=today)
        generator = get_generator()
        PlanGeneration.objects.filter(pk=generation_id).update(generator=generator.name)
        html = sanitize_plan_html(generator.generate(plan_input, options))
        if not html:
            raise GenerationError("The generator returned an empty plan. Try again.")
    except GenerationError as error:
        PlanGeneration.objects.filter(pk=generation_id).update(
            status=GenerationStatus.FAILED, error=str(error)[:500], finished_at=timezone.now()
        )
        return "failed"
    except Exception:
        logger.exception("Plan generation %s failed", generation_id)
        PlanGeneration.objects.filter(pk=generation_id).update(
            status=GenerationStatus.FAILED,
            error="Something went wrong while generating the plan. Try again.",
            finished_at=timezone.now(),
        )
        return "failed"
    PlanGeneration.objects.filter(pk=generation_id).update(
        status=GenerationStatus.DONE, html=html, finished_at=timezone.now()
    )
    return "done"

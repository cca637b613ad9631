"""Plan services: versions, restore, dates, expiry, and the record's state (TP-1, TP-4, TP-5)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from caseload.audit.models import AuditEvent
from caseload.clients import services as client_services
from caseload.plans import services
from caseload.plans.models import PlanGeneration, PlanVersion, TreatmentPlan

START = date(2026, 11, 1)


def make_plan(relationship, user, html="<p>First</p>"):
    return services.plan_create(
        relationship=relationship, user=user, html=html, effective_date=START
    )


def test_a_new_plan_has_version_one_and_a_review_date_90_days_on(active_client, therapist):
    plan = make_plan(active_client, therapist)

    assert plan.review_date == START + timedelta(days=90)
    assert list(plan.versions.values_list("number", "source", "author")) == [
        (1, "manual", therapist.pk)
    ]
    event = AuditEvent.objects.get(action="plan.create")
    assert event.detail == {"version": 1, "source": "manual"}
    assert "First" not in str(event.detail)


def test_versions_are_numbered_in_order_and_sanitised(active_client, therapist):
    plan = make_plan(active_client, therapist)

    second = services.plan_save_version(
        plan=plan, user=therapist, html='<p onclick="x()">Second<script>x()</script></p>'
    )

    assert second.number == 2
    assert second.html == "<p>Second</p>"


def test_restoring_copies_the_old_text_into_a_new_version(active_client, therapist):
    plan = make_plan(active_client, therapist)
    services.plan_save_version(plan=plan, user=therapist, html="<p>Second</p>")

    restored = services.plan_restore(plan=plan, user=therapist, number=1)

    assert (restored.number, restored.source, restored.restored_from) == (3, "restored", 1)
    assert restored.html == "<p>First</p>"
    assert PlanVersion.objects.filter(plan=plan).count() == 3


def test_restoring_a_version_that_does_not_exist_is_refused(active_client, therapist):
    plan = make_plan(active_client, therapist)

    with pytest.raises(services.PlanError):
        services.plan_restore(plan=plan, user=therapist, number=7)
    assert plan.versions.count() == 1


def test_review_date_must_follow_the_effective_date(active_client, therapist):
    with pytest.raises(services.PlanError) as refused:
        services.plan_create(
            relationship=active_client,
            user=therapist,
            html="<p>x</p>",
            effective_date=START,
            review_date=START,
        )
    assert refused.value.field == "review_date"
    assert not TreatmentPlan.objects.exists()


@pytest.mark.parametrize(
    ("review_in_days", "status"),
    [(-1, "expired"), (0, "expiring"), (14, "expiring"), (15, "current")],
)
def test_plan_status_boundaries(active_client, therapist, review_in_days, status):
    today = date(2026, 11, 28)
    plan = services.plan_create(
        relationship=active_client,
        user=therapist,
        html="<p>x</p>",
        effective_date=today - timedelta(days=60),
        review_date=today + timedelta(days=review_in_days),
    )

    assert services.plan_status(plan, today) == status


def test_plans_of_an_archived_client_cannot_change(active_client, therapist):
    plan = make_plan(active_client, therapist)
    client_services.relationship_archive(relationship=active_client, actor=active_client.therapist)
    active_client.refresh_from_db()

    with pytest.raises(services.PlanError):
        services.plan_save_version(plan=plan, user=therapist, html="<p>Later</p>")
    with pytest.raises(services.PlanError):
        services.generation_request(
            relationship=active_client,
            user=therapist,
            options={"length": "short", "tone": "clinical", "format": "narrative"},
        )
    assert plan.versions.count() == 1
    assert not PlanGeneration.objects.exists()


def test_a_generation_request_queues_a_task_and_creates_no_plan(active_client, therapist):
    from django_tasks_db.models import DBTaskResult

    generation = services.generation_request(
        relationship=active_client,
        user=therapist,
        options={"length": "short", "tone": "clinical", "format": "narrative"},
    )

    assert generation.status == "queued"
    task = DBTaskResult.objects.get(task_path__endswith="generate_plan_draft")
    assert task.args_kwargs["args"] == [generation.pk]
    assert not TreatmentPlan.objects.exists()

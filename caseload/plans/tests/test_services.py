"""Plan services: versions, restore, dates, expiry, and the record's state (TP-1, TP-4, TP-5)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from caseload.audit.models import AuditEvent
from caseload.clients import services as client_services
from caseload.lib.http import AuditContext
from caseload.plans import services
from caseload.plans.models import PlanGeneration, PlanVersion, TreatmentPlan
from caseload.plans.selectors import plan_status

START = date(2026, 11, 1)


OPTIONS = {"length": "short", "tone": "clinical", "format": "narrative"}


def make_plan(relationship, actor, html="<p>First</p>"):
    return services.plan_create(
        relationship=relationship, actor=actor, html=html, effective_date=START
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
        plan=plan, actor=therapist, html='<p onclick="x()">Second<script>x()</script></p>'
    )

    assert second.number == 2
    assert second.html == "<p>Second</p>"


def test_restoring_copies_the_old_text_into_a_new_version(active_client, therapist):
    plan = make_plan(active_client, therapist)
    services.plan_save_version(plan=plan, actor=therapist, html="<p>Second</p>")

    restored = services.plan_restore(plan=plan, actor=therapist, number=1)

    assert (restored.number, restored.source, restored.restored_from) == (3, "restored", 1)
    assert restored.html == "<p>First</p>"
    assert PlanVersion.objects.filter(plan=plan).count() == 3


def test_restoring_a_version_that_does_not_exist_is_refused(active_client, therapist):
    plan = make_plan(active_client, therapist)

    with pytest.raises(services.PlanError):
        services.plan_restore(plan=plan, actor=therapist, number=7)
    assert plan.versions.count() == 1


def test_review_date_must_follow_the_effective_date(active_client, therapist):
    with pytest.raises(services.PlanError) as refused:
        services.plan_create(
            relationship=active_client,
            actor=therapist,
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
        actor=therapist,
        html="<p>x</p>",
        effective_date=today - timedelta(days=60),
        review_date=today + timedelta(days=review_in_days),
    )

    assert plan_status(plan, today) == status


def every_change(plan, actor):
    """One attempt at each service that changes a client's plans."""
    relationship = plan.relationship
    return [
        lambda: services.plan_create(
            relationship=relationship, actor=actor, html="<p>New</p>", effective_date=START
        ),
        lambda: services.plan_save_version(plan=plan, actor=actor, html="<p>Later</p>"),
        lambda: services.plan_restore(plan=plan, actor=actor, number=1),
        lambda: services.plan_update_dates(
            plan=plan,
            actor=actor,
            effective_date=START,
            review_date=START + timedelta(days=30),
        ),
        lambda: services.plan_generation_request(
            relationship=relationship, actor=actor, options=OPTIONS, plan=plan
        ),
    ]


def test_plans_of_an_archived_client_cannot_change(active_client, therapist):
    plan = make_plan(active_client, therapist)
    client_services.relationship_archive(relationship=active_client, actor=active_client.therapist)
    plan.refresh_from_db()
    events = AuditEvent.objects.count()

    for attempt in every_change(plan, therapist):
        with pytest.raises(services.PlanError) as refused:
            attempt()
        assert str(refused.value) == "Restore this client before changing their record."

    plan.refresh_from_db()
    assert plan.versions.count() == 1 and TreatmentPlan.objects.count() == 1
    assert plan.review_date == START + timedelta(days=90)
    assert not PlanGeneration.objects.exists()
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize("persona", ["supervisor", "colleague"])
def test_only_the_clients_therapist_can_change_their_plans(
    request, active_client, therapist, persona
):
    """The views' gate lets only the owner in; a service called from elsewhere holds too."""
    plan = make_plan(active_client, therapist)
    events = AuditEvent.objects.count()

    for attempt in every_change(plan, request.getfixturevalue(persona)):
        with pytest.raises(services.PlanError) as refused:
            attempt()
        assert str(refused.value) == "Only the client's therapist can change their treatment plans."

    assert plan.versions.count() == 1 and TreatmentPlan.objects.count() == 1
    assert not PlanGeneration.objects.exists()
    assert AuditEvent.objects.count() == events


def test_a_draft_for_another_clients_plan_is_refused(active_client, child_client, therapist):
    theirs = make_plan(child_client, therapist)

    with pytest.raises(services.PlanError):
        services.plan_generation_request(
            relationship=active_client, actor=therapist, options=OPTIONS, plan=theirs
        )
    assert not PlanGeneration.objects.exists()


def test_changes_are_audited_as_the_actor_with_where_they_came_from(active_client, therapist):
    context = AuditContext(ip_address="203.0.113.7", request_id="req-42", user_agent="Firefox")
    acting = {"actor": therapist, "audit_context": context}
    earlier = AuditEvent.objects.count()

    plan = services.plan_create(
        relationship=active_client, html="<p>First</p>", effective_date=START, **acting
    )
    services.plan_save_version(plan=plan, html="<p>Second</p>", **acting)
    services.plan_restore(plan=plan, number=1, **acting)
    services.plan_update_dates(
        plan=plan, effective_date=START, review_date=START + timedelta(days=30), **acting
    )
    services.plan_generation_request(
        relationship=active_client, options=OPTIONS, plan=plan, **acting
    )

    events = list(
        AuditEvent.objects.order_by("id").values_list(
            "action", "actor", "ip_address", "request_id", "user_agent"
        )
    )[earlier:]
    assert [event[0] for event in events] == [
        "plan.create",
        "plan.save_version",
        "plan.restore",
        "plan.update_dates",
        "plan.generate",
    ]
    assert {event[1:] for event in events} == {(therapist.pk, "203.0.113.7", "req-42", "Firefox")}


def test_a_generation_request_queues_a_task_and_creates_no_plan(active_client, therapist):
    from django_tasks_db.models import DBTaskResult

    generation = services.plan_generation_request(
        relationship=active_client,
        actor=therapist,
        options=OPTIONS,
    )

    assert generation.status == "queued"
    task = DBTaskResult.objects.get(task_path__endswith="generate_plan_draft")
    assert task.args_kwargs["args"] == [generation.pk]
    assert not TreatmentPlan.objects.exists()

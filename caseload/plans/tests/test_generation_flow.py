"""Generate with AI, end to end through the task queue (TP-2, TP-3): a draft, never a plan."""

from __future__ import annotations

import socket

import pytest

from caseload.clinical import services as clinical_services
from caseload.plans.models import PlanGeneration, TreatmentPlan

OPTIONS = {"length": "short", "tone": "clinical", "format": "bullet_points"}


@pytest.fixture
def therapist_browser(client, therapist, active_client):
    clinical_services.diagnosis_add(
        relationship=active_client, actor=active_client.therapist, code="F33.1"
    )
    client.force_login(therapist)
    return client


def _generate(client, relationship, **extra):
    return client.post(f"/clients/{relationship.public_id}/plans/generate/", {**OPTIONS, **extra})


def test_generated_draft_opens_in_the_editor_and_is_saved_only_by_the_therapist(
    therapist_browser, active_client, run_tasks
):
    response = _generate(therapist_browser, active_client)
    generation = PlanGeneration.objects.get()
    progress_url = f"/clients/{active_client.public_id}/plans/drafts/{generation.public_id}/"
    assert response["Location"] == progress_url
    assert "Waiting for the generator" in therapist_browser.get(progress_url).content.decode()

    run_tasks()
    generation.refresh_from_db()
    assert generation.status == "done" and generation.generator == "knowledge_base"
    ready = therapist_browser.get(progress_url)
    editor_url = f"/clients/{active_client.public_id}/plans/new/?draft={generation.public_id}"
    assert ready["Location"] == editor_url
    editor = therapist_browser.get(editor_url).content.decode()
    assert "nothing is saved until you save" in editor
    assert not TreatmentPlan.objects.exists()

    saved = therapist_browser.post(
        f"/clients/{active_client.public_id}/plans/new/",
        {
            "title": "Plan",
            "html": generation.html,
            "effective_date": "2026-11-20",
            "generation": str(generation.public_id),
        },
    )

    plan = TreatmentPlan.objects.get()
    assert saved.status_code == 302
    version = plan.versions.get()
    assert version.source == "generated"
    assert version.options == {**OPTIONS, "generator": "knowledge_base"}


def test_htmx_polling_is_told_to_open_the_editor_when_the_draft_is_ready(
    therapist_browser, active_client, run_tasks
):
    _generate(therapist_browser, active_client)
    generation = PlanGeneration.objects.get()
    url = f"/clients/{active_client.public_id}/plans/drafts/{generation.public_id}/"
    headers = {"HX-Request": "true", "X-Caseload-Background": "1"}

    polling = therapist_browser.get(url, headers=headers)
    assert 'hx-trigger="every 1s"' in polling.content.decode()

    run_tasks()
    ready = therapist_browser.get(url, headers=headers)
    assert ready.status_code == 200 and not ready.content
    assert ready["HX-Redirect"].endswith(f"?draft={generation.public_id}")


def test_an_unreachable_ai_service_shows_a_clear_error_and_saves_nothing(
    therapist_browser, active_client, run_tasks, settings
):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.PLAN_AI_BASE_URL = f"http://127.0.0.1:{port}/v1"
    settings.PLAN_AI_MODEL = "test-model"
    settings.PLAN_AI_TIMEOUT = 2

    _generate(therapist_browser, active_client)
    run_tasks()

    generation = PlanGeneration.objects.get()
    assert generation.status == "failed"
    page = therapist_browser.get(
        f"/clients/{active_client.public_id}/plans/drafts/{generation.public_id}/"
    ).content.decode()
    assert "The draft could not be generated." in page
    assert generation.error in page
    assert not TreatmentPlan.objects.exists()


def test_bad_options_are_refused(therapist_browser, active_client):
    _generate(therapist_browser, active_client, length="epic")

    assert not PlanGeneration.objects.exists()


def test_someone_elses_draft_cannot_be_opened(client, colleague, therapist_browser, active_client):
    _generate(therapist_browser, active_client)
    generation = PlanGeneration.objects.get()
    client.force_login(colleague)

    response = client.get(
        f"/clients/{active_client.public_id}/plans/new/?draft={generation.public_id}"
    )

    assert response.status_code == 404

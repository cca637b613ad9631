"""Generate with AI, end to end through the task queue (TP-2, TP-3): a draft, never a plan."""

from __future__ import annotations

import json
import re
import socket
from datetime import UTC
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from caseload.clinical import services as clinical_services
from caseload.plans.generators.knowledge_base import format_date
from caseload.plans.models import PlanGeneration, TreatmentPlan
from caseload.plans.tests.test_openai_compatible import FakeAIService, ai_service  # noqa: F401
from caseload.practices.models import Practice

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


def test_the_draft_is_dated_by_the_practices_today_not_the_workers(
    therapist_browser, active_client, run_tasks
):
    # A zone whose date differs from UTC's right now, whatever the hour the test runs.
    utc_hour = timezone.now().astimezone(UTC).hour
    zone = ZoneInfo("Pacific/Kiritimati" if utc_hour >= 10 else "Pacific/Pago_Pago")
    Practice.objects.filter(pk=active_client.practice_id).update(time_zone=zone.key)
    practice_today = timezone.localdate(timezone=zone)
    assert practice_today != timezone.localdate(timezone=UTC)

    _generate(therapist_browser, active_client)
    run_tasks()

    html = PlanGeneration.objects.get().html
    assert f"Start: {format_date(practice_today)}." in unescape(re.sub("<[^>]+>", "", html))


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

    review = _generate(therapist_browser, active_client).content.decode()
    _generate(therapist_browser, active_client, step="send", digest=_digest(review))
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


# Review what will be sent (an outside AI service) ------------------------------------------
def _digest(page: str) -> str:
    return re.search(r'name="digest" value="([0-9a-f]{64})"', page).group(1)


def _sent_text(page: str) -> str:
    found = re.search(r'<pre class="sent-text" id="sent-clinical"[^>]*>(.*?)</pre>', page, re.S)
    return unescape(found.group(1))


@pytest.fixture
def outside_service(settings, ai_service):  # noqa: F811
    settings.PLAN_AI_BASE_URL = ai_service.base_url
    settings.PLAN_AI_MODEL = "test-model"
    settings.PLAN_AI_TIMEOUT = 5
    return ai_service


def _with_identifiers(relationship):
    clinical_services.clinical_summary_update(
        relationship=relationship,
        actor=relationship.therapist,
        presenting_concerns="Maya's brother Marcus Bell drove her to Mercy General Hospital "
        "on 03/14/2025. Panic attacks twice a week.",
        mental_health_history="",
    )


def test_with_an_outside_service_generate_first_shows_exactly_what_will_be_sent(
    therapist_browser, active_client, outside_service, run_tasks
):
    _with_identifiers(active_client)

    review = _generate(therapist_browser, active_client)

    page = review.content.decode()
    assert review.status_code == 200 and "Review what will be sent" in page
    assert not PlanGeneration.objects.exists() and not outside_service.requests
    shown = _sent_text(page)
    assert "Panic attacks twice a week." in shown and "[client]" in shown
    for identifier in ("Maya", "Marcus", "Bell", "Mercy General", "03/14"):
        assert identifier not in shown

    sent = _generate(therapist_browser, active_client, step="send", digest=_digest(page))
    generation = PlanGeneration.objects.get()
    assert sent["Location"].endswith(f"/plans/drafts/{generation.public_id}/")
    assert generation.reviewed_input["presenting_concerns"] in shown

    run_tasks()
    generation.refresh_from_db()
    assert generation.status == "done" and generation.generator == "openai_compatible"
    body = json.loads(outside_service.requests[-1]["body"])
    assert body["messages"][1]["content"] == shown  # exactly what was reviewed


def test_a_record_changed_after_review_is_not_sent(
    therapist_browser, active_client, outside_service
):
    page = _generate(therapist_browser, active_client).content.decode()
    _with_identifiers(active_client)  # changes what would be sent

    response = _generate(therapist_browser, active_client, step="send", digest=_digest(page))

    assert "The record changed after you reviewed it." in unescape(response.content.decode())
    assert not PlanGeneration.objects.exists() and not outside_service.requests


@pytest.mark.parametrize("digest", ["", "0" * 64])
def test_sending_without_the_reviewed_text_is_refused(
    therapist_browser, active_client, outside_service, digest
):
    response = _generate(therapist_browser, active_client, step="send", digest=digest)

    page = unescape(response.content.decode())
    assert "Review what will be sent" in page or "review" in page.lower()
    assert not PlanGeneration.objects.exists() and not outside_service.requests


def test_the_offline_generator_needs_no_review(therapist_browser, active_client, settings):
    settings.PLAN_AI_BASE_URL = ""

    response = _generate(therapist_browser, active_client)

    assert response.status_code == 302 and PlanGeneration.objects.get().reviewed_input is None

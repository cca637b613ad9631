"""The Treatment Plans tab, its Overview card, and "Create Treatment Plan" asking how to start:
write it myself, or generate with AI (Length, Tone, Format), then the editor (issue 10, item 7).
"""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from caseload.audit.models import AuditEvent
from caseload.clients import services as client_services
from caseload.clients.access import get_relationship_for_user
from caseload.clients.models import CareRelationship
from caseload.clinical import services as clinical_services
from caseload.lib.http import SYSTEM
from caseload.plans import services
from caseload.plans.models import PlanGeneration, TreatmentPlan
from caseload.plans.sections import SECTIONS
from tests.factories import active_relationship
from tests.html import post_form_actions, text_by_id

pytestmark = pytest.mark.django_db

OPTIONS = {"length": "short", "tone": "clinical", "format": "bullet_points"}


def base(relationship: CareRelationship) -> str:
    return f"/clients/{relationship.public_id}/"


def tab_url(relationship: CareRelationship) -> str:
    return base(relationship) + "plans/"


def choice_url(relationship: CareRelationship) -> str:
    return base(relationship) + "plans/create/"


def generate_url(relationship: CareRelationship) -> str:
    return base(relationship) + "plans/generate/"


def text(markup: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def region(response: Any, start: str, end: str = "</section>") -> str:
    html = response.content.decode()
    assert start in html, f"no {start!r}"
    return html.split(start, 1)[1].split(end, 1)[0]


def checked(html: str, name: str) -> list[str]:
    """The values of the checked radio buttons named `name`."""
    return [
        value
        for tag in re.findall(r"<input[^>]*>", html)
        if f'name="{name}"' in tag and re.search(r"\schecked[\s>]", tag)
        for value in re.findall(r'value="([^"]*)"', tag)
    ]


def practice_today(relationship: CareRelationship) -> Any:
    return timezone.localdate(timezone=ZoneInfo(relationship.practice.time_zone))


def make_plan(relationship: CareRelationship, *, effective: int, review: int, title: str) -> Any:
    today = practice_today(relationship)
    return services.plan_create(
        relationship=relationship,
        actor=relationship.therapist,
        html="<p>Goals</p>",
        title=title,
        effective_date=today + timedelta(days=effective),
        review_date=today + timedelta(days=review),
    )


@pytest.fixture
def diagnosed(active_client: CareRelationship) -> CareRelationship:
    clinical_services.diagnosis_add(
        relationship=active_client, actor=active_client.therapist, code="F33.1"
    )
    return active_client


# The tab ------------------------------------------------------------------------------------
def test_the_tab_lists_plans_with_their_status_and_one_way_to_create(
    therapist, active_client, signed_in
):
    make_plan(active_client, effective=-100, review=-1, title="Old plan")
    make_plan(active_client, effective=-80, review=10, title="Current plan")

    response = signed_in(therapist).get(tab_url(active_client))

    section = region(response, 'id="plans"')
    shown = text(section)
    assert shown.index("Current plan") < shown.index("Old plan")  # newest first
    assert "Expired" in shown and "Expires soon" in shown
    assert f'href="{choice_url(active_client)}">Create Treatment Plan</a>' in section
    # The choice replaces the tab's old "Generate with AI" section.
    assert "Generate with AI" not in section
    assert generate_url(active_client) not in post_form_actions(response)


def test_the_supervisor_reads_the_tab_without_create(
    therapist, supervisor, active_client, signed_in
):
    make_plan(active_client, effective=0, review=90, title="Current plan")

    section = region(signed_in(supervisor).get(tab_url(active_client)), 'id="plans"')

    assert "Current plan" in text(section)
    assert "Create Treatment Plan" not in section


# The choice ---------------------------------------------------------------------------------
def test_create_treatment_plan_asks_write_it_myself_or_generate_with_ai(
    therapist, active_client, signed_in
):
    response = signed_in(therapist).get(choice_url(active_client))

    html = response.content.decode()
    assert response.status_code == 200
    assert text(region(response, "<h1", "</h1>")).endswith("Create Treatment Plan")
    manual = region(response, 'aria-labelledby="choice-manual-title"')
    assert f'href="{base(active_client)}plans/new/">Write it myself</a>' in manual
    ai = region(response, 'aria-labelledby="choice-ai-title"')
    assert "Generate with AI" in ai
    assert post_form_actions(response) == [generate_url(active_client)]
    for legend in ("Length", "Tone", "Format"):
        assert f"<legend>{legend}</legend>" in ai
    # The usual defaults are chosen, so one click generates a draft.
    assert checked(html, "length") == ["medium"]
    assert checked(html, "tone") == ["professional"]
    assert checked(html, "format") == ["structured"]
    assert not PlanGeneration.objects.exists()


@pytest.mark.parametrize("persona", ["supervisor", "colleague", "outsider", "practice_admin"])
def test_only_the_therapist_gets_the_choice(request, persona, active_client, signed_in):
    browser = signed_in(request.getfixturevalue(persona))

    assert browser.get(choice_url(active_client)).status_code == 404


def test_write_it_myself_opens_an_empty_editor(therapist, active_client, signed_in):
    response = signed_in(therapist).get(base(active_client) + "plans/new/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Create Treatment Plan</h1>" in html
    assert re.search(r'<textarea name="html"[^>]*>\s*</textarea>', html)
    assert "Generated draft" not in html


def test_generate_with_ai_shows_progress_then_opens_the_editor_with_the_draft(
    therapist, diagnosed, signed_in, run_tasks
):
    browser = signed_in(therapist)

    response = browser.post(generate_url(diagnosed), OPTIONS)

    generation = PlanGeneration.objects.get()
    assert generation.options == OPTIONS and generation.plan is None
    progress = f"{base(diagnosed)}plans/drafts/{generation.public_id}/"
    assert response.status_code == 302 and response["Location"] == progress
    waiting = browser.get(progress)
    assert "Waiting for the generator" in waiting.content.decode()
    assert "<progress" in waiting.content.decode()

    run_tasks()

    ready = browser.get(progress)
    editor_url = f"{base(diagnosed)}plans/new/?draft={generation.public_id}"
    assert ready["Location"] == editor_url
    editor = browser.get(editor_url).content.decode()
    generation.refresh_from_db()
    assert generation.status == "done" and generation.generator == "knowledge_base"
    assert "Generated draft</strong> (Short · Clinical · Bullet Points)" in editor
    assert "<h1>Create Treatment Plan</h1>" in editor
    textarea = editor.split('<textarea name="html"', 1)[1].split("</textarea>", 1)[0]
    assert "<li>" in unescape(textarea)  # bullet points, from the knowledge base
    assert f'value="{generation.public_id}"' in editor  # saving keeps where it came from
    assert not TreatmentPlan.objects.exists()  # a draft, never a plan until saved


def test_an_option_outside_the_choices_comes_back_to_the_choice_with_its_error(
    therapist, active_client, signed_in
):
    response = signed_in(therapist).post(generate_url(active_client), {**OPTIONS, "length": "epic"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Create Treatment Plan</h1>" in html
    assert "Choose a length, a tone and a format." in html
    errors = text_by_id(response, "id_generate_length_error")
    assert errors and "epic is not one of the available choices" in errors[0]
    assert text_by_id(response, "id_generate_tone_error") is None
    assert checked(html, "tone") == ["clinical"]  # what was chosen is kept
    assert checked(html, "format") == ["bullet_points"]
    assert not PlanGeneration.objects.exists()
    assert not AuditEvent.objects.filter(action="plan.generate").exists()


def test_missing_options_are_each_asked_for(therapist, active_client, signed_in):
    response = signed_in(therapist).post(generate_url(active_client), {})

    for name in ("length", "tone", "format"):
        assert text_by_id(response, f"id_generate_{name}_error") == ["This field is required."]
    assert not PlanGeneration.objects.exists()


def test_an_archived_record_refuses_to_generate_on_the_choice_page(
    therapist, active_client, signed_in
):
    client_services.relationship_archive(relationship=active_client, actor=therapist)

    response = signed_in(therapist).post(generate_url(active_client), OPTIONS)

    assert response.status_code == 200
    assert "Restore this client before changing their record." in response.content.decode()
    assert not PlanGeneration.objects.exists()


def test_bad_options_from_the_editor_of_a_plan_go_back_to_the_tab(
    therapist, active_client, signed_in
):
    plan = make_plan(active_client, effective=0, review=90, title="Current plan")
    browser = signed_in(therapist)

    response = browser.post(
        generate_url(active_client), {**OPTIONS, "tone": "shouty", "plan": str(plan.public_id)}
    )

    assert response.status_code == 302 and response["Location"] == tab_url(active_client)
    assert (
        "Choose a length, a tone and a format."
        in browser.get(tab_url(active_client)).content.decode()
    )
    assert not PlanGeneration.objects.exists()


# The Overview card ---------------------------------------------------------------------------
def card(response: Any) -> str:
    return region(response, 'aria-labelledby="overview-plans-title"')


def test_without_a_plan_the_card_offers_create_treatment_plan(
    therapist, supervisor, active_client, signed_in
):
    markup = card(signed_in(therapist).get(base(active_client)))
    assert "No treatment plan yet" in text(markup)
    assert f'<a href="{choice_url(active_client)}">Create Treatment Plan</a>' in markup
    assert f'href="{tab_url(active_client)}"' in markup  # the title links to the tab

    read_only = card(signed_in(supervisor).get(base(active_client)))
    assert "No treatment plan yet" in text(read_only)
    assert "Create Treatment Plan" not in read_only


@pytest.mark.parametrize(
    ("review", "state"),
    [(60, None), (10, "Expires within 14 days"), (-3, "Expired")],
)
def test_the_card_shows_the_current_plans_review_date_and_its_state(
    therapist, active_client, signed_in, review, state
):
    make_plan(active_client, effective=-200, review=-150, title="First plan")
    plan = make_plan(active_client, effective=-100, review=review, title="Current plan")

    markup = card(signed_in(therapist).get(base(active_client)))

    shown = text(markup)
    assert "Current plan Current plan" in shown and "First plan" not in shown
    review_date = practice_today(active_client) + timedelta(days=review)
    assert f'<a href="{tab_url(active_client)}">{review_date:%-d %b %Y}</a>' in markup
    for other in ("Expires within 14 days", "Expired"):
        assert (other in shown) == (other == state), other
    assert f'href="{base(active_client)}plans/{plan.public_id}/"' in markup


def _queries(action: Any) -> int:
    with CaptureQueriesContext(connection) as captured:
        action()
    return len(captured)


def _with_plans(relationship: CareRelationship, count: int) -> CareRelationship:
    for index in range(count):
        make_plan(relationship, effective=-index - 1, review=90 - index, title=f"Plan {index}")
    return relationship


@pytest.mark.parametrize("part", ["overview", "context"])
def test_the_card_and_the_tab_cost_the_same_queries_for_1_and_25_plans(
    therapist, active_client, part
):
    (section,) = SECTIONS
    compute = getattr(section, part)
    few = _with_plans(active_client, 1)
    many = _with_plans(
        active_relationship(therapist, full_name="Noor Haddad", email="noor@example.com"), 25
    )

    def cost(relationship: CareRelationship) -> int:
        gated = get_relationship_for_user(therapist, relationship.public_id)
        return _queries(lambda: compute(therapist, gated, SYSTEM))

    assert cost(many) == cost(few) == 1

"""Every text field has a visible limit and the server refuses (never cuts) a longer text.

A form's CharField carries `max_length`, which Django renders as the widget's `maxlength`
and checks with a field error; text the views read outside a form (a note's sections) is
held to its limit by the service. The walk finds every form class in the project, so a new
form without a limit fails here.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from typing import Any

import pytest
from django import forms

import caseload
from caseload.documents.fields import AnswerForm, FieldType
from caseload.visits import services
from caseload.visits.models import NOTE_SECTION_MAX_LENGTH, ProgressNote

HTMX = {"HTTP_HX_REQUEST": "true"}


def project_form_classes() -> list[type[forms.BaseForm]]:
    found: dict[str, type[forms.BaseForm]] = {}
    for module in pkgutil.walk_packages(caseload.__path__, "caseload."):
        parts = module.name.split(".")
        if {"tests", "migrations"} & set(parts):
            continue
        loaded = importlib.import_module(module.name)
        for _, cls in inspect.getmembers(loaded, inspect.isclass):
            if issubclass(cls, forms.BaseForm) and cls.__module__ == module.name:
                found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return [found[name] for name in sorted(found)]


FORM_CLASSES = project_form_classes()


def test_the_walk_finds_the_forms_of_every_app():
    apps = {cls.__module__.split(".")[1] for cls in FORM_CLASSES}
    assert {
        "clients",
        "clinical",
        "visits",
        "plans",
        "documents",
        "messaging",
        "practices",
    } <= apps
    assert len(FORM_CLASSES) >= 20


def assert_limited(owner: str, name: str, field: forms.Field) -> None:
    if not isinstance(field, forms.CharField) or isinstance(field, forms.UUIDField):
        return  # a UUID field refuses anything that doesn't parse as one: it has its bound
    assert field.max_length is not None, f"{owner}.{name} has no max_length"
    if field.widget.is_hidden:
        return
    html = field.widget.render(name, "", attrs=field.widget_attrs(field.widget))
    assert re.search(rf'maxlength="{field.max_length}"', html), (
        f"{owner}.{name} renders without maxlength: {html}"
    )


@pytest.mark.parametrize("form_class", FORM_CLASSES, ids=lambda cls: cls.__qualname__)
def test_every_text_field_of_every_form_has_a_limit(form_class):
    for name, field in form_class.base_fields.items():
        assert_limited(form_class.__qualname__, name, field)


def test_the_fields_a_form_template_builds_have_limits():
    """Document templates build their answer fields at run time."""
    specs: list[dict[str, Any]] = [
        {"key": "short", "label": "Short", "type": FieldType.SHORT_TEXT, "required": True},
        {"key": "long", "label": "Long", "type": FieldType.LONG_TEXT, "required": True},
    ]
    form = AnswerForm(specs=specs, final=True)
    for name, field in form.fields.items():
        assert_limited("AnswerForm", name, field)
    assert {"short", "long"} <= set(form.fields)


def test_an_over_long_message_gets_a_field_error():
    from caseload.messaging.forms import MessageForm

    form = MessageForm({"text": "x" * 5001})
    assert not form.is_valid()
    assert "at most 5,000 characters" in form.errors["text"][0]
    assert 'maxlength="5000"' in str(form["text"])


# A note's sections ------------------------------------------------------------------------
def note_url(relationship: Any, session: Any) -> str:
    return f"/clients/{relationship.public_id}/sessions/{session.public_id}/note/"


@pytest.fixture
def session(active_client: Any) -> Any:
    from datetime import timedelta

    from django.utils import timezone

    return services.session_schedule(
        relationship=active_client,
        actor=active_client.therapist,
        starts_at=timezone.now() - timedelta(days=2),
        duration_minutes=50,
        modality="in_person",
    )


TOO_LONG = "Long story. " * 1700 + "THE END"  # 20,407 characters


@pytest.mark.django_db
def test_an_over_long_note_section_is_refused_on_its_field_and_nothing_is_saved(
    therapist, active_client, session, signed_in
):
    assert len(TOO_LONG) > NOTE_SECTION_MAX_LENGTH
    browser = signed_in(therapist)

    response = browser.post(
        note_url(active_client, session),
        {"format": "soap", "section_subjective": "Fine.", "section_plan": TOO_LONG, "save": ""},
    )

    assert response.status_code == 200  # the page again, not a redirect to "Draft saved."
    html = response.content.decode()
    assert "Draft saved" not in html
    assert "a note section can be at most 20,000" in html
    # The error sits on the Plan field, which keeps all that was typed (nothing is lost).
    plan = html.split('id="section-plan-error"', 1)[1].split("</textarea>", 1)[0]
    assert "Plan is 20,407 characters long" in plan
    assert 'aria-invalid="true"' in plan
    assert plan.endswith("THE END")
    assert not ProgressNote.objects.filter(session=session).exists()


@pytest.mark.django_db
def test_an_over_long_autosave_is_refused_and_the_saved_draft_kept(
    therapist, active_client, session, signed_in
):
    services.note_save_draft(
        session=session, actor=therapist, note_format="soap", content={"plan": "Short plan."}
    )
    browser = signed_in(therapist)

    response = browser.post(
        note_url(active_client, session),
        {"format": "soap", "section_plan": TOO_LONG},
        **HTMX,
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "Draft saved" not in html
    assert "a note section can be at most 20,000" in html
    assert ProgressNote.objects.get(session=session).content["plan"] == "Short plan."


@pytest.mark.django_db
def test_a_section_of_exactly_the_limit_is_saved_whole(therapist, active_client, session):
    text = "x" * NOTE_SECTION_MAX_LENGTH
    note = services.note_save_draft(
        session=session, actor=therapist, note_format="free_text", content={"note": text}
    )
    assert note.content["note"] == text


@pytest.mark.django_db
def test_every_text_box_of_the_note_page_shows_its_limit(
    therapist, active_client, session, signed_in
):
    html = (
        signed_in(therapist)
        .get(f"/clients/{active_client.public_id}/sessions/{session.public_id}/")
        .content.decode()
    )
    boxes = re.findall(r"<textarea[^>]*>", html)
    assert boxes
    for box in boxes:
        assert "maxlength=" in box, box

"""Helpers for the documents tests: answers that hit exact totals, assigning and submitting."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from datetime import date
from typing import Any

from django.db.models import Model
from django.template.context import BaseContext
from django.test.utils import ContextList

from caseload.accounts.models import User
from caseload.clients.models import CareRelationship
from caseload.documents import services
from caseload.documents.models import AssignedDocument, TemplateVersion
from caseload.documents.scoring import SCALES

#: The complete answers the library's intake form needs to be submitted.
INTAKE_ANSWERS: dict[str, Any] = {
    "date_of_birth": "1990-04-12",
    "address": "12 Elm Street\nSpringfield",
    "phone": "555-0101",
    "reason": "Worry keeps me up at night.",
    "previous_therapy": "no",
    "sleep": "2",
    "safety_thoughts": "no",
    "safety_attempt": "no",
    "safety_others": "no",
    "emergency_contact": "Raj Patel 555-0102",
}


def answers_for(scale_key: str, total: int, **fixed: int) -> dict[str, str]:
    """Item answers ("0"–"3", as the form posts them) adding up to exactly `total`.

    Items named in `fixed` get that value; the rest are filled in order, 3 at a time.
    """
    scale = SCALES[scale_key]
    values = {item: fixed.get(item, 0) for item in scale.items}
    remaining = total - sum(values.values())
    for item in scale.items:
        if item in fixed:
            continue
        values[item] = min(3, remaining)
        remaining -= values[item]
    if remaining != 0 or any(not 0 <= v <= 3 for v in values.values()):
        raise AssertionError(f"{scale_key} can't add up to {total} with {fixed}")
    assert sum(values.values()) == total
    return {item: str(value) for item, value in values.items()}


def assign(
    relationship: CareRelationship,
    *versions: TemplateVersion,
    actor: User | None = None,
    due_date: date | None = None,
) -> list[AssignedDocument]:
    return services.document_assign(
        relationship=relationship,
        versions=list(versions),
        due_date=due_date,
        actor=actor or relationship.therapist,
    )


def assign_one(
    relationship: CareRelationship, version: TemplateVersion, **kwargs: Any
) -> AssignedDocument:
    (document,) = assign(relationship, version, **kwargs)
    return document


def submit(
    document: AssignedDocument,
    actor: User,
    answers: dict[str, Any],
    *,
    typed_name: str = "",
    consent: bool = False,
) -> AssignedDocument:
    return services.document_submit(
        document=document, actor=actor, answers=answers, typed_name=typed_name, consent=consent
    )


def model_instances(value: Any) -> list[Model]:
    """Every model instance reachable in a template context (dicts, lists, dataclasses)."""
    if isinstance(value, Model):
        return [value]
    if isinstance(value, ContextList | list | tuple | set | frozenset):
        return [found for item in value for found in model_instances(item)]
    if isinstance(value, BaseContext):
        return model_instances(value.flatten())
    if isinstance(value, dict):
        return [found for item in value.values() for found in model_instances(item)]
    if is_dataclass(value) and not isinstance(value, type):
        return [found for f in fields(value) for found in model_instances(getattr(value, f.name))]
    return []


def fresh(document: AssignedDocument) -> AssignedDocument:
    return AssignedDocument.objects.select_related("version", "signature__signer").get(
        pk=document.pk
    )


#: A builder row with every input present, as the browser posts it.
EMPTY_ROW: dict[str, str] = {
    "label": "",
    "type": "short_text",
    "help": "",
    "options": "",
    "min": "",
    "max": "",
    "min_label": "",
    "max_label": "",
}


def builder_post(
    rows: list[dict[str, Any]],
    *,
    title: str = "Sleep check-in",
    intro: str = "",
    initial: int = 0,
    **extra: str,
) -> dict[str, str]:
    """The builder's POST: title, intro, the formset management form and one block per row."""
    data: dict[str, str] = {
        "title": title,
        "intro": intro,
        "fields-TOTAL_FORMS": str(len(rows)),
        "fields-INITIAL_FORMS": str(initial),
        "fields-MIN_NUM_FORMS": "1",
        "fields-MAX_NUM_FORMS": "60",
        "save": "1",
        **extra,
    }
    for index, row in enumerate(rows):
        values = {**EMPTY_ROW, "ORDER": str(index + 1), **row}
        if values.pop("required", True):
            values["required"] = "on"
        for name, value in values.items():
            if value is not None:
                data[f"fields-{index}-{name}"] = value
    return data

"""Reads of the workspace: the My Clients list with its badges, and "What's next"."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse

from caseload.accounts.models import User
from caseload.clients.access import access_for, relationships_visible_to, restore_pending
from caseload.clients.models import CareRelationship, CareState, search_key
from caseload.workspace.registry import ATTENTION_SIGNALS


class ListFilter(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"


LIST_STATES: dict[ListFilter, tuple[str, ...]] = {
    ListFilter.ACTIVE: (CareState.INVITED, CareState.AWAITING_CONSENT, CareState.ACTIVE),
    ListFilter.ARCHIVED: (CareState.ARCHIVED,),
}


@dataclass(frozen=True)
class ClientListParams:
    query: str = ""
    filter: ListFilter = ListFilter.ACTIVE


def with_badges(queryset: QuerySet[CareRelationship]) -> QuerySet[CareRelationship]:
    """Annotate every attention signal the feature apps declare, in the same query."""
    for signal in ATTENTION_SIGNALS:
        queryset = queryset.annotate(**{signal.name: signal.expression()})
    return queryset


def client_list(user: User, params: ClientListParams) -> QuerySet[CareRelationship]:
    """The sidebar list: a constant number of queries whatever the number of clients."""
    queryset = with_badges(
        relationships_visible_to(user)
        .filter(state__in=LIST_STATES[params.filter])
        .select_related(
            "client", "client__guardianship", "therapist", "therapist__membership__supervisor"
        )
        .annotate(restore_pending=restore_pending())
        .order_by("client__full_name", "pk")
    )
    if params.query:
        queryset = queryset.filter(client__search_text__contains=search_key(params.query))
    return queryset


def client_rows(user: User, params: ClientListParams) -> list[CareRelationship]:
    """The list's rows, each with the access the gate would give (`row.access`), so the
    badges ask it ("is this my client?") instead of comparing ids in the template."""
    rows = list(client_list(user, params))
    for row in rows:
        row.access = access_for(user, row)
    return rows


def attach_badges(relationship: CareRelationship) -> CareRelationship:
    """Copy the badge annotations onto one relationship that came through the gate."""
    names = [signal.name for signal in ATTENTION_SIGNALS]
    values = with_badges(CareRelationship.objects.filter(pk=relationship.pk)).values(*names).get()
    for name in names:
        setattr(relationship, name, values[name])
    return relationship


def whats_next(relationship: CareRelationship) -> list[dict[str, Any]]:
    """MC-2: derived from data, never stored ticks."""
    profile = reverse("workspace:detail", args=[relationship.public_id])
    return [
        {
            "label": "Schedule the first session",
            "url": reverse("visits:session_new", args=[relationship.public_id]),
            "done": relationship.sessions.exists(),
        },
        {
            "label": "Assign intake documents",
            "url": f"{profile}#documents",
            "done": relationship.documents.exists(),
        },
        {
            "label": "Set up a treatment plan",
            "url": reverse("plans:new", args=[relationship.public_id]),
            "done": relationship.treatment_plans.exists(),
        },
    ]

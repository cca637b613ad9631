"""Reads of the workspace: the My Clients list with its badges, and "What's next"."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from functools import cache
from typing import Any
from urllib.parse import urlencode

from django.db.models import DateTimeField, F, OuterRef, QuerySet, Subquery
from django.urls import reverse

from caseload.accounts.models import User
from caseload.clients.access import (
    access_for,
    is_clinician,
    relationships_visible_to,
    restore_pending,
)
from caseload.clients.models import CareRelationship, CareState, search_key
from caseload.lib.expressions import CurrentTime
from caseload.lib.prepared import PreparedQuery, PreparedQueryError, prepared
from caseload.practices.models import Membership
from caseload.visits.models import SessionStatus, TherapySession
from caseload.workspace.registry import ATTENTION_SIGNALS

#: Rows per page of the My Clients list; "Show more" brings the next page.
PAGE_SIZE = 50
#: The highest page number the list accepts (50,000 clients): beyond it is a bad request.
MAX_PAGE = 1000


class ListFilter(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"


class ListSort(StrEnum):
    NAME = "name"
    NEXT = "next"
    RECENT = "recent"


LIST_STATES: dict[ListFilter, tuple[str, ...]] = {
    ListFilter.ACTIVE: (CareState.INVITED, CareState.AWAITING_CONSENT, CareState.ACTIVE),
    ListFilter.ARCHIVED: (CareState.ARCHIVED,),
}

SORT_LABELS: dict[ListSort, str] = {
    ListSort.NAME: "Name",
    ListSort.NEXT: "Next session",
    ListSort.RECENT: "Recently seen",
}

#: A past session with one of these statuses is one the client came to ("last seen").
SEEN_STATUSES = (SessionStatus.SCHEDULED, SessionStatus.COMPLETED)


@dataclass(frozen=True)
class SortLink:
    sort: ListSort
    label: str
    query: str
    current: bool


@dataclass(frozen=True)
class ClientListParams:
    """What the list shows: search, filter, sort and page (parsed through an allow-list)."""

    query: str = ""
    filter: ListFilter = ListFilter.ACTIVE
    sort: ListSort = ListSort.NAME
    page: int = 1

    def querystring(
        self, *, sort: ListSort | None = None, page: int = 1, search: bool = True
    ) -> str:
        """The list's query string for these params (defaults left out): "" or "?…"."""
        pairs: list[tuple[str, str]] = []
        if search and self.query:
            pairs.append(("q", self.query))
        if self.filter != ListFilter.ACTIVE:
            pairs.append(("filter", self.filter.value))
        chosen = sort or self.sort
        if chosen != ListSort.NAME:
            pairs.append(("sort", chosen.value))
        if page > 1:
            pairs.append(("page", str(page)))
        return f"?{urlencode(pairs)}" if pairs else ""

    @property
    def sort_links(self) -> list[SortLink]:
        """One link per sort, keeping the search and the filter (back to the first page)."""
        return [
            SortLink(sort, label, self.querystring(sort=sort), sort == self.sort)
            for sort, label in SORT_LABELS.items()
        ]

    @property
    def list_query(self) -> str:
        """This list from its first page (the way back from a profile)."""
        return self.querystring()

    @property
    def profile_query(self) -> str:
        """What a profile link carries so the list beside it stays as it is (without JS)."""
        return self.querystring(search=False)

    @property
    def next_page_query(self) -> str:
        return self.querystring(page=self.page + 1)


@dataclass(frozen=True)
class ClientPage:
    """One page of the list and how many clients the search and filter match in all."""

    params: ClientListParams
    rows: list[CareRelationship]
    total: int

    @property
    def first(self) -> int:
        return (self.params.page - 1) * PAGE_SIZE + 1

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1

    @property
    def has_more(self) -> bool:
        return self.last < self.total

    @property
    def remaining(self) -> int:
        return max(self.total - self.last, 0)


@cache
def badge_annotations() -> dict[str, Any]:
    """Every attention signal the feature apps declare, built once per process: the signals
    read "now" and "today" when the query runs (`lib.expressions`), not when built."""
    return {signal.name: signal.expression() for signal in ATTENTION_SIGNALS}


def with_badges(queryset: QuerySet[CareRelationship]) -> QuerySet[CareRelationship]:
    """Annotate every attention signal, in the same query (in ATTENTION_SIGNALS order: a
    signal may use an earlier one)."""
    return queryset.annotate(**badge_annotations())


def next_session_at() -> Subquery:
    """Annotation: when the client's next scheduled session starts (None if none is booked)."""
    upcoming = TherapySession.objects.filter(
        relationship=OuterRef("pk"), status=SessionStatus.SCHEDULED, starts_at__gte=CurrentTime()
    ).order_by("starts_at")
    return Subquery(upcoming.values("starts_at")[:1], output_field=DateTimeField())


def last_seen_at() -> Subquery:
    """Annotation: when the client's most recent past session (not cancelled) started."""
    past = TherapySession.objects.filter(
        relationship=OuterRef("pk"), status__in=SEEN_STATUSES, starts_at__lt=CurrentTime()
    ).order_by("-starts_at")
    return Subquery(past.values("starts_at")[:1], output_field=DateTimeField())


@cache
def _row_annotations() -> dict[str, Any]:
    """The list's own annotations, built once like the badges."""
    return {
        "restore_pending": restore_pending(),
        "next_session_at": next_session_at(),
        "last_seen_at": last_seen_at(),
    }


SORT_ORDER: dict[ListSort, tuple[Any, ...]] = {
    ListSort.NAME: ("client_name", "pk"),
    ListSort.NEXT: (F("next_session_at").asc(nulls_last=True), "client_name", "pk"),
    ListSort.RECENT: (F("last_seen_at").desc(nulls_last=True), "client_name", "pk"),
}


def _matching(user: User, params: ClientListParams) -> QuerySet[CareRelationship]:
    """The relationships the filter and the search select (no annotations: cheap to count)."""
    queryset = relationships_visible_to(user).filter(state__in=LIST_STATES[params.filter])
    if params.query:
        queryset = queryset.filter(search_text__contains=search_key(params.query))
    return queryset


def client_list(user: User, params: ClientListParams) -> QuerySet[CareRelationship]:
    """The whole list in its sort order, badges and next/last session annotated: one query
    whatever the number of clients. `params.page` is ignored here (see `client_page`)."""
    return with_badges(
        _matching(user, params)
        .select_related(
            "client", "client__guardianship", "therapist", "therapist__membership__supervisor"
        )
        .annotate(**_row_annotations())
        .order_by(*SORT_ORDER[params.sort])
    )


def client_count(user: User, params: ClientListParams) -> int:
    """How many clients the filter and the search match ("24 active")."""
    return _matching(user, params).count()


def _run_values(user: User, params: ClientListParams) -> dict[str, Any]:
    membership = user.membership
    return {
        "user_id": user.pk,
        "membership_id": membership.pk,
        "practice_id": membership.practice_id,
        "search": search_key(params.query),
    }


#: Stand-ins the list's query is compiled with (`lib.prepared`), replaced on each run.
_STAND_INS: dict[str, int | str] = {
    "user_id": -918_273_645_001,
    "membership_id": -918_273_645_002,
    "practice_id": -918_273_645_003,
}
_SEARCH_STAND_IN = "zqxsearchstandinqz"
_PK_STAND_IN = -918_273_645_004


def _prepared_list(
    user: User, params: ClientListParams, *, counting: bool = False
) -> PreparedQuery[CareRelationship]:
    """The list's query compiled once per process for each shape (role, filter, sort, with or
    without a search; `lib.prepared` adds the time zone): compiling it cost more CPU than
    running it. `counting`: the bare selection `client_count` counts, compiled the same way."""
    role = user.membership.role
    search = _SEARCH_STAND_IN if params.query else ""
    stand_ins = {**_STAND_INS, "search": search} if search else dict(_STAND_INS)

    def build() -> QuerySet[CareRelationship]:
        stand_in = User(pk=_STAND_INS["user_id"])
        stand_in.membership = Membership(
            pk=_STAND_INS["membership_id"],
            practice_id=_STAND_INS["practice_id"],
            user=stand_in,
            role=role,
        )
        if search_key(search) != search:
            raise PreparedQueryError("The search stand-in must be its own search key.")
        stand_in_params = replace(params, query=search, page=1)
        if counting:
            return _matching(stand_in, stand_in_params).order_by()
        return client_list(stand_in, stand_in_params)

    # The visibility rule reads the membership; the user's own id is replaced if used.
    sort = None if counting else params.sort
    key = ("workspace.client_list", counting, role, params.filter, sort, bool(search))
    return prepared(key, build, stand_ins, optional=("user_id",))


def client_rows(user: User, params: ClientListParams) -> list[CareRelationship]:
    """The rows of `params.page`, each with the access the gate would give (`row.access`), so
    the badges ask it ("is this my client?") instead of comparing ids in the template.

    The same query as `client_list(user, params)` sliced to the page, compiled once
    (`_prepared_list`; a test compares the two)."""
    if not is_clinician(user):
        return []
    rows = _prepared_list(user, params).run(
        _run_values(user, params), offset=(params.page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    for row in rows:
        row.access = access_for(user, row)
    return rows


def client_page(user: User, params: ClientListParams) -> ClientPage:
    """One page of the list and the total: two queries, whatever the size of the caseload."""
    if not is_clinician(user):
        return ClientPage(params=params, rows=[], total=0)
    # The count's query compiled once too (`client_count`, the same selection; a test compares).
    total = _prepared_list(user, params, counting=True).count(_run_values(user, params))
    return ClientPage(params=params, rows=client_rows(user, params), total=total)


def attach_badges(relationship: CareRelationship) -> CareRelationship:
    """Copy the badge annotations onto one relationship that came through the gate."""
    names = [signal.name for signal in ATTENTION_SIGNALS]
    query = prepared(
        ("workspace.badges",),
        lambda: with_badges(CareRelationship.objects.filter(pk=_PK_STAND_IN)).values(*names),
        {"pk": _PK_STAND_IN},
    )
    [values] = query.run({"pk": relationship.pk})
    for name in names:
        setattr(relationship, name, values[name])
    return relationship


def whats_next(relationship: CareRelationship) -> list[dict[str, Any]]:
    """MC-2: derived from data, never stored ticks."""
    items = [
        {
            "label": "Schedule the first session",
            "url": reverse("visits:session_new", args=[relationship.public_id]),
            "done": relationship.sessions.exists(),
        },
        {
            "label": "Assign intake documents",
            "url": reverse("workspace:documents", args=[relationship.public_id]),
            "done": relationship.documents.exists(),
        },
        {
            "label": "Set up a treatment plan",
            "url": reverse("plans:create", args=[relationship.public_id]),
            "done": relationship.treatment_plans.exists(),
        },
    ]
    return items if not all(item["done"] for item in items) else []

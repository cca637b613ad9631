"""The My Clients query compiled once per process (`lib.prepared`) is the query Django would
compile for each request: same SQL, same parameters, same rows — for every user, filter, sort
and search — and the clock is read at each run, not at the first."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db.models import Value
from django.utils import timezone

from caseload.clients.models import CareRelationship, search_key
from caseload.lib.prepared import PreparedQuery, PreparedQueryError, _looks_like_a_date
from caseload.practices.models import Membership
from caseload.visits.models import SessionStatus
from caseload.workspace.selectors import (
    PAGE_SIZE,
    ClientListParams,
    ListFilter,
    ListSort,
    _prepared_list,
    client_count,
    client_list,
    client_page,
    client_rows,
)
from tests.factories import TherapySessionFactory, active_relationship, pending_relationship

pytestmark = pytest.mark.django_db


def values_for(user, params):
    return {
        "user_id": user.pk,
        "membership_id": user.membership.pk,
        "practice_id": user.membership.practice_id,
        "search": search_key(params.query),
    }


def comparable(params):
    """Parameters with the clock's values reduced to their type (they move between reads),
    and psycopg's JSON wrappers (which don't compare) to what they wrap."""
    return tuple(
        "date"
        if isinstance(p, date) or (isinstance(p, str) and _looks_like_a_date(p))
        else (p.obj if type(p).__name__ == "Jsonb" else p)
        for p in params
    )


@pytest.mark.parametrize("persona", ["therapist", "supervisor", "colleague"])
@pytest.mark.parametrize(
    "params",
    [
        ClientListParams(),
        ClientListParams(query="Ana"),
        ClientListParams(query="50%_o'k\\"),
        ClientListParams(filter=ListFilter.ARCHIVED, sort=ListSort.RECENT),
        ClientListParams(sort=ListSort.NEXT, page=2),
    ],
)
def test_prepared_query_is_the_fresh_query(
    practice, therapist, supervisor, colleague, persona, params
):
    active_relationship(therapist, full_name="Ana Lima", email="ana@example.com")
    active_relationship(therapist, full_name="Anna Berg", email="anna@example.com")
    pending_relationship(colleague, full_name="Anabel Cruz", email="anabel@example.com")
    user = {"therapist": therapist, "supervisor": supervisor, "colleague": colleague}[persona]
    user.membership = Membership.objects.select_related("practice").get(user=user)

    prepared_sql, prepared_params = _prepared_list(user, params).sql_with_params(
        values_for(user, params)
    )
    fresh_sql, fresh_params = client_list(user, params).query.sql_with_params()

    assert prepared_sql == fresh_sql
    assert comparable(prepared_params) == comparable(fresh_params)
    offset = (params.page - 1) * PAGE_SIZE
    fresh_rows = list(client_list(user, params)[offset : offset + PAGE_SIZE])
    prepared_rows = client_rows(user, params)
    assert [row.pk for row in prepared_rows] == [row.pk for row in fresh_rows]
    for fresh, prepared in zip(fresh_rows, prepared_rows, strict=True):
        assert prepared.client.full_name == fresh.client.full_name
        assert prepared.notes_due == fresh.notes_due
        assert prepared.next_session_at == fresh.next_session_at
    # The count is compiled once too, and counts what Django's count() counts.
    assert client_page(user, params).total == client_count(user, params)


def test_search_is_escaped_like_a_fresh_query(practice, therapist):
    active_relationship(therapist, full_name="Ana Lima", email="ana@example.com")
    active_relationship(therapist, full_name="Ben 100% Cruz", email="ben@example.com")
    therapist.membership = Membership.objects.get(user=therapist)
    names = lambda query: [  # noqa: E731
        row.client.full_name for row in client_rows(therapist, ClientListParams(query=query))
    ]
    assert names("%") == ["Ben 100% Cruz"]
    assert names("_") == []
    assert names("lima") == ["Ana Lima"]


def test_the_clock_is_read_at_each_run(practice, therapist):
    """A session an hour ahead is the next session; once its time has passed (the same
    prepared query, run later), it is no longer 'next'."""
    relationship = active_relationship(therapist, full_name="Ana Lima", email="ana@example.com")
    therapist.membership = Membership.objects.get(user=therapist)
    session = TherapySessionFactory(
        relationship=relationship,
        starts_at=timezone.now() + timedelta(hours=1),
        status=SessionStatus.SCHEDULED,
    )
    [row] = client_rows(therapist, ClientListParams())
    assert row.next_session_at == session.starts_at
    session.starts_at = timezone.now() - timedelta(minutes=5)
    session.save(update_fields=["starts_at"])
    [row] = client_rows(therapist, ClientListParams())
    assert row.next_session_at is None
    assert row.last_seen_at == session.starts_at


def test_a_frozen_time_is_refused(practice):
    queryset = CareRelationship.objects.annotate(at=Value(datetime.now(tz=UTC)))
    with pytest.raises(PreparedQueryError, match="not read from the clock"):
        PreparedQuery.compile(queryset, {})


def test_a_stand_in_missing_from_the_query_is_refused(practice):
    with pytest.raises(PreparedQueryError, match="not a parameter"):
        PreparedQuery.compile(CareRelationship.objects.all(), {"practice_id": -918_273_645_009})


def test_a_sliced_queryset_is_refused(practice):
    with pytest.raises(PreparedQueryError, match="unsliced"):
        PreparedQuery.compile(CareRelationship.objects.all()[:5], {})

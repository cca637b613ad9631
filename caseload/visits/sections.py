"""What visits shows in the client workspace: its profile section(s) and attention signals."""

from __future__ import annotations

from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from django.core.exceptions import BadRequest
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from caseload.accounts.models import User
from caseload.clients.models import CareRelationship
from caseload.clients.sections import AttentionSignal, ProfileSection
from caseload.lib.http import AuditContext
from caseload.visits.charts import ScoreTuple, trend_charts
from caseload.visits.models import NoteStatus, ProgressNote, TherapySession
from caseload.visits.selectors import (
    addendum_after_cosignature_q,
    mood_series,
    past_sessions_page,
    sessions_overview,
    unsigned_past_sessions_q,
    upcoming_sessions,
)

#: Questionnaire totals to chart beside mood, by scoring key: (when, total, severity).
Scores = dict[str, list[ScoreTuple]]


def session_cursor(raw: str | None) -> UUID | None:
    """The `?before=` of "Show earlier": a session's public id. Anything else is a 400."""
    if not raw:
        return None
    try:
        return UUID(raw)
    except ValueError:
        raise BadRequest("Unknown page of sessions.") from None


def sessions_context(
    user: User,
    relationship: CareRelationship,
    scores: Scores | None = None,
    *,
    before: str | None = None,
) -> dict[str, Any]:
    """The Sessions & Notes tab: the next few sessions, a page of past sessions (newest first,
    older than the session `before` when given) and the latest scores as charts. Its queries
    don't grow with the history. `scores` are questionnaire totals to chart beside mood (the
    workspace passes them from documents: visits doesn't import it)."""
    now = timezone.now()
    zone = relationship.practice.time_zone
    upcoming = upcoming_sessions(relationship, now=now)
    history = past_sessions_page(relationship, before=session_cursor(before), now=now)
    more_from = upcoming.more_from
    return {
        "relationship": relationship,
        "sessions_can_edit": relationship.access.can_write,
        "sessions_in_agenda": relationship.access.is_owner,  # the agenda lists one's own
        "upcoming_sessions": upcoming.sessions,
        "upcoming_more_on": (
            timezone.localtime(more_from.starts_at, ZoneInfo(zone)).date() if more_from else None
        ),
        "past_sessions": history.sessions,
        "earlier_cursor": history.earlier,
        "history_is_earlier_page": bool(before),
        "trend_charts": trend_charts(mood_series(relationship), scores or {}),
        "practice_zone": zone,
    }


def sessions_overview_context(
    viewer: User, relationship: CareRelationship, audit_context: AuditContext
) -> dict[str, Any]:
    """The Overview card: next session, last session, notes due (three queries)."""
    return {"sessions_overview": sessions_overview(relationship)}


def _notes_due() -> Coalesce:
    unsigned = (
        TherapySession.objects.filter(unsigned_past_sessions_q(), relationship=OuterRef("pk"))
        .values("relationship")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(unsigned, output_field=IntegerField()), 0)


def _notes_to_cosign() -> Coalesce:
    awaiting = (
        ProgressNote.objects.filter(
            Q(status=NoteStatus.SIGNED) | addendum_after_cosignature_q(),
            session__relationship=OuterRef("pk"),
        )
        .values("session__relationship")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(awaiting, output_field=IntegerField()), 0)


def _note_high_risk() -> Exists:
    """The client's latest signed risk assessment is high risk without a documented safety
    plan. A later note that leaves the optional assessment out doesn't clear it: only a new
    risk level (or the safety plan reviewed) does."""
    latest = (
        ProgressNote.objects.filter(
            session__relationship=OuterRef(OuterRef("pk")),
            status__in=[NoteStatus.SIGNED, NoteStatus.COSIGNED],
            risk_assessment__risk_level__isnull=False,
        )
        .order_by("-session__starts_at", "-pk")
        .values("pk")[:1]
    )
    no_safety_plan = Q(risk_assessment__safety_plan_reviewed__isnull=True) | Q(
        risk_assessment__safety_plan_reviewed="no"
    )
    return Exists(
        ProgressNote.objects.filter(
            no_safety_plan, pk=Subquery(latest), risk_assessment__risk_level="high"
        )
    )


ATTENTION = [
    AttentionSignal("notes_due", _notes_due),
    AttentionSignal("notes_to_cosign", _notes_to_cosign),
    AttentionSignal("note_high_risk", _note_high_risk),
]


def _sessions_section(
    viewer: User,
    relationship: CareRelationship,
    audit_context: AuditContext,
    *,
    before: str | None = None,
) -> dict[str, Any]:
    """Without questionnaire scores: the workspace replaces this with one that passes them."""
    return sessions_context(viewer, relationship, before=before)


SECTIONS = [
    ProfileSection(
        "sessions",
        "Sessions & Notes",
        "visits/partials/_sessions_section.html",
        _sessions_section,
        overview=sessions_overview_context,
        overview_template="visits/partials/_overview_sessions.html",
        paged=True,
    )
]

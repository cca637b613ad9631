"""What visits shows in the client workspace: its profile section(s) and attention signals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from caseload.accounts.models import User
from caseload.clients.models import CareRelationship
from caseload.clients.sections import AttentionSignal, ProfileSection
from caseload.lib.http import AuditContext
from caseload.visits.charts import trend_charts
from caseload.visits.models import NoteStatus, ProgressNote, TherapySession
from caseload.visits.selectors import sessions_for, unsigned_past_sessions_q

#: Questionnaire totals to chart beside mood, by scoring key: (when, total, severity).
Scores = dict[str, list[tuple[datetime, int, str]]]


def sessions_context(
    user: User,
    relationship: CareRelationship,
    scores: Scores | None = None,
) -> dict[str, Any]:
    """The Sessions & Notes section of the profile. `scores` are questionnaire totals to chart
    beside mood (the workspace passes them from documents: visits doesn't import it)."""
    now = timezone.now()
    sessions = list(sessions_for(relationship))
    upcoming = sorted((s for s in sessions if s.starts_at >= now), key=lambda s: s.starts_at)
    past = [s for s in sessions if s.starts_at < now]
    moods = [(s.starts_at, s.mood_score) for s in sessions if s.mood_score is not None]
    return {
        "relationship": relationship,
        "sessions_can_edit": relationship.access.can_write,
        "upcoming_sessions": upcoming,
        "past_sessions": past,
        "trend_charts": trend_charts(moods, scores or {}),
        "practice_zone": relationship.practice.time_zone,
    }


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
        ProgressNote.objects.filter(status=NoteStatus.SIGNED, session__relationship=OuterRef("pk"))
        .values("session__relationship")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(awaiting, output_field=IntegerField()), 0)


ATTENTION = [
    AttentionSignal("notes_due", _notes_due),
    AttentionSignal("notes_to_cosign", _notes_to_cosign),
]


def _sessions_section(
    viewer: User, relationship: CareRelationship, audit_context: AuditContext
) -> dict[str, Any]:
    """Without questionnaire scores: the workspace replaces this with one that passes them."""
    return sessions_context(viewer, relationship)


SECTIONS = [
    ProfileSection(
        "sessions", "Sessions & Notes", "visits/partials/_sessions_section.html", _sessions_section
    )
]

"""The one explicit list of what the workspace composes, in the order it is shown.

A feature app declares its profile section(s) and attention signals in its own
`sections.py`; adding a feature to the workspace is one line here.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from caseload.accounts.models import User
from caseload.clients.models import CareRelationship
from caseload.clients.sections import AttentionSignal, ProfileSection
from caseload.clinical import sections as clinical
from caseload.documents import sections as documents
from caseload.documents.selectors import score_series
from caseload.lib.http import AuditContext
from caseload.messaging import sections as messaging
from caseload.plans import sections as plans
from caseload.visits import sections as visits
from caseload.workspace import details


def _sessions_with_scores(
    viewer: User,
    relationship: CareRelationship,
    audit_context: AuditContext,
    *,
    before: str | None = None,
) -> dict[str, Any]:
    """Sessions & Notes charts questionnaire totals (documents) beside mood (visits)."""
    scores: visits.Scores = {
        key: [(point.when, point.score, point.severity, point.flagged) for point in points]
        for key, points in score_series(relationship).items()
    }
    return visits.sessions_context(viewer, relationship, scores, before=before)


PROFILE_SECTIONS: tuple[ProfileSection, ...] = (
    *clinical.SECTIONS,
    *details.SECTIONS,
    *(replace(section, context=_sessions_with_scores) for section in visits.SECTIONS),
    *plans.SECTIONS,
    *documents.SECTIONS,
    *messaging.SECTIONS,
)

ATTENTION_SIGNALS: tuple[AttentionSignal, ...] = (
    *details.ATTENTION,
    *clinical.ATTENTION,
    *visits.ATTENTION,
    *plans.ATTENTION,
    *documents.ATTENTION,
    *messaging.ATTENTION,
)

#: The default tab: the client at a glance, composed of each section's `overview`.
OVERVIEW = "overview"
SECTIONS_BY_KEY = {section.key: section for section in PROFILE_SECTIONS}
#: Tabs that are the care core's own details: a GET shows the tab, a POST saves it.
DETAIL_TABS = ("personal", "emergency", "preferences")
FEATURE_TABS = tuple(key for key in SECTIONS_BY_KEY if key not in DETAIL_TABS)

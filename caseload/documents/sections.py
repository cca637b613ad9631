"""What documents shows in the client workspace: its profile section(s) and attention signals."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.core.exceptions import BadRequest
from django.utils import timezone

from caseload.accounts.models import User
from caseload.clients.models import CareRelationship, CareState
from caseload.clients.sections import AttentionSignal, ProfileSection
from caseload.documents.forms import AssignForm, ScheduleForm
from caseload.documents.selectors import (
    UnknownCursor,
    assign_choices,
    documents_overview_for,
    documents_page,
    flagged_exists,
    running_schedules,
    to_review_subquery,
)
from caseload.lib.http import AuditContext


def parse_cursor(value: str | None) -> UUID | None:
    """A "Show earlier" cursor from the query string (a document's public id), or None; a
    malformed one is a bad request (400)."""
    if not value:
        return None
    try:
        return UUID(value)
    except ValueError:
        raise BadRequest("Unknown document.") from None


# The profile's Documents tab ----------------------------------------------------------------
def document_rows_context(
    relationship: CareRelationship, *, before: UUID | None = None
) -> dict[str, Any]:
    """The newest page of documents, or the page after the document `before` (BadRequest if
    it is unknown), with what their rows need."""
    try:
        page = documents_page(relationship, before=before)
    except UnknownCursor:
        raise BadRequest("Unknown document.") from None
    return {
        "relationship": relationship,
        "documents": page.documents,
        "documents_earlier": page.earlier,
        "documents_is_latest": page.is_latest,
        # Reminders go to active clients only (an invited one hasn't signed up yet).
        "documents_can_remind": relationship.access.can_write
        and relationship.state == CareState.ACTIVE,
        "today": timezone.localdate(),
    }


def documents_context(
    user: User,
    relationship: CareRelationship,
    assign_form: AssignForm | None = None,
    *,
    before: UUID | None = None,
) -> dict[str, Any]:
    """The Documents section: a page of documents and, for the owner, the Assign form."""
    can_edit = relationship.access.can_write
    return {
        **document_rows_context(relationship, before=before),
        "assign_form": (assign_form or AssignForm(choices=assign_choices(user)))
        if can_edit
        else None,
        "schedules": running_schedules(relationship),
        "schedule_form": ScheduleForm() if can_edit else None,
    }


def documents_tab(
    viewer: User,
    relationship: CareRelationship,
    audit_context: AuditContext,
    *,
    before: str | None = None,
) -> dict[str, Any]:
    """The Documents tab; `before` is the tab's `?before=` ("Show earlier" without JavaScript)."""
    return documents_context(viewer, relationship, before=parse_cursor(before))


def documents_overview(
    viewer: User, relationship: CareRelationship, audit_context: AuditContext
) -> dict[str, Any]:
    """The Overview's Documents card: documents to review (and whether one needs immediate
    attention), the latest PHQ-9 and GAD-7 with their band and change. One query."""
    return {"documents_overview": documents_overview_for(relationship)}


ATTENTION = [
    AttentionSignal("documents_to_review", to_review_subquery),
    AttentionSignal("document_flagged", flagged_exists),
]
SECTIONS = [
    ProfileSection(
        "documents",
        "Documents",
        "documents/partials/_documents_section.html",
        documents_tab,
        overview=documents_overview,
        overview_template="documents/partials/_overview_documents.html",
        paged=True,
    )
]

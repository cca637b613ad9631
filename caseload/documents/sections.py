"""What documents shows in the client workspace: its profile section(s) and attention signals."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Exists, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from caseload.accounts.models import User
from caseload.clients.models import CareRelationship, CareState
from caseload.clients.sections import AttentionSignal, ProfileSection
from caseload.documents.forms import AssignForm
from caseload.documents.models import AssignedDocument, DocumentStatus
from caseload.documents.selectors import assign_choices, documents_for


# The profile's Documents section -----------------------------------------------------------
def documents_context(
    user: User, relationship: CareRelationship, assign_form: AssignForm | None = None
) -> dict[str, Any]:
    can_edit = relationship.access.can_write
    return {
        "relationship": relationship,
        "documents": list(documents_for(relationship)),
        # Reminders go to active clients only (an invited one hasn't signed up yet).
        "documents_can_remind": can_edit and relationship.state == CareState.ACTIVE,
        "assign_form": (assign_form or AssignForm(choices=assign_choices(user)))
        if can_edit
        else None,
        "today": timezone.localdate(),
    }


_TO_REVIEW = (DocumentStatus.COMPLETED, DocumentStatus.SIGNED)


def _documents_to_review() -> Coalesce:
    to_review = (
        AssignedDocument.objects.filter(relationship=OuterRef("pk"), status__in=_TO_REVIEW)
        .values("relationship")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(to_review, output_field=IntegerField()), 0)


def _document_flagged() -> Exists:
    return Exists(
        AssignedDocument.objects.filter(
            relationship=OuterRef("pk"), flagged=True, status__in=_TO_REVIEW
        )
    )


ATTENTION = [
    AttentionSignal("documents_to_review", _documents_to_review),
    AttentionSignal("document_flagged", _document_flagged),
]
SECTIONS = [
    ProfileSection(
        "documents",
        "Documents",
        "documents/partials/_documents_section.html",
        lambda viewer, relationship, audit_context: documents_context(viewer, relationship),
    )
]

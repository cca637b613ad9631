"""What clients and guardians may see. Nothing clinical, by construction.

Portal reads never hand a model instance to a template: they return small dataclasses built
from an explicit list of columns, so a field or relation added to the record later (notes,
plans, diagnoses) cannot reach a portal page unless it is added here on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.db.models import Q, QuerySet
from django.http import Http404

from caseload.accounts.models import User
from caseload.clients.models import CareRelationship, CareState, Invitation

#: The only columns of a care relationship a portal page may read.
PORTAL_RELATIONSHIP_FIELDS = (
    "public_id",
    "state",
    "therapist__full_name",
    "therapist__email",
    "practice__name",
    "client__public_id",
    "client__full_name",
    "client__is_child",
)


@dataclass(frozen=True)
class PortalCare:
    public_id: UUID
    therapist_name: str
    practice_name: str
    client_name: str
    is_child: bool


@dataclass(frozen=True)
class PortalRequest:
    public_id: UUID
    therapist_name: str
    practice_name: str
    client_name: str
    is_child: bool
    is_reconnection: bool


def _spoken_for_by(user: User) -> Q:
    """Relationships whose client is this user, or a child this user is guardian of."""
    return Q(client__account=user, client__is_child=False) | Q(client__guardianship__account=user)


def portal_care(user: User) -> list[PortalCare]:
    rows = (
        CareRelationship.objects.filter(_spoken_for_by(user), state=CareState.ACTIVE)
        .order_by("client__full_name", "therapist__full_name")
        .values(*PORTAL_RELATIONSHIP_FIELDS)
    )
    return [
        PortalCare(
            public_id=row["public_id"],
            therapist_name=row["therapist__full_name"] or row["therapist__email"],
            practice_name=row["practice__name"],
            client_name=row["client__full_name"],
            is_child=row["client__is_child"],
        )
        for row in rows
    ]


def _pending_invitations(user: User) -> QuerySet[Invitation]:
    return Invitation.objects.usable().filter(
        Q(relationship__client__account=user, relationship__client__is_child=False)
        | Q(relationship__client__guardianship__account=user),
        email__iexact=user.email,
    )


def portal_requests(user: User) -> list[PortalRequest]:
    rows = (
        _pending_invitations(user)
        .order_by("created_at")
        .values(
            "public_id",
            "relationship__state",
            "relationship__therapist__full_name",
            "relationship__therapist__email",
            "relationship__practice__name",
            "relationship__client__full_name",
            "relationship__client__is_child",
        )
    )
    return [
        PortalRequest(
            public_id=row["public_id"],
            therapist_name=row["relationship__therapist__full_name"]
            or row["relationship__therapist__email"],
            practice_name=row["relationship__practice__name"],
            client_name=row["relationship__client__full_name"],
            is_child=row["relationship__client__is_child"],
            is_reconnection=row["relationship__state"] == CareState.ARCHIVED,
        )
        for row in rows
    ]


def get_request_for_user(user: User, public_id: UUID) -> Invitation:
    """A pending request addressed to this user, or 404."""
    invitation = _pending_invitations(user).filter(public_id=public_id).first()
    if invitation is None:
        raise Http404("No such request.")
    return invitation

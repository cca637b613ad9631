"""What clients and guardians may see. Nothing clinical, by construction.

Portal reads never hand a model instance to a template: they return small dataclasses built
from an explicit list of columns, so a field or relation added to the record later (notes,
plans, diagnoses) cannot reach a portal page unless it is added here on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.http import Http404

from caseload.accounts.models import User, normalize_email
from caseload.clients.access import in_care_of
from caseload.clients.models import CareRelationship, CareState, Invitation, InvitationKind

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


def portal_care(user: User) -> list[PortalCare]:
    rows = (
        CareRelationship.objects.filter(in_care_of(user), state=CareState.ACTIVE)
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
    """Connection requests waiting for this user's answer, about care they act in."""
    return Invitation.objects.usable().filter(
        in_care_of(user, prefix="relationship__"), email__iexact=user.email
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


# The invitation link (anyone holding it, signed in or not) -------------------------------
#: The only columns of an invitation and its care relationship the invitation page may read.
INVITATION_PAGE_FIELDS = (
    "kind",
    "email",
    "relationship__therapist__full_name",
    "relationship__therapist__email",
    "relationship__practice__name",
    "relationship__client__full_name",
    "relationship__client__is_child",
)


@dataclass(frozen=True)
class InvitationPage:
    """What the emailed link's page shows: who invites whom, and how the visitor answers."""

    email: str
    is_connection: bool  # a connection request to an existing account, not a signup
    therapist_name: str
    practice_name: str
    client_name: str
    is_child: bool
    has_account: bool  # the invited address already has an account: sign in to answer
    signed_in_as_invitee: bool  # the visitor may answer right here


def account_exists(email: str) -> bool:
    """An account is registered at this address (the invitee signs in rather than up)."""
    return User.objects.filter(email__iexact=email).exists()


def invitation_page(invitation: Invitation, visitor: User | AnonymousUser) -> InvitationPage:
    """The invitation page for `invitation` (already checked usable), seen by `visitor`."""
    row = Invitation.objects.filter(pk=invitation.pk).values(*INVITATION_PAGE_FIELDS).get()
    email = str(row["email"])
    return InvitationPage(
        email=email,
        is_connection=row["kind"] == InvitationKind.CONNECTION,
        therapist_name=row["relationship__therapist__full_name"]
        or row["relationship__therapist__email"],
        practice_name=row["relationship__practice__name"],
        client_name=row["relationship__client__full_name"],
        is_child=row["relationship__client__is_child"],
        has_account=account_exists(email),
        signed_in_as_invitee=visitor.is_authenticated
        and normalize_email(visitor.email) == normalize_email(email),
    )

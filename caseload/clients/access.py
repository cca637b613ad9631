"""The access gate: who may see a client's record, and what they may do there.

Every lookup of a client's record by a staff member goes through `get_relationship_for_user`
(SECURITY A2). It answers 404 for "missing" and "not yours" alike, and returns the
relationship with an immutable `RecordAccess` computed once, by `access_for`, the one place
that decides "may this user write here". Views, templates and services ask that object;
nobody recomputes the rule.

The portal's rule — whose care a user acts in: their own, or the children they guard — is
here too (`in_care_of`), for documents, messaging and the portal alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from caseload.accounts.models import User
from caseload.clients.models import CareRelationship, CareState, Invitation, InvitationKind
from caseload.practices.models import Membership, Role

#: States in which the therapist may keep the record (write notes, plans, documents).
RECORD_OPEN_STATES = (CareState.INVITED, CareState.ACTIVE)


@dataclass(frozen=True, slots=True)
class RecordAccess:
    """What one staff member may do with one care relationship, decided once."""

    is_owner: bool  # the client's own therapist
    is_supervisor: bool  # the therapist's supervisor: read-only, plus co-signing
    awaiting_approval: bool  # a connection request or a restore invitation not yet accepted
    record_open: bool  # the record may be written: invited or active, nothing awaiting approval
    messaging_open: bool  # the owner may send messages here (the client or guardian signed up)

    @property
    def can_read(self) -> bool:
        """The record (clinical, sessions, plans, documents) may be shown."""
        return (self.is_owner or self.is_supervisor) and not self.awaiting_approval

    @property
    def can_write(self) -> bool:
        return self.is_owner and self.record_open

    @property
    def can_manage(self) -> bool:
        """Archive, restore, resend and remove: the owner only, whatever the state."""
        return self.is_owner


class RecordClosed(Exception):
    """A write to a record that is archived, awaiting approval or ended."""


def record_closed_reason(relationship: CareRelationship) -> str | None:
    """Why the record can't be written now, as a sentence for the user; None when it can."""
    if relationship.state == CareState.ARCHIVED:
        return "Restore this client before changing their record."
    if relationship.state == CareState.AWAITING_CONSENT:
        return "The client hasn't approved your connection request yet."
    if relationship.state not in RECORD_OPEN_STATES:
        return "This client's record is closed."
    return None


def write_refusal(actor: User, relationship: CareRelationship, *, not_owner: str) -> str | None:
    """The one rule for a service about to write a record: why `actor` may not, or None.

    Only the client's own therapist writes (`not_owner` says so in the feature's words), and
    only while the record is open. The gate decided this for a view already; a service called
    from anywhere else is held to the same rule.
    """
    if not access_for(actor, relationship).is_owner:
        return not_owner
    return record_closed_reason(relationship)


def ensure_record_open(relationship: CareRelationship) -> None:
    """The one "record is open" rule every service applies before it writes."""
    reason = record_closed_reason(relationship)
    if reason is not None:
        raise RecordClosed(reason)


def is_clinician(user: User) -> bool:
    membership = getattr(user, "membership", None)
    return membership is not None and membership.role != Role.ADMIN


def is_supervisor_of(user: User, relationship: CareRelationship) -> bool:
    """The staff member supervises the relationship's therapist (same practice)."""
    membership = getattr(relationship.therapist, "membership", None)
    supervisor = membership.supervisor if membership is not None else None
    return supervisor is not None and supervisor.user_id == user.pk


def access_for(user: User, relationship: CareRelationship) -> RecordAccess:
    """Decide, once, what `user` may do with `relationship`.

    `awaiting_approval` comes from the gate's annotation when present, else one query.
    """
    awaiting = getattr(relationship, "restore_pending", None)
    if awaiting is None:  # only an archived record can wait for a reconnection
        awaiting = relationship.state == CareState.ARCHIVED and (
            _restore_invitations().filter(relationship=relationship).exists()
        )
    awaiting = bool(awaiting) or relationship.state == CareState.AWAITING_CONSENT
    is_owner = relationship.therapist_id == user.pk
    record_open = relationship.state in RECORD_OPEN_STATES and not awaiting
    return RecordAccess(
        is_owner=is_owner,
        is_supervisor=not is_owner and is_supervisor_of(user, relationship),
        awaiting_approval=awaiting,
        record_open=record_open,
        messaging_open=is_owner
        and relationship.messaging_enabled
        and relationship.state == CareState.ACTIVE
        and _has_account_holder(relationship),
    )


def _has_account_holder(relationship: CareRelationship) -> bool:
    client = relationship.client
    if client.is_child:
        guardianship = getattr(client, "guardianship", None)
        return guardianship is not None and guardianship.account_id is not None
    return client.account_id is not None


def _restore_invitations() -> QuerySet[Invitation]:
    return Invitation.objects.outstanding().filter(kind=InvitationKind.CONNECTION)


def restore_pending() -> Exists:
    """Annotation: an archived relationship waiting for the client to accept a reconnection."""
    return Exists(
        _restore_invitations().filter(
            relationship=OuterRef("pk"), relationship__state=CareState.ARCHIVED
        )
    )


def relationships_visible_to(user: User) -> QuerySet[CareRelationship]:
    """The one "visible to this user" queryset (SECURITY A2): own clients and supervisees'.

    Practice admins and portal users get nothing here; ended relationships are never visible.
    """
    if not user.is_authenticated or not is_clinician(user):
        return CareRelationship.objects.none()
    # The therapists first (the user and their supervisees: a handful of memberships), then
    # their relationships through the therapist index: the cost follows the user's own
    # caseload, not the practice's (an OR across the join read every relationship of it).
    membership = user.membership
    therapists = Membership.objects.filter(
        Q(pk=membership.pk) | Q(supervisor_id=membership.pk), practice_id=membership.practice_id
    ).values("user_id")
    return CareRelationship.objects.exclude(state=CareState.ENDED).filter(therapist__in=therapists)


def get_relationship_for_user(
    user: User, public_id: UUID | str, *, write: bool = False, record: bool = True
) -> CareRelationship:
    """The gate. 404 for "missing", "not yours" and "read-only but asked to write" alike.

    `record=True` (every record URL): a client awaiting approval answers 404 too; only the
    profile card and the owner's lifecycle actions ask with `record=False`.
    `write=True`: the owner only. Whether the record is open for writing is on
    `relationship.access.record_open`, and services refuse with a sentence when it isn't.
    """
    queryset = relationships_visible_to(user).select_related(
        "client",
        "client__guardianship",
        "therapist",
        "therapist__membership__supervisor",
        "practice",
    )
    queryset = queryset.annotate(restore_pending=restore_pending())
    if write:
        queryset = queryset.filter(therapist=user)
    try:
        relationship = queryset.get(public_id=public_id)
    except (CareRelationship.DoesNotExist, ValueError):
        raise Http404("No such client.") from None
    access = access_for(user, relationship)
    if record and not access.can_read:
        raise Http404("No such client.")
    relationship.access = access
    return relationship


def in_care_of(user: User, prefix: str = "") -> Q:
    """Portal rule: relationships (or rows under `prefix`) whose client is this user, or a
    child this user is the guardian of. Used by documents, messaging and the portal alike."""
    return Q(**{f"{prefix}client__account": user, f"{prefix}client__is_child": False}) | Q(
        **{f"{prefix}client__guardianship__account": user}
    )

"""Every write to clients, care relationships and invitations. One transaction each."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from django.db import IntegrityError, transaction
from django.utils import timezone

from caseload.accounts.models import User, normalize_email
from caseload.audit.services import audit_record
from caseload.clients.access import access_for, record_closed_reason
from caseload.clients.models import (
    OPEN_STATES,
    CareRelationship,
    CareState,
    Client,
    Guardianship,
    Invitation,
    InvitationKind,
    search_key,
)
from caseload.clients.tasks import send_invitation_email
from caseload.lib.email import DeliveryStatus
from caseload.lib.http import SYSTEM, AuditContext
from caseload.practices.models import Membership


class ClientServiceError(Exception):
    """A rule stopped the change; the message is a sentence for the person who asked."""


class DuplicateClientError(ClientServiceError):
    def __init__(self, relationship: CareRelationship) -> None:
        self.relationship = relationship
        super().__init__("You already have this client.")


class AlreadyAddedError(DuplicateClientError):
    """The same Add Client form came in again (a resubmission after a lost answer): the
    client it created is the answer, not an error."""


class StaffAddressError(ClientServiceError):
    pass


class InvitationNotUsable(ClientServiceError):
    pass


@dataclass(frozen=True)
class AddedClient:
    relationship: CareRelationship
    invitation: Invitation


def _refresh_search_text(client: Client) -> None:
    guardianship = getattr(client, "guardianship", None) if client.is_child else None
    client.search_text = search_key(
        client.full_name,
        client.email,
        guardianship.full_name if guardianship else None,
        guardianship.email if guardianship else None,
    )
    client.save(update_fields=["search_text"])


def account_holder(client: Client) -> User | None:
    """The account that speaks for the client: their own, or the guardian's for a child."""
    if client.is_child:
        guardianship = getattr(client, "guardianship", None)
        return guardianship.account if guardianship else None
    return client.account


def contact_email(client: Client) -> str:
    """Where all communication for the client goes (MC-3: the guardian's for a child)."""
    if client.is_child:
        return client.guardianship.email
    assert client.email is not None
    return client.email


def _issue_invitation(
    relationship: CareRelationship, kind: str, *, send: bool = True
) -> Invitation:
    invitation = Invitation(
        relationship=relationship, kind=kind, email=contact_email(relationship.client)
    )
    invitation.rotate_token()
    invitation.save()
    if send:
        send_invitation_email.enqueue(invitation.pk, version=invitation.sent_count)
    return invitation


def _revoke_outstanding(relationship: CareRelationship) -> None:
    relationship.invitations.outstanding().update(revoked_at=timezone.now())


def _open_relationship(therapist: User, client: Client) -> CareRelationship | None:
    return CareRelationship.objects.filter(
        therapist=therapist, client=client, state__in=OPEN_STATES
    ).first()


def _ensure_new_submission(therapist: User, submission_key: UUID | None) -> None:
    if submission_key is None:
        return
    earlier = CareRelationship.objects.filter(
        therapist=therapist, submission_key=submission_key
    ).first()
    if earlier is not None:
        raise AlreadyAddedError(earlier)


def _duplicate(existing: CareRelationship, submission_key: UUID | None) -> DuplicateClientError:
    """The client is this therapist's already: made by this very form, or by an earlier one."""
    if submission_key is not None and existing.submission_key == submission_key:
        return AlreadyAddedError(existing)
    return DuplicateClientError(existing)


@transaction.atomic
def client_add(
    *,
    actor: User,
    full_name: str,
    email: str = "",
    billing_type: str = "",
    is_child: bool = False,
    guardian_name: str = "",
    guardian_email: str = "",
    guardian_relationship: str = "",
    submission_key: UUID | None = None,
    therapist: User | None = None,
    details: Mapping[str, str | date | None] | None = None,
    send_invitation: bool = True,
    audit_context: AuditContext = SYSTEM,
) -> AddedClient:
    """MC-1, MC-3, MC-4: add a client and invite them (or their guardian).

    An address that already has an account gets a connection request instead of a signup
    invitation; an address this therapist already has raises DuplicateClientError.
    `full_name` is what this therapist sees until the person approves (never a name another
    practice typed). The form's `submission_key` makes a resubmission of the same form raise
    AlreadyAddedError with the client it created.
    A clinician adds to their own caseload; a practice admin may name a clinician of the
    practice as `therapist` (a client import). `details` sets Personal Information and
    Emergency Contact fields; `send_invitation=False` creates the invitation unsent (it goes
    out with a later resend).
    """
    therapist = therapist or actor
    if therapist != actor and not (
        actor.membership.is_admin
        and therapist.membership.practice_id == actor.membership.practice_id
        and not therapist.membership.is_admin
    ):
        raise ClientServiceError("Only a practice admin can add clients for a clinician.")
    details = dict(details or {})
    if unknown := set(details) - {*PERSONAL_FIELDS, *EMERGENCY_FIELDS}:
        raise ValueError(f"Not a client detail: {sorted(unknown)}")
    practice = therapist.membership.practice
    full_name = full_name.strip()
    _ensure_new_submission(therapist, submission_key)
    contact = normalize_email(guardian_email if is_child else email)
    if Membership.objects.filter(user__email__iexact=contact).exists():
        # Staff accounts have no portal: such an address can't receive client invitations.
        raise StaffAddressError(
            "This address belongs to a Caseload staff account. Use the client's personal address."
        )
    if is_child:
        duplicate = CareRelationship.objects.filter(
            therapist=therapist,
            state__in=OPEN_STATES,
            client__is_child=True,
            client_name__iexact=full_name,
            client__guardianship__email__iexact=contact,
        ).first()
        if duplicate:
            raise DuplicateClientError(duplicate)
        holder = User.objects.filter(email__iexact=contact).first()
        client = Client.objects.create(full_name=full_name, is_child=True)
        Guardianship.objects.create(
            child=client,
            full_name=guardian_name.strip(),
            email=contact,
            relationship=guardian_relationship,
            account=holder,
        )
    else:
        holder = User.objects.filter(email__iexact=contact).first()
        client_or_none = Client.objects.filter(email__iexact=contact).first()
        if client_or_none is None:
            try:
                with transaction.atomic():
                    client_or_none = Client.objects.create(
                        full_name=full_name, email=contact, account=holder
                    )
            except IntegrityError:
                # Another request created this client a moment ago: it is theirs to share.
                client_or_none = Client.objects.get(email__iexact=contact)
        client = client_or_none
        existing = _open_relationship(therapist, client)
        if existing:
            raise _duplicate(existing, submission_key)
        if client.account is None and holder is not None:
            client.account = holder
            client.save(update_fields=["account"])
    _refresh_search_text(client)

    state = CareState.AWAITING_CONSENT if holder is not None else CareState.INVITED
    relationship = CareRelationship(
        therapist=therapist,
        practice=practice,
        client=client,
        client_name=full_name,
        submission_key=submission_key,
        state=state,
        billing_type=billing_type if practice.billing_enabled else "",
        **details,
    )
    relationship.refresh_search_text()
    try:
        with transaction.atomic():
            relationship.save()
    except IntegrityError:
        # Another request added the same client (or sent the same form) a moment ago.
        _ensure_new_submission(therapist, submission_key)
        existing = _open_relationship(therapist, client)
        if existing is None:
            raise
        raise _duplicate(existing, submission_key) from None
    kind = InvitationKind.CONNECTION if holder is not None else InvitationKind.SIGNUP
    invitation = _issue_invitation(relationship, kind, send=send_invitation)
    audit_record(
        action="client.add",
        actor=actor,
        audit_context=audit_context,
        client=client,
        obj=relationship,
        detail={"invitation": kind},
    )
    return AddedClient(relationship=relationship, invitation=invitation)


@transaction.atomic
def invitation_resend(
    *, relationship: CareRelationship, actor: User, audit_context: AuditContext = SYSTEM
) -> Invitation:
    """Send the outstanding invitation again with a fresh link (the old link stops working)."""
    _ensure_owner(actor, relationship)
    invitation = relationship.invitations.select_for_update().outstanding().first()
    if invitation is None:
        raise ClientServiceError("There is no invitation waiting to be accepted.")
    invitation.rotate_token()
    invitation.delivery_status = DeliveryStatus.QUEUED
    invitation.delivery_error = ""
    invitation.delivery_message_id = ""  # a new link is a new email
    invitation.sent_count += 1
    invitation.save(
        update_fields=[
            "nonce",
            "token_hash",
            "expires_at",
            "delivery_status",
            "delivery_error",
            "delivery_message_id",
            "sent_count",
        ]
    )
    send_invitation_email.enqueue(invitation.pk, version=invitation.sent_count)
    audit_record(
        action="invitation.resend",
        actor=actor,
        audit_context=audit_context,
        client=relationship.client,
        obj=invitation,
    )
    return invitation


def invitation_for_token(token: str) -> Invitation | None:
    """The invitation a link points at, whatever its state (the caller checks usability)."""
    if not token or len(token) > 128:
        return None
    return (
        Invitation.objects.select_related(
            "relationship__therapist", "relationship__practice", "relationship__client"
        )
        .filter(token_hash=Invitation.hash_token(token))
        .first()
    )


def _lock_usable(invitation: Invitation, user: User) -> Invitation:
    locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if not locked.is_usable:
        raise InvitationNotUsable(
            "This invitation has already been used, withdrawn or has expired."
        )
    if normalize_email(user.email) != normalize_email(locked.email):
        raise InvitationNotUsable("This invitation was sent to a different email address.")
    return locked


@transaction.atomic
def invitation_accept(
    *, invitation: Invitation, actor: User, audit_context: AuditContext = SYSTEM
) -> CareRelationship:
    """The addressed person accepts (signup completed, or a connection request approved).

    Only the invited address can accept; a second accept raises InvitationNotUsable and
    changes nothing (SECURITY I6).
    """
    invitation = _lock_usable(invitation, actor)
    relationship = CareRelationship.objects.select_for_update().get(pk=invitation.relationship_id)
    client = relationship.client
    if client.is_child:
        Guardianship.objects.filter(child=client, account__isnull=True).update(account=actor)
    elif client.account_id is None:
        client.account = actor
        client.save(update_fields=["account"])
    elif client.account_id != actor.pk:
        raise InvitationNotUsable("This invitation was sent to a different account.")
    if not client.is_child and actor.full_name.strip():
        # Approved: from now on the therapist sees the name the person gives themselves.
        relationship.client_name = actor.full_name.strip()
        relationship.refresh_search_text()
        relationship.save(update_fields=["client_name", "search_text"])
    now = timezone.now()
    invitation.accepted_at = now
    invitation.accepted_by = actor
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    if relationship.state != CareState.ENDED:
        relationship.state = CareState.ACTIVE
        relationship.activated_at = now
        relationship.archived_at = None
        relationship.save(update_fields=["state", "activated_at", "archived_at"])
    audit_record(
        action="invitation.accept",
        actor=actor,
        audit_context=audit_context,
        client=client,
        obj=invitation,
        practice=relationship.practice,
    )
    return relationship


@transaction.atomic
def invitation_decline(
    *, invitation: Invitation, actor: User, audit_context: AuditContext = SYSTEM
) -> CareRelationship:
    """The addressed person declines: a new connection ends; a reconnection stays archived."""
    invitation = _lock_usable(invitation, actor)
    relationship = CareRelationship.objects.select_for_update().get(pk=invitation.relationship_id)
    now = timezone.now()
    invitation.declined_at = now
    invitation.save(update_fields=["declined_at"])
    if relationship.state in (CareState.AWAITING_CONSENT, CareState.INVITED):
        relationship.state = CareState.ENDED
        relationship.ended_at = now
        relationship.ended_reason = "declined"
        relationship.save(update_fields=["state", "ended_at", "ended_reason"])
    audit_record(
        action="invitation.decline",
        actor=actor,
        audit_context=audit_context,
        client=relationship.client,
        obj=invitation,
        practice=relationship.practice,
    )
    return relationship


def _ensure_owner(actor: User, relationship: CareRelationship) -> None:
    """Only the client's own therapist manages the relationship (the gate said so already;
    a service called from elsewhere is held to the same rule)."""
    if not access_for(actor, relationship).can_manage:
        raise ClientServiceError("Only the client's therapist can do that.")


def _locked(relationship: CareRelationship) -> CareRelationship:
    return (
        CareRelationship.objects.select_for_update()
        .select_related("client")
        .get(pk=relationship.pk)
    )


@transaction.atomic
def relationship_archive(
    *, relationship: CareRelationship, actor: User, audit_context: AuditContext = SYSTEM
) -> CareRelationship:
    """MC-7: move to Archived, keep everything, revoke outstanding invitations."""
    _ensure_owner(actor, relationship)
    relationship = _locked(relationship)
    if relationship.state not in (CareState.ACTIVE, CareState.INVITED):
        raise ClientServiceError("Only active or pending clients can be archived.")
    relationship.state = CareState.ARCHIVED
    relationship.archived_at = timezone.now()
    relationship.save(update_fields=["state", "archived_at"])
    _revoke_outstanding(relationship)
    audit_record(
        action="client.archive",
        actor=actor,
        audit_context=audit_context,
        client=relationship.client,
        obj=relationship,
    )
    return relationship


@transaction.atomic
def relationship_restore(
    *, relationship: CareRelationship, actor: User, audit_context: AuditContext = SYSTEM
) -> CareRelationship:
    """MC-7: restore directly when the client never signed up; otherwise ask them to accept.

    A client with an account controls their care relationships, so the relationship stays
    archived until they accept the new connection request.
    """
    _ensure_owner(actor, relationship)
    relationship = _locked(relationship)
    if relationship.state != CareState.ARCHIVED:
        raise ClientServiceError("Only archived clients can be restored.")
    if account_holder(relationship.client) is None:
        relationship.state = CareState.INVITED
        relationship.archived_at = None
        relationship.save(update_fields=["state", "archived_at"])
        _revoke_outstanding(relationship)
        _issue_invitation(relationship, InvitationKind.SIGNUP)
        action = "client.restore"
    else:
        if relationship.invitations.outstanding().exists():
            raise ClientServiceError("A reconnection request is already waiting for the client.")
        _issue_invitation(relationship, InvitationKind.CONNECTION)
        action = "client.restore_requested"
    audit_record(
        action=action,
        actor=actor,
        audit_context=audit_context,
        client=relationship.client,
        obj=relationship,
    )
    return relationship


@transaction.atomic
def relationship_remove(
    *, relationship: CareRelationship, actor: User, audit_context: AuditContext = SYSTEM
) -> CareRelationship:
    """MC-7: end the relationship. The record is retained; the therapist loses access."""
    _ensure_owner(actor, relationship)
    relationship = _locked(relationship)
    if relationship.state == CareState.ENDED:
        raise ClientServiceError("This client has already been removed.")
    relationship.state = CareState.ENDED
    relationship.ended_at = timezone.now()
    relationship.ended_reason = "removed"
    relationship.save(update_fields=["state", "ended_at", "ended_reason"])
    _revoke_outstanding(relationship)
    audit_record(
        action="client.remove",
        actor=actor,
        audit_context=audit_context,
        client=relationship.client,
        obj=relationship,
    )
    return relationship


PERSONAL_FIELDS = ("phone", "date_of_birth", "pronouns", "gender", "address")
EMERGENCY_FIELDS = (
    "emergency_name",
    "emergency_relationship",
    "emergency_phone",
    "emergency_email",
)


@transaction.atomic
def relationship_update_details(
    *,
    relationship: CareRelationship,
    section: str,
    values: dict[str, str | date | bool | None],
    actor: User,
    audit_context: AuditContext = SYSTEM,
) -> CareRelationship:
    """MC-6: save one profile section (Personal Information, Emergency Contact, Preferences)."""
    allowed = {
        "personal": PERSONAL_FIELDS,
        "emergency": EMERGENCY_FIELDS,
        "preferences": ("messaging_enabled", "billing_type"),
    }[section]
    relationship = _locked(relationship)
    _ensure_owner(actor, relationship)
    reason = record_closed_reason(relationship)
    if reason is not None:
        raise ClientServiceError(reason)
    changed = [
        name for name in allowed if name in values and getattr(relationship, name) != values[name]
    ]
    for name in changed:
        setattr(relationship, name, values[name])
    if changed:
        relationship.save(update_fields=changed)
    audit_record(
        action=f"client.update_{section}",
        actor=actor,
        audit_context=audit_context,
        client=relationship.client,
        obj=relationship,
        detail={"fields": changed},
    )
    return relationship

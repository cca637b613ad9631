"""Clients, care relationships, guardians and invitations (SPEC "Core model")."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from caseload.lib.email import DeliveryStatus, is_undelivered

if TYPE_CHECKING:
    from caseload.clients.access import RecordAccess


def search_key(*parts: str | None) -> str:
    """Case- and accent-insensitive form used for client search (MC-5)."""
    text = " ".join(part for part in parts if part)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


class BillingType(models.TextChoices):
    CASH_PAY = "cash_pay", "Cash Pay"
    INSURANCE = "insurance", "Insurance"
    NOT_BILLED = "not_billed", "Not Billed"


class GuardianRelationship(models.TextChoices):
    PARENT = "parent", "Parent"
    LEGAL_GUARDIAN = "legal_guardian", "Legal Guardian"
    GRANDPARENT = "grandparent", "Grandparent"
    OTHER = "other", "Other"


class Client(models.Model):
    """A person in care. Adults are identified by email; a child is reached via a guardian."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    full_name = models.CharField(max_length=200)
    email = models.EmailField(max_length=254, null=True, blank=True)
    account = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="client_profile",
    )
    is_child = models.BooleanField(default=False)
    search_text = models.TextField(default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                Lower("email"), condition=Q(email__isnull=False), name="client_email_ci_unique"
            ),
            models.CheckConstraint(
                condition=Q(is_child=True) | Q(email__isnull=False), name="adult_client_has_email"
            ),
        ]

    def __str__(self) -> str:
        return self.full_name


class Guardianship(models.Model):
    """The guardian who manages a child client's account and receives all communication."""

    child = models.OneToOneField(Client, on_delete=models.PROTECT, related_name="guardianship")
    full_name = models.CharField(max_length=200)
    email = models.EmailField(max_length=254)
    relationship = models.CharField(max_length=20, choices=GuardianRelationship.choices)
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="guardianships",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.full_name} for {self.child}"


class CareState(models.TextChoices):
    INVITED = "invited", "Pending"
    AWAITING_CONSENT = "awaiting_consent", "Awaiting approval"
    ACTIVE = "active", "Active"
    ARCHIVED = "archived", "Archived"
    ENDED = "ended", "Ended"


OPEN_STATES = (CareState.INVITED, CareState.AWAITING_CONSENT, CareState.ACTIVE, CareState.ARCHIVED)


class CareRelationship(models.Model):
    """One therapist caring for one client. It owns the clinical record the therapist keeps.

    Personal and emergency-contact details live here, not on the client, so that a new
    therapist starts with an empty record and never sees what a former therapist wrote.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="care_relationships"
    )
    practice = models.ForeignKey(
        "practices.Practice", on_delete=models.PROTECT, related_name="care_relationships"
    )
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="care_relationships")
    #: The client's name as this therapist knows it: the name they typed when adding the
    #: client, then the name the person gives themselves (their account's) once they approve.
    #: Never another practice's: `Client.full_name` is shared and is not shown to staff.
    client_name = models.CharField("client's name", max_length=200, default="")
    #: `search_key` of client_name and the addresses: what My Clients' search matches.
    search_text = models.TextField(default="", editable=False)
    #: The Add Client form's one-off key: a resubmitted form finds the client it created.
    submission_key = models.UUIDField(null=True, blank=True, editable=False)
    state = models.CharField(max_length=20, choices=CareState.choices)
    billing_type = models.CharField(max_length=20, choices=BillingType.choices, blank=True)
    messaging_enabled = models.BooleanField(default=True)

    # Personal Information (MC-6)
    phone = models.CharField(max_length=32, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    gender = models.CharField(max_length=60, blank=True)
    pronouns = models.CharField(max_length=40, blank=True, help_text="e.g. she/her, they/them")
    address = models.TextField(blank=True)

    # Emergency Contact (MC-6)
    emergency_name = models.CharField("name", max_length=200, blank=True)
    emergency_relationship = models.CharField("relationship", max_length=100, blank=True)
    emergency_phone = models.CharField("phone", max_length=32, blank=True)
    emergency_email = models.EmailField("email", max_length=254, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_reason = models.CharField(max_length=20, blank=True)

    #: Set by the access gate (`clients.access.get_relationship_for_user`), never stored.
    access: RecordAccess

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["therapist", "client"],
                condition=~Q(state=CareState.ENDED),
                name="one_open_relationship_per_therapist_client",
            ),
            models.UniqueConstraint(
                fields=["therapist", "submission_key"],
                condition=Q(submission_key__isnull=False),
                name="one_relationship_per_add_client_submission",
            ),
        ]
        indexes = [models.Index(fields=["therapist", "state"])]

    def __str__(self) -> str:
        return f"{self.therapist} → {self.client_name} ({self.state})"

    def refresh_search_text(self) -> None:
        """Recompute `search_text` from this relationship's own name (not saved)."""
        client = self.client
        guardianship = getattr(client, "guardianship", None) if client.is_child else None
        self.search_text = search_key(
            self.client_name,
            client.email,
            guardianship.full_name if guardianship else None,
            guardianship.email if guardianship else None,
        )

    @property
    def is_pending(self) -> bool:
        return self.state == CareState.INVITED

    @property
    def is_awaiting_consent(self) -> bool:
        return self.state == CareState.AWAITING_CONSENT

    @property
    def is_archived(self) -> bool:
        return self.state == CareState.ARCHIVED

    @property
    def can_open_record(self) -> bool:
        """Until an existing account holder consents, the therapist sees only name and email."""
        return self.state in (CareState.INVITED, CareState.ACTIVE, CareState.ARCHIVED)


class InvitationKind(models.TextChoices):
    SIGNUP = "signup", "Signup invitation"
    CONNECTION = "connection", "Connection request"


class InvitationQuerySet(models.QuerySet["Invitation"]):
    def outstanding(self) -> InvitationQuerySet:
        """Neither accepted, declined nor withdrawn (it may have expired)."""
        return self.filter(
            accepted_at__isnull=True, declined_at__isnull=True, revoked_at__isnull=True
        )

    def usable(self) -> InvitationQuerySet:
        return self.outstanding().filter(expires_at__gt=timezone.now())


class Invitation(models.Model):
    """An emailed, single-use, expiring link: a signup invitation or a connection request.

    The link's token is HMAC(SECRET_KEY, nonce): the database holds only the random nonce and
    the token's SHA-256, so a copy of the database alone cannot produce a working link, and the
    email task can rebuild the link from the invitation's id without the token being queued.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    relationship = models.ForeignKey(
        CareRelationship, on_delete=models.PROTECT, related_name="invitations"
    )
    kind = models.CharField(max_length=20, choices=InvitationKind.choices)
    email = models.EmailField(max_length=254, help_text="The address the link is bound to.")
    nonce = models.CharField(max_length=64, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    delivery_status = models.CharField(
        max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED
    )
    delivery_attempts = models.PositiveIntegerField(default=0)
    delivery_error = models.CharField(max_length=300, blank=True)
    # The email's Message-ID, the same for every attempt, and when it was last handed to the
    # mail server: written before the hand-off (send_tracked).
    delivery_message_id = models.CharField(max_length=255, blank=True)
    delivery_handed_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["relationship"],
                condition=Q(
                    accepted_at__isnull=True, declined_at__isnull=True, revoked_at__isnull=True
                ),
                name="one_outstanding_invitation_per_relationship",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.email}"

    # Tokens -----------------------------------------------------------------------------
    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def token(self) -> str:
        digest = hmac.new(
            settings.SECRET_KEY.encode(), f"invitation:{self.nonce}".encode(), hashlib.sha256
        )
        return digest.hexdigest()

    def rotate_token(self) -> None:
        """Give the invitation a fresh link and expiry; any earlier link stops working."""
        self.nonce = secrets.token_hex(32)
        self.token_hash = self.hash_token(self.token())
        self.expires_at = timezone.now() + timedelta(days=settings.INVITATION_VALID_DAYS)

    @property
    def is_usable(self) -> bool:
        return (
            self.accepted_at is None
            and self.declined_at is None
            and self.revoked_at is None
            and self.expires_at > timezone.now()
        )

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def delivery_problem(self) -> bool:
        return is_undelivered(self)

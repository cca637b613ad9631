"""Reads shared by the My Clients views. Every lookup of a client goes through here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from uuid import UUID

from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from caseload.accounts.models import User
from caseload.clients.models import (
    CareRelationship,
    CareState,
    DeliveryStatus,
    Invitation,
    search_key,
)
from caseload.practices.models import Role


class Access(StrEnum):
    """What a staff member may do with a relationship they can see."""

    WRITE = "write"  # the client's own therapist
    READ = "read"  # the therapist's supervisor (read-only)


class ListFilter(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"


LIST_STATES: dict[ListFilter, tuple[str, ...]] = {
    ListFilter.ACTIVE: (CareState.INVITED, CareState.AWAITING_CONSENT, CareState.ACTIVE),
    ListFilter.ARCHIVED: (CareState.ARCHIVED,),
}


def is_clinician(user: User) -> bool:
    membership = getattr(user, "membership", None)
    return membership is not None and membership.role != Role.ADMIN


def relationships_visible_to(user: User) -> QuerySet[CareRelationship]:
    """The one "visible to this user" queryset (SECURITY A2): own clients and supervisees'.

    Practice admins and portal users get nothing here; ended relationships are never visible.
    """
    if not user.is_authenticated or not is_clinician(user):
        return CareRelationship.objects.none()
    return (
        CareRelationship.objects.exclude(state=CareState.ENDED)
        .filter(therapist__membership__practice_id=user.membership.practice_id)
        .filter(Q(therapist=user) | Q(therapist__membership__supervisor__user=user))
    )


def get_relationship_for_user(
    user: User, public_id: UUID | str, *, access: Access = Access.READ
) -> CareRelationship:
    """404 for "missing", "not yours" and "read-only but asked to write" alike."""
    queryset = with_badges(
        relationships_visible_to(user).select_related(
            "client", "client__guardianship", "therapist", "practice"
        )
    )
    if access == Access.WRITE:
        queryset = queryset.filter(therapist=user)
    try:
        return queryset.get(public_id=public_id)
    except (CareRelationship.DoesNotExist, ValueError):
        raise Http404("No such client.") from None


def access_for(user: User, relationship: CareRelationship) -> Access:
    return Access.WRITE if relationship.therapist_id == user.pk else Access.READ


@dataclass(frozen=True)
class ClientListParams:
    query: str = ""
    filter: ListFilter = ListFilter.ACTIVE


def with_badges(queryset: QuerySet[CareRelationship]) -> QuerySet[CareRelationship]:
    """Annotate what the badges show, in the same query (no per-row lookups)."""
    outstanding = Invitation.objects.filter(
        relationship=OuterRef("pk"),
        accepted_at__isnull=True,
        declined_at__isnull=True,
        revoked_at__isnull=True,
    )
    from caseload.visits.models import NoteStatus, ProgressNote, TherapySession
    from caseload.visits.selectors import unsigned_past_sessions_q

    unsigned = (
        TherapySession.objects.filter(unsigned_past_sessions_q(), relationship=OuterRef("pk"))
        .values("relationship")
        .annotate(count=Count("pk"))
        .values("count")
    )
    awaiting_cosign = (
        ProgressNote.objects.filter(status=NoteStatus.SIGNED, session__relationship=OuterRef("pk"))
        .values("session__relationship")
        .annotate(count=Count("pk"))
        .values("count")
    )
    from caseload.documents.models import AssignedDocument, DocumentStatus

    to_review = (
        AssignedDocument.objects.filter(
            relationship=OuterRef("pk"),
            status__in=[DocumentStatus.COMPLETED, DocumentStatus.SIGNED],
        )
        .values("relationship")
        .annotate(count=Count("pk"))
        .values("count")
    )
    from caseload.messaging.models import Side
    from caseload.messaging.selectors import unread_subquery
    from caseload.plans.models import TreatmentPlan
    from caseload.plans.services import EXPIRY_WARNING_DAYS

    today = timezone.localdate()
    latest_plan_review = (
        TreatmentPlan.objects.filter(relationship=OuterRef("pk"))
        .order_by("-effective_date", "-pk")
        .values("review_date")[:1]
    )
    return queryset.annotate(
        plan_review_date=Subquery(latest_plan_review),
        plan_state=Case(
            When(plan_review_date__lt=today, then=Value("expired")),
            When(
                plan_review_date__lte=today + timedelta(days=EXPIRY_WARNING_DAYS),
                then=Value("expiring"),
            ),
            default=Value(""),
        ),
        notes_due=Coalesce(Subquery(unsigned, output_field=IntegerField()), 0),
        notes_to_cosign=Coalesce(Subquery(awaiting_cosign, output_field=IntegerField()), 0),
        delivery_problem=Exists(
            outstanding.filter(delivery_status__in=[DeliveryStatus.RETRYING, DeliveryStatus.FAILED])
        ),
        reconnect_pending=Exists(outstanding.filter(kind="connection")),
        documents_to_review=Coalesce(Subquery(to_review, output_field=IntegerField()), 0),
        document_flagged=Exists(
            AssignedDocument.objects.filter(
                relationship=OuterRef("pk"),
                flagged=True,
                status__in=[DocumentStatus.COMPLETED, DocumentStatus.SIGNED],
            )
        ),
        # Messages from the client the therapist hasn't read (shown to the therapist only).
        unread_messages=unread_subquery(Side.THERAPIST),
    )


def client_list(user: User, params: ClientListParams) -> QuerySet[CareRelationship]:
    """The sidebar list: a constant number of queries whatever the number of clients."""
    queryset = with_badges(
        relationships_visible_to(user)
        .filter(state__in=LIST_STATES[params.filter])
        .select_related("client", "client__guardianship", "therapist")
        .order_by("client__full_name", "pk")
    )
    if params.query:
        queryset = queryset.filter(client__search_text__contains=search_key(params.query))
    return queryset


def outstanding_invitation(relationship: CareRelationship) -> Invitation | None:
    return relationship.invitations.filter(
        accepted_at__isnull=True, declined_at__isnull=True, revoked_at__isnull=True
    ).first()

"""Reads of the clinician's home page: what needs them today, across their caseload.

Every list is bounded (at most `LIMIT` rows, or `TODAY_LIMIT` for today's sessions, with the
total beside them) and costs a fixed number of queries whatever the size of the caseload.
Rows come only from relationships the viewer may read: `relationships_visible_to` (never an
ended relationship, never another practice's), less clients awaiting approval (a connection
request or a restore invitation not yet accepted), whose record is 404 everywhere.

Who sees what:
- Items needing immediate attention (a PHQ-9 item 9 answered above "Not at all", or an
  intake safety question answered "yes", neither reviewed nor followed up) come from every
  client the viewer may read: a supervisor sees their supervisees'
  too, read-only (only the client's therapist marks a document reviewed).
- The other lists are the viewer's own clients: their day, their notes, their documents,
  their plans and their messages (only the client's own therapist ever sees messages).
- Lists of things to write (today's sessions, notes due, plans to review) leave out archived
  clients, whose record is closed; lists of things to read (documents to review, unread
  messages, immediate attention) keep them, since those can still be read and reviewed, and
  a flag is never hidden.
- Session requests (SCH-2) are the viewer's own clients' with an open record, to approve or
  decline; the list shows while the practice takes requests, or while any wait.
- A supervisor also sees the notes awaiting their co-signature, and their own caseload's
  lists only if they have clients of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Case, Max, Model, OuterRef, QuerySet, Subquery, Value, When
from django.utils import timezone

from caseload.accounts.models import User
from caseload.clients.access import RECORD_OPEN_STATES, relationships_visible_to, restore_pending
from caseload.clients.models import CareRelationship, CareState
from caseload.documents.models import SUBMITTED_STATES, AssignedDocument, DocumentStatus
from caseload.messaging.models import Message, Side
from caseload.messaging.selectors import unread_subquery
from caseload.plans.models import TreatmentPlan
from caseload.plans.selectors import needs_review_q, plan_status
from caseload.practices.models import Role
from caseload.scheduling.models import BookingRequest, BookingStatus
from caseload.visits.models import ProgressNote, TherapySession
from caseload.visits.selectors import notes_awaiting_cosignature, unsigned_past_sessions_q

#: Rows shown per list; the total is always said beside them.
LIMIT = 10
#: Today's sessions: a full clinical day fits.
TODAY_LIMIT = 20
#: Submitted documents the therapist hasn't marked reviewed yet.
TO_REVIEW = (DocumentStatus.COMPLETED, DocumentStatus.SIGNED)


@dataclass(frozen=True)
class Bounded[T]:
    """The first rows of a list and how many there are in all."""

    items: list[T]
    total: int

    @property
    def more(self) -> int:
        """How many rows are left out."""
        return self.total - len(self.items)


def _bounded[M: Model](queryset: QuerySet[M], limit: int = LIMIT) -> Bounded[M]:
    """Two queries whatever the list's length (always both, so the page's cost doesn't
    depend on how much there is): the first rows, then the count."""
    return Bounded(items=list(queryset[:limit]), total=queryset.count())


@dataclass(frozen=True)
class FlaggedAnswer:
    document: AssignedDocument
    is_own: bool  # the viewer's own client (else a supervisee's, read-only)


@dataclass(frozen=True)
class UnreadConversation:
    relationship: CareRelationship
    unread: int
    latest: datetime


@dataclass(frozen=True)
class PlanToReview:
    plan: TreatmentPlan
    status: str  # "expired" or "expiring"


@dataclass(frozen=True)
class HomePage:
    zone: ZoneInfo
    today: date
    #: Flagged answers not yet followed up: shown first.
    attention: Bounded[FlaggedAnswer]
    #: The viewer's own caseload: None when not shown (a supervisor without clients).
    sessions_today: Bounded[TherapySession] | None
    notes_due: Bounded[TherapySession] | None
    documents: Bounded[AssignedDocument] | None
    messages: Bounded[UnreadConversation] | None
    plans: Bounded[PlanToReview] | None
    #: Supervisors only.
    to_cosign: Bounded[ProgressNote] | None
    #: Clients' session requests awaiting the viewer's approval (SCH-2); None as above.
    bookings: Bounded[BookingRequest] | None = None
    #: The practice takes session requests in the portal: the list is shown even when empty.
    booking_enabled: bool = False

    @property
    def has_caseload(self) -> bool:
        return self.sessions_today is not None

    @property
    def is_empty(self) -> bool:
        """Nothing at all to show: the page says so in one line."""
        lists = (
            self.attention,
            self.sessions_today,
            self.notes_due,
            self.documents,
            self.messages,
            self.plans,
            self.to_cosign,
            self.bookings,
        )
        return all(found is None or found.total == 0 for found in lists)

    def counts(self) -> dict[str, int]:
        """What was shown, in numbers (for the audit trail: no names, no ids)."""
        lists = {
            "attention": self.attention,
            "sessions_today": self.sessions_today,
            "notes_due": self.notes_due,
            "documents": self.documents,
            "messages": self.messages,
            "plans": self.plans,
            "to_cosign": self.to_cosign,
            "bookings": self.bookings,
        }
        return {name: found.total for name, found in lists.items() if found is not None}


# Scope ----------------------------------------------------------------------------------
def readable_relationships(user: User) -> QuerySet[CareRelationship]:
    """Relationships whose record the user may read: visible, and not awaiting approval."""
    return (
        relationships_visible_to(user)
        .exclude(state=CareState.AWAITING_CONSENT)
        .filter(~restore_pending())
    )


def _own(user: User) -> QuerySet[CareRelationship]:
    return readable_relationships(user).filter(therapist=user)


def _own_open(user: User) -> QuerySet[CareRelationship]:
    """The user's own clients whose record is open for writing (invited or active)."""
    return _own(user).filter(state__in=RECORD_OPEN_STATES)


# The lists ------------------------------------------------------------------------------
def flagged_answers(user: User) -> Bounded[FlaggedAnswer]:
    """PHQ-9 item 9 answered above 0 (or an intake safety question answered "yes") whose
    follow-up isn't recorded yet. Reviewing the document doesn't close it; the ones not yet
    reviewed come first (oldest first), so a new answer is never pushed off the list by
    documents reviewed before a follow-up was required."""
    found = _bounded(
        AssignedDocument.objects.filter(
            flagged=True,
            status__in=SUBMITTED_STATES,
            follow_up__isnull=True,
            relationship__in=readable_relationships(user).values("pk"),
        )
        .select_related("relationship__client", "relationship__therapist", "version")
        .order_by(
            Case(When(status__in=TO_REVIEW, then=Value(0)), default=Value(1)),
            "submitted_at",
            "pk",
        )
    )
    items = [
        FlaggedAnswer(document=document, is_own=document.relationship.therapist_id == user.pk)
        for document in found.items
    ]
    return Bounded(items=items, total=found.total)


def sessions_today(user: User, *, zone: ZoneInfo, today: date) -> Bounded[TherapySession]:
    """The user's sessions on `today` in the practice's time zone, in order."""
    start = datetime.combine(today, time.min, tzinfo=zone)
    end = datetime.combine(today + timedelta(days=1), time.min, tzinfo=zone)
    return _bounded(
        TherapySession.objects.filter(
            starts_at__gte=start,
            starts_at__lt=end,
            relationship__in=_own_open(user).values("pk"),
        )
        .select_related("relationship__client", "note")
        .order_by("starts_at", "pk"),
        TODAY_LIMIT,
    )


def notes_due(user: User) -> Bounded[TherapySession]:
    """Past sessions of the user's own clients without a signed note, oldest first."""
    return _bounded(
        TherapySession.objects.filter(
            unsigned_past_sessions_q(), relationship__in=_own_open(user).values("pk")
        )
        .select_related("relationship__client", "note")
        .order_by("starts_at", "pk")
    )


def documents_to_review(user: User) -> Bounded[AssignedDocument]:
    """Documents the user's clients completed or signed, not yet reviewed, oldest first."""
    return _bounded(
        AssignedDocument.objects.filter(
            status__in=TO_REVIEW, relationship__in=_own(user).values("pk")
        )
        .select_related("relationship__client", "version")
        .order_by("submitted_at", "pk")
    )


def unread_conversations(user: User) -> Bounded[UnreadConversation]:
    """The user's clients with messages the user hasn't read, the most recent first."""
    latest = (
        Message.objects.filter(
            relationship=OuterRef("pk"), sender_side=Side.CLIENT, read_at__isnull=True
        )
        .values("relationship")
        .annotate(latest=Max("created_at"))
        .values("latest")
    )
    found = _bounded(
        _own(user)
        .annotate(unread=unread_subquery(Side.THERAPIST), latest_unread=Subquery(latest))
        .filter(unread__gt=0)
        .select_related("client")
        .order_by("-latest_unread", "pk")
    )
    items = [
        UnreadConversation(
            relationship=row,
            unread=row.unread,  # type: ignore[attr-defined]
            latest=row.latest_unread,  # type: ignore[attr-defined]
        )
        for row in found.items
    ]
    return Bounded(items=items, total=found.total)


def plans_to_review(user: User, *, today: date) -> Bounded[PlanToReview]:
    """Each client's current plan (the latest), expired or expiring within 14 days, the
    soonest review date first."""
    latest = (
        TreatmentPlan.objects.filter(relationship=OuterRef("relationship"))
        .order_by("-effective_date", "-pk")
        .values("pk")[:1]
    )
    found = _bounded(
        TreatmentPlan.objects.filter(
            needs_review_q(today),
            relationship__in=_own_open(user).values("pk"),
            pk=Subquery(latest),
        )
        .select_related("relationship__client")
        .order_by("review_date", "pk")
    )
    return Bounded(
        items=[PlanToReview(plan=plan, status=plan_status(plan, today)) for plan in found.items],
        total=found.total,
    )


def booking_requests(user: User) -> Bounded[BookingRequest]:
    """Session requests of the user's own clients (record open) awaiting approval whose time
    is still to come (passed ones expire), the soonest requested time first."""
    return _bounded(
        BookingRequest.objects.filter(
            status=BookingStatus.PENDING,
            starts_at__gt=timezone.now(),
            relationship__in=_own_open(user).values("pk"),
        )
        .select_related("relationship")
        .order_by("starts_at", "pk")
    )


def notes_to_cosign(supervisor: User) -> Bounded[ProgressNote]:
    """Notes the supervisor's supervisees signed, awaiting co-signature, oldest first."""
    return _bounded(
        notes_awaiting_cosignature(supervisor).filter(
            session__relationship__in=readable_relationships(supervisor).values("pk")
        )
    )


def home_page(user: User) -> HomePage:
    """Everything the clinician's home page shows, in a fixed number of queries."""
    membership = user.membership
    zone = ZoneInfo(membership.practice.time_zone)
    today = timezone.localdate(timezone=zone)
    is_supervisor = membership.role == Role.SUPERVISOR
    has_caseload = not is_supervisor or _own(user).exists()
    return HomePage(
        zone=zone,
        today=today,
        attention=flagged_answers(user),
        sessions_today=sessions_today(user, zone=zone, today=today) if has_caseload else None,
        notes_due=notes_due(user) if has_caseload else None,
        documents=documents_to_review(user) if has_caseload else None,
        messages=unread_conversations(user) if has_caseload else None,
        plans=plans_to_review(user, today=today) if has_caseload else None,
        to_cosign=notes_to_cosign(user) if is_supervisor else None,
        bookings=booking_requests(user) if has_caseload else None,
        booking_enabled=membership.practice.booking_requests_enabled,
    )

"""Reads for secure messaging: who may read or send, the messages, unread counts.

Both sides get the same small frozen dataclasses built from an explicit list of columns
(decision 0006): a portal page never receives a model instance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from django.db.models import Count, IntegerField, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404

from caseload.accounts.models import User
from caseload.clients.access import in_care_of
from caseload.clients.models import CareRelationship, CareState
from caseload.clients.services import account_holder
from caseload.messaging.models import Message, Side


class Unavailable(StrEnum):
    """Why a conversation can't be used (or only read)."""

    NOT_SIGNED_UP = "not_signed_up"
    AWAITING_CONSENT = "awaiting_consent"
    ENDED = "ended"
    ARCHIVED = "archived"  # history readable, no sending
    MESSAGING_OFF = "messaging_off"  # history readable, no sending


@dataclass(frozen=True)
class Availability:
    can_read: bool
    can_send: bool
    reason: Unavailable | None = None


def availability(relationship: CareRelationship) -> Availability:
    """MSG-1: messaging once the client (a child's guardian) has signed up, while it is on."""
    state = relationship.state
    if state == CareState.ENDED:
        return Availability(False, False, Unavailable.ENDED)
    if state == CareState.AWAITING_CONSENT:
        return Availability(False, False, Unavailable.AWAITING_CONSENT)
    if account_holder(relationship.client) is None or state == CareState.INVITED:
        return Availability(False, False, Unavailable.NOT_SIGNED_UP)
    if state == CareState.ARCHIVED:
        return Availability(True, False, Unavailable.ARCHIVED)
    if not relationship.messaging_enabled:
        return Availability(True, False, Unavailable.MESSAGING_OFF)
    return Availability(True, True)


def side_of(relationship: CareRelationship, user: User) -> Side | None:
    """Which side of the conversation `user` is on; None for anyone else (supervisors too)."""
    if user.pk == relationship.therapist_id:
        return Side.THERAPIST
    holder = account_holder(relationship.client)
    if holder is not None and holder.pk == user.pk:
        return Side.CLIENT
    return None


def participants(relationship: CareRelationship) -> dict[Side, User | None]:
    return {
        Side.THERAPIST: relationship.therapist,
        Side.CLIENT: account_holder(relationship.client),
    }


def unread_count(relationship_id: int, reader_side: Side) -> int:
    """Messages the reader's side has not seen yet."""
    return Message.objects.filter(
        relationship_id=relationship_id, sender_side=reader_side.other, read_at__isnull=True
    ).count()


def unread_subquery(reader_side: Side) -> Coalesce:
    """Per-row unread count for annotating care relationships (one subquery, no N+1)."""
    unread = (
        Message.objects.filter(
            relationship=OuterRef("pk"), sender_side=reader_side.other, read_at__isnull=True
        )
        .values("relationship")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(unread, output_field=IntegerField()), 0)


# Messages -------------------------------------------------------------------------------
#: The only columns of a message a page may read.
MESSAGE_FIELDS = (
    "pk",
    "public_id",
    "sender_side",
    "sender__full_name",
    "sender__email",
    "text",
    "created_at",
    "read_at",
)


@dataclass(frozen=True)
class MessageView:
    public_id: UUID
    sender_name: str
    is_own: bool
    text: str
    created_at: datetime
    read_at: datetime | None

    @property
    def is_unread(self) -> bool:
        """Sent to the viewer and not read by them yet."""
        return not self.is_own and self.read_at is None


def _message_view(row: dict[str, object], viewer_side: Side) -> MessageView:
    return MessageView(
        public_id=row["public_id"],  # type: ignore[arg-type]
        sender_name=str(row["sender__full_name"] or row["sender__email"]),
        is_own=row["sender_side"] == viewer_side,
        text=str(row["text"]),
        created_at=row["created_at"],  # type: ignore[arg-type]
        read_at=row["read_at"],  # type: ignore[arg-type]
    )


class UnknownCursor(ValueError):
    """A paging cursor (`before` / `after`) that names no message of this conversation."""


def _relationship_id(relationship: CareRelationship | int) -> int:
    return relationship if isinstance(relationship, int) else relationship.pk


def conversation_messages(
    relationship: CareRelationship | int, viewer_side: Side, *, after: UUID | None = None
) -> list[MessageView]:
    """The conversation oldest → newest; with `after`, only what came after that message
    (what a page that is open asks for when the live channel says something changed).

    Without `after` this is the whole conversation: pages show `conversation_page` instead.
    `after` must be a message of this conversation (UnknownCursor otherwise)."""
    relationship_id = _relationship_id(relationship)
    queryset: QuerySet[Message] = Message.objects.filter(relationship_id=relationship_id)
    if after is not None:
        anchor = queryset.filter(public_id=after).values_list("pk", flat=True).first()
        if anchor is None:
            raise UnknownCursor("That message is not in this conversation.")
        queryset = queryset.filter(pk__gt=anchor)
    rows = queryset.order_by("created_at", "pk").values(*MESSAGE_FIELDS)
    return [_message_view(row, viewer_side) for row in rows]


#: How many messages a conversation shows at a time ("Show earlier" loads as many again).
PAGE_SIZE = 20


@dataclass(frozen=True)
class MessagePage:
    """At most PAGE_SIZE messages, oldest → newest, and the cursor of the page before them."""

    messages: list[MessageView]
    #: The oldest message shown, when there are older ones: `?before=` loads them.
    earlier: UUID | None
    #: The page ends with the newest message (no `before` was asked for).
    is_latest: bool


def conversation_page(
    relationship: CareRelationship | int, viewer_side: Side, *, before: UUID | None = None
) -> MessagePage:
    """The newest PAGE_SIZE messages, or the PAGE_SIZE before the message `before`.

    Keyset paging on (created_at, pk), read newest first through the conversation index:
    two queries at most, whatever the length of the conversation. `before` must be a
    message of this conversation (UnknownCursor otherwise)."""
    queryset: QuerySet[Message] = Message.objects.filter(
        relationship_id=_relationship_id(relationship)
    )
    if before is not None:
        anchor = queryset.filter(public_id=before).values("created_at", "pk").first()
        if anchor is None:
            raise UnknownCursor("That message is not in this conversation.")
        queryset = queryset.filter(
            Q(created_at__lt=anchor["created_at"])
            | Q(created_at=anchor["created_at"], pk__lt=anchor["pk"])
        )
    rows = list(queryset.order_by("-created_at", "-pk").values(*MESSAGE_FIELDS)[: PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    shown = [_message_view(row, viewer_side) for row in reversed(rows[:PAGE_SIZE])]
    return MessagePage(
        messages=shown,
        earlier=shown[0].public_id if more else None,
        is_latest=before is None,
    )


@dataclass(frozen=True)
class ConversationSummary:
    """The conversation at a glance, for the profile's Overview: counts and a date only."""

    unread: int
    last_message_at: datetime | None


def conversation_summary(relationship: CareRelationship, reader_side: Side) -> ConversationSummary:
    """Unread messages to the reader's side and when the last message was sent: one query."""
    found = Message.objects.filter(relationship=relationship).aggregate(
        unread=Count("pk", filter=Q(sender_side=reader_side.other, read_at__isnull=True)),
        last=Max("created_at"),
    )
    return ConversationSummary(unread=int(found["unread"] or 0), last_message_at=found["last"])


# The portal -----------------------------------------------------------------------------
#: The only columns of a care relationship the portal's messaging pages may read.
PORTAL_CONVERSATION_FIELDS = (
    "pk",
    "public_id",
    "state",
    "messaging_enabled",
    "therapist__full_name",
    "therapist__email",
    "practice__name",
    "practice__time_zone",
    "client__full_name",
    "client__is_child",
    "unread",
)


@dataclass(frozen=True)
class PortalConversation:
    public_id: UUID
    therapist_name: str
    practice_name: str
    time_zone: str
    client_name: str
    is_child: bool
    unread: int
    can_send: bool
    reason: Unavailable | None


def _portal_relationships(user: User) -> QuerySet[CareRelationship]:
    """Conversations a client or guardian may open: active ones, and archived ones to read.

    Whose care the user acts in is the portal's one rule, `in_care_of`."""
    return CareRelationship.objects.filter(
        in_care_of(user), state__in=(CareState.ACTIVE, CareState.ARCHIVED)
    ).annotate(unread=unread_subquery(Side.CLIENT))


def _portal_conversation(row: dict[str, object]) -> PortalConversation:
    reason = None
    if row["state"] == CareState.ARCHIVED:
        reason = Unavailable.ARCHIVED
    elif not row["messaging_enabled"]:
        reason = Unavailable.MESSAGING_OFF
    return PortalConversation(
        public_id=row["public_id"],  # type: ignore[arg-type]
        therapist_name=str(row["therapist__full_name"] or row["therapist__email"]),
        practice_name=str(row["practice__name"]),
        time_zone=str(row["practice__time_zone"]),
        client_name=str(row["client__full_name"]),
        is_child=bool(row["client__is_child"]),
        unread=int(row["unread"]),  # type: ignore[call-overload]
        can_send=reason is None,
        reason=reason,
    )


def portal_conversations(user: User) -> list[PortalConversation]:
    """The portal's Messages area: one conversation per care relationship."""
    rows = (
        _portal_relationships(user)
        .order_by("state", "client__full_name", "therapist__full_name")
        .values(*PORTAL_CONVERSATION_FIELDS)
    )
    return [_portal_conversation(row) for row in rows]


def get_portal_conversation(user: User, public_id: UUID) -> tuple[int, PortalConversation]:
    """The relationship's key (for services) and what the page may show, or 404."""
    row = (
        _portal_relationships(user)
        .filter(public_id=public_id)
        .values(*PORTAL_CONVERSATION_FIELDS)
        .first()
    )
    if row is None:
        raise Http404("No such conversation.")
    return int(row["pk"]), _portal_conversation(row)


def get_portal_relationship(user: User, public_id: UUID) -> CareRelationship:
    """The care relationship behind a portal conversation, for the services only (never a
    template), or 404."""
    relationship = (
        _portal_relationships(user)
        .select_related("client", "client__guardianship", "therapist", "practice")
        .filter(public_id=public_id)
        .first()
    )
    if relationship is None:
        raise Http404("No such conversation.")
    return relationship

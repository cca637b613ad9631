"""Private calendar feeds (SCH-4): a clinician's sessions as an ICS file for their calendar app.

The feed URL carries a random token (`secrets`, 256 bits); only its SHA-256 is stored, so the
URL is shown once, when made. Revoking ends it for good (404). Events name the client by
initials only, never a full name, never anything clinical; the place is "In person" or the
session's video link.

A feed opens only while its owner is an active clinician (a therapist or a supervisor): a
clinician made practice admin, deactivated or gone from the practice loses it. A refused fetch
of a real feed is audited (at most once per `LAST_USED_PRECISION`: calendar apps keep polling
a revoked feed); a made-up token is only logged, since anyone could write an audit row per
request with one.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import icalendar
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from caseload.accounts.models import User
from caseload.audit.services import audit_record
from caseload.clients.access import is_clinician, restore_pending
from caseload.clients.models import CareRelationship, CareState
from caseload.lib.http import SYSTEM, AuditContext
from caseload.scheduling.models import CalendarFeed
from caseload.visits.models import NOT_TAKING_PLACE, Modality, TherapySession, join_link

logger = logging.getLogger(__name__)

#: The sessions a feed carries: a month back, six months ahead.
FEED_PAST = timedelta(days=30)
FEED_AHEAD = timedelta(days=180)
#: Active feeds per clinician: one per calendar app is plenty.
MAX_ACTIVE_FEEDS = 5
#: `last_used_at` is written at most this often (calendar apps poll every few minutes).
LAST_USED_PRECISION = timedelta(minutes=5)
#: Records whose sessions a feed shows: those the clinician may open (not ended, not awaiting
#: the client's approval).
FEED_STATES = (CareState.INVITED, CareState.ACTIVE, CareState.ARCHIVED)
#: The longest token the feed URL accepts (a token is 43 characters).
TOKEN_MAX_LENGTH = 100


class FeedError(Exception):
    pass


@dataclass(frozen=True)
class NewFeed:
    feed: CalendarFeed
    token: str  # shown once; only its hash is stored


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# Services ----------------------------------------------------------------------------------
@transaction.atomic
def feed_create(*, actor: User, audit_context: AuditContext = SYSTEM) -> NewFeed:
    active = CalendarFeed.objects.filter(clinician=actor, revoked_at__isnull=True).count()
    if active >= MAX_ACTIVE_FEEDS:
        raise FeedError(f"You have {active} calendar feeds: revoke one you no longer use first.")
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed.objects.create(clinician=actor, token_sha256=hash_token(token))
    audit_record(action="calendar_feed.create", actor=actor, audit_context=audit_context, obj=feed)
    return NewFeed(feed=feed, token=token)


@transaction.atomic
def feed_revoke(
    *, actor: User, feed: CalendarFeed, audit_context: AuditContext = SYSTEM
) -> CalendarFeed:
    """Revoke one of the actor's own feeds; its URL answers 404 from now on. Twice: no-op."""
    feed = CalendarFeed.objects.select_for_update().get(pk=feed.pk)
    if feed.clinician_id != actor.pk:
        raise FeedError("That feed isn't yours.")
    if feed.revoked_at is None:
        feed.revoked_at = timezone.now()
        feed.save(update_fields=["revoked_at"])
        audit_record(
            action="calendar_feed.revoke", actor=actor, audit_context=audit_context, obj=feed
        )
    return feed


# Selectors ---------------------------------------------------------------------------------
def feeds_for(user: User) -> QuerySet[CalendarFeed]:
    return CalendarFeed.objects.filter(clinician=user).order_by("-created_at")


def get_feed_for_user(user: User, public_id: UUID) -> CalendarFeed:
    """One of the user's own feeds; another clinician's or a missing one: 404."""
    feed = feeds_for(user).filter(public_id=public_id).first()
    if feed is None:
        raise Http404("No such feed.")
    return feed


def _named_by(token: str) -> CalendarFeed | None:
    """The feed this token names, revoked or not; None for a malformed or unknown token."""
    if not token or len(token) > TOKEN_MAX_LENGTH:
        return None
    return (
        CalendarFeed.objects.select_related("clinician__membership__practice")
        .filter(token_sha256=hash_token(token))
        .first()
    )


def _opens(feed: CalendarFeed) -> bool:
    """Not revoked, and its owner still an active clinician: a member of a practice in a
    clinical role (made practice admin, the feed stops)."""
    return feed.revoked_at is None and feed.clinician.is_active and is_clinician(feed.clinician)


def _touch(feed: CalendarFeed, now: datetime) -> bool:
    """Record a fetch in `last_used_at`, at most every LAST_USED_PRECISION; True if written."""
    if feed.last_used_at is not None and now - feed.last_used_at <= LAST_USED_PRECISION:
        return False
    CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=now)
    feed.last_used_at = now
    return True


def feed_for_token(token: str) -> CalendarFeed | None:
    """The feed this token opens (see `_opens`), or None."""
    feed = _named_by(token)
    if feed is None or not _opens(feed):
        return None
    _touch(feed, timezone.now())
    return feed


def initials(name: str) -> str:
    """ "Maya Patel" → "M.P."; a one-word name → "M."; nothing usable → "Client"."""
    letters = [word[0].upper() for word in name.split() if word[:1].isalpha()]
    if not letters:
        return "Client"
    if len(letters) > 2:
        letters = [letters[0], letters[-1]]
    return "".join(f"{letter}." for letter in letters)


def feed_sessions(feed: CalendarFeed, *, now: datetime) -> QuerySet[TherapySession]:
    # Records the clinician may open: not ended, not waiting for the client's approval.
    readable = (
        CareRelationship.objects.filter(therapist_id=feed.clinician_id, state__in=FEED_STATES)
        .annotate(waiting=restore_pending())
        .filter(waiting=False)
    )
    return (
        TherapySession.objects.filter(
            relationship__in=readable.values("pk"),
            starts_at__gte=now - FEED_PAST,
            starts_at__lte=now + FEED_AHEAD,
        )
        .exclude(status__in=NOT_TAKING_PLACE)
        .select_related("relationship__practice")
        .only(
            "public_id",
            "starts_at",
            "duration_minutes",
            "modality",
            "video_room",
            "status",
            "relationship__client_name",
            "relationship__practice__telehealth_url_template",
        )
        .order_by("starts_at", "pk")
    )


def feed_ics(feed: CalendarFeed, *, now: datetime | None = None) -> tuple[bytes, int]:
    """The feed's calendar as ICS bytes, and how many events it holds."""
    now = now or timezone.now()
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Caseload//Calendar feed//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", "Caseload sessions")
    count = 0
    stamp = now.astimezone(UTC)
    for session in feed_sessions(feed, now=now):
        relationship = session.relationship
        telehealth = session.modality == Modality.TELEHEALTH
        event = icalendar.Event()
        event.add("uid", f"{session.public_id}@caseload")
        event.add("dtstamp", stamp)
        event.add("dtstart", session.starts_at.astimezone(UTC))
        event.add("dtend", session.ends_at.astimezone(UTC))
        label = "Video session" if telehealth else "Session"
        event.add("summary", f"{label} · {initials(relationship.client_name)}")
        link = join_link(
            relationship.practice.telehealth_url_template, session.video_room, session.modality
        )
        event.add("location", link or ("Telehealth" if telehealth else "In person"))
        if link:
            event.add("url", link)
        event.add("status", "CONFIRMED")
        event.add("class", "PRIVATE")
        calendar.add_component(event)
        count += 1
    return calendar.to_ical(), count


def feed_fetched(feed: CalendarFeed, *, events: int, audit_context: AuditContext) -> None:
    """Audit one fetch of a feed (it reads client initials and times)."""
    audit_record(
        action="calendar_feed.fetch",
        actor=feed.clinician,
        audit_context=audit_context,
        obj=feed,
        detail={"events": events},
    )


def feed_refused(*, token: str, audit_context: AuditContext) -> None:
    """Record a fetch `feed_for_token` refused. A real feed (revoked, or its owner no longer a
    clinician): audited as denied, at most once per LAST_USED_PRECISION. A malformed or
    unknown token: a warning in the log only (never the token), no audit row."""
    feed = _named_by(token)
    if feed is None:
        logger.warning(
            "Calendar feed fetched with an unknown token (from %s)",
            audit_context.ip_address or "unknown address",
        )
        return
    if _touch(feed, timezone.now()):
        audit_record(
            action="calendar_feed.fetch",
            audit_context=audit_context,
            obj=feed,
            outcome="denied",
            detail={"revoked": feed.revoked_at is not None},
        )


def feed_link(token: str) -> str:
    """The feed's path (the page prefixes the site address)."""
    return reverse("feeds:ics", args=[token])

"""Session reminders by email (and text message), exactly once per session and offset (SCH-3).

The practice chooses the offsets (`Practice.reminders`: off, 24 h, 48 h or both). The task
`send_due_reminders` runs every `REMINDER_SCAN_SECONDS` (5 minutes) on the worker and
enqueues its next run with `run_after`, in a `finally`, so that a failed run doesn't end the
reminders: one chain, started by `manage.py send_reminders` (the run script and the deploy
files call it when the worker starts) and kept single (a run enqueues the next only when no
other run is waiting). A reminder that can't be made or sent (a provider's unexpected error, a
client with no address) is logged and skipped; the others go on.

Each run:

1. finds the sessions due for a reminder: scheduled, the care active (an invited client can't
   yet reach the portal page that turns reminders off), the practice's reminders on,
   `starts_at - offset <= now`, less than `GRACE` late (a reminder the worker could not send
   in time is skipped rather than sent hours late), no opt-out;
2. inserts a `SessionReminder` per session, offset and channel for the session's current start.
   The unique key (over rows not withdrawn) decides: whichever worker inserts the row owns it,
   the other gets an IntegrityError and moves on. A session moved to a new time has a new
   start, so it gets new reminders; its old pending ones are withdrawn when they come up. A
   withdrawn row leaves the key free: a cancelled session restored, or a client who turns
   reminders on again, is reminded if it is still due;
3. hands each new row to its own task, `send_session_reminder`, in the insert's transaction;
4. takes over rows left queued or mid-send by a dead worker (`EMAIL_HANDOFF_STALE_SECONDS`
   without an outcome), locked with `select_for_update(skip_locked=True)` so that two runs
   don't both take one, and sends them (`send_tracked` resends under the recorded Message-ID).

A row is claimed before it is sent (a compare-and-set on its hand-off time, its conditions on
the row itself), so a recovered task and a scan never send one row side by side. Whoever
claims it checks, at that moment, that the session still takes place at that time: a
cancelled or moved session's reminder is withdrawn (kept, failed, `withdrawn_at` and the
reason), never sent.

What a reminder says: the date, the time in the practice's time zone, and the place (the
practice, or the video link). Never the client's name, never anything clinical.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, Exists, F, OuterRef, Q, QuerySet, Value, When
from django.tasks import default_task_backend, task
from django.tasks.base import TaskResultStatus
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from caseload.accounts.models import User
from caseload.audit.services import audit_record
from caseload.clients.models import CareRelationship, CareState
from caseload.clients.services import account_holder, contact_email
from caseload.lib.email import DeliveryStatus, build_message, send_tracked, send_with_retry
from caseload.lib.http import SYSTEM, AuditContext
from caseload.practices.models import REMINDER_OFFSETS
from caseload.scheduling.booking import expire_passed_requests
from caseload.scheduling.models import ReminderChannel, ReminderPreference, SessionReminder
from caseload.scheduling.sms import SMS_MAX_LENGTH, sms_provider
from caseload.visits.models import Modality, SessionStatus, TherapySession, join_link

logger = logging.getLogger(__name__)

#: A reminder not sent within this time after it fell due is skipped (the worker was down):
#: a "48 hours before" reminder a day late would only repeat the 24-hour one.
GRACE = timedelta(hours=12)
#: What a withdrawn reminder's row says (delivery_error), by reason.
WITHDRAWN = "Withdrawn: "

SEND_TASK_PATH = "caseload.scheduling.reminders.send_session_reminder"
#: Cares whose sessions are reminded: active ones only. An invited client has no portal account
#: yet, so could not turn the reminders off.
REMINDED_STATES = (CareState.ACTIVE,)


# Finding what is due --------------------------------------------------------------------
def _settings_with(offset_hours: int) -> list[str]:
    return [setting for setting, offsets in REMINDER_OFFSETS.items() if offset_hours in offsets]


def all_offsets() -> list[int]:
    return sorted({hours for offsets in REMINDER_OFFSETS.values() for hours in offsets})


def sms_enabled() -> bool:
    return sms_provider() is not None


def due_sessions(
    *, offset_hours: int, channel: str, now: datetime | None = None
) -> QuerySet[TherapySession]:
    """Sessions whose `offset_hours` reminder on `channel` is due now and not yet made."""
    now = now or timezone.now()
    offset = timedelta(hours=offset_hours)
    already = SessionReminder.objects.filter(
        session=OuterRef("pk"),
        offset_hours=offset_hours,
        channel=channel,
        session_starts_at=OuterRef("starts_at"),
        withdrawn_at__isnull=True,  # a withdrawn reminder doesn't stop a new one
    )
    sessions = (
        TherapySession.objects.filter(
            status=SessionStatus.SCHEDULED,
            starts_at__gt=max(now, now + offset - GRACE),
            starts_at__lte=now + offset,
            relationship__state__in=REMINDED_STATES,
            relationship__practice__reminders__in=_settings_with(offset_hours),
        )
        .exclude(Exists(already))
        .select_related(
            "relationship__practice", "relationship__client__guardianship", "relationship__client"
        )
        .order_by("starts_at", "pk")
    )
    if channel == ReminderChannel.SMS:
        return sessions.filter(relationship__practice__sms_reminders_enabled=True).exclude(
            Q(relationship__phone="")
            | Exists(_opted_out(sms_opt_out=True).filter(relationship=OuterRef("relationship")))
        )
    return sessions.exclude(
        Exists(_opted_out(email_opt_out=True).filter(relationship=OuterRef("relationship")))
    )


def _opted_out(**flag: bool) -> QuerySet[ReminderPreference]:
    return ReminderPreference.objects.filter(**flag)


def recipient_email(relationship: CareRelationship) -> str:
    """The address of whoever speaks for the client: the account holder's (the client, or the
    guardian for a child), else the address the care core writes to."""
    holder = account_holder(relationship.client)
    return holder.email if holder is not None else contact_email(relationship.client)


def _recipient(session: TherapySession, channel: str) -> str:
    relationship = session.relationship
    if channel == ReminderChannel.SMS:
        return relationship.phone
    return recipient_email(relationship)


def _create(session: TherapySession, offset_hours: int, channel: str) -> SessionReminder | None:
    """Insert the reminder and queue its sending, together; None if another worker has it."""
    try:
        with transaction.atomic():
            reminder = SessionReminder.objects.create(
                session=session,
                offset_hours=offset_hours,
                channel=channel,
                session_starts_at=session.starts_at,
                recipient=_recipient(session, channel)[:254],
            )
            send_session_reminder.enqueue(reminder.pk)
    except IntegrityError:
        return None  # another worker inserted it first: it sends it
    return reminder


# Claiming and withdrawing ------------------------------------------------------------------
def _stale(now: datetime) -> datetime:
    return now - timedelta(seconds=settings.EMAIL_HANDOFF_STALE_SECONDS)


def abandoned(now: datetime) -> Q:
    """Rows queued or handed to the mail server with no outcome for too long (since the last
    hand-off, or since the row was made if none): their worker died (or their task was lost).
    Bounded by EMAIL_MAX_ATTEMPTS like any email. Plain conditions on the row's own fields."""
    stale = _stale(now)
    return Q(
        delivery_status__in=[DeliveryStatus.QUEUED, DeliveryStatus.SENDING],
        delivery_attempts__lt=settings.EMAIL_MAX_ATTEMPTS,
    ) & (Q(delivery_handed_at__lt=stale) | Q(delivery_handed_at__isnull=True, created_at__lt=stale))


def _claim(reminder_id: int, *, now: datetime) -> bool:
    """Take the row for sending: a compare-and-set on its hand-off time, so that of two runs
    that want it (a recovered task, a scan) one gets it. Claimable: a new row no one has taken,
    a row waiting for its retry, or an abandoned one.

    The conditions are on the updated row itself, in the UPDATE's own WHERE (no annotation,
    join or subquery): a claim that waits for another's row lock (PostgreSQL, READ COMMITTED)
    then checks them again against the row as the other left it, and finds it taken. With the
    conditions in a subquery, it would check only the row's id and claim it too."""
    claimable = (
        Q(delivery_status=DeliveryStatus.QUEUED, delivery_handed_at__isnull=True)
        | Q(delivery_status=DeliveryStatus.RETRYING)
        | abandoned(now)
    )
    claimed = SessionReminder.objects.filter(Q(pk=reminder_id) & claimable).update(
        delivery_handed_at=now,
        # A retry is queued again; a row caught mid-send stays "sending", so that send_tracked
        # knows an earlier hand-off has no recorded outcome.
        delivery_status=Case(
            When(delivery_status=DeliveryStatus.RETRYING, then=Value(DeliveryStatus.QUEUED)),
            default=F("delivery_status"),
        ),
    )
    return claimed == 1


def withdrawal_reason(reminder: SessionReminder, *, now: datetime) -> str | None:
    """Why this reminder must not go out now, or None."""
    session = reminder.session
    relationship = session.relationship
    if session.status != SessionStatus.SCHEDULED:
        return "the session will not take place"
    if session.starts_at != reminder.session_starts_at:
        return "the session was moved"
    if session.starts_at <= now:
        return "the session has started"
    if relationship.state not in REMINDED_STATES:
        return "the client's care is not active"
    if reminder.offset_hours not in relationship.practice.reminder_offsets:
        return "the practice turned these reminders off"
    preference = ReminderPreference.objects.filter(relationship=relationship).first()
    if reminder.channel == ReminderChannel.EMAIL and preference and preference.email_opt_out:
        return "the client turned email reminders off"
    if reminder.channel == ReminderChannel.SMS and (
        (preference and preference.sms_opt_out)
        or not relationship.practice.sms_reminders_enabled
        or not sms_enabled()
    ):
        return "text reminders are off"
    return None


def _withdraw(reminder: SessionReminder, reason: str) -> str:
    """Keep the row, failed with the reason; `withdrawn_at` frees its unique key, so that the
    reminder is made again should it become due once more (a session restored, reminders on
    again)."""
    SessionReminder.objects.filter(pk=reminder.pk).update(
        delivery_status=DeliveryStatus.FAILED,
        delivery_error=f"{WITHDRAWN}{reason}"[:300],
        withdrawn_at=timezone.now(),
    )
    return f"withdrawn: {reason}"


# What a reminder says ------------------------------------------------------------------------
@dataclass(frozen=True)
class ReminderContent:
    """Everything a reminder shows: no client name, nothing clinical."""

    is_child: bool
    therapist_name: str
    practice_name: str
    practice_phone: str
    local_start: datetime  # naive, in the practice's time zone
    zone_name: str
    duration_minutes: int
    is_telehealth: bool
    join_link: str
    manage_url: str


def reminder_content(session: TherapySession) -> ReminderContent:
    relationship = session.relationship
    practice = relationship.practice
    is_telehealth = session.modality == Modality.TELEHEALTH
    return ReminderContent(
        is_child=relationship.client.is_child,
        therapist_name=relationship.therapist.full_name or "your therapist",
        practice_name=practice.name,
        practice_phone=practice.phone,
        # Wall-clock time in the practice's zone, naive: templates show it as it is (an aware
        # one would be shown in the worker's zone, UTC).
        local_start=timezone.make_naive(session.starts_at, ZoneInfo(practice.time_zone)),
        zone_name=practice.time_zone,
        duration_minutes=session.duration_minutes,
        is_telehealth=is_telehealth,
        join_link=join_link(practice.telehealth_url_template, session.video_room, session.modality),
        manage_url=f"{settings.SITE_URL}{reverse('portal:reminders')}",
    )


def reminder_subject(content: ReminderContent) -> str:
    whose = "your child's" if content.is_child else "your"
    return f"Reminder: {whose} session on {content.local_start:%A %-d %B at %H:%M}"


def sms_body(content: ReminderContent) -> str:
    place = f"Join: {content.join_link}" if content.join_link else f"At {content.practice_name}"
    if content.is_telehealth and not content.join_link:
        place = "Video session"
    body = (
        f"Reminder from {content.practice_name}: session on "
        f"{content.local_start:%a %-d %b at %H:%M}. {place}. "
        f"Stop reminders: {content.manage_url}"
    )
    return body[:SMS_MAX_LENGTH]


# Sending ---------------------------------------------------------------------------------
def _load(reminder_id: int) -> SessionReminder | None:
    return (
        SessionReminder.objects.select_related(
            "session__relationship__practice",
            "session__relationship__therapist",
            "session__relationship__client",
        )
        .filter(pk=reminder_id)
        .first()
    )


def _deliver(reminder: SessionReminder, *, attempt: int) -> str:
    """Send a claimed reminder by its channel, recording the outcome on its row."""
    content = reminder_content(reminder.session)
    rows = SessionReminder.objects.filter(pk=reminder.pk)
    if reminder.channel == ReminderChannel.SMS:
        return _send_sms(reminder, rows=rows, body=sms_body(content), attempt=attempt)
    message = build_message(
        to=reminder.recipient,
        subject=reminder_subject(content),
        template="scheduling/email/reminder",
        context={"reminder": content},
    )
    return send_tracked(
        rows=rows,
        task=send_session_reminder,
        attempt=attempt,
        message=message,
        args=(reminder.pk,),
    )


def _send_sms(
    reminder: SessionReminder, *, rows: QuerySet[SessionReminder], body: str, attempt: int
) -> str:
    """`send_tracked` for a text message: SENDING is recorded before the provider is called."""
    provider = sms_provider()
    if provider is None:
        return _withdraw(reminder, "text reminders are off")
    current = rows.values_list("delivery_status", flat=True).first()
    if current == DeliveryStatus.SENT:
        return "skipped: already sent"
    rows.update(
        delivery_status=DeliveryStatus.SENDING,
        delivery_handed_at=timezone.now(),
        delivery_attempts=F("delivery_attempts") + 1,
    )
    sent: list[str] = []
    try:
        delivered = send_with_retry(
            task=send_session_reminder,
            attempt=attempt,
            send=lambda: sent.append(provider.send(reminder.recipient, body)),
            on_retry=lambda error: rows.update(
                delivery_status=DeliveryStatus.RETRYING, delivery_error=error
            ),
            on_give_up=lambda error: rows.update(
                delivery_status=DeliveryStatus.FAILED, delivery_error=error
            ),
            args=(reminder.pk,),
        )
    except OSError:
        raise  # the last attempt failed: recorded by on_give_up
    except Exception as error:
        # Not an SmsError: the provider may or may not have sent the text. Never sent twice:
        # the row is failed (the error kept on it) rather than left "sending" to be retried.
        rows.update(
            delivery_status=DeliveryStatus.FAILED,
            delivery_error=f"Outcome unknown, not retried: {type(error).__name__}: {error}"[:300],
        )
        raise
    if not delivered:
        return "retrying"
    rows.update(
        delivery_status=DeliveryStatus.SENT,
        delivery_error="",
        delivery_message_id=str(sent[0])[:255],
        delivered_at=timezone.now(),
    )
    return "sent"


def _claim_and_send(reminder_id: int, *, attempt: int) -> str:
    now = timezone.now()
    if not _claim(reminder_id, now=now):
        return "skipped: sent, withdrawn or being sent by another worker"
    reminder = _load(reminder_id)
    if reminder is None:
        return "skipped: the session was deleted"
    reason = withdrawal_reason(reminder, now=now)
    if reason is not None:
        return _withdraw(reminder, reason)
    return _deliver(reminder, attempt=attempt)


@task(queue_name="email")
def send_session_reminder(reminder_id: int, attempt: int = 1) -> str:
    """Send (or retry) one reminder, unless another run has it or it no longer applies."""
    return _claim_and_send(reminder_id, attempt=attempt)


def _take_over_abandoned(now: datetime) -> list[int]:
    """Ids of abandoned rows this run claimed (rows another run is claiming are skipped)."""
    taken: list[int] = []
    with transaction.atomic():
        candidates = list(
            SessionReminder.objects.filter(abandoned(now))
            .select_for_update(skip_locked=True)
            .order_by("pk")
            .values_list("pk", flat=True)[:100]
        )
        for reminder_id in candidates:
            if _claim(reminder_id, now=now):
                taken.append(reminder_id)
    return taken


def _send_taken_over(reminder_id: int, *, now: datetime) -> None:
    reminder = _load(reminder_id)
    if reminder is None:
        return
    reason = withdrawal_reason(reminder, now=now)
    if reason is not None:
        _withdraw(reminder, reason)
        return
    _deliver(reminder, attempt=reminder.delivery_attempts + 1)


def scan(now: datetime | None = None) -> dict[str, int]:
    """One pass: make the due reminders (each queued for sending) and take over abandoned
    ones. A reminder that fails (its recipient can't be worked out, the provider raises, the
    last attempt fails) is logged and counted, and the pass goes on with the others. Returns
    counts, for the task result and the tests."""
    now = now or timezone.now()
    counts = {"created": 0, "taken_over": 0, "failed": 0}
    channels = [ReminderChannel.EMAIL] + ([ReminderChannel.SMS] if sms_enabled() else [])
    for offset_hours in all_offsets():
        for channel in channels:
            for session in due_sessions(offset_hours=offset_hours, channel=channel, now=now):
                try:
                    if _create(session, offset_hours, channel) is not None:
                        counts["created"] += 1
                except Exception:
                    counts["failed"] += 1
                    logger.exception(
                        "Reminder of session %s (%s h, %s) not made",
                        session.pk,
                        offset_hours,
                        channel,
                    )
    for reminder_id in _take_over_abandoned(now):
        counts["taken_over"] += 1
        try:
            _send_taken_over(reminder_id, now=now)
        except Exception:  # recorded on the row when it was a send that failed
            counts["failed"] += 1
            logger.exception("Reminder %s not delivered", reminder_id)
    return counts


SCAN_TASK_PATH = "caseload.scheduling.reminders.send_due_reminders"


def _next_run_waiting() -> bool:
    return DBTaskResult.objects.filter(
        task_path=SCAN_TASK_PATH, status=TaskResultStatus.READY
    ).exists()


def ensure_reminder_chain() -> bool:
    """Start the chain of scans unless a run is already waiting; True if one was enqueued."""
    if _next_run_waiting():
        return False
    send_due_reminders.enqueue()
    return True


def _enqueue_next_run() -> None:
    # One chain: a second chain (the command run twice) ends at its next run.
    if default_task_backend.supports_defer and not _next_run_waiting():
        interval = timedelta(seconds=settings.REMINDER_SCAN_SECONDS)
        send_due_reminders.using(run_after=timezone.now() + interval).enqueue()


@task(queue_name="email")
def send_due_reminders() -> str:
    """Make and send the reminders that are due and expire booking requests whose time has
    passed unanswered, then run again in REMINDER_SCAN_SECONDS, whatever happened in this
    run (its error, if any, is the task's result)."""
    try:
        counts = scan()
        counts["expired"] = expire_passed_requests(now=timezone.now())
    finally:
        _enqueue_next_run()
    return (
        f"created {counts['created']}, taken over {counts['taken_over']}, "
        f"failed {counts['failed']}; booking requests expired {counts['expired']}"
    )


# The client's choice ---------------------------------------------------------------------
@transaction.atomic
def reminder_preference_update(
    *,
    relationship: CareRelationship,
    email_opt_out: bool,
    sms_opt_out: bool,
    actor: User,
    audit_context: AuditContext = SYSTEM,
) -> ReminderPreference:
    """The client (or guardian) turns reminders off or on again for one care relationship.
    The portal's selector decided the actor acts in this care; checked again here."""
    holder = account_holder(relationship.client)
    if holder is None or holder.pk != actor.pk:
        raise PermissionError("Only the client, or a child's guardian, chooses reminders.")
    try:
        with transaction.atomic():  # two saves at once: the one-to-one key decides
            preference, _ = ReminderPreference.objects.select_for_update().get_or_create(
                relationship=relationship
            )
    except IntegrityError:
        preference = ReminderPreference.objects.select_for_update().get(relationship=relationship)
    changed = {
        name: value
        for name, value in (("email_opt_out", email_opt_out), ("sms_opt_out", sms_opt_out))
        if getattr(preference, name) != value
    }
    if changed:
        for name, value in changed.items():
            setattr(preference, name, value)
        preference.save(update_fields=[*changed, "updated_at"])
        audit_record(
            action="reminder_preference.update",
            actor=actor,
            audit_context=audit_context,
            client=relationship.client,
            practice=relationship.practice,
            obj=relationship,
            detail=changed,
        )
    return preference

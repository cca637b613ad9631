"""Scheduling (SCH-1 … SCH-4): recurring series, availability, booking requests, reminders and
calendar feeds. Sessions themselves are `visits.TherapySession`; this app points at them and
never the other way round (visits sits below scheduling)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from caseload.lib.email import DeliveryStatus

#: The longest a series runs: its sessions are created up front, so it is bounded.
MAX_OCCURRENCES = 104


class Frequency(models.TextChoices):
    WEEKLY = "weekly", "Weekly"
    EVERY_TWO_WEEKS = "biweekly", "Every 2 weeks"
    MONTHLY_BY_WEEKDAY = "monthly", "Monthly (same weekday)"


class SessionSeries(models.Model):
    """Recurring sessions of one client, expanded with dateutil's rrule in the practice's time
    zone (the wall-clock time stays put across daylight-saving changes). Each created session
    is linked by a `SeriesOccurrence`; "this and following" edits end this series and start a
    new one from the edited session on."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    relationship = models.ForeignKey(
        "clients.CareRelationship", on_delete=models.PROTECT, related_name="session_series"
    )
    frequency = models.CharField(max_length=20, choices=Frequency.choices)
    #: The first session's start (UTC) and its wall-clock time in `time_zone`.
    starts_at = models.DateTimeField()
    time_zone = models.CharField(max_length=64)
    duration_minutes = models.PositiveSmallIntegerField(default=50)
    modality = models.CharField(max_length=20, default="in_person")
    #: Ends on a date (inclusive, practice time) or after a number of sessions.
    until = models.DateField(null=True, blank=True)
    count = models.PositiveSmallIntegerField(null=True, blank=True)
    #: The series this one continues after a "this and following" edit.
    previous = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(until__isnull=False) | Q(count__isnull=False),
                name="series_has_an_end",
            ),
            models.CheckConstraint(
                condition=Q(count__isnull=True) | Q(count__gte=1, count__lte=MAX_OCCURRENCES),
                name="series_count_1_to_max",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_frequency_display()} from {self.starts_at:%Y-%m-%d}"


class SeriesOccurrence(models.Model):
    """One session of a series (the link lives here so that visits knows nothing of series)."""

    series = models.ForeignKey(SessionSeries, on_delete=models.PROTECT, related_name="occurrences")
    session = models.OneToOneField(
        "visits.TherapySession", on_delete=models.PROTECT, related_name="series_occurrence"
    )
    position = models.PositiveSmallIntegerField(help_text="1 for the series' first session.")

    class Meta:
        ordering = ["series", "position"]
        constraints = [
            models.UniqueConstraint(fields=["series", "position"], name="series_position_unique")
        ]

    def __str__(self) -> str:
        return f"{self.series} #{self.position}"


class WorkingHours(models.Model):
    """A clinician's bookable hours on one weekday, in the practice's time zone. A day can have
    several spans (a morning and an afternoon); a day without any is not worked."""

    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="working_hours"
    )
    weekday = models.PositiveSmallIntegerField(help_text="0 is Monday, 6 is Sunday.")
    start = models.TimeField()
    end = models.TimeField()

    class Meta:
        ordering = ["clinician", "weekday", "start"]
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="weekday_0_to_6"),
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="hours_end_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.weekday}: {self.start:%H:%M}–{self.end:%H:%M}"


class BlockedTime(models.Model):
    """Time a clinician is away (leave, training, a dentist): no bookings, shown as a conflict."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocked_times"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    #: The clinician's own label; shown on their calendar, never to clients.
    reason = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at"]
        indexes = [models.Index(fields=["clinician", "starts_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="blocked_end_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"Blocked {self.starts_at:%Y-%m-%d %H:%M}"


class BookingStatus(models.TextChoices):
    PENDING = "pending", "Awaiting approval"
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Declined"
    WITHDRAWN = "withdrawn", "Withdrawn"
    #: Its time came before the therapist answered (`booking.expire_passed_requests`).
    EXPIRED = "expired", "Expired"


class BookingRequest(models.Model):
    """A client's or guardian's request for one of the therapist's free times (SCH-2)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    relationship = models.ForeignKey(
        "clients.CareRelationship", on_delete=models.PROTECT, related_name="booking_requests"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    starts_at = models.DateTimeField()
    duration_minutes = models.PositiveSmallIntegerField(default=50)
    modality = models.CharField(max_length=20, default="in_person")
    status = models.CharField(
        max_length=20, choices=BookingStatus.choices, default=BookingStatus.PENDING
    )
    #: The session an approval created.
    session = models.OneToOneField(
        "visits.TherapySession",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="booking_request",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            # One open request per client at a time: a double click or a second tab can't
            # queue several.
            models.UniqueConstraint(
                fields=["relationship"],
                condition=Q(status="pending"),
                name="one_pending_booking_per_client",
            )
        ]

    def __str__(self) -> str:
        return f"Booking request {self.starts_at:%Y-%m-%d %H:%M} ({self.status})"


class ReminderChannel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "Text message"


class SessionReminder(models.Model):
    """One reminder of one session at one offset on one channel, for the session's time as it
    was when the reminder fell due. The unique key makes it exactly once: whichever worker
    inserts the row sends it; a moved session has a new start and so gets new reminders; a
    cancelled one is never picked up. A withdrawn row (`withdrawn_at`) is kept for the record
    but leaves the key free, so that a session restored, or a client who turns reminders on
    again, is reminded after all. Delivery fields as `lib.email.send_tracked` expects."""

    session = models.ForeignKey(
        "visits.TherapySession", on_delete=models.CASCADE, related_name="reminders"
    )
    offset_hours = models.PositiveSmallIntegerField()
    channel = models.CharField(max_length=10, choices=ReminderChannel.choices)
    session_starts_at = models.DateTimeField()
    recipient = models.CharField(max_length=254)
    delivery_status = models.CharField(
        max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED
    )
    delivery_error = models.CharField(max_length=300, blank=True)
    delivery_attempts = models.PositiveSmallIntegerField(default=0)
    delivery_message_id = models.CharField(max_length=255, blank=True)
    delivery_handed_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    #: When the reminder was withdrawn instead of sent (the reason is in `delivery_error`).
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["session", "offset_hours", "channel", "session_starts_at"],
                condition=Q(withdrawn_at__isnull=True),
                name="one_live_reminder_per_session_offset_channel",
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} reminder {self.offset_hours} h before {self.session_starts_at}"


class ReminderPreference(models.Model):
    """A client's (or guardian's) choice about reminders for one care relationship."""

    relationship = models.OneToOneField(
        "clients.CareRelationship", on_delete=models.CASCADE, related_name="reminder_preference"
    )
    email_opt_out = models.BooleanField(default=False)
    sms_opt_out = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Reminder preference of {self.relationship_id}"


class CalendarFeed(models.Model):
    """A clinician's private ICS feed. Only the token's SHA-256 is stored; the URL is shown once
    when made. Revoking ends it for good; a new feed gets a new URL."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feeds"
    )
    token_sha256 = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Calendar feed of {self.clinician_id}"

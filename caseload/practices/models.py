"""Practices and their members (therapists, supervisors, practice admins)."""

from __future__ import annotations

import uuid
import zoneinfo
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, URLValidator
from django.db import models

#: What a client in danger is told to do when the practice hasn't said otherwise (US).
DEFAULT_CRISIS_TEXT = "call or text 988, or call 911 in an emergency"


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError("Choose a time zone such as Europe/London or America/New_York.")


class ReminderSetting(models.TextChoices):
    OFF = "off", "Off"
    DAY_BEFORE = "24", "24 hours before"
    TWO_DAYS_BEFORE = "48", "48 hours before"
    BOTH = "both", "48 and 24 hours before"


REMINDER_OFFSETS: dict[str, tuple[int, ...]] = {
    ReminderSetting.OFF: (),
    ReminderSetting.DAY_BEFORE: (24,),
    ReminderSetting.TWO_DAYS_BEFORE: (48,),
    ReminderSetting.BOTH: (48, 24),
}


def validate_telehealth_template(value: str) -> None:
    """An https address with exactly one {room} in its path or query."""
    if not value:
        return
    if value.count("{room}") != 1:
        raise ValidationError("Put {room} once where the room name goes.")
    URLValidator(schemes=["https"])(value.replace("{room}", "room"))
    if "{room}" in urlsplit(value).netloc:
        raise ValidationError("The room name goes in the path or query, not the host.")


def telehealth_link(template: str, room: str) -> str:
    """A practice's telehealth link (`template`, with {room}) for one room; "" while the
    practice has none or there is no room. The one place the link is put together: sessions
    ask `visits.models.join_link`, which adds the modality rule."""
    if not room or not template:
        return ""
    return template.replace("{room}", room)


class Practice(models.Model):
    """A therapy practice; a solo therapist is a practice of one."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    billing_enabled = models.BooleanField(default=False)
    child_accounts_enabled = models.BooleanField(default=False)
    #: Staff (clinicians, supervisors, practice admins) must sign in with a second factor: one
    #: without an authenticator app or passkey is sent to set one up before anything else.
    staff_two_factor_required = models.BooleanField(default=False)
    #: Where a client in danger should turn, in the practice's country; blank: the US lines.
    crisis_text = models.CharField(
        max_length=300,
        blank=True,
        help_text="What a client in danger should do, e.g. for the UK: call 999 or the "
        "Samaritans on 116 123. Leave blank for the US: call or text 988, or call 911.",
    )
    phone = models.CharField(max_length=40, blank=True)
    # Scheduling (SCH-2 … SCH-4).
    booking_requests_enabled = models.BooleanField(
        "Clients can request sessions",
        default=False,
        help_text="Clients and guardians see their therapist's free times in the portal and "
        "request one; the therapist approves or declines.",
    )
    booking_weeks_ahead = models.PositiveSmallIntegerField(
        "Weeks ahead a client can book",
        default=4,
        validators=[MinValueValidator(1), MaxValueValidator(12)],
    )
    cancellation_window_hours = models.PositiveSmallIntegerField(
        "Cancellation window (hours)",
        default=24,
        validators=[MaxValueValidator(168)],
        help_text="A client may cancel in the portal until this many hours before the session; "
        'a later cancellation is marked "Late cancel".',
    )
    reminders = models.CharField(
        "Session reminders",
        max_length=10,
        choices=ReminderSetting.choices,
        default=ReminderSetting.OFF,
        help_text="Emailed to the client or guardian: date, time and place or video link only.",
    )
    sms_reminders_enabled = models.BooleanField(
        "Also remind by text message",
        default=False,
        help_text="Sent through the configured SMS provider to the client's phone number.",
    )
    telehealth_url_template = models.CharField(
        "Telehealth link",
        max_length=300,
        blank=True,
        validators=[validate_telehealth_template],
        help_text="Your video service's meeting address with {room} where the room name goes, "
        "e.g. https://meet.jit.si/{room}. Each session gets its own unguessable room.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name

    @property
    def reminder_offsets(self) -> tuple[int, ...]:
        """Hours before a session at which its reminders go out."""
        return REMINDER_OFFSETS[self.reminders]

    @property
    def crisis_instructions(self) -> str:
        return self.crisis_text or DEFAULT_CRISIS_TEXT


class Role(models.TextChoices):
    THERAPIST = "therapist", "Therapist"
    SUPERVISOR = "supervisor", "Supervisor"
    ADMIN = "admin", "Practice admin"


class Membership(models.Model):
    """A staff account's place in a practice: its role and, for a therapist, a supervisor."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="membership"
    )
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    supervisor = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="supervisees",
        limit_choices_to={"role": Role.SUPERVISOR},
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}, {self.practice})"

    @property
    def is_therapist(self) -> bool:
        return self.role == Role.THERAPIST

    @property
    def is_supervisor(self) -> bool:
        return self.role == Role.SUPERVISOR

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

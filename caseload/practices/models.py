"""Practices and their members (therapists, supervisors, practice admins)."""

from __future__ import annotations

import uuid
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

#: What a client in danger is told to do when the practice hasn't said otherwise (US).
DEFAULT_CRISIS_TEXT = "call or text 988, or call 911 in an emergency"


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError("Choose a time zone such as Europe/London or America/New_York.")


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
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name

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

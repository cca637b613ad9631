"""Secure messages between a therapist and a client (MSG-1 … MSG-3).

A conversation is not a table of its own: it is the care relationship's messages. Each care
relationship has exactly two sides, the therapist and the client (the guardian speaks for a
child), so a message has one recipient side and one read mark.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from caseload.lib.email import DeliveryStatus


class Side(models.TextChoices):
    THERAPIST = "therapist", "Therapist"
    CLIENT = "client", "Client"  # the client, or the guardian for a child

    @property
    def other(self) -> Side:
        return Side.CLIENT if self == Side.THERAPIST else Side.THERAPIST


class Message(models.Model):
    """One plain-text message in the conversation of a care relationship. Never edited."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    relationship = models.ForeignKey(
        "clients.CareRelationship", on_delete=models.PROTECT, related_name="messages"
    )
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    sender_side = models.CharField(max_length=10, choices=Side.choices)
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    # Set when the recipient side has seen the message on screen (not when it was fetched).
    read_at = models.DateTimeField(null=True, blank=True)
    read_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["relationship", "created_at"], name="message_conversation"),
            models.Index(
                fields=["relationship", "sender_side"],
                condition=Q(read_at__isnull=True),
                name="message_unread",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(text=""), name="message_not_empty"),
            models.CheckConstraint(
                condition=Q(read_at__isnull=True, read_by__isnull=True)
                | Q(read_at__isnull=False, read_by__isnull=False),
                name="message_read_by_whom",
            ),
        ]

    def __str__(self) -> str:
        return f"Message {self.public_id} ({self.sender_side})"


class MessageNotification(models.Model):
    """The one email that tells a side of a conversation that messages are waiting (MSG-3).

    It opens with the first message the recipient has not read and closes once they have read
    everything; while it is open, later messages send no further email. The database allows
    one open notification per side of a conversation.
    """

    relationship = models.ForeignKey(
        "clients.CareRelationship", on_delete=models.PROTECT, related_name="message_notifications"
    )
    recipient_side = models.CharField(max_length=10, choices=Side.choices)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    opened_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

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

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["relationship", "recipient_side"],
                condition=Q(closed_at__isnull=True),
                name="one_open_message_notification_per_side",
            ),
        ]

    def __str__(self) -> str:
        return f"Message notification to the {self.recipient_side} of {self.relationship_id}"

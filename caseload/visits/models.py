"""Therapy sessions, progress notes, addenda and the note's review history (SN-1 … SN-3)."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from datetime import timedelta
from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.db.models import Q

from caseload.practices.models import telehealth_link


class Modality(models.TextChoices):
    IN_PERSON = "in_person", "In person"
    TELEHEALTH = "telehealth", "Telehealth"


class SessionStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    #: Cancelled by the client inside the practice's cancellation window (SCH-2).
    LATE_CANCELLED = "late_cancelled", "Late cancel"
    NO_SHOW = "no_show", "No-show"


#: Statuses of a session that will not take place: they free the time and get no reminder.
NOT_TAKING_PLACE = (SessionStatus.CANCELLED, SessionStatus.LATE_CANCELLED, SessionStatus.NO_SHOW)


def join_link(template: str, room: str, modality: str) -> str:
    """The video link a session is joined by (SCH-4): the practice's telehealth link
    (`Practice.telehealth_url_template`) with the session's room; "" for a session in person,
    or while the practice has no telehealth link."""
    if modality != Modality.TELEHEALTH:
        return ""
    return telehealth_link(template, room)


def new_video_room() -> str:
    """An unguessable room name for a telehealth session's join link (SCH-4)."""
    return secrets.token_urlsafe(18)


class TherapySession(models.Model):
    """One appointment between the therapist and the client (stored in UTC)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    relationship = models.ForeignKey(
        "clients.CareRelationship", on_delete=models.PROTECT, related_name="sessions"
    )
    starts_at = models.DateTimeField()
    duration_minutes = models.PositiveSmallIntegerField(default=50)
    modality = models.CharField(max_length=20, choices=Modality.choices, default=Modality.IN_PERSON)
    status = models.CharField(
        max_length=20, choices=SessionStatus.choices, default=SessionStatus.SCHEDULED
    )
    mood_score = models.PositiveSmallIntegerField(null=True, blank=True)
    #: The telehealth room, set when the session is telehealth; the practice's URL template
    #: turns it into the join link. Never reused, never shown outside the session's people.
    video_room = models.CharField(max_length=40, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at"]
        indexes = [models.Index(fields=["relationship", "starts_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(mood_score__isnull=True) | Q(mood_score__gte=1, mood_score__lte=10),
                name="mood_score_1_to_10",
            ),
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=5, duration_minutes__lte=480),
                name="session_duration_5_to_480",
            ),
        ]

    def __str__(self) -> str:
        return f"Session {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def ends_at(self) -> Any:
        return self.starts_at + timedelta(minutes=self.duration_minutes)


class NoteFormat(models.TextChoices):
    SOAP = "soap", "SOAP"
    DAP = "dap", "DAP"
    BIRP = "birp", "BIRP"
    FREE_TEXT = "free_text", "Free text"


#: The longest text one note section holds; a longer one is refused, never cut.
NOTE_SECTION_MAX_LENGTH = 20_000

#: The sections of each format, in order: (key, label, prompt).
NOTE_SECTIONS: dict[str, list[tuple[str, str, str]]] = {
    NoteFormat.SOAP: [
        ("subjective", "Subjective", "What the client reports: concerns, mood, events."),
        ("objective", "Objective", "What you observed: affect, behaviour, measures."),
        ("assessment", "Assessment", "Your clinical impression and progress toward goals."),
        ("plan", "Plan", "Next steps, homework, next session."),
    ],
    NoteFormat.DAP: [
        ("data", "Data", "What the client said and what you observed."),
        ("assessment", "Assessment", "Your interpretation and progress toward goals."),
        ("plan", "Plan", "Next steps, homework, next session."),
    ],
    NoteFormat.BIRP: [
        ("behavior", "Behavior", "The client's presentation and what they reported."),
        ("intervention", "Intervention", "What you did in the session."),
        ("response", "Response", "How the client responded to the intervention."),
        ("plan", "Plan", "Next steps, homework, next session."),
    ],
    NoteFormat.FREE_TEXT: [("note", "Note", "")],
}


class NoteStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SIGNED = "signed", "Signed"
    COSIGNED = "cosigned", "Co-signed"


class ProgressNote(models.Model):
    """A session's progress note. Once signed its content is locked; corrections are addenda."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    session = models.OneToOneField(TherapySession, on_delete=models.PROTECT, related_name="note")
    format = models.CharField(max_length=20, choices=NoteFormat.choices, default=NoteFormat.SOAP)
    content = models.JSONField(default=dict, help_text="Section key → text.")
    #: Optional structured parts, in every format (visits.assessment); signed with the note.
    risk_assessment = models.JSONField(default=dict, blank=True)
    mental_status = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=NoteStatus.choices, default=NoteStatus.DRAFT)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    content_sha256 = models.CharField(max_length=64, blank=True)
    cosigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cosigned_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    #: What signing fixes for good.
    LOCKED_FIELDS = (
        "format",
        "content",
        "risk_assessment",
        "mental_status",
        "signed_by",
        "signed_at",
        "content_sha256",
    )
    SIGNER_FIELDS = ("signed_by", "cosigned_by")  # foreign keys: compared by id

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status="draft") | Q(signed_at__isnull=False, signed_by__isnull=False),
                name="signed_note_records_signer",
            ),
            models.CheckConstraint(
                condition=~Q(status="cosigned") | Q(cosigned_at__isnull=False),
                name="cosigned_note_records_cosigner",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_format_display()} note ({self.get_status_display()})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """A signed note can't change, whichever code path tries (SECURITY U4).

        Once signed, the only change `save()` allows is co-signing (signed → co-signed). The
        content, the format, the signature and its hash stay as signed, and the note can't be
        unlocked here: sending back is a deliberate, recorded step (services.note_send_back).
        """
        if self.pk is not None:
            stored = (
                type(self)
                .objects.filter(pk=self.pk)
                .values(*self.LOCKED_FIELDS, "status", "cosigned_by", "cosigned_at")
                .first()
            )
            if stored is not None and stored["status"] != NoteStatus.DRAFT:
                current = {
                    name: getattr(self, f"{name}_id" if name in self.SIGNER_FIELDS else name)
                    for name in stored
                }
                changed = [name for name in self.LOCKED_FIELDS if stored[name] != current[name]]
                if stored["status"] == NoteStatus.COSIGNED:
                    changed += [
                        name
                        for name in ("status", "cosigned_by", "cosigned_at")
                        if stored[name] != current[name]
                    ]
                elif self.status not in (NoteStatus.SIGNED, NoteStatus.COSIGNED):
                    changed.append("status")
                if changed:
                    raise PermissionError(
                        "A signed note cannot be changed. Add an addendum instead."
                    )
        super().save(*args, **kwargs)

    @property
    def is_locked(self) -> bool:
        return self.status != NoteStatus.DRAFT

    def sections(self) -> list[dict[str, str]]:
        return [
            {"key": key, "label": label, "prompt": prompt, "text": self.content.get(key, "")}
            for key, label, prompt in NOTE_SECTIONS[self.format]
        ]

    def compute_hash(self) -> str:
        """SHA-256 of exactly what was signed: format, section texts and, when filled in, the
        risk assessment and mental status exam, in a canonical form. (Notes signed without
        them hash as before, so their stored fingerprints still verify.)"""
        signed: dict[str, Any] = {"format": self.format, "content": self.content}
        if self.risk_assessment:
            signed["risk_assessment"] = self.risk_assessment
        if self.mental_status:
            signed["mental_status"] = self.mental_status
        payload = json.dumps(signed, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(payload.encode()).hexdigest()

    def verify(self) -> bool:
        return bool(self.content_sha256) and self.compute_hash() == self.content_sha256


class AppendOnlyQuerySet(models.QuerySet[Any]):
    """Bulk update/delete refused too: addenda and a note's history are never rewritten."""

    def update(self, **kwargs: Any) -> NoReturn:
        raise PermissionError(f"{self.model._meta.verbose_name_plural} are append-only.")

    def delete(self) -> NoReturn:
        raise PermissionError(f"{self.model._meta.verbose_name_plural} are append-only.")


class NoteAddendum(models.Model):
    """A dated correction or addition to a signed note. Never changed once written."""

    note = models.ForeignKey(ProgressNote, on_delete=models.PROTECT, related_name="addenda")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"Addendum {self.created_at:%Y-%m-%d}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("Addenda cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise PermissionError("Addenda cannot be deleted.")


class NoteEventKind(models.TextChoices):
    SIGNED = "signed", "Signed"
    COSIGNED = "cosigned", "Co-signed"
    SENT_BACK = "sent_back", "Sent back"
    ADDENDUM = "addendum", "Addendum added"


class NoteEvent(models.Model):
    """The note's history: signing, co-signing, sending back with a comment. Append-only."""

    note = models.ForeignKey(ProgressNote, on_delete=models.PROTECT, related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=NoteEventKind.choices)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("A note's history cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise PermissionError("A note's history cannot be deleted.")

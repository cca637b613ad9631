"""Document templates (versioned), documents assigned to clients, and e-signatures (DOC-1 … DOC-3).

A template's content lives in immutable `TemplateVersion` rows: editing a template adds a
version, and an assigned document points at the version it was assigned with, so nothing
already assigned or completed ever changes (decision 0010). Once submitted, a document's
answers and the exact text that was completed are frozen, and its SHA-256 is stored with it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.db.models import Q

from caseload.documents.fields import display_answer, requires_signature


class DocumentKind(models.TextChoices):
    FORM = "form", "Form"
    QUESTIONNAIRE = "questionnaire", "Questionnaire"
    CONSENT = "consent", "Consent"


class AppendOnlyQuerySet(models.QuerySet[Any]):
    """Rows that are written once: bulk update and delete are refused like single ones."""

    def update(self, **kwargs: Any) -> NoReturn:
        raise ValueError("These rows are never changed.")

    def delete(self) -> NoReturn:
        raise ValueError("These rows are kept.")


class DocumentTemplate(models.Model):
    """A template: from the shipped library (no practice) or built by a practice."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    practice = models.ForeignKey(
        "practices.Practice",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="document_templates",
    )
    library_key = models.SlugField(max_length=40, null=True, blank=True, unique=True)
    kind = models.CharField(max_length=20, choices=DocumentKind.choices, default=DocumentKind.FORM)
    title = models.CharField(max_length=200)  # of the latest version, for lists
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["title", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(practice__isnull=True, library_key__isnull=False)
                | Q(practice__isnull=False, library_key__isnull=True),
                name="template_is_library_xor_practice",
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_library(self) -> bool:
        return self.library_key is not None


def content_hash(title: str, intro: str, fields: list[dict[str, Any]], scoring: str) -> str:
    canonical = json.dumps(
        {"title": title, "intro": intro, "fields": fields, "scoring": scoring},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class TemplateVersion(models.Model):
    """What a template said at one point. Never updated; editing adds the next number."""

    template = models.ForeignKey(
        DocumentTemplate, on_delete=models.PROTECT, related_name="versions"
    )
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    intro = models.TextField(blank=True)
    fields = models.JSONField()
    scoring = models.CharField(max_length=20, blank=True)  # "", "phq9", "gad7"
    content_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["template", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="one_version_number"),
        ]

    def __str__(self) -> str:
        return f"{self.title} (version {self.number})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("A template version is never changed: save a new version instead.")
        self.content_hash = content_hash(self.title, self.intro, self.fields, self.scoring)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ValueError("Template versions are kept.")

    @property
    def requires_signature(self) -> bool:
        return requires_signature(self.fields)


class DocumentStatus(models.TextChoices):
    ASSIGNED = "assigned", "Assigned"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    SIGNED = "signed", "Signed"
    REVIEWED = "reviewed", "Reviewed"


#: A document in one of these states has been submitted: its answers are frozen.
SUBMITTED_STATES = (DocumentStatus.COMPLETED, DocumentStatus.SIGNED, DocumentStatus.REVIEWED)
OPEN_STATES = (DocumentStatus.ASSIGNED, DocumentStatus.IN_PROGRESS)


#: What a submitted document keeps for good (the review fields are set once, after).
LOCKED_FIELDS = (
    "status",
    "version_id",
    "relationship_id",
    "answers",
    "content",
    "content_sha256",
    "submitted_at",
    "submitted_by_id",
    "score",
    "severity",
    "flagged",
)


class AssignedDocument(models.Model):
    """One document assigned to a client within a care relationship."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    relationship = models.ForeignKey(
        "clients.CareRelationship", on_delete=models.PROTECT, related_name="documents"
    )
    version = models.ForeignKey(TemplateVersion, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=20, choices=DocumentStatus.choices, default=DocumentStatus.ASSIGNED
    )
    due_date = models.DateField(null=True, blank=True)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    assigned_at = models.DateTimeField(auto_now_add=True)
    answers = models.JSONField(default=dict, blank=True)
    progress_saved_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    content = models.TextField(blank=True)  # the document and answers as completed
    content_sha256 = models.CharField(max_length=64, blank=True)
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    severity = models.CharField(max_length=30, blank=True)
    flagged = models.BooleanField(default=False)  # PHQ-9 item 9 above 0
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-assigned_at", "-pk"]
        indexes = [models.Index(fields=["relationship", "status"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in OPEN_STATES])
                | Q(submitted_at__isnull=False),
                name="submitted_document_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status=DocumentStatus.REVIEWED) | Q(reviewed_at__isnull=False),
                name="reviewed_document_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.version.title} ({self.get_status_display()})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            stored = AssignedDocument.objects.filter(pk=self.pk).values(*LOCKED_FIELDS).first()
            if stored is not None and stored["status"] in SUBMITTED_STATES:
                changed = [name for name in LOCKED_FIELDS if stored[name] != getattr(self, name)]
                # The one change left: Completed/Signed → Reviewed (with who and when).
                reviewing = changed == ["status"] and self.status == DocumentStatus.REVIEWED
                if changed and not reviewing:
                    raise ValueError("A submitted document is never changed.")
        super().save(*args, **kwargs)

    @property
    def is_submitted(self) -> bool:
        return self.status in SUBMITTED_STATES

    @property
    def awaits_follow_up(self) -> bool:
        """A flagged answer whose follow-up isn't recorded: its alert stays open, whether or
        not the document was reviewed (select_related("follow_up") saves the query)."""
        return self.flagged and not hasattr(self, "follow_up")

    @property
    def title(self) -> str:
        return self.version.title

    def answer_rows(self) -> list[tuple[dict[str, Any], str]]:
        """(field, answer as shown) for every field that takes an answer."""
        return [
            (spec, display_answer(spec, self.answers.get(spec["key"])))
            for spec in self.version.fields
            if spec["type"] != "signature"
        ]


class DocumentSignature(models.Model):
    """An e-signature (DOC-3): who, when, from where, and the hash of exactly what was signed."""

    document = models.OneToOneField(
        AssignedDocument, on_delete=models.PROTECT, related_name="signature"
    )
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signer_email = models.EmailField(max_length=254)  # the account's address when signing
    typed_name = models.CharField(max_length=200)
    consent_text = models.TextField()
    signed_at = models.DateTimeField()
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    content = models.TextField()  # the exact text signed
    sha256 = models.CharField(max_length=64)

    objects = AppendOnlyQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Signed by {self.typed_name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("A signature is never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ValueError("Signatures are kept.")


#: A follow-up note is a line or two, not a progress note.
FOLLOW_UP_NOTE_MAX = 500


class FlagFollowUp(models.Model):
    """How the therapist followed up an answer that asked for the crisis response (PHQ-9
    item 9 above 0, or a safety question answered "yes"): who, when, and a short note. Once."""

    document = models.OneToOneField(
        AssignedDocument, on_delete=models.PROTECT, related_name="follow_up"
    )
    followed_up_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    followed_up_at = models.DateTimeField()
    note = models.CharField(max_length=FOLLOW_UP_NOTE_MAX)

    objects = AppendOnlyQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Followed up {self.followed_up_at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("A follow-up is never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ValueError("Follow-ups are kept.")


class Cadence(models.TextChoices):
    EVERY_N_WEEKS = "weeks", "Every N weeks"
    BEFORE_EACH_SESSION = "before_session", "Before each session"


class QuestionnaireSchedule(models.Model):
    """Measurement-based care: a questionnaire the worker assigns again and again (every N
    weeks, or before each session) until the therapist stops it."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    relationship = models.ForeignKey(
        "clients.CareRelationship", on_delete=models.PROTECT, related_name="questionnaire_schedules"
    )
    template = models.ForeignKey(DocumentTemplate, on_delete=models.PROTECT, related_name="+")
    cadence = models.CharField(max_length=20, choices=Cadence.choices)
    every_weeks = models.PositiveSmallIntegerField(null=True, blank=True)
    #: Every N weeks: the next day it is assigned (in the practice's time zone).
    next_due = models.DateField(null=True, blank=True)
    #: Before each session: the start of the latest session it was assigned for.
    last_session_start = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["relationship", "template"],
                condition=Q(stopped_at__isnull=True),
                name="one_running_schedule_per_questionnaire",
            ),
            models.CheckConstraint(
                condition=~Q(cadence="weeks")
                | Q(every_weeks__gte=1, every_weeks__lte=12, next_due__isnull=False),
                name="weekly_schedule_has_interval",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template.title}: {self.describe()}"

    def describe(self) -> str:
        if self.cadence == Cadence.EVERY_N_WEEKS:
            return "every week" if self.every_weeks == 1 else f"every {self.every_weeks} weeks"
        return "before each session"

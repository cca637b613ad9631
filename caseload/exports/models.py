"""Whole-record exports: a client's right of access, or a therapist or practice leaving.

The archive (a ZIP with a readable PDF and a FHIR R4 bundle per client) is built by the task
worker and kept in the database until it is downloaded once or expires (decision 0031).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class ExportScope(models.TextChoices):
    CLIENT = "client", "One client"
    PRACTICE = "practice", "Every client of the practice"


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Building"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"
    DOWNLOADED = "downloaded", "Downloaded"
    EXPIRED = "expired", "Expired"


class RecordExport(models.Model):
    """One export request: who asked, for which records, how far the worker got, the ZIP.

    The archive's bytes are cleared when it is downloaded (the link is single-use) or found
    expired; the row stays, so the page can say what happened to it.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    practice = models.ForeignKey("practices.Practice", on_delete=models.PROTECT, related_name="+")
    scope = models.CharField(max_length=10, choices=ExportScope.choices)
    relationships = models.ManyToManyField("clients.CareRelationship", related_name="+")
    status = models.CharField(
        max_length=12, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    total = models.PositiveIntegerField(default=0, help_text="Client records to export.")
    done = models.PositiveIntegerField(default=0, help_text="Client records exported so far.")
    archive = models.BinaryField(null=True, blank=True, editable=False)
    archive_size = models.PositiveIntegerField(null=True, blank=True)
    archive_sha256 = models.CharField(max_length=64, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    downloaded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Export {self.public_id} ({self.status})"

    @property
    def is_building(self) -> bool:
        return self.status in (ExportStatus.QUEUED, ExportStatus.RUNNING)

    @property
    def is_downloadable(self) -> bool:
        return (
            self.status == ExportStatus.READY
            and self.expires_at is not None
            and self.expires_at > timezone.now()
        )

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0

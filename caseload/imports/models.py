"""Client imports from a CSV file: the upload, its column mapping and the outcome of each row."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class ImportStatus(models.TextChoices):
    MAPPING = "mapping", "Mapping columns"
    QUEUED = "queued", "Waiting to start"
    RUNNING = "running", "Importing"
    DONE = "done", "Finished"


class ClientImport(models.Model):
    """One uploaded file, imported into one clinician's caseload.

    The file's text is kept only until the import has run; the rows' outcomes stay (the
    report). `file_sha256` tells a re-upload of the same file.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    practice = models.ForeignKey(
        "practices.Practice", on_delete=models.PROTECT, related_name="client_imports"
    )
    therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="client_imports"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    file_name = models.CharField(max_length=255)
    file_sha256 = models.CharField(max_length=64)
    content = models.TextField(blank=True)
    delimiter = models.CharField(max_length=1, default=",")
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=list, help_text="The field each column goes to.")
    confirmed_rows = models.JSONField(
        default=list, help_text="Possible duplicates to import anyway (row numbers)."
    )
    send_invitations = models.BooleanField(default=True)
    status = models.CharField(
        max_length=20, choices=ImportStatus.choices, default=ImportStatus.MAPPING
    )
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["practice", "file_sha256"])]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status == ImportStatus.DONE

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 100 if self.is_finished else 0
        return min(100, self.processed_rows * 100 // self.total_rows)


class RowOutcome(models.TextChoices):
    CREATED = "created", "Created"
    SKIPPED = "skipped", "Skipped"
    FAILED = "failed", "Failed"


class ImportRow(models.Model):
    """What became of one row of the file (numbered as in a spreadsheet: the header is 1).

    A created row holds its key (the client's identity in the practice): the key is unique
    per practice, so a row imported once is never imported again, whatever file it is in.
    """

    client_import = models.ForeignKey(ClientImport, on_delete=models.CASCADE, related_name="rows")
    practice = models.ForeignKey("practices.Practice", on_delete=models.PROTECT, related_name="+")
    row_number = models.PositiveIntegerField()
    outcome = models.CharField(max_length=20, choices=RowOutcome.choices)
    full_name = models.CharField(max_length=200, blank=True)
    email = models.CharField(max_length=254, blank=True)
    message = models.CharField(max_length=500, blank=True)
    key = models.CharField(max_length=64, blank=True)
    relationship = models.ForeignKey(
        "clients.CareRelationship",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["client_import", "row_number"], name="one_outcome_per_import_row"
            ),
            models.UniqueConstraint(
                fields=["practice", "key"],
                condition=Q(outcome="created"),
                name="import_row_created_once_per_practice",
            ),
        ]
        ordering = ["row_number"]

    def __str__(self) -> str:
        return f"Row {self.row_number}: {self.outcome}"

"""Treatment plans and their immutable versions (TP-1 … TP-6)."""

from __future__ import annotations

import uuid
from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.db.models import Q


class TreatmentPlan(models.Model):
    """A treatment plan of a care relationship; its text lives in numbered versions."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    relationship = models.ForeignKey(
        "clients.CareRelationship", on_delete=models.PROTECT, related_name="treatment_plans"
    )
    title = models.CharField(max_length=200, default="Treatment plan")
    effective_date = models.DateField()
    review_date = models.DateField(help_text="When the plan must be reviewed (it expires).")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-effective_date", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(review_date__gt=models.F("effective_date")),
                name="plan_review_after_effective",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class VersionSource(models.TextChoices):
    MANUAL = "manual", "Written by hand"
    GENERATED = "generated", "Generated"
    RESTORED = "restored", "Restored"


class PlanVersion(models.Model):
    """One saved state of a plan. Never changed: every save and restore makes a new one."""

    plan = models.ForeignKey(TreatmentPlan, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    html = models.TextField(help_text="Sanitised with nh3 before it is stored.")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    source = models.CharField(max_length=20, choices=VersionSource.choices)
    options = models.JSONField(
        default=dict, blank=True, help_text="Generator and its options, for generated drafts."
    )
    restored_from = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="plan_version_number_unique"),
        ]

    def __str__(self) -> str:
        return f"Version {self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("Plan versions cannot be changed; save a new version.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise PermissionError("Plan versions cannot be deleted.")


class GenerationStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Generating"
    DONE = "done", "Ready"
    FAILED = "failed", "Failed"


class PlanGeneration(models.Model):
    """A background "Generate with AI" request; its draft is not a plan until saved."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    relationship = models.ForeignKey(
        "clients.CareRelationship", on_delete=models.PROTECT, related_name="plan_generations"
    )
    plan = models.ForeignKey(
        TreatmentPlan, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    options = models.JSONField(default=dict)
    #: The de-identified input the therapist reviewed before it was sent to an outside AI
    #: service ("Review what will be sent"); the worker sends exactly this.
    reviewed_input = models.JSONField(null=True, blank=True, editable=False)
    status = models.CharField(
        max_length=20, choices=GenerationStatus.choices, default=GenerationStatus.QUEUED
    )
    generator = models.CharField(max_length=40, blank=True)
    html = models.TextField(blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Generation {self.public_id} ({self.status})"

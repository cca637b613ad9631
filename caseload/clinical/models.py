"""The clinical record a therapist keeps for a care relationship (MC-6 Clinical Information)."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q


class DiagnosisStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    RESOLVED = "resolved", "Resolved"


class Diagnosis(models.Model):
    """A billable ICD-10-CM code on the record; at most one is primary."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    relationship = models.ForeignKey(
        "clients.CareRelationship", on_delete=models.PROTECT, related_name="diagnoses"
    )
    code = models.CharField(max_length=8)
    description = models.CharField(max_length=300, help_text="As published with the code.")
    is_primary = models.BooleanField(default=False)
    status = models.CharField(
        max_length=10, choices=DiagnosisStatus.choices, default=DiagnosisStatus.ACTIVE
    )
    onset_date = models.DateField(null=True, blank=True)
    resolved_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_primary", "status", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["relationship"],
                condition=Q(is_primary=True),
                name="one_primary_diagnosis_per_record",
            ),
            models.UniqueConstraint(
                fields=["relationship", "code"], name="diagnosis_code_once_per_record"
            ),
            models.CheckConstraint(
                condition=Q(resolved_date__isnull=True)
                | Q(onset_date__isnull=True)
                | Q(resolved_date__gte=models.F("onset_date")),
                name="diagnosis_resolved_after_onset",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.description}"


class Medication(models.Model):
    """A medication the client takes or took, as reported to the therapist."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    relationship = models.ForeignKey(
        "clients.CareRelationship", on_delete=models.PROTECT, related_name="medications"
    )
    name = models.CharField(max_length=200)
    dose = models.CharField(max_length=100, blank=True)
    frequency = models.CharField(max_length=100, blank=True)
    prescriber = models.CharField(max_length=200, blank=True)
    start_date = models.DateField(null=True, blank=True)
    stop_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["stop_date", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(stop_date__isnull=True)
                | Q(start_date__isnull=True)
                | Q(stop_date__gte=models.F("start_date")),
                name="medication_stops_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ClinicalSummary(models.Model):
    """Long-form history and presenting concerns: one per care relationship."""

    relationship = models.OneToOneField(
        "clients.CareRelationship", on_delete=models.PROTECT, related_name="clinical_summary"
    )
    presenting_concerns = models.TextField(blank=True)
    mental_health_history = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Clinical summary for {self.relationship_id}"

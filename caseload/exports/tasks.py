"""Whole-record exports are built by the worker; the export page polls their progress."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

from django.conf import settings
from django.tasks import task
from django.utils import timezone

from caseload.audit.services import audit_record
from caseload.exports.archive import build_archive
from caseload.exports.models import ExportStatus, RecordExport

logger = logging.getLogger(__name__)


@task()
def build_record_export(export_id: int) -> str:
    """Build the ZIP. Safe to run twice (decision 0020): a run the worker recovery puts back
    after a worker died finds the export still RUNNING and builds it again from the start."""
    claimed = RecordExport.objects.filter(
        pk=export_id, status__in=(ExportStatus.QUEUED, ExportStatus.RUNNING)
    ).update(status=ExportStatus.RUNNING, done=0)
    if not claimed:
        return "skipped: already built"
    export = RecordExport.objects.defer("archive").get(pk=export_id)
    rows = RecordExport.objects.filter(pk=export_id)
    try:
        archive = build_archive(
            export.relationships.select_related("client").order_by("pk"),
            progress=lambda done: rows.update(done=done),
        )
    except Exception:
        logger.exception("Record export %s failed", export_id)
        rows.update(
            status=ExportStatus.FAILED,
            error="Something went wrong while building the export. Try again.",
            finished_at=timezone.now(),
        )
        return "failed"
    now = timezone.now()
    rows.update(
        status=ExportStatus.READY,
        archive=archive,
        archive_size=len(archive),
        archive_sha256=hashlib.sha256(archive).hexdigest(),
        finished_at=now,
        expires_at=now + timedelta(hours=settings.RECORD_EXPORT_VALID_HOURS),
    )
    audit_record(
        action="export.ready",
        practice=export.practice,
        obj=export,
        detail={"scope": export.scope, "clients": export.total, "bytes": len(archive)},
    )
    return "ready"

"""Requesting and downloading whole-record exports. Every request and download is audited."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from caseload.accounts.models import User
from caseload.audit.models import Outcome
from caseload.audit.services import audit_record
from caseload.clients.access import access_for
from caseload.clients.models import CareRelationship
from caseload.exports.models import ExportScope, ExportStatus, RecordExport
from caseload.exports.selectors import practice_relationships_for_admin
from caseload.exports.tasks import build_record_export
from caseload.lib.http import SYSTEM, AuditContext
from caseload.practices.models import Role


class ExportError(Exception):
    """A request that can't be met, with a sentence for the user."""


class ExportGone(ExportError):
    """The download link was used already or has expired."""


class ExportNotAllowed(ExportError):
    """The requester no longer has the rights the export was asked with (a 404)."""


def _clear_expired() -> None:
    """Nobody fetched these in time: drop their archives (the rows stay, for the page)."""
    RecordExport.objects.filter(status=ExportStatus.READY, expires_at__lte=timezone.now()).update(
        status=ExportStatus.EXPIRED, archive=None
    )


def _queue(
    *,
    actor: User,
    scope: str,
    relationships: list[CareRelationship],
    audit_context: AuditContext,
) -> RecordExport:
    _clear_expired()
    export = RecordExport.objects.create(
        requested_by=actor,
        practice_id=actor.membership.practice_id,
        scope=scope,
        total=len(relationships),
    )
    export.relationships.set(relationships)
    build_record_export.enqueue(export.pk)  # the task row commits with the export
    for relationship in relationships:
        audit_record(
            action="export.request",
            actor=actor,
            audit_context=audit_context,
            client=relationship.client,
            obj=export,
            detail={"scope": scope, "clients": len(relationships)},
        )
    return export


@transaction.atomic
def export_request_client(
    *, relationship: CareRelationship, actor: User, audit_context: AuditContext = SYSTEM
) -> RecordExport:
    """Export one client's whole record: their own therapist only (not the supervisor)."""
    access = access_for(actor, relationship)
    if not access.is_owner or access.awaiting_approval:
        raise ExportError("Only the client's own therapist can export their record.")
    return _queue(
        actor=actor,
        scope=ExportScope.CLIENT,
        relationships=[relationship],
        audit_context=audit_context,
    )


@transaction.atomic
def export_request_practice(*, actor: User, audit_context: AuditContext = SYSTEM) -> RecordExport:
    """A practice admin exports every client record of the practice, one folder per client."""
    relationships = list(practice_relationships_for_admin(actor).select_related("client"))
    if not relationships:
        raise ExportError("There are no client records in this practice to export.")
    return _queue(
        actor=actor,
        scope=ExportScope.PRACTICE,
        relationships=relationships,
        audit_context=audit_context,
    )


GONE_MESSAGES = {
    "used": "This export has been downloaded already: each link works once.",
    "expired": "This download link has expired.",
    "not_ready": "This export is not ready to download.",
}


def _still_allowed(export: RecordExport, actor: User) -> bool:
    """The rights the export was asked with, checked again when the records leave: the
    practice's admin still, or still every exported client's own therapist."""
    if export.scope == ExportScope.PRACTICE:
        membership = getattr(actor, "membership", None)
        return (
            membership is not None
            and membership.role == Role.ADMIN
            and membership.practice_id == export.practice_id
        )
    for relationship in export.relationships.select_related("client"):
        access = access_for(actor, relationship)
        if not access.is_owner or access.awaiting_approval:
            return False
    return True


def export_download(
    *, export: RecordExport, actor: User, audit_context: AuditContext = SYSTEM
) -> bytes:
    """Hand over the ZIP once: the first download empties it, and it expires unfetched.

    A refused download is recorded (and an expired archive dropped) before `ExportGone` is
    raised, outside the transaction, so the refusal's audit row stays.
    """
    archive, reason = _take_archive(export=export, actor=actor, audit_context=audit_context)
    if reason == "not_allowed":
        raise ExportNotAllowed("No such export.")
    if archive is None:
        raise ExportGone(GONE_MESSAGES[reason])
    return archive


@transaction.atomic
def _take_archive(
    *, export: RecordExport, actor: User, audit_context: AuditContext
) -> tuple[bytes | None, str]:
    locked = RecordExport.objects.select_for_update().get(pk=export.pk, requested_by=actor)
    now = timezone.now()
    if not _still_allowed(locked, actor):
        audit_record(
            action="export.download",
            actor=actor,
            audit_context=audit_context,
            obj=locked,
            outcome=Outcome.DENIED,
            detail={"reason": "not_allowed"},
        )
        return None, "not_allowed"
    if locked.status == ExportStatus.READY and locked.expires_at and locked.expires_at <= now:
        RecordExport.objects.filter(pk=locked.pk).update(status=ExportStatus.EXPIRED, archive=None)
        locked.status = ExportStatus.EXPIRED
    if locked.status != ExportStatus.READY or locked.archive is None:
        reason = {ExportStatus.DOWNLOADED: "used", ExportStatus.EXPIRED: "expired"}.get(
            ExportStatus(locked.status), "not_ready"
        )
        audit_record(
            action="export.download",
            actor=actor,
            audit_context=audit_context,
            obj=locked,
            outcome=Outcome.DENIED,
            detail={"reason": reason},
        )
        return None, reason
    archive = bytes(locked.archive)
    RecordExport.objects.filter(pk=locked.pk).update(
        status=ExportStatus.DOWNLOADED, archive=None, downloaded_at=now
    )
    detail = {"scope": locked.scope, "clients": locked.total, "bytes": len(archive)}
    for relationship in locked.relationships.select_related("client"):
        # One row per client, as for the request: each client's trail shows their record left.
        audit_record(
            action="export.download",
            actor=actor,
            audit_context=audit_context,
            client=relationship.client,
            obj=locked,
            detail=detail,
        )
    return archive, "ok"

"""Reads for documents. Staff lookups go through the client's relationship (SECURITY A2).

Nothing here writes: the shipped library is recorded at migrate time (`library.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from django.db.models import Q, QuerySet
from django.http import Http404

from caseload.accounts.models import User
from caseload.clients.access import get_relationship_for_user, in_care_of
from caseload.clients.models import CareRelationship, CareState
from caseload.clients.services import account_holder
from caseload.documents.fields import FieldType, display_answer
from caseload.documents.library import LIBRARY_ORDER
from caseload.documents.models import (
    SUBMITTED_STATES,
    AssignedDocument,
    DocumentSignature,
    DocumentStatus,
    DocumentTemplate,
    TemplateVersion,
)


def documents_for(relationship: CareRelationship) -> QuerySet[AssignedDocument]:
    return relationship.documents.select_related("version", "signature").order_by(
        "-assigned_at", "-pk"
    )


def get_document_for_user(
    user: User, client_id: UUID, document_id: UUID, *, write: bool = False
) -> tuple[CareRelationship, AssignedDocument]:
    relationship = get_relationship_for_user(user, client_id, write=write)
    document = (
        relationship.documents.select_related(
            "version", "signature__signer", "submitted_by", "reviewed_by", "assigned_by"
        )
        .filter(public_id=document_id)
        .first()
    )
    if document is None:
        raise Http404("No such document.")
    return relationship, document


def templates_for(user: User) -> QuerySet[DocumentTemplate]:
    """The library and the user's practice's own templates (not archived)."""
    return (
        DocumentTemplate.objects.filter(
            Q(practice__isnull=True) | Q(practice_id=user.membership.practice_id),
            archived_at__isnull=True,
        )
        .select_related("created_by")
        .order_by("practice_id", "title", "pk")
    )


def library_and_practice_templates(user: User) -> list[DocumentTemplate]:
    """In the order therapists see them: the library as shipped, then the practice's own."""
    templates = list(templates_for(user))
    rank = {key: position for position, key in enumerate(LIBRARY_ORDER)}
    return sorted(
        templates,
        key=lambda t: (t.practice_id is not None, rank.get(t.library_key or "", 0), t.title),
    )


def assign_choices(user: User) -> list[tuple[str, str]]:
    """The Assign form's choices: (public id, title) of every template the user may assign."""
    return [(str(t.public_id), t.title) for t in library_and_practice_templates(user)]


def get_template_for_user(user: User, template_id: UUID) -> DocumentTemplate:
    template = (
        DocumentTemplate.objects.filter(
            Q(practice__isnull=True) | Q(practice_id=user.membership.practice_id)
        )
        .filter(public_id=template_id)
        .first()
    )
    if template is None:
        raise Http404("No such template.")
    return template


def latest_versions(template_ids: list[int]) -> dict[int, TemplateVersion]:
    latest: dict[int, TemplateVersion] = {}
    for version in TemplateVersion.objects.filter(template_id__in=template_ids).order_by(
        "template_id", "-number"
    ):
        latest.setdefault(version.template_id, version)
    return latest


def chosen_versions(template_ids: list[str]) -> list[TemplateVersion]:
    """The latest version of each template chosen on the Assign form (public ids)."""
    templates = list(
        DocumentTemplate.objects.filter(public_id__in=template_ids).values_list("pk", flat=True)
    )
    latest = latest_versions(templates)
    return [latest[pk] for pk in templates if pk in latest]


def portal_notified(relationship: CareRelationship) -> bool:
    """New documents are emailed: active care, with someone who signs in to the portal
    (the client, or a child's guardian)."""
    return (
        relationship.state == CareState.ACTIVE and account_holder(relationship.client) is not None
    )


@dataclass(frozen=True)
class ScorePoint:
    when: datetime
    score: int
    severity: str


def score_series(relationship: CareRelationship) -> dict[str, list[ScorePoint]]:
    """PHQ-9 and GAD-7 totals over time, oldest first (DOC-4)."""
    series: dict[str, list[ScorePoint]] = {"phq9": [], "gad7": []}
    rows = (
        relationship.documents.filter(score__isnull=False, version__scoring__in=list(series))
        .order_by("submitted_at")
        .values_list("version__scoring", "submitted_at", "score", "severity")
    )
    for scoring, when, total, severity in rows:
        if when is not None and total is not None:  # both set for every scored document
            series[scoring].append(ScorePoint(when=when, score=total, severity=severity))
    return series


# The portal (decision 0006: explicit columns, never model instances) ----------------------
#: The only columns of an assigned document a portal page may read. Scores, severity and the
#: attention flag are the therapist's reading of the answers and stay off the portal.
PORTAL_DOCUMENT_FIELDS = (
    "pk",
    "public_id",
    "status",
    "due_date",
    "assigned_at",
    "submitted_at",
    "answers",
    "version__title",
    "version__intro",
    "version__fields",
    "relationship__practice__name",
    "relationship__therapist__full_name",
    "relationship__client__full_name",
    "relationship__client__is_child",
    "signature__typed_name",
    "signature__signed_at",
)


@dataclass(frozen=True)
class PortalDocument:
    pk: int
    public_id: UUID
    status: str
    status_label: str
    due_date: date | None
    assigned_at: datetime
    submitted_at: datetime | None
    answers: dict[str, Any]
    title: str
    intro: str
    fields: list[dict[str, Any]]
    practice_name: str
    therapist_name: str
    client_name: str
    is_child: bool
    signed_name: str | None
    signed_at: datetime | None

    @property
    def is_open(self) -> bool:
        return self.status in (DocumentStatus.ASSIGNED, DocumentStatus.IN_PROGRESS)


def _portal_documents(user: User) -> QuerySet[AssignedDocument]:
    return AssignedDocument.objects.filter(in_care_of(user, prefix="relationship__")).filter(
        # Active care: everything. Archived care: what was submitted stays readable.
        Q(relationship__state=CareState.ACTIVE)
        | Q(relationship__state=CareState.ARCHIVED, status__in=SUBMITTED_STATES)
    )


def _portal_row(row: dict[str, Any]) -> PortalDocument:
    return PortalDocument(
        pk=row["pk"],
        public_id=row["public_id"],
        status=row["status"],
        status_label=DocumentStatus(row["status"]).label,
        due_date=row["due_date"],
        assigned_at=row["assigned_at"],
        submitted_at=row["submitted_at"],
        answers=row["answers"],
        title=row["version__title"],
        intro=row["version__intro"],
        fields=row["version__fields"],
        practice_name=row["relationship__practice__name"],
        therapist_name=row["relationship__therapist__full_name"],
        client_name=row["relationship__client__full_name"],
        is_child=row["relationship__client__is_child"],
        signed_name=row["signature__typed_name"],
        signed_at=row["signature__signed_at"],
    )


def portal_documents(user: User) -> list[PortalDocument]:
    rows = (
        _portal_documents(user)
        .order_by("relationship__client__full_name", "-assigned_at", "-pk")
        .values(*PORTAL_DOCUMENT_FIELDS)
    )
    return [_portal_row(row) for row in rows]


@dataclass(frozen=True)
class PortalDocuments:
    to_complete: list[PortalDocument]
    completed: list[PortalDocument]


def portal_documents_split(user: User) -> PortalDocuments:
    """Documents still to fill in first; what was submitted after, for the record."""
    documents = portal_documents(user)
    return PortalDocuments(
        to_complete=[d for d in documents if d.is_open],
        completed=[d for d in documents if not d.is_open],
    )


def get_portal_document(user: User, document_id: UUID) -> PortalDocument:
    row = _portal_documents(user).filter(public_id=document_id).values(*PORTAL_DOCUMENT_FIELDS)
    found = row.first()
    if found is None:
        raise Http404("No such document.")
    return _portal_row(found)


def portal_document_instance(pk: int) -> AssignedDocument:
    """The model behind a `PortalDocument` (with its client and practice), for the services
    and the audit trail of a portal action only: never in a template's context (decision 0006).
    """
    return AssignedDocument.objects.select_related(
        "relationship__client", "relationship__practice"
    ).get(pk=pk)


def answer_rows(
    fields: list[dict[str, Any]], answers: dict[str, Any]
) -> list[tuple[dict[str, Any], str]]:
    """(field, answer as shown) for every field that takes an answer."""
    return [
        (spec, display_answer(spec, answers.get(spec["key"])))
        for spec in fields
        if spec["type"] != FieldType.SIGNATURE
    ]


# The PDF: the same named columns for both copies; the client's copy is read with .values() ---
@dataclass(frozen=True)
class PdfSignature:
    typed_name: str
    signer_email: str
    signed_at: datetime
    ip_address: str | None
    consent_text: str
    sha256: str


@dataclass(frozen=True)
class DocumentPdf:
    """A submitted document as its PDF prints it.

    The score, severity, flag and review are the therapist's reading of the answers: they are
    filled in on the therapist's copy only and are never read for the client's.
    """

    title: str
    version_number: int
    intro: str
    practice_name: str
    client_name: str
    therapist_name: str
    submitted_at: datetime | None
    content_sha256: str
    rows: list[tuple[dict[str, Any], str]]
    signature: PdfSignature | None
    score: int | None = None
    severity: str = ""
    flagged: bool = False
    reviewed_at: datetime | None = None
    reviewed_by_name: str = ""


def staff_document_pdf(relationship: CareRelationship, document: AssignedDocument) -> DocumentPdf:
    """The therapist's copy, with the score and the review."""
    signature: DocumentSignature | None = getattr(document, "signature", None)
    return DocumentPdf(
        title=document.version.title,
        version_number=document.version.number,
        intro=document.version.intro,
        practice_name=relationship.practice.name,
        client_name=relationship.client.full_name,
        therapist_name=str(relationship.therapist),
        submitted_at=document.submitted_at,
        content_sha256=document.content_sha256,
        rows=document.answer_rows(),
        signature=PdfSignature(
            typed_name=signature.typed_name,
            signer_email=signature.signer_email,
            signed_at=signature.signed_at,
            ip_address=signature.ip_address,
            consent_text=signature.consent_text,
            sha256=signature.sha256,
        )
        if signature is not None
        else None,
        score=document.score,
        severity=document.severity,
        flagged=document.flagged,
        reviewed_at=document.reviewed_at,
        reviewed_by_name=str(document.reviewed_by) if document.reviewed_by else "",
    )


#: The only columns the client's copy reads (no score, severity, flag or review).
PORTAL_PDF_FIELDS = (
    "answers",
    "submitted_at",
    "content_sha256",
    "version__title",
    "version__number",
    "version__intro",
    "version__fields",
    "relationship__practice__name",
    "relationship__client__full_name",
    "relationship__therapist__full_name",
    "relationship__therapist__email",
    "signature__typed_name",
    "signature__signer_email",
    "signature__signed_at",
    "signature__ip_address",
    "signature__consent_text",
    "signature__sha256",
)


def portal_document_pdf(user: User, document_id: UUID) -> DocumentPdf:
    """The client's copy of a document they (or their child) submitted; 404 otherwise."""
    row = (
        _portal_documents(user)
        .filter(public_id=document_id, status__in=SUBMITTED_STATES)
        .values(*PORTAL_PDF_FIELDS)
        .first()
    )
    if row is None:
        raise Http404("No such document.")
    signed_at = row["signature__signed_at"]
    return DocumentPdf(
        title=row["version__title"],
        version_number=row["version__number"],
        intro=row["version__intro"],
        practice_name=row["relationship__practice__name"],
        client_name=row["relationship__client__full_name"],
        therapist_name=row["relationship__therapist__full_name"]
        or row["relationship__therapist__email"],
        submitted_at=row["submitted_at"],
        content_sha256=row["content_sha256"],
        rows=answer_rows(row["version__fields"], row["answers"]),
        signature=PdfSignature(
            typed_name=row["signature__typed_name"],
            signer_email=row["signature__signer_email"],
            signed_at=signed_at,
            ip_address=row["signature__ip_address"],
            consent_text=row["signature__consent_text"],
            sha256=row["signature__sha256"],
        )
        if signed_at is not None
        else None,
    )

"""Reads for documents. Staff lookups go through the client's relationship (SECURITY A2).

Nothing here writes: the shipped library is recorded at migrate time (`library.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404

from caseload.accounts.models import User
from caseload.clients.access import get_relationship_for_user, in_care_of
from caseload.clients.models import CareRelationship, CareState
from caseload.clients.services import account_holder
from caseload.documents.fields import FieldType, display_answer
from caseload.documents.library import LIBRARY_ORDER
from caseload.documents.models import (
    OPEN_STATES,
    SUBMITTED_STATES,
    AssignedDocument,
    DocumentSignature,
    DocumentStatus,
    DocumentTemplate,
    FlagFollowUp,
    QuestionnaireSchedule,
    TemplateVersion,
)
from caseload.documents.scoring import SCALES, Progress, needs_crisis_response, progress
from caseload.lib.prepared import prepared
from caseload.practices.models import DEFAULT_CRISIS_TEXT


def documents_for(relationship: CareRelationship) -> QuerySet[AssignedDocument]:
    """Every document of the relationship, newest first (pages show `documents_page`)."""
    return relationship.documents.select_related("version", "signature", "follow_up").order_by(
        "-assigned_at", "-pk"
    )


#: How many documents the Documents tab shows at a time ("Show earlier" loads as many again).
PAGE_SIZE = 20


class UnknownCursor(ValueError):
    """A paging cursor (`before`) that names no document of this client."""


@dataclass(frozen=True)
class DocumentPage:
    """At most PAGE_SIZE documents, newest first, and the cursor of the page after them."""

    documents: list[AssignedDocument]
    #: The oldest document shown, when there are older ones: `?before=` loads them.
    earlier: UUID | None
    #: The page starts with the newest document (no `before` was asked for).
    is_latest: bool


def documents_page(relationship: CareRelationship, *, before: UUID | None = None) -> DocumentPage:
    """The newest PAGE_SIZE documents, or the PAGE_SIZE assigned before the document `before`.

    Keyset paging on (assigned_at, pk), newest first: two queries at most, whatever the
    number of documents. `before` must be a document of this client (UnknownCursor if not)."""
    queryset = documents_for(relationship)
    if before is not None:
        anchor = relationship.documents.filter(public_id=before).values("assigned_at", "pk").first()
        if anchor is None:
            raise UnknownCursor("That document is not in this client's record.")
        queryset = queryset.filter(
            Q(assigned_at__lt=anchor["assigned_at"])
            | Q(assigned_at=anchor["assigned_at"], pk__lt=anchor["pk"])
        )
    rows = list(queryset[: PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    shown = rows[:PAGE_SIZE]
    return DocumentPage(
        documents=shown,
        earlier=shown[-1].public_id if more else None,
        is_latest=before is None,
    )


#: Submitted and not yet reviewed: the therapist has something to read.
TO_REVIEW = (DocumentStatus.COMPLETED, DocumentStatus.SIGNED)


def to_review_subquery() -> Coalesce:
    """Per-relationship count of documents to review (correlated to `OuterRef("pk")`)."""
    to_review = (
        AssignedDocument.objects.filter(relationship=OuterRef("pk"), status__in=TO_REVIEW)
        .values("relationship")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(to_review, output_field=IntegerField()), 0)


def flagged_exists() -> Exists:
    """A submitted document needs immediate attention (PHQ-9 item 9, a safety question
    answered "yes") and its follow-up isn't recorded yet, per relationship. Reviewing the
    document doesn't close the alert: only "Followed up" does."""
    return Exists(
        AssignedDocument.objects.filter(
            relationship=OuterRef("pk"),
            flagged=True,
            status__in=SUBMITTED_STATES,
            follow_up__isnull=True,
        )
    )


@dataclass(frozen=True)
class ScoreSummary:
    """A questionnaire's latest total, its severity band, and how far it moved since the first."""

    key: str
    name: str
    latest: int
    severity: str
    latest_at: datetime
    first: int
    count: int
    first_at: datetime | None = None

    @property
    def progress(self) -> Progress:
        """On track or not, by the reliable change rule (decision 0026)."""
        weeks = (self.latest_at - self.first_at).days / 7 if self.first_at else 0.0
        return progress(
            self.key, first=self.first, latest=self.latest, weeks=weeks, count=self.count
        )

    @property
    def change(self) -> int | None:
        """Latest minus first; None with a single score (nothing to compare)."""
        return self.latest - self.first if self.count > 1 else None

    @property
    def change_text(self) -> str:
        change = self.change
        if change is None:
            return "the only score so far"
        if change == 0:
            return f"unchanged since the first score of {self.first}"
        direction = "down" if change < 0 else "up"
        return f"{direction} {abs(change)} since the first score of {self.first}"


@dataclass(frozen=True)
class DocumentsOverview:
    to_review: int
    flagged: bool  # a flagged answer's follow-up isn't recorded: needs immediate attention
    scores: list[ScoreSummary]  # PHQ-9, then GAD-7: those with a score


_PK_STAND_IN = -918_273_645_005


def _scored(scale: str) -> QuerySet[AssignedDocument]:
    return AssignedDocument.objects.filter(
        relationship=OuterRef("pk"), score__isnull=False, version__scoring=scale
    )


def _overview_query() -> QuerySet[CareRelationship, dict[str, Any]]:
    annotations: dict[str, Any] = {"to_review": to_review_subquery(), "flagged": flagged_exists()}
    for key in SCALES:
        first = _scored(key).order_by("submitted_at", "pk")
        latest = _scored(key).order_by("-submitted_at", "-pk")
        count = _scored(key).values("relationship").annotate(n=Count("pk")).values("n")
        annotations |= {
            f"{key}_count": Coalesce(Subquery(count, output_field=IntegerField()), 0),
            f"{key}_first": Subquery(first.values("score")[:1]),
            f"{key}_latest": Subquery(latest.values("score")[:1]),
            f"{key}_severity": Subquery(latest.values("severity")[:1]),
            f"{key}_at": Subquery(latest.values("submitted_at")[:1]),
            f"{key}_first_at": Subquery(first.values("submitted_at")[:1]),
        }
    query: QuerySet[CareRelationship, dict[str, Any]] = (
        CareRelationship.objects.filter(pk=_PK_STAND_IN)
        .annotate(**annotations)
        .values(*annotations)
    )
    return query


def documents_overview_for(relationship: CareRelationship) -> DocumentsOverview:
    """The Overview's Documents card in one query, whatever the number of documents: the
    count to review, the attention flag, and each questionnaire's first and latest score
    (correlated subqueries, each reading one row or a count). The query is built and
    compiled once per process (`lib.prepared`): that cost more than running it."""
    query = prepared(("documents.overview",), _overview_query, {"pk": _PK_STAND_IN})
    [row] = query.run({"pk": relationship.pk})
    scores = [
        ScoreSummary(
            key=key,
            name=scale.name,
            latest=row[f"{key}_latest"],
            severity=row[f"{key}_severity"],
            latest_at=row[f"{key}_at"],
            first=row[f"{key}_first"],
            count=row[f"{key}_count"],
            first_at=row[f"{key}_first_at"],
        )
        for key, scale in SCALES.items()
        if row[f"{key}_count"] and row[f"{key}_at"] is not None
    ]
    return DocumentsOverview(
        to_review=row["to_review"], flagged=bool(row["flagged"]), scores=scores
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


def running_schedules(relationship: CareRelationship) -> list[QuestionnaireSchedule]:
    """The questionnaires scheduled to recur for this client (not stopped)."""
    return list(
        relationship.questionnaire_schedules.filter(stopped_at__isnull=True).select_related(
            "template"
        )
    )


def get_schedule_for_relationship(
    relationship: CareRelationship, schedule_id: UUID
) -> QuestionnaireSchedule:
    found = relationship.questionnaire_schedules.filter(
        public_id=schedule_id, stopped_at__isnull=True
    ).first()
    if found is None:
        raise Http404("No such schedule.")
    return found


def library_template(key: str) -> DocumentTemplate | None:
    return DocumentTemplate.objects.filter(library_key=key).first()


def follow_up_of(document: AssignedDocument) -> FlagFollowUp | None:
    """The recorded follow-up of a flagged document, if any."""
    if not document.flagged:
        return None
    return FlagFollowUp.objects.select_related("followed_up_by").filter(document=document).first()


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
    flagged: bool = False  # PHQ-9 item 9 above 0


def score_series(relationship: CareRelationship) -> dict[str, list[ScorePoint]]:
    """PHQ-9 and GAD-7 totals over time, oldest first (DOC-4)."""
    series: dict[str, list[ScorePoint]] = {"phq9": [], "gad7": []}
    rows = (
        relationship.documents.filter(score__isnull=False, version__scoring__in=list(series))
        .order_by("submitted_at")
        .values_list("version__scoring", "submitted_at", "score", "severity", "flagged")
    )
    for scoring, when, total, severity, flagged in rows:
        if when is not None and total is not None:  # both set for every scored document
            series[scoring].append(
                ScorePoint(when=when, score=total, severity=severity, flagged=flagged)
            )
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
    "version__scoring",
    "relationship__practice__name",
    "relationship__practice__time_zone",
    "relationship__practice__crisis_text",
    "relationship__practice__phone",
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
    #: The practice's zone: the client reads times as their therapist's practice keeps them.
    time_zone: str
    therapist_name: str
    client_name: str
    is_child: bool
    signed_name: str | None
    signed_at: datetime | None
    scoring: str = ""
    #: Where a client in danger should turn (the practice's text, or the US lines).
    crisis_text: str = DEFAULT_CRISIS_TEXT
    practice_phone: str = ""

    @property
    def is_open(self) -> bool:
        return self.status in (DocumentStatus.ASSIGNED, DocumentStatus.IN_PROGRESS)

    @property
    def asks_for_crisis_response(self) -> bool:
        """The submitted answers say the client may be in danger: show them where to turn."""
        return not self.is_open and needs_crisis_response(self.scoring, self.fields, self.answers)

    @property
    def saved_answers_ask_for_crisis_response(self) -> bool:
        """Answers saved but not yet submitted say the same: where to turn, at once, above the
        form (the client may never submit)."""
        return self.is_open and needs_crisis_response(self.scoring, self.fields, self.answers)

    @property
    def first_crisis_question(self) -> str | None:
        """The key of the first safety question: the crisis text is shown above it."""
        return next((spec["key"] for spec in self.fields if spec.get("crisis")), None)


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
        time_zone=row["relationship__practice__time_zone"],
        therapist_name=row["relationship__therapist__full_name"],
        client_name=row["relationship__client__full_name"],
        is_child=row["relationship__client__is_child"],
        signed_name=row["signature__typed_name"],
        signed_at=row["signature__signed_at"],
        scoring=row["version__scoring"],
        crisis_text=row["relationship__practice__crisis_text"] or DEFAULT_CRISIS_TEXT,
        practice_phone=row["relationship__practice__phone"],
    )


#: How many completed documents the portal shows at a time ("Show earlier" for more).
PORTAL_COMPLETED_PAGE_SIZE = 20


@dataclass(frozen=True)
class PortalDocuments:
    to_complete: list[PortalDocument]
    #: At most PORTAL_COMPLETED_PAGE_SIZE, the latest submitted first, grouped by client.
    completed: list[PortalDocument]
    #: How many documents were completed in all (the first page's count).
    completed_count: int = 0
    #: The oldest completed document shown, when there are older ones: `?before=` loads them.
    earlier: UUID | None = None
    #: The completed documents start with the latest (no `before` was asked for).
    is_latest: bool = True


def portal_documents_split(user: User, *, before: UUID | None = None) -> PortalDocuments:
    """Documents still to fill in first (a handful: a template is assigned again only once
    completed); then the latest completed ones, for the record, a page at a time.

    Four queries at most whatever the history: open documents, a page of completed ones
    (keyset on submitted_at, pk; `before` must be one of them, UnknownCursor if not), their
    count, and the cursor's row."""
    documents = _portal_documents(user)
    to_complete = (
        documents.filter(status__in=OPEN_STATES)
        .order_by("relationship__client__full_name", "-assigned_at", "-pk")
        .values(*PORTAL_DOCUMENT_FIELDS)
    )
    completed = documents.filter(status__in=SUBMITTED_STATES)
    count = completed.count() if before is None else 0
    if before is not None:
        anchor = completed.filter(public_id=before).values("submitted_at", "pk").first()
        if anchor is None:
            raise UnknownCursor("That document is not one you completed.")
        completed = completed.filter(
            Q(submitted_at__lt=anchor["submitted_at"])
            | Q(submitted_at=anchor["submitted_at"], pk__lt=anchor["pk"])
        )
    rows = list(
        completed.order_by("-submitted_at", "-pk").values(*PORTAL_DOCUMENT_FIELDS)[
            : PORTAL_COMPLETED_PAGE_SIZE + 1
        ]
    )
    page = [_portal_row(row) for row in rows[:PORTAL_COMPLETED_PAGE_SIZE]]
    return PortalDocuments(
        to_complete=[_portal_row(row) for row in to_complete],
        # Grouped by client for the page (a guardian's children); the latest first in each.
        completed=sorted(page, key=lambda document: document.client_name),
        completed_count=count,
        earlier=page[-1].public_id if len(rows) > PORTAL_COMPLETED_PAGE_SIZE else None,
        is_latest=before is None,
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
    #: The practice's zone, which the PDF's times are printed in (and labelled with).
    time_zone: str
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
        time_zone=relationship.practice.time_zone,
        client_name=relationship.client_name,
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
    "version__scoring",
    "relationship__practice__name",
    "relationship__practice__time_zone",
    "relationship__practice__crisis_text",
    "relationship__practice__phone",
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
        time_zone=row["relationship__practice__time_zone"],
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

"""Documents: building templates, assigning, filling, signing, reviewing (DOC-1 … DOC-3).

Every function is one transaction, takes the user acting (`actor`) and where the action came
from (`audit_context`), and checks the actor itself. Rules refused are `DocumentError`s with
the form field the message belongs to; views show them on that field.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.http import QueryDict
from django.utils import timezone

from caseload.accounts.models import User
from caseload.audit.services import audit_record
from caseload.clients.access import access_for, write_refusal
from caseload.clients.models import CareRelationship, CareState
from caseload.clients.services import account_holder
from caseload.documents.content import (
    CONSENT_TEXT,
    completed_text,
    sha256,
    signed_text,
)
from caseload.documents.fields import AnswerForm, clean_field_specs, crisis_answered
from caseload.documents.models import (
    FOLLOW_UP_NOTE_MAX,
    OPEN_STATES,
    AssignedDocument,
    DocumentKind,
    DocumentSignature,
    DocumentStatus,
    DocumentTemplate,
    FlagFollowUp,
    TemplateVersion,
    content_hash,
)
from caseload.documents.scoring import score
from caseload.documents.selectors import portal_notified
from caseload.documents.tasks import send_documents_email, send_flag_email
from caseload.lib.http import SYSTEM, AuditContext
from caseload.practices.models import Practice

#: A reminder for the same document is sent at most this often.
REMINDER_INTERVAL = timedelta(hours=24)


class DocumentError(Exception):
    """A rule refused the change; `field` names the form field the message belongs to."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


# Templates (DOC-1) ---------------------------------------------------------------------
def _ensure_member(actor: User, practice_id: int | None) -> None:
    membership = getattr(actor, "membership", None)
    if membership is None or membership.practice_id != practice_id:
        raise DocumentError("Only members of the practice change its templates.")


@transaction.atomic
def template_create(
    *,
    practice: Practice,
    actor: User,
    title: str,
    intro: str,
    fields: list[dict[str, Any]],
    audit_context: AuditContext = SYSTEM,
) -> DocumentTemplate:
    _ensure_member(actor, practice.pk)
    specs = clean_field_specs(fields)
    template = DocumentTemplate.objects.create(
        practice=practice, title=title, kind=DocumentKind.FORM, created_by=actor
    )
    TemplateVersion.objects.create(
        template=template, number=1, title=title, intro=intro, fields=specs, created_by=actor
    )
    audit_record(
        action="document_template.create", audit_context=audit_context, actor=actor, obj=template
    )
    return template


@transaction.atomic
def template_update(
    *,
    template: DocumentTemplate,
    actor: User,
    title: str,
    intro: str,
    fields: list[dict[str, Any]],
    audit_context: AuditContext = SYSTEM,
) -> TemplateVersion:
    """Save an edit as the next version; documents already assigned keep theirs."""
    template = DocumentTemplate.objects.select_for_update().get(pk=template.pk)
    if template.is_library:
        raise DocumentError("Templates from the library can't be edited; build your own instead.")
    _ensure_member(actor, template.practice_id)
    if template.archived_at is not None:
        raise DocumentError("Restore this template before editing it.")
    specs = clean_field_specs(fields)
    latest: TemplateVersion | None = template.versions.order_by("-number").first()
    assert latest is not None
    if latest.content_hash == content_hash(title, intro, specs, ""):
        return latest  # nothing changed: no new version
    version = TemplateVersion.objects.create(
        template=template,
        number=latest.number + 1,
        title=title,
        intro=intro,
        fields=specs,
        created_by=actor,
    )
    DocumentTemplate.objects.filter(pk=template.pk).update(title=title)
    audit_record(
        action="document_template.update",
        audit_context=audit_context,
        actor=actor,
        obj=template,
        detail={"version": version.number},
    )
    return version


@transaction.atomic
def template_archive(
    *, template: DocumentTemplate, actor: User, audit_context: AuditContext = SYSTEM
) -> None:
    if template.is_library:
        raise DocumentError("Templates from the library can't be archived.")
    _ensure_member(actor, template.practice_id)
    DocumentTemplate.objects.filter(pk=template.pk).update(archived_at=timezone.now())
    audit_record(
        action="document_template.archive", audit_context=audit_context, actor=actor, obj=template
    )


# Assigning (DOC-2) ---------------------------------------------------------------------
@transaction.atomic
def document_assign(
    *,
    relationship: CareRelationship,
    versions: list[TemplateVersion],
    due_date: date | None,
    actor: User,
    audit_context: AuditContext = SYSTEM,
) -> list[AssignedDocument]:
    relationship = (
        CareRelationship.objects.select_for_update(of=("self",))
        .select_related("client__guardianship__account", "client__account", "practice")
        .get(pk=relationship.pk)
    )
    refusal = write_refusal(
        actor, relationship, not_owner="Only the client's therapist assigns documents."
    )
    if refusal is not None:
        raise DocumentError(refusal)
    if not versions:
        raise DocumentError("Choose at least one document.", field="templates")
    # The practice's today: the worker (scheduled questionnaires) and the API run on UTC.
    if due_date is not None and due_date < timezone.localdate(
        timezone=ZoneInfo(relationship.practice.time_zone)
    ):
        raise DocumentError("The due date can't be in the past.", field="due_date")
    open_titles = set(
        relationship.documents.filter(
            status__in=OPEN_STATES, version__template__in=[v.template_id for v in versions]
        ).values_list("version__title", flat=True)
    )
    if open_titles:
        raise DocumentError(
            f"Already assigned and not yet completed: {', '.join(sorted(open_titles))}.",
            field="templates",
        )
    documents = [
        AssignedDocument.objects.create(
            relationship=relationship, version=version, due_date=due_date, assigned_by=actor
        )
        for version in versions
    ]
    for document in documents:
        audit_record(
            action="document.assign",
            audit_context=audit_context,
            actor=actor,
            client=relationship.client,
            obj=document,
            detail={"template": str(document.version.template.public_id)},
        )
    if portal_notified(relationship):
        send_documents_email.enqueue(relationship.pk, "assigned")
    return documents


@transaction.atomic
def document_send_reminder(
    *, document: AssignedDocument, actor: User, audit_context: AuditContext = SYSTEM
) -> None:
    document = _locked(document)
    relationship = document.relationship
    if not access_for(actor, relationship).is_owner or relationship.state != CareState.ACTIVE:
        raise DocumentError("Reminders go to active clients of yours only.")
    if document.status not in OPEN_STATES:
        raise DocumentError("This document is already completed.")
    if account_holder(relationship.client) is None:
        raise DocumentError("The client hasn't signed up yet: they'll see it when they do.")
    now = timezone.now()
    if document.reminded_at and now - document.reminded_at < REMINDER_INTERVAL:
        raise DocumentError("A reminder was already sent in the last 24 hours.")
    AssignedDocument.objects.filter(pk=document.pk).update(reminded_at=now)
    send_documents_email.enqueue(relationship.pk, "reminder")
    audit_record(
        action="document.remind",
        audit_context=audit_context,
        actor=actor,
        client=relationship.client,
        obj=document,
    )


# Filling in the portal -----------------------------------------------------------------
def _locked(document: AssignedDocument) -> AssignedDocument:
    return (
        AssignedDocument.objects.select_for_update(of=("self",))
        .select_related(
            "version",
            "relationship__practice",
            "relationship__client__account",
            "relationship__client__guardianship__account",
        )
        .get(pk=document.pk)
    )


def _ensure_fillable(document: AssignedDocument, actor: User) -> None:
    """The client fills in their own documents; a child's guardian fills in the child's."""
    holder = account_holder(document.relationship.client)
    if holder is None or holder.pk != actor.pk:
        raise DocumentError("Only the client, or a child's guardian, fills in this document.")
    if document.is_submitted:
        raise DocumentError("This document has been submitted and can no longer be changed.")
    if document.relationship.state != CareState.ACTIVE:
        raise DocumentError("This document can no longer be filled in.")


@transaction.atomic
def document_save_progress(
    *,
    document: AssignedDocument,
    actor: User,
    answers: dict[str, Any],
    audit_context: AuditContext = SYSTEM,
) -> AssignedDocument:
    document = _locked(document)
    _ensure_fillable(document, actor)
    document.answers = _checked_answers(document, answers, final=False)
    document.status = DocumentStatus.IN_PROGRESS
    document.progress_saved_at = timezone.now()
    document.save(update_fields=["answers", "status", "progress_saved_at"])
    audit_record(
        action="document.save_progress",
        audit_context=audit_context,
        actor=actor,
        client=document.relationship.client,
        practice=document.relationship.practice,
        obj=document,
    )
    return document


def _checked_answers(
    document: AssignedDocument, answers: dict[str, Any], *, final: bool
) -> dict[str, Any]:
    """The answers as the document's own form accepts them (whoever the caller is, V4):
    known questions only, valid values, and every required one when submitting."""
    data = {key: value for key, value in answers.items() if value not in (None, "", [])}
    form = AnswerForm(_as_form_data(data), specs=document.version.fields, final=final)
    if not form.is_valid():
        field, errors = next(iter(form.errors.items()))
        label = form.fields[field].label if field in form.fields else "An answer"
        raise DocumentError(f"{label}: {errors[0]}", field=field)
    return form.answers()


def _as_form_data(answers: dict[str, Any]) -> QueryDict:
    data = QueryDict(mutable=True)
    for key, value in answers.items():
        data.setlist(key, [str(v) for v in value] if isinstance(value, list) else [str(value)])
    return data


@transaction.atomic
def document_submit(
    *,
    document: AssignedDocument,
    actor: User,
    answers: dict[str, Any],
    typed_name: str = "",
    consent: bool = False,
    audit_context: AuditContext = SYSTEM,
) -> AssignedDocument:
    """Freeze the answers, score a questionnaire, and sign when the document asks for it.

    `answers` must already be complete and valid (the view validates them with AnswerForm
    in its final mode); this checks the signature and the score's own rules again.
    The signer's IP address and browser are the audit context's.
    """
    document = _locked(document)
    _ensure_fillable(document, actor)
    version = document.version
    answers = _checked_answers(document, answers, final=True)
    typed_name = " ".join(typed_name.split())
    if version.requires_signature:
        if not typed_name:
            raise DocumentError("Type your full name to sign.", field="typed_name")
        if len(typed_name) > 200:
            raise DocumentError("The name is too long.", field="typed_name")
        if not consent:
            raise DocumentError("Tick the box to agree to sign electronically.", field="consent")
    now = timezone.now()
    document.answers = answers
    document.content = completed_text(
        title=version.title, intro=version.intro, fields=version.fields, answers=answers
    )
    document.content_sha256 = sha256(document.content)
    if version.scoring:
        try:
            result = score(version.scoring, answers)
        except ValueError as error:
            raise DocumentError(str(error)) from error
        document.score, document.severity, document.flagged = (
            result.total,
            result.severity,
            result.flagged,
        )
    if crisis_answered(version.fields, answers):
        document.flagged = True
    document.submitted_at = now
    document.submitted_by = actor
    document.status = (
        DocumentStatus.SIGNED if version.requires_signature else DocumentStatus.COMPLETED
    )
    document.save()
    client = document.relationship.client
    practice = document.relationship.practice
    if version.requires_signature:
        signed = signed_text(
            content=document.content,
            typed_name=typed_name,
            signer_email=actor.email,
            consent_text=CONSENT_TEXT,
        )
        DocumentSignature.objects.create(
            document=document,
            signer=actor,
            signer_email=actor.email,
            typed_name=typed_name,
            consent_text=CONSENT_TEXT,
            signed_at=now,
            ip_address=audit_context.ip_address,
            user_agent=audit_context.user_agent[:500],
            content=signed,
            sha256=sha256(signed),
        )
        audit_record(
            action="document.sign",
            audit_context=audit_context,
            actor=actor,
            client=client,
            practice=practice,
            obj=document,
        )
    audit_record(
        action="document.submit",
        audit_context=audit_context,
        actor=actor,
        client=client,
        practice=practice,
        obj=document,
    )
    if document.flagged:
        send_flag_email.enqueue(document.pk)
    return document


@transaction.atomic
def document_follow_up(
    *,
    document: AssignedDocument,
    actor: User,
    note: str,
    audit_context: AuditContext = SYSTEM,
) -> FlagFollowUp:
    """The therapist records that they followed up a flagged answer, with a short note; the
    alert on their home page closes. The note is clinical: it stays out of the audit trail."""
    document = _locked(document)
    if not access_for(actor, document.relationship).is_owner:
        raise DocumentError("Only the client's therapist records the follow-up.")
    if not (document.is_submitted and document.flagged):
        raise DocumentError("This document has no flagged answer to follow up.")
    if FlagFollowUp.objects.filter(document=document).exists():
        raise DocumentError("The follow-up of this answer is already recorded.")
    note = note.strip()
    if not note:
        raise DocumentError("Say briefly how you followed up.", field="note")
    if len(note) > FOLLOW_UP_NOTE_MAX:
        raise DocumentError(
            f"Keep the note to {FOLLOW_UP_NOTE_MAX} characters; the detail belongs in a "
            "progress note.",
            field="note",
        )
    follow_up = FlagFollowUp.objects.create(
        document=document, followed_up_by=actor, followed_up_at=timezone.now(), note=note
    )
    audit_record(
        action="document.follow_up",
        audit_context=audit_context,
        actor=actor,
        client=document.relationship.client,
        practice=document.relationship.practice,
        obj=document,
    )
    return follow_up


# Reviewing -----------------------------------------------------------------------------
@transaction.atomic
def document_mark_reviewed(
    *, document: AssignedDocument, actor: User, audit_context: AuditContext = SYSTEM
) -> AssignedDocument:
    document = _locked(document)
    if not access_for(actor, document.relationship).is_owner:
        raise DocumentError("Only the client's therapist marks documents reviewed.")
    if document.status == DocumentStatus.REVIEWED:
        raise DocumentError("This document is already marked reviewed.")
    if not document.is_submitted:
        raise DocumentError("The client hasn't completed this document yet.")
    if document.awaits_follow_up:
        raise DocumentError(
            "Record how you followed up the flagged answer before marking it reviewed."
        )
    document.status = DocumentStatus.REVIEWED
    document.reviewed_at = timezone.now()
    document.reviewed_by = actor
    document.save(update_fields=["status", "reviewed_at", "reviewed_by"])
    audit_record(
        action="document.review",
        audit_context=audit_context,
        actor=actor,
        client=document.relationship.client,
        obj=document,
    )
    return document

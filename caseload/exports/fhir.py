"""One client's record as a FHIR R4 bundle (a `collection`), built as plain JSON.

Resources reference each other by `urn:uuid:` full URLs inside the bundle. Staff appear as
display names only: the bundle is the client's record, not the practice's directory. Where US
Core (6.1) has a profile for a resource it is named in `meta.profile`; the tests validate the
bundle against the R4B models of `fhir.resources` (decision 0031).
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import UTC, date, datetime
from typing import Any

from django.utils import timezone
from django.utils.html import escape

from caseload.clients.models import GuardianRelationship
from caseload.documents.models import SUBMITTED_STATES, AssignedDocument
from caseload.exports.selectors import RecordData
from caseload.messaging.models import Side
from caseload.plans.models import PlanVersion, TreatmentPlan
from caseload.visits.models import Modality, NoteStatus, ProgressNote, SessionStatus

US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
PROFILES = {
    "Patient": US_CORE + "us-core-patient",
    "RelatedPerson": US_CORE + "us-core-relatedperson",
    "Condition": US_CORE + "us-core-condition-problems-health-concerns",
    "Encounter": US_CORE + "us-core-encounter",
    "DocumentReference": US_CORE + "us-core-documentreference",
    "CarePlan": US_CORE + "us-core-careplan",
    "QuestionnaireResponse": US_CORE + "us-core-questionnaireresponse",
    "Observation": US_CORE + "us-core-observation-screening-assessment",
}
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"
#: Questionnaire totals with a LOINC code: scoring key → (code, display).
SCORE_CODES = {
    "phq9": ("44261-6", "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]"),
    "gad7": ("69737-5", "Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]"),
}
#: The SHA-256 Caseload stored when the content was signed or completed (hex).
SHA256_EXTENSION = "urn:caseload:fhir:extension:signed-content-sha256"
ID_NAMESPACE = uuid.UUID("6b0f9a52-8c1e-4d55-9a57-0e6c3f1f2a10")

GUARDIAN_ROLE = {  # v3 RoleCode
    GuardianRelationship.PARENT: ("PRN", "parent"),
    GuardianRelationship.LEGAL_GUARDIAN: ("GUARD", "guardian"),
    GuardianRelationship.GRANDPARENT: ("GRPRN", "grandparent"),
    GuardianRelationship.OTHER: ("GUARD", "guardian"),
}
ENCOUNTER_STATUS: dict[str, str] = {
    SessionStatus.SCHEDULED: "planned",
    SessionStatus.COMPLETED: "finished",
    SessionStatus.CANCELLED: "cancelled",
    SessionStatus.LATE_CANCELLED: "cancelled",
    SessionStatus.NO_SHOW: "cancelled",  # R4 has no "no-show" for an encounter
}
ADMINISTRATIVE_GENDERS = {"male": "male", "man": "male", "female": "female", "woman": "female"}


def _id(kind: str, key: object) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, f"{kind}:{key}"))


def _ref(resource: dict[str, Any]) -> dict[str, str]:
    return {"reference": f"urn:uuid:{resource['id']}"}


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _day(value: date) -> str:
    return value.isoformat()


def _meta(resource_type: str) -> dict[str, Any]:
    profile = PROFILES.get(resource_type)
    return {"profile": [profile]} if profile else {}


def _resource(resource_type: str, resource_id: str, **fields: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": resource_type, "id": resource_id}
    meta = _meta(resource_type)
    if meta:
        resource["meta"] = meta
    resource.update({name: value for name, value in fields.items() if value not in (None, [], "")})
    return resource


def _attachment(
    data: str, *, content_type: str, title: str, created: datetime | None
) -> dict[str, Any]:
    raw = data.encode()
    attachment = {
        "contentType": f"{content_type}; charset=utf-8",
        "language": "en",
        "data": base64.b64encode(raw).decode(),
        "size": len(raw),
        "hash": base64.b64encode(hashlib.sha1(raw, usedforsecurity=False).digest()).decode(),
        "title": title,
    }
    if created is not None:
        attachment["creation"] = _instant(created)
    return attachment


def _sha256_extension(hexdigest: str) -> list[dict[str, Any]]:
    return [{"url": SHA256_EXTENSION, "valueString": hexdigest}] if hexdigest else []


def _human_name(full_name: str) -> dict[str, Any]:
    parts = full_name.split()
    name: dict[str, Any] = {"text": full_name}
    if len(parts) > 1:
        name["family"] = parts[-1]
        name["given"] = parts[:-1]
    elif parts:
        name["given"] = parts
    return name


def _telecom(phone: str = "", email: str | None = "") -> list[dict[str, str]]:
    telecom = []
    if phone:
        telecom.append({"system": "phone", "value": phone})
    if email:
        telecom.append({"system": "email", "value": email})
    return telecom


def note_text(note: ProgressNote) -> str:
    """A signed note as plain text: its sections in order, then its addenda."""
    parts = [f"{section['label']}\n{section['text']}" for section in note.sections()]
    for addendum in note.addenda.all():
        parts.append(
            f"Addendum {_instant(addendum.created_at)} by {addendum.author}\n{addendum.text}"
        )
    return "\n\n".join(parts)


def build_bundle(data: RecordData) -> dict[str, Any]:
    """The FHIR R4 `collection` bundle of one client's record (JSON-ready dicts)."""
    resources: list[dict[str, Any]] = []
    relationship = data.relationship
    client = data.client

    patient = _resource(
        "Patient",
        str(client.public_id),
        identifier=[{"system": "urn:caseload:client", "value": str(client.public_id)}],
        active=relationship.state in ("invited", "active"),
        name=[_human_name(relationship.client_name)],
        telecom=_telecom(relationship.phone, client.email),
        gender=ADMINISTRATIVE_GENDERS.get(relationship.gender.strip().lower(), "unknown"),
        birthDate=_day(relationship.date_of_birth) if relationship.date_of_birth else None,
        address=[{"text": relationship.address}] if relationship.address else [],
    )
    resources.append(patient)
    subject = _ref(patient)

    guardianship = getattr(client, "guardianship", None) if client.is_child else None
    if guardianship is not None:
        code, display = GUARDIAN_ROLE.get(guardianship.relationship, ("GUARD", "guardian"))
        resources.append(
            _resource(
                "RelatedPerson",
                _id("guardian", guardianship.pk),
                active=True,
                patient=subject,
                relationship=[
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode",
                                "code": code,
                                "display": display,
                            }
                        ],
                        "text": guardianship.get_relationship_display(),
                    }
                ],
                name=[_human_name(guardianship.full_name)],
                telecom=_telecom(email=guardianship.email),
            )
        )
    if relationship.emergency_name:
        resources.append(
            _resource(
                "RelatedPerson",
                _id("emergency", relationship.pk),
                active=True,
                patient=subject,
                relationship=[
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/v2-0131",
                                "code": "C",
                                "display": "Emergency Contact",
                            }
                        ],
                        "text": relationship.emergency_relationship or "Emergency contact",
                    }
                ],
                name=[_human_name(relationship.emergency_name)],
                telecom=_telecom(relationship.emergency_phone, relationship.emergency_email),
            )
        )

    for diagnosis in data.diagnoses:
        resources.append(
            _resource(
                "Condition",
                str(diagnosis.public_id),
                clinicalStatus={
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                            "code": diagnosis.status,
                        }
                    ]
                },
                verificationStatus={
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                            "code": "confirmed",
                        }
                    ]
                },
                category=[
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                                "code": "problem-list-item",
                                "display": "Problem List Item",
                            }
                        ]
                    }
                ],
                code={
                    "coding": [
                        {
                            "system": ICD10CM,
                            "code": diagnosis.code,
                            "display": diagnosis.description,
                        }
                    ],
                    "text": diagnosis.description,
                },
                subject=subject,
                onsetDateTime=_day(diagnosis.onset_date) if diagnosis.onset_date else None,
                abatementDateTime=_day(diagnosis.resolved_date)
                if diagnosis.resolved_date
                else None,
                recordedDate=_instant(diagnosis.created_at),
                note=[{"text": "Primary diagnosis"}] if diagnosis.is_primary else [],
            )
        )

    today = timezone.localdate()
    for medication in data.medications:
        stopped = medication.stop_date is not None and medication.stop_date <= today
        period = {}
        if medication.start_date:
            period["start"] = _day(medication.start_date)
        if medication.stop_date:
            period["end"] = _day(medication.stop_date)
        dosage = " ".join(part for part in (medication.dose, medication.frequency) if part)
        resources.append(
            _resource(
                "MedicationStatement",
                str(medication.public_id),
                status="completed" if stopped else "active",
                medicationCodeableConcept={"text": medication.name},
                subject=subject,
                effectivePeriod=period or None,
                dateAsserted=_instant(medication.created_at),
                dosage=[{"text": dosage}] if dosage else [],
                note=[{"text": f"Prescriber: {medication.prescriber}"}]
                if medication.prescriber
                else [],
            )
        )

    for session in data.sessions:
        encounter = _resource(
            "Encounter",
            str(session.public_id),
            status=ENCOUNTER_STATUS.get(session.status, "unknown"),
            **{
                "class": {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "VR" if session.modality == Modality.TELEHEALTH else "AMB",
                    "display": "virtual"
                    if session.modality == Modality.TELEHEALTH
                    else "ambulatory",
                }
            },
            type=[{"text": "Psychotherapy session"}],
            subject=subject,
            participant=[{"individual": {"display": str(relationship.therapist)}}],
            period={"start": _instant(session.starts_at), "end": _instant(session.ends_at)},
            length={
                "value": session.duration_minutes,
                "unit": "min",
                "system": "http://unitsofmeasure.org",
                "code": "min",
            },
        )
        if session.status == SessionStatus.NO_SHOW:
            encounter["text"] = {
                "status": "generated",
                "div": '<div xmlns="http://www.w3.org/1999/xhtml">The client did not attend.</div>',
            }
        resources.append(encounter)
        if session.mood_score is not None:
            resources.append(
                _resource(
                    "Observation",
                    _id("mood", session.pk),
                    status="final",
                    category=[_survey_category()],
                    code={"text": "Mood, self-rated (1 = lowest, 10 = best)"},
                    subject=subject,
                    encounter=_ref(encounter),
                    effectiveDateTime=_instant(session.starts_at),
                    valueInteger=session.mood_score,
                )
            )
        note = getattr(session, "note", None)
        if note is not None and note.status != NoteStatus.DRAFT:
            resources.append(_note_reference(note, subject, encounter, relationship))

    for plan in data.plans:
        versions = list(plan.versions.all())
        references = [_plan_version_reference(plan, v, subject) for v in versions]
        resources.extend(references)
        resources.append(_care_plan(plan, versions, references, subject, today))

    for document in data.documents:
        if document.status not in SUBMITTED_STATES:
            continue
        response = _questionnaire_response(document, subject)
        resources.append(response)
        scoring = document.version.scoring
        if scoring in SCORE_CODES and document.score is not None:
            code, display = SCORE_CODES[scoring]
            resources.append(
                _resource(
                    "Observation",
                    _id("score", document.pk),
                    status="final",
                    category=[_survey_category()],
                    code={
                        "coding": [{"system": LOINC, "code": code, "display": display}],
                        "text": display,
                    },
                    subject=subject,
                    effectiveDateTime=_instant(document.submitted_at)
                    if document.submitted_at
                    else None,
                    valueQuantity={
                        "value": document.score,
                        "unit": "{score}",
                        "system": "http://unitsofmeasure.org",
                        "code": "{score}",
                    },
                    interpretation=[{"text": document.severity}] if document.severity else [],
                    derivedFrom=[_ref(response)],
                )
            )

    for message in data.messages:
        from_client = message.sender_side == Side.CLIENT
        client_side = (
            subject
            if not client.is_child or guardianship is None
            else {"display": guardianship.full_name}
        )
        therapist_side = {"display": str(relationship.therapist)}
        resources.append(
            _resource(
                "Communication",
                str(message.public_id),
                status="completed",
                subject=subject,
                sent=_instant(message.created_at),
                received=_instant(message.read_at) if message.read_at else None,
                sender=client_side if from_client else therapist_side,
                recipient=[therapist_side if from_client else client_side],
                payload=[{"contentString": message.text}],
            )
        )

    return {
        "resourceType": "Bundle",
        "id": _id("bundle", f"{relationship.pk}:{timezone.now().isoformat()}"),
        "type": "collection",
        "timestamp": _instant(timezone.now()),
        "entry": [
            {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}
            for resource in resources
        ],
    }


def _survey_category() -> dict[str, Any]:
    return {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                "code": "survey",
                "display": "Survey",
            }
        ]
    }


def _clinical_note_category() -> dict[str, Any]:
    return {
        "coding": [
            {
                "system": "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category",
                "code": "clinical-note",
                "display": "Clinical Note",
            }
        ]
    }


def _note_reference(
    note: ProgressNote, subject: dict[str, str], encounter: dict[str, Any], relationship: Any
) -> dict[str, Any]:
    has_addenda = bool(note.addenda.all())
    authenticator = note.cosigned_by or note.signed_by
    return _resource(
        "DocumentReference",
        str(note.public_id),
        extension=_sha256_extension(note.content_sha256),
        status="current",
        docStatus="amended" if has_addenda else "final",
        type={
            "coding": [{"system": LOINC, "code": "11506-3", "display": "Progress note"}],
            "text": f"{note.get_format_display()} progress note",
        },
        category=[_clinical_note_category()],
        subject=subject,
        date=_instant(note.signed_at) if note.signed_at else None,
        author=[{"display": str(note.signed_by or relationship.therapist)}],
        authenticator={"display": str(authenticator)} if authenticator else None,
        content=[
            {
                "attachment": _attachment(
                    note_text(note),
                    content_type="text/plain",
                    title=f"{note.get_format_display()} progress note",
                    created=note.signed_at,
                )
            }
        ],
        context={"encounter": [_ref(encounter)]},
    )


def _plan_version_reference(
    plan: TreatmentPlan, version: PlanVersion, subject: dict[str, str]
) -> dict[str, Any]:
    return _resource(
        "DocumentReference",
        _id("plan-version", version.pk),
        status="current",
        docStatus="final",
        type={
            "coding": [{"system": LOINC, "code": "18776-5", "display": "Plan of care note"}],
            "text": f"{plan.title}, version {version.number}",
        },
        category=[_clinical_note_category()],
        subject=subject,
        date=_instant(version.created_at),
        author=[{"display": str(version.author)}],
        description=f"{plan.title}, version {version.number} ({version.get_source_display()})",
        content=[
            {
                "attachment": _attachment(
                    version.html,
                    content_type="text/html",
                    title=f"{plan.title}, version {version.number}",
                    created=version.created_at,
                )
            }
        ],
    )


def _care_plan(
    plan: TreatmentPlan,
    versions: list[PlanVersion],
    references: list[dict[str, Any]],
    subject: dict[str, str],
    today: date,
) -> dict[str, Any]:
    latest = versions[-1].number if versions else 0
    summary = escape(
        f"{plan.title}: effective {plan.effective_date:%Y-%m-%d}, review by "
        f"{plan.review_date:%Y-%m-%d}, {len(versions)} version(s); the text of each version is "
        "attached as a DocumentReference."
    )
    return _resource(
        "CarePlan",
        str(plan.public_id),
        text={
            "status": "additional",
            "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{summary}</div>',
        },
        status="active" if plan.review_date >= today else "completed",
        intent="plan",
        category=[
            {
                "coding": [
                    {
                        "system": "http://hl7.org/fhir/us/core/CodeSystem/careplan-category",
                        "code": "assess-plan",
                    }
                ]
            }
        ],
        title=plan.title,
        description=f"Version {latest}" if latest else None,
        subject=subject,
        period={"start": _day(plan.effective_date), "end": _day(plan.review_date)},
        created=_instant(plan.created_at),
        author={"display": str(plan.created_by)},
        supportingInfo=[_ref(reference) for reference in references],
    )


def _questionnaire_response(document: AssignedDocument, subject: dict[str, str]) -> dict[str, Any]:
    items = []
    for spec, shown in document.answer_rows():
        item: dict[str, Any] = {"linkId": spec["key"], "text": spec.get("label") or spec["key"]}
        if shown:
            item["answer"] = [{"valueString": shown}]
        items.append(item)
    signature = getattr(document, "signature", None)
    extension = _sha256_extension(document.content_sha256)
    if signature is not None:
        extension.append(
            {
                "url": "urn:caseload:fhir:extension:signature",
                "extension": [
                    {"url": "signer", "valueString": signature.typed_name},
                    {"url": "signedAt", "valueDateTime": _instant(signature.signed_at)},
                    {"url": "sha256", "valueString": signature.sha256},
                ],
            }
        )
    submitter = document.submitted_by
    return _resource(
        "QuestionnaireResponse",
        str(document.public_id),
        extension=extension,
        identifier={"system": "urn:caseload:document", "value": str(document.public_id)},
        status="completed",
        subject=subject,
        authored=_instant(document.submitted_at) if document.submitted_at else None,
        author={"display": str(submitter)} if submitter else None,
        item=items,
        text={
            "status": "generated",
            "div": '<div xmlns="http://www.w3.org/1999/xhtml">'
            f"{_escape(document.version.title)} (version {document.version.number})</div>",
        },
    )


def _escape(text: str) -> str:
    return str(escape(text))

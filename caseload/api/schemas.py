"""What the API reads and writes: the request and response shapes (and so the OpenAPI)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from django.conf import settings
from ninja import Field, Schema
from pydantic import field_validator

from caseload.lib.fields import FIRST_DATE, LAST_DATE
from caseload.lib.middleware import without_control_characters

CareStateName = Literal["invited", "awaiting_consent", "active", "archived"]
ModalityName = Literal["in_person", "telehealth"]
SessionStatusName = Literal["scheduled", "completed", "cancelled", "late_cancelled", "no_show"]
NoteFormatName = Literal["soap", "dap", "birp", "free_text"]
NoteStatusName = Literal["draft", "signed", "cosigned"]
DocumentStatusName = Literal["assigned", "in_progress", "completed", "signed", "reviewed"]


class FieldError(Schema):
    field: str
    detail: str


class ProblemOut(Schema):
    """An RFC 9457 problem document (`application/problem+json`)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[FieldError] | None = None


class AccessOut(Schema):
    is_owner: bool
    is_supervisor: bool
    awaiting_approval: bool
    can_read: bool
    can_write: bool


class ClientOut(Schema):
    id: UUID = Field(description="The care relationship's id: every /clients/{id}/… URL uses it.")
    full_name: str
    email: str | None
    is_child: bool
    state: CareStateName
    therapist: str
    is_own: bool = Field(description="The caller is the client's own therapist.")
    created_at: datetime


class ClientDetailOut(ClientOut):
    guardian_name: str | None
    access: AccessOut


class ClientPage(Schema):
    items: list[ClientOut]
    next_cursor: str | None
    next: str | None


class RelationshipOut(Schema):
    id: UUID
    state: CareStateName
    therapist: str
    practice: str
    billing_type: str
    messaging_enabled: bool
    created_at: datetime
    activated_at: datetime | None
    archived_at: datetime | None
    phone: str
    date_of_birth: date | None
    gender: str
    pronouns: str
    address: str
    emergency_name: str
    emergency_relationship: str
    emergency_phone: str
    emergency_email: str


class SessionOut(Schema):
    id: UUID
    starts_at: datetime
    ends_at: datetime
    duration_minutes: int
    modality: ModalityName
    status: SessionStatusName
    mood_score: int | None
    note_status: NoteStatusName | None


class SessionPage(Schema):
    items: list[SessionOut]
    next_cursor: str | None
    next: str | None


#: Session times the API accepts: the years a session can take anywhere (lib.fields).
YEARS = (FIRST_DATE.year, LAST_DATE.year)


class SessionIn(Schema):
    starts_at: datetime = Field(
        description="ISO 8601; without an offset it is read in the practice's time zone."
    )
    duration_minutes: int = Field(50, ge=5, le=480)
    modality: ModalityName = "in_person"
    allow_overlap: bool = Field(
        False, description="Schedule even if it overlaps another of the therapist's sessions."
    )

    @field_validator("starts_at")
    @classmethod
    def _in_range(cls, value: datetime) -> datetime:
        if not YEARS[0] <= value.year <= YEARS[1]:
            raise ValueError(f"Sessions are between {YEARS[0]} and {YEARS[1]}.")
        return value


class NoteSectionOut(Schema):
    key: str
    label: str
    text: str


class AddendumOut(Schema):
    author: str
    text: str
    created_at: datetime


class NoteOut(Schema):
    id: UUID
    session_id: UUID
    format: NoteFormatName
    status: NoteStatusName
    locked: bool = Field(description="Signed notes are read-only; corrections are addenda.")
    sections: list[NoteSectionOut]
    signed_by: str | None
    signed_at: datetime | None
    cosigned_by: str | None
    cosigned_at: datetime | None
    updated_at: datetime
    addenda: list[AddendumOut]


class NoteSummaryOut(Schema):
    id: UUID
    session_id: UUID
    session_starts_at: datetime
    format: NoteFormatName
    status: NoteStatusName
    signed_at: datetime | None
    updated_at: datetime


class NotePage(Schema):
    items: list[NoteSummaryOut]
    next_cursor: str | None
    next: str | None


class NoteIn(Schema):
    format: NoteFormatName = "soap"
    content: dict[str, str] = Field(
        description="Section key → text, e.g. subjective, objective, assessment, plan for SOAP. "
        "The whole note: a section left out is saved empty; a key that is not a section of "
        "the format is refused (422).",
    )

    @field_validator("content")
    @classmethod
    def _plain_text(cls, value: dict[str, str]) -> dict[str, str]:
        return {key: without_control_characters(text) for key, text in value.items()}


class DiagnosisOut(Schema):
    id: UUID
    code: str
    description: str
    is_primary: bool
    status: Literal["active", "resolved"]
    onset_date: date | None
    resolved_date: date | None


class DocumentOut(Schema):
    id: UUID
    title: str
    status: DocumentStatusName
    due_date: date | None
    assigned_at: datetime
    submitted_at: datetime | None
    reviewed_at: datetime | None
    score: int | None
    severity: str
    flagged: bool
    awaits_follow_up: bool = Field(
        description="Flagged and its follow-up not recorded yet: the alert is still open."
    )


class DocumentPage(Schema):
    items: list[DocumentOut]
    next_cursor: str | None
    next: str | None


class MessageOut(Schema):
    id: UUID
    sender: str
    from_therapist: bool
    text: str
    created_at: datetime
    read_at: datetime | None


class MessagePage(Schema):
    items: list[MessageOut]
    next_cursor: str | None
    next: str | None
    can_send: bool


class MessageIn(Schema):
    text: str = Field(min_length=1, max_length=settings.MESSAGE_MAX_LENGTH)

    @field_validator("text")
    @classmethod
    def _plain_text(cls, value: str) -> str:
        return without_control_characters(value)

"""The JSON API, /api/v1/ (decision 0029): the same gate, selectors, services and audit as
the HTML views, behind a personal access token or the app's own session."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from ninja import NinjaAPI, Query, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.schema import OpenAPISchema

from caseload.accounts.models import User
from caseload.api import schemas
from caseload.api.auth import SessionAuth, TokenAuth, writer
from caseload.api.models import ApiToken
from caseload.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, keyset_page, next_link
from caseload.api.problems import (
    PROBLEM_TYPE,
    TITLES,
    Problem,
    field_errors,
    problem_response,
)
from caseload.audit.services import audit_record
from caseload.clients.access import get_relationship_for_user, relationships_visible_to
from caseload.clients.models import CareRelationship, CareState, search_key
from caseload.documents.models import AssignedDocument
from caseload.documents.selectors import documents_for
from caseload.lib.http import AuditContext
from caseload.messaging import services as messaging
from caseload.messaging.models import Message, Side
from caseload.messaging.sections import audit_message_list
from caseload.messaging.selectors import MessageView, availability
from caseload.visits import services as visits
from caseload.visits.models import NOTE_SECTIONS, NoteFormat, ProgressNote, TherapySession
from caseload.visits.selectors import get_session_for_relationship, note_for_session

#: The My Clients list's two filters, as the workspace draws them.
LIST_STATES = {
    "active": (CareState.INVITED, CareState.AWAITING_CONSENT, CareState.ACTIVE),
    "archived": (CareState.ARCHIVED,),
}
#: Every operation may answer these, as problem documents.
ERROR_STATUSES = ("400", "401", "403", "404", "422", "429")


class CaseloadAPI(NinjaAPI):
    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        """The generated description, with every error answered as a problem document."""
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        problem = {"$ref": "#/components/schemas/ProblemOut"}
        for operations in schema["paths"].values():
            for operation in operations.values():
                # ninja keys responses by int; JSON keys are strings: one key per status.
                responses = {str(k): v for k, v in operation.get("responses", {}).items()}
                for status in {*ERROR_STATUSES, *(s for s in responses if s >= "400")}:
                    responses[status] = {
                        "description": TITLES.get(int(status), "Error"),
                        "content": {PROBLEM_TYPE: {"schema": problem}},
                    }
                operation["responses"] = dict(sorted(responses.items()))
        schema.setdefault("components", {}).setdefault("schemas", {})["ProblemOut"] = (
            schemas.ProblemOut.model_json_schema(ref_template="#/components/schemas/{model}")
        )
        return schema


api = CaseloadAPI(
    title="Caseload API",
    version="1",
    description=(
        "The records you can see in Caseload, as JSON. Authenticate with a personal access "
        "token (`Authorization: Bearer cl_…`, created under API tokens in your account menu) "
        "or, from the app's own pages, the session (writes need the `X-CSRFToken` header). "
        "Errors are RFC 9457 problem documents; lists are cursor-paginated (`next`)."
    ),
    auth=[TokenAuth(), SessionAuth()],
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)


# Errors: problem documents, always ------------------------------------------------------
@api.exception_handler(Problem)
def _problem(request: HttpRequest, exc: Problem) -> HttpResponse:
    return problem_response(request, exc)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem_response(request, Problem(404, "Not found, or not yours to see."))


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = field_errors(exc.errors)
    return problem_response(
        request, Problem(422, "Some fields are invalid: see `errors`.", errors=errors)
    )


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    detail = "Send a personal access token: `Authorization: Bearer cl_…`."
    return problem_response(request, Problem(401, detail))


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return problem_response(request, Problem(exc.status_code, str(exc)))


# Helpers ------------------------------------------------------------------------------
def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _context(request: HttpRequest) -> AuditContext:
    return AuditContext.from_request(request)


def _record(
    request: HttpRequest, client_id: UUID, *, write: bool = False, record: bool = True
) -> CareRelationship:
    """The access gate, exactly as the HTML views ask it: 404 for anything not the caller's."""
    user = writer(request) if write else _user(request)
    return get_relationship_for_user(user, client_id, write=write, record=record)


def _via(request: HttpRequest) -> dict[str, str]:
    """How the call came: the API, and which token (its id, never the secret)."""
    token: ApiToken | None = getattr(request, "api_token", None)
    return {"via": "api", "token": str(token.public_id)} if token else {"via": "api"}


def _audit_view(request: HttpRequest, relationship: CareRelationship, tab: str) -> None:
    audit_record(
        action="client.view",
        actor=_user(request),
        audit_context=_context(request),
        client=relationship.client,
        obj=relationship,
        detail={"tab": tab, **_via(request)},
    )


def _client_out(relationship: CareRelationship, user: User) -> dict[str, Any]:
    client = relationship.client
    return {
        "id": relationship.public_id,
        "full_name": relationship.client_name,  # as this therapist knows them
        "email": client.email,
        "is_child": client.is_child,
        "state": relationship.state,
        "therapist": str(relationship.therapist),
        "is_own": relationship.therapist_id == user.pk,
        "created_at": relationship.created_at,
    }


def _session_out(session: TherapySession) -> dict[str, Any]:
    note = getattr(session, "note", None)
    return {
        "id": session.public_id,
        "starts_at": session.starts_at,
        "ends_at": session.ends_at,
        "duration_minutes": session.duration_minutes,
        "modality": session.modality,
        "status": session.status,
        "mood_score": session.mood_score,
        "note_status": note.status if note is not None else None,
    }


def _note_out(note: ProgressNote, session: TherapySession) -> dict[str, Any]:
    return {
        "id": note.public_id,
        "session_id": session.public_id,
        "format": note.format,
        "status": note.status,
        "locked": note.is_locked,
        "sections": [
            {"key": s["key"], "label": s["label"], "text": str(s["text"])} for s in note.sections()
        ],
        "signed_by": str(note.signed_by) if note.signed_by else None,
        "signed_at": note.signed_at,
        "cosigned_by": str(note.cosigned_by) if note.cosigned_by else None,
        "cosigned_at": note.cosigned_at,
        "updated_at": note.updated_at,
        "addenda": [
            {"author": str(a.author), "text": a.text, "created_at": a.created_at}
            for a in note.addenda.select_related("author")
        ],
    }


def _page(request: HttpRequest, items: list[Any], cursor: str | None) -> dict[str, Any]:
    return {"items": items, "next_cursor": cursor, "next": next_link(request, cursor)}


Limit = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)  # type: ignore[type-arg]
Cursor = Query(None, max_length=200)  # type: ignore[type-arg]


# Clients -------------------------------------------------------------------------------
@api.get("/clients", response=schemas.ClientPage, tags=["clients"])
def list_clients(
    request: HttpRequest,
    state: Literal["active", "archived"] = "active",
    q: str = Query("", max_length=100),  # type: ignore[type-arg]
    cursor: str | None = Cursor,
    limit: int = Limit,
) -> dict[str, Any]:
    """My Clients: your clients and your supervisees' (active or archived), by name."""
    user = _user(request)
    queryset = (
        relationships_visible_to(user)
        .filter(state__in=LIST_STATES[state])
        .select_related("client", "therapist")
    )
    if q.strip():
        queryset = queryset.filter(search_text__contains=search_key(q.strip()))
    page = keyset_page(queryset, order=("client_name", "pk"), cursor=cursor, limit=limit)
    if page.items:
        audit_record(
            action="client.list",
            actor=user,
            audit_context=_context(request),
            detail={"count": len(page.items), **_via(request)},
        )
    return _page(request, [_client_out(row, user) for row in page.items], page.next_cursor)


@api.get("/clients/{client_id}", response=schemas.ClientDetailOut, tags=["clients"])
def get_client(request: HttpRequest, client_id: UUID) -> dict[str, Any]:
    """One client's card (also while the client hasn't approved a connection yet)."""
    relationship = _record(request, client_id, record=False)
    _audit_view(request, relationship, "overview")
    access = relationship.access
    guardianship = getattr(relationship.client, "guardianship", None)
    return {
        **_client_out(relationship, _user(request)),
        "guardian_name": guardianship.full_name if guardianship else None,
        "access": {
            "is_owner": access.is_owner,
            "is_supervisor": access.is_supervisor,
            "awaiting_approval": access.awaiting_approval,
            "can_read": access.can_read,
            "can_write": access.can_write,
        },
    }


@api.get("/clients/{client_id}/relationship", response=schemas.RelationshipOut, tags=["clients"])
def get_relationship(request: HttpRequest, client_id: UUID) -> dict[str, Any]:
    """The care relationship: its state, billing, personal details and emergency contact."""
    relationship = _record(request, client_id)
    _audit_view(request, relationship, "details")
    fields = [
        *("state", "billing_type", "messaging_enabled"),
        *("created_at", "activated_at", "archived_at"),
        *("phone", "date_of_birth", "gender", "pronouns", "address"),
        *("emergency_name", "emergency_relationship", "emergency_phone", "emergency_email"),
    ]
    return {
        "id": relationship.public_id,
        "therapist": str(relationship.therapist),
        "practice": relationship.practice.name,
        **{name: getattr(relationship, name) for name in fields},
    }


# Sessions and notes --------------------------------------------------------------------
@api.get("/clients/{client_id}/sessions", response=schemas.SessionPage, tags=["sessions"])
def list_sessions(
    request: HttpRequest, client_id: UUID, cursor: str | None = Cursor, limit: int = Limit
) -> dict[str, Any]:
    """Every session of the client, latest first (upcoming ones included)."""
    relationship = _record(request, client_id)
    queryset = TherapySession.objects.filter(relationship=relationship).select_related("note")
    page = keyset_page(queryset, order=("-starts_at", "-pk"), cursor=cursor, limit=limit)
    _audit_view(request, relationship, "sessions")
    return _page(request, [_session_out(s) for s in page.items], page.next_cursor)


@api.post(
    "/clients/{client_id}/sessions",
    response={201: schemas.SessionOut, 409: schemas.ProblemOut},
    tags=["sessions"],
)
def create_session(
    request: HttpRequest, client_id: UUID, payload: schemas.SessionIn
) -> Status[dict[str, Any]]:
    """Schedule a session (the client's own therapist, write token). An overlap with another
    of your sessions is refused (409) unless `allow_overlap` is true."""
    relationship = _record(request, client_id, write=True)
    starts_at = _instant(payload.starts_at, ZoneInfo(relationship.practice.time_zone))
    try:
        session = visits.session_schedule(
            relationship=relationship,
            actor=_user(request),
            starts_at=starts_at,
            duration_minutes=payload.duration_minutes,
            modality=payload.modality,
            allow_overlap=payload.allow_overlap,
            audit_context=_context(request),
        )
    except visits.OverlapWarning as warning:
        raise Problem(409, f"{warning} Send allow_overlap to schedule anyway.") from None
    except visits.VisitError as error:
        raise _visit_problem(error) from None
    return Status(201, _session_out(session))


def _instant(starts_at: datetime, zone: ZoneInfo) -> datetime:
    """The instant `starts_at` names: as sent when it has an offset; without one, the
    practice's wall time, in UTC, refused (422) in the hour the clocks skip and, unless told
    which, in the hour they repeat."""
    if timezone.is_aware(starts_at):
        return starts_at  # a fixed offset: its arithmetic is already exact
    local = starts_at.replace(tzinfo=zone)
    try:
        round_trip = local.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    except OverflowError:
        return local  # the first or last day a datetime holds: the service refuses the year
    when = f"{starts_at:%Y-%m-%d %H:%M}"
    if round_trip != starts_at:
        detail = f"{when} does not exist in {zone.key}: the clocks go forward then."
    elif local.utcoffset() != local.replace(fold=1).utcoffset():
        detail = f"{when} happens twice in {zone.key}: the clocks go back then."
    else:
        return local.astimezone(UTC)
    detail += " Send the time with its UTC offset."
    raise Problem(422, detail, errors=[{"field": "body.starts_at", "detail": detail}])


def _visit_problem(error: visits.VisitError) -> Problem:
    """A refused change: a field's error is 422; a state that forbids it (signed, closed) 409."""
    if error.field:
        return Problem(
            422, str(error), errors=[{"field": f"body.{error.field}", "detail": str(error)}]
        )
    return Problem(409, str(error))


@api.get(
    "/clients/{client_id}/sessions/{session_id}", response=schemas.SessionOut, tags=["sessions"]
)
def get_session(request: HttpRequest, client_id: UUID, session_id: UUID) -> dict[str, Any]:
    relationship = _record(request, client_id)
    session = get_session_for_relationship(relationship, session_id)
    audit_record(
        action="session.view",
        actor=_user(request),
        audit_context=_context(request),
        client=relationship.client,
        obj=session,
    )
    return _session_out(session)


@api.get("/clients/{client_id}/notes", response=schemas.NotePage, tags=["notes"])
def list_notes(
    request: HttpRequest, client_id: UUID, cursor: str | None = Cursor, limit: int = Limit
) -> dict[str, Any]:
    """The client's progress notes (without their text), latest session first."""
    relationship = _record(request, client_id)
    queryset = ProgressNote.objects.filter(session__relationship=relationship).select_related(
        "session"
    )
    page = keyset_page(queryset, order=("-session__starts_at", "-pk"), cursor=cursor, limit=limit)
    _audit_view(request, relationship, "sessions")
    items = [
        {
            "id": note.public_id,
            "session_id": note.session.public_id,
            "session_starts_at": note.session.starts_at,
            "format": note.format,
            "status": note.status,
            "signed_at": note.signed_at,
            "updated_at": note.updated_at,
        }
        for note in page.items
    ]
    return _page(request, items, page.next_cursor)


@api.get(
    "/clients/{client_id}/sessions/{session_id}/note", response=schemas.NoteOut, tags=["notes"]
)
def get_note(request: HttpRequest, client_id: UUID, session_id: UUID) -> dict[str, Any]:
    """The session's progress note with its addenda (404 before it is started)."""
    relationship = _record(request, client_id)
    session = get_session_for_relationship(relationship, session_id)
    note = note_for_session(session)
    if note is None:
        raise Http404("No note yet.")
    audit_record(
        action="note.view",
        actor=_user(request),
        audit_context=_context(request),
        client=relationship.client,
        obj=note,
    )
    return _note_out(note, session)


@api.put(
    "/clients/{client_id}/sessions/{session_id}/note",
    response={200: schemas.NoteOut, 409: schemas.ProblemOut},
    tags=["notes"],
)
def save_note_draft(
    request: HttpRequest, client_id: UUID, session_id: UUID, payload: schemas.NoteIn
) -> dict[str, Any]:
    """Create or update the session's draft note. A signed note is read-only (409): signing
    and addenda stay in the app."""
    relationship = _record(request, client_id, write=True)
    session = get_session_for_relationship(relationship, session_id)
    sections = [key for key, _, _ in NOTE_SECTIONS[payload.format]]
    unknown = sorted(set(payload.content) - set(sections))
    if unknown:
        # The app's form sends only the format's sections; a caller's misspelt key would be
        # dropped behind a 200 (the service keeps only the format's sections).
        detail = (
            f"Not a section of a {NoteFormat(payload.format).label} note: "
            f"{', '.join(unknown)}. Its sections are {', '.join(sections)}. Nothing was saved."
        )
        raise Problem(422, detail, errors=[{"field": "body.content", "detail": detail}])
    try:
        note = visits.note_save_draft(
            session=session,
            actor=_user(request),
            note_format=payload.format,
            content=payload.content,
            audit_context=_context(request),
        )
    except visits.VisitError as error:
        raise _visit_problem(error) from None
    return _note_out(note, session)


# Clinical, documents, messages ---------------------------------------------------------
@api.get("/clients/{client_id}/diagnoses", response=list[schemas.DiagnosisOut], tags=["clinical"])
def list_diagnoses(request: HttpRequest, client_id: UUID) -> list[dict[str, Any]]:
    relationship = _record(request, client_id)
    _audit_view(request, relationship, "clinical")
    return [
        {
            "id": d.public_id,
            "code": d.code,
            "description": d.description,
            "is_primary": d.is_primary,
            "status": d.status,
            "onset_date": d.onset_date,
            "resolved_date": d.resolved_date,
        }
        for d in relationship.diagnoses.all()
    ]


@api.get("/clients/{client_id}/documents", response=schemas.DocumentPage, tags=["documents"])
def list_documents(
    request: HttpRequest, client_id: UUID, cursor: str | None = Cursor, limit: int = Limit
) -> dict[str, Any]:
    """The documents assigned to the client and where each stands (no answers)."""
    relationship = _record(request, client_id)
    queryset: QuerySet[AssignedDocument] = documents_for(relationship)
    page = keyset_page(queryset, order=("-assigned_at", "-pk"), cursor=cursor, limit=limit)
    _audit_view(request, relationship, "documents")
    items = [
        {
            "id": d.public_id,
            "title": d.version.title,
            "status": d.status,
            "due_date": d.due_date,
            "assigned_at": d.assigned_at,
            "submitted_at": d.submitted_at,
            "reviewed_at": d.reviewed_at,
            "score": d.score,
            "severity": d.severity,
            "flagged": d.flagged,
            "awaits_follow_up": d.awaits_follow_up,
        }
        for d in page.items
    ]
    return _page(request, items, page.next_cursor)


def _conversation(
    request: HttpRequest, client_id: UUID, *, write: bool = False
) -> CareRelationship:
    """Only the client's own therapist sees the conversation (supervisors never do)."""
    relationship = _record(request, client_id, write=write)
    if not relationship.access.is_owner:
        raise Http404("Not found.")
    return relationship


def _message_out(message: Message, viewer: User) -> dict[str, Any]:
    return {
        "id": message.public_id,
        "sender": str(message.sender),
        "from_therapist": message.sender_side == Side.THERAPIST,
        "text": message.text,
        "created_at": message.created_at,
        "read_at": message.read_at,
    }


@api.get("/clients/{client_id}/messages", response=schemas.MessagePage, tags=["messages"])
def list_messages(
    request: HttpRequest, client_id: UUID, cursor: str | None = Cursor, limit: int = Limit
) -> dict[str, Any]:
    """The conversation with the client, newest first (empty until the client signs up)."""
    relationship = _conversation(request, client_id)
    user = _user(request)
    allowed = availability(relationship)
    items: list[Message] = []
    next_cursor = None
    if allowed.can_read:
        queryset = Message.objects.filter(relationship=relationship).select_related("sender")
        page = keyset_page(queryset, order=("-created_at", "-pk"), cursor=cursor, limit=limit)
        items, next_cursor = page.items, page.next_cursor
    audit_message_list(
        actor=user,
        relationship=relationship,
        shown=[_view(m) for m in items],
        audit_context=_context(request),
    )
    return {
        **_page(request, [_message_out(m, user) for m in items], next_cursor),
        "can_send": allowed.can_send,
    }


def _view(message: Message) -> MessageView:
    return MessageView(
        public_id=message.public_id,
        sender_name=str(message.sender),
        is_own=message.sender_side == Side.THERAPIST,
        text="",
        created_at=message.created_at,
        read_at=message.read_at,
    )


@api.post(
    "/clients/{client_id}/messages",
    response={201: schemas.MessageOut, 409: schemas.ProblemOut},
    tags=["messages"],
)
def send_message(
    request: HttpRequest, client_id: UUID, payload: schemas.MessageIn
) -> Status[dict[str, Any]]:
    """Send the client (or the child's guardian) a plain-text message."""
    relationship = _conversation(request, client_id, write=True)
    try:
        message = messaging.message_send(
            relationship=relationship,
            actor=_user(request),
            text=payload.text,
            audit_context=_context(request),
        )
    except messaging.InvalidMessage as error:
        raise Problem(
            422, str(error), errors=[{"field": "body.text", "detail": str(error)}]
        ) from None
    except messaging.NotAParticipant:
        raise Http404("Not found.") from None
    except messaging.MessagingError as error:
        raise Problem(409, str(error)) from None
    return Status(201, _message_out(message, _user(request)))


def _method_not_allowed_as_problem(
    view: Callable[..., HttpResponse],
) -> Callable[..., HttpResponse]:
    """django-ninja answers a method no operation takes with a plain 405: make it a problem
    document like every other error (keeping the `Allow` header)."""

    @wraps(view)  # keeps csrf_exempt: the auth classes decide about CSRF
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and response.get("Content-Type") != PROBLEM_TYPE:
            problem = Problem(
                405,
                f"{request.method} is not allowed here.",
                headers={"Allow": response.get("Allow", "")},
            )
            return problem_response(request, problem)
        return response

    return wrapped


def api_urls() -> tuple[list[Any], str, str]:
    """`api.urls`, every operation answering 405 as a problem document."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        if pattern.callback is not None:
            pattern.callback = _method_not_allowed_as_problem(pattern.callback)
    return patterns, app_name, namespace

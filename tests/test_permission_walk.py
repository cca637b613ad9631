"""Every URL of the app, as every persona (SECURITY A1, A2, A5, A7).

The routes come from the URL resolver itself. Each one must have a row in TABLE saying what
each persona gets: a route added without a row fails `test_every_route_is_in_the_table`
(deny by default). Routes that belong to allauth and to Django's admin are left out by the
documented EXCLUDED_PREFIXES; the tests at the end check that those still demand sign-in and
that the admin refuses everyone but staff.

Expectations:
- LOGIN: 302 to the sign-in page with ?next= (anonymous on a private route).
- 404 for a persona outside its rights: never 403, never a hint that the record exists.
- Redirect(path): a 302 to that exact place (the action was allowed and done).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import time, timedelta
from types import SimpleNamespace
from typing import Any
from uuid import uuid4

import pytest
from django.conf import settings
from django.test import Client as Browser
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from caseload.clients.models import CareRelationship, CareState, Invitation
from caseload.clinical import services as clinical_services
from caseload.clinical.models import Diagnosis, Medication
from caseload.documents import services as document_services
from caseload.documents.library import sync_library
from caseload.documents.models import (
    AssignedDocument,
    DocumentTemplate,
    QuestionnaireSchedule,
)
from caseload.exports.models import ExportScope, ExportStatus, RecordExport
from caseload.lib import views as site_views
from caseload.plans import services as plan_services
from caseload.plans.models import PlanGeneration, TreatmentPlan
from caseload.scheduling import feeds
from caseload.scheduling import services as scheduling_services
from caseload.scheduling.models import BlockedTime, BookingRequest, CalendarFeed, WorkingHours
from caseload.visits import services as visit_services
from caseload.visits.models import TherapySession
from tests.factories import account, pending_relationship

pytestmark = pytest.mark.django_db

#: Third-party route families, tested by their own projects; see the checks at the end.
EXCLUDED_PREFIXES = (
    "accounts/",  # django-allauth: login, logout, signup, password reset, email, MFA
    "django-admin/",  # django.contrib.admin, behind allauth's secure_admin_login
)

#: Routes registered only when DEBUG is on.
DEBUG_ONLY = {"outbox"}

PERSONAS = (
    "anonymous",
    "therapist",
    "colleague",
    "outsider",
    "supervisor",
    "practice_admin",
    "client_user",
    "guardian_user",
)
STAFF = ("therapist", "colleague", "outsider", "supervisor", "practice_admin")
CLINICIANS = ("therapist", "colleague", "outsider", "supervisor")
PRACTICE_CLINICIANS = ("therapist", "colleague", "supervisor")  # alice's practice
PORTAL = ("client_user", "guardian_user")

LOGIN = "login"
OK = 200
NOT_FOUND = 404


@dataclass(frozen=True)
class Redirect:
    to: str | Callable[[World], str]
    prefix: bool = False  # the target holds an id made by the request itself


@dataclass
class World:
    """The owner's objects, used to fill URL kwargs."""

    active_client: CareRelationship  # alice's active client Maya
    signup_invitation: Invitation  # alice's pending signup invitation (Pat)
    connection_request: Invitation  # bob's connection request to Maya (an existing account)
    draft_session: TherapySession  # a past session of Maya's with a draft note
    signed_session: TherapySession  # a past session of Maya's with a signed note
    diagnosis: Diagnosis
    medication: Medication
    plan: TreatmentPlan
    generation: PlanGeneration  # a queued "Generate with AI" draft
    open_document: AssignedDocument  # a PHQ-9 assigned to Maya, not yet filled in
    done_document: AssignedDocument  # a GAD-7 Maya submitted, not yet reviewed
    form_template: DocumentTemplate  # a form built in alice's practice
    record_export: RecordExport  # alice's export of Maya's record, ready to download
    upcoming_session: TherapySession  # Maya's session next week
    booking: BookingRequest  # Maya's request for a time, awaiting alice's approval
    blocked_time: BlockedTime  # alice's afternoon off
    feed: CalendarFeed  # alice's calendar feed
    feed_token: str  # its secret, the credential of the feed's address


@dataclass(frozen=True)
class Route:
    method: str
    expect: dict[str, Any]
    kwargs: Callable[[World], dict[str, Any]] = lambda world: {}
    data: dict[str, str] | Callable[[World], dict[str, str]] = field(default_factory=dict)


def _everyone(status: Any) -> dict[str, Any]:
    return dict.fromkeys(PERSONAS, status)


def _only(
    allowed: dict[str, Any], others: Any = NOT_FOUND, anonymous: Any = LOGIN
) -> dict[str, Any]:
    expect = _everyone(others)
    expect["anonymous"] = anonymous
    expect.update(allowed)
    return expect


def _client(world: World) -> dict[str, Any]:
    return {"client_id": world.active_client.public_id}


def _detail(world: World) -> str:
    return f"/clients/{world.active_client.public_id}/"


def _diagnosis(world: World) -> dict[str, Any]:
    return {**_client(world), "diagnosis_id": world.diagnosis.public_id}


def _medication(world: World) -> dict[str, Any]:
    return {**_client(world), "medication_id": world.medication.public_id}


def _draft(world: World) -> dict[str, Any]:
    return {**_client(world), "session_id": world.draft_session.public_id}


def _signed(world: World) -> dict[str, Any]:
    return {**_client(world), "session_id": world.signed_session.public_id}


def _clinical(world: World) -> str:
    return _detail(world) + "clinical/"


def _draft_page(world: World) -> str:
    return f"{_detail(world)}sessions/{world.draft_session.public_id}/"


def _signed_page(world: World) -> str:
    return f"{_detail(world)}sessions/{world.signed_session.public_id}/"


def _plan(world: World) -> dict[str, Any]:
    return {**_client(world), "plan_id": world.plan.public_id}


def _plan_page(world: World) -> str:
    return f"{_detail(world)}plans/{world.plan.public_id}/"


def _open_document(world: World) -> dict[str, Any]:
    return {**_client(world), "document_id": world.open_document.public_id}


def _done_document(world: World) -> dict[str, Any]:
    return {**_client(world), "document_id": world.done_document.public_id}


def _schedule(world: World) -> dict[str, Any]:
    """A running questionnaire schedule of Maya's (a new one once the owner stopped it)."""
    relationship = world.active_client
    schedule = QuestionnaireSchedule.objects.filter(
        relationship=relationship, stopped_at__isnull=True
    ).first() or QuestionnaireSchedule.objects.create(
        relationship=relationship,
        template=world.done_document.version.template,
        cadence="before_session",
        created_by=relationship.therapist,
    )
    return {**_client(world), "schedule_id": schedule.public_id}


def _template(world: World) -> dict[str, Any]:
    return {"template_id": world.form_template.public_id}


def _messaging(world: World) -> str:
    return _detail(world) + "messaging/"


def _conversation(world: World) -> dict[str, Any]:
    return {"conversation_id": world.active_client.public_id}


def _portal_conversation(world: World) -> str:
    return f"/portal/messages/{world.active_client.public_id}/"


def _request(world: World) -> dict[str, Any]:
    return {"request_id": world.connection_request.public_id}


def _export(world: World) -> dict[str, Any]:
    return {"export_id": world.record_export.public_id}


def _upcoming(world: World) -> dict[str, Any]:
    return {"session_id": world.upcoming_session.public_id}


def _booking(world: World) -> dict[str, Any]:
    return {"booking_id": world.booking.public_id}


def _care(world: World) -> dict[str, Any]:
    return {"care_id": world.active_client.public_id}


def _signup_token(world: World) -> dict[str, Any]:
    return {"token": world.signup_invitation.token()}


def _connection_token(world: World) -> dict[str, Any]:
    return {"token": world.connection_request.token()}


def _client_import(world: World) -> dict[str, Any]:
    """A finished import (invitations held back) into alice's caseload, made on first use."""
    from caseload.imports import services as import_services
    from caseload.imports.models import ClientImport

    therapist = world.active_client.therapist
    done = ClientImport.objects.filter(therapist=therapist).first()
    if done is None:
        done = import_services.import_create(
            actor=therapist,
            therapist=therapist,
            file_name="clients.csv",
            data=b"Name,Email,Billing type\nLena Ortiz,lena@example.com,Insurance\n",
        )
        import_services.import_start(
            client_import=done, send_invitations=False, confirmed_rows=[], actor=therapist
        )
        import_services.import_run(client_import_id=done.pk)
    return {"import_id": done.public_id}


def _import_page(world: World) -> str:
    return f"/clients/import/{_client_import(world)['import_id']}/"


#: The API answers 401 (a problem document), not a sign-in redirect, to the anonymous.
UNAUTHORIZED = 401


def _api_routes() -> dict[str, Route]:
    """The JSON API (decision 0029): the same gate as the pages. Operations that share a URL
    with a GET (create a session, save a draft, send a message) are walked by that GET; their
    writes are tested in caseload/api/tests."""
    record = _only({"therapist": OK, "supervisor": OK}, anonymous=UNAUTHORIZED)
    signed_in = dict.fromkeys(PERSONAS, OK) | {"anonymous": UNAUTHORIZED}
    return {
        "api:api-root": Route("GET", _everyone(NOT_FOUND)),
        "api:openapi-json": Route("GET", _everyone(OK)),
        "api:openapi-view": Route("GET", _everyone(OK)),
        "api:list_clients": Route("GET", signed_in),
        **{
            f"api:{name}": Route("GET", record, _client)
            for name in (
                "get_client",
                "get_relationship",
                "list_sessions",
                "create_session",
                "list_notes",
                "list_diagnoses",
                "list_documents",
            )
        },
        "api:get_session": Route("GET", record, _draft),
        "api:get_note": Route("GET", record, _signed),
        "api:save_note_draft": Route("GET", record, _signed),
        **{
            f"api:{name}": Route("GET", _only({"therapist": OK}, anonymous=UNAUTHORIZED), _client)
            for name in ("list_messages", "send_message")
        },
    }


TABLE: dict[str, Route] = {
    # Site ---------------------------------------------------------------------------------
    "home": Route(
        "GET",
        {
            "anonymous": Redirect("/accounts/login/"),
            **dict.fromkeys(CLINICIANS, OK),
            "practice_admin": Redirect("/practice/"),
            **dict.fromkeys(PORTAL, Redirect("/portal/")),
        },
    ),
    "health": Route("GET", _everyone(OK)),
    "outbox": Route("GET", _everyone(OK)),  # DEBUG only: the demo's email outbox
    # My Clients ---------------------------------------------------------------------------
    "workspace:index": Route("GET", _only(dict.fromkeys(CLINICIANS, OK))),
    "clients:add": Route("GET", _only(dict.fromkeys(CLINICIANS, OK))),
    "workspace:detail": Route("GET", _only({"therapist": OK, "supervisor": OK}), _client),
    # Profile tabs: the owner and the supervisor read them; everyone else meets a 404.
    **{
        f"workspace:{tab}": Route("GET", _only({"therapist": OK, "supervisor": OK}), _client)
        for tab in ("clinical", "sessions", "plans", "documents", "messaging")
    },
    "workspace:personal": Route(
        "POST",
        _only({"therapist": Redirect(lambda w: _detail(w) + "personal/")}),
        _client,
        {"gender": "x"},
    ),
    "workspace:emergency": Route(
        "POST",
        _only({"therapist": Redirect(lambda w: _detail(w) + "emergency/")}),
        _client,
        {"emergency_name": "x"},
    ),
    "workspace:preferences": Route(
        "POST",
        _only({"therapist": Redirect(lambda w: _detail(w) + "preferences/")}),
        _client,
        {"billing_type": "insurance"},
    ),
    "clients:archive": Route(
        "POST", _only({"therapist": Redirect(lambda w: _detail(w) + "preferences/")}), _client
    ),
    "clients:restore": Route(
        "POST", _only({"therapist": Redirect(lambda w: _detail(w) + "preferences/")}), _client
    ),
    "clients:resend": Route("POST", _only({"therapist": Redirect(_detail)}), _client),
    "clients:remove": Route("GET", _only({"therapist": OK}), _client),
    # Clinical Information -----------------------------------------------------------------
    "icd10_search": Route("GET", _only(dict.fromkeys(CLINICIANS, OK))),
    "clinical:diagnosis_add": Route(
        "POST", _only({"therapist": Redirect(_clinical)}), _client, {"code": "F32.A"}
    ),
    "clinical:diagnosis_update": Route(
        "POST", _only({"therapist": Redirect(_clinical)}), _diagnosis, {"status": "resolved"}
    ),
    "clinical:diagnosis_remove": Route(
        "POST", _only({"therapist": Redirect(_clinical)}), _diagnosis
    ),
    "clinical:medication_add": Route(
        "POST", _only({"therapist": Redirect(_clinical)}), _client, {"name": "Sertraline"}
    ),
    "clinical:medication_update": Route(
        "POST", _only({"therapist": Redirect(_clinical)}), _medication, {"name": "Fluoxetine"}
    ),
    "clinical:medication_remove": Route(
        "POST", _only({"therapist": Redirect(_clinical)}), _medication
    ),
    "clinical:summary_update": Route(
        "POST", _only({"therapist": Redirect(_clinical)}), _client, {"presenting_concerns": "x"}
    ),
    # Sessions & Notes ---------------------------------------------------------------------
    "agenda": Route("GET", _only(dict.fromkeys(CLINICIANS, OK))),
    "supervision": Route("GET", _only({"supervisor": OK})),
    "visits:session_new": Route("GET", _only({"therapist": OK}), _client),
    "visits:session": Route("GET", _only({"therapist": OK, "supervisor": OK}), _signed),
    "visits:session_outcome": Route(
        "POST",
        _only({"therapist": Redirect(_draft_page)}),
        _draft,
        {"status": "completed", "mood_score": "6"},
    ),
    "visits:note_save": Route(
        "POST",
        _only({"therapist": Redirect(_draft_page)}),
        _draft,
        {"format": "soap", "section_subjective": "x"},
    ),
    "visits:note_sign": Route("POST", _only({"therapist": Redirect(_draft_page)}), _draft),
    "visits:note_addendum": Route(
        "POST", _only({"therapist": Redirect(_signed_page)}), _signed, {"text": "x"}
    ),
    "visits:note_cosign": Route("POST", _only({"supervisor": Redirect(_signed_page)}), _signed),
    "visits:note_send_back": Route(
        "POST", _only({"supervisor": Redirect(_signed_page)}), _signed, {"comment": "x"}
    ),
    # Treatment Plans ----------------------------------------------------------------------
    "visits:session_history": Route(
        "GET",
        _only(
            dict.fromkeys(("therapist", "supervisor"), Redirect(lambda w: _detail(w) + "sessions/"))
        ),
        _client,
    ),
    "documents:earlier": Route("GET", _only({"therapist": OK, "supervisor": OK}), _client),
    "plans:new": Route("GET", _only({"therapist": OK}), _client),
    "plans:create": Route("GET", _only({"therapist": OK}), _client),
    "plans:generate": Route(
        "POST",
        _only({"therapist": Redirect(lambda w: _detail(w) + "plans/drafts/", prefix=True)}),
        _client,
        {"length": "short", "tone": "clinical", "format": "structured"},
    ),
    "plans:generation": Route(
        "GET",
        _only({"therapist": OK}),
        lambda w: {**_client(w), "generation_id": w.generation.public_id},
    ),
    "plans:plan": Route("GET", _only({"therapist": OK, "supervisor": OK}), _plan),
    "plans:edit": Route("GET", _only({"therapist": OK}), _plan),
    "plans:diff": Route(
        "GET", _only({"therapist": OK, "supervisor": OK}), _plan, {"from": "1", "to": "1"}
    ),
    "plans:restore": Route(
        "POST", _only({"therapist": Redirect(_plan_page)}), lambda w: {**_plan(w), "number": 1}
    ),
    "plans:dates": Route(
        "POST",
        _only({"therapist": Redirect(_plan_page)}),
        _plan,
        {"effective_date": "2026-01-01", "review_date": "2026-04-01"},
    ),
    "plans:pdf": Route("GET", _only({"therapist": OK, "supervisor": OK}), _plan),
    # Scheduling: the calendar, series, availability, booking requests, feeds -------------
    # Clinicians see their own calendar; an admin picks any clinician of the practice.
    "scheduling:calendar": Route("GET", _only(dict.fromkeys((*CLINICIANS, "practice_admin"), OK))),
    "scheduling:schedule": Route("GET", _only(dict.fromkeys(CLINICIANS, OK))),
    "scheduling:session": Route("GET", _only({"therapist": OK, "supervisor": OK}), _upcoming),
    "scheduling:session_move": Route("POST", _only({"therapist": OK}), _upcoming),
    "scheduling:session_cancel": Route(
        "POST",
        _only({"therapist": Redirect("/calendar/?", prefix=True)}),
        _upcoming,
        {"scope": "this"},
    ),
    "scheduling:availability": Route("GET", _only(dict.fromkeys(CLINICIANS, OK))),
    "scheduling:blocked_add": Route("POST", _only(dict.fromkeys(CLINICIANS, OK))),
    "scheduling:blocked_delete": Route(
        "POST",
        _only({"therapist": Redirect("/calendar/availability/")}),
        lambda w: {"blocked_id": w.blocked_time.public_id},
    ),
    "booking:approve": Route("POST", _only({"therapist": Redirect("/")}), _booking),
    "booking:decline": Route("POST", _only({"therapist": Redirect("/")}), _booking),
    "feeds:list": Route("GET", _only(dict.fromkeys(CLINICIANS, OK))),
    "feeds:revoke": Route(
        "POST",
        _only({"therapist": Redirect("/calendar/feeds/")}),
        lambda w: {"feed_id": w.feed.public_id},
    ),
    # The feed's address: public, the token is the credential (like an invitation link).
    "feeds:ics": Route("GET", _everyone(OK), lambda w: {"token": w.feed_token}),
    # Whole-record exports: the owner exports a client, a practice admin the practice -------
    "exports:client": Route(
        "POST", _only({"therapist": Redirect("/exports/", prefix=True)}), _client
    ),
    "exports:index": Route("GET", _only(dict.fromkeys(STAFF, OK))),
    "exports:practice": Route(
        "POST", _only({"practice_admin": Redirect("/exports/", prefix=True)})
    ),
    "exports:status": Route("GET", _only({"therapist": OK}), _export),
    "exports:download": Route("GET", _only({"therapist": OK}), _export),
    # Documents ----------------------------------------------------------------------------
    "documents:assign": Route(
        "POST",
        _only({"therapist": Redirect(lambda w: _detail(w) + "documents/")}),
        _client,
        lambda w: {"templates": str(w.done_document.version.template.public_id)},
    ),
    "documents:schedule": Route(
        "POST",
        _only({"therapist": Redirect(lambda w: _detail(w) + "documents/")}),
        _client,
        {"questionnaire": "phq9", "cadence": "weeks", "every_weeks": "2"},
    ),
    "documents:schedule_stop": Route(
        "POST", _only({"therapist": Redirect(lambda w: _detail(w) + "documents/")}), _schedule
    ),
    "documents:document": Route("GET", _only({"therapist": OK, "supervisor": OK}), _done_document),
    "documents:document_pdf": Route(
        "GET", _only({"therapist": OK, "supervisor": OK}), _done_document
    ),
    "documents:document_review": Route(
        "POST",
        _only(
            {"therapist": Redirect(lambda w: f"{_detail(w)}documents/{w.done_document.public_id}/")}
        ),
        _done_document,
    ),
    "documents:document_follow_up": Route(
        "POST",
        _only(
            {"therapist": Redirect(lambda w: f"{_detail(w)}documents/{w.done_document.public_id}/")}
        ),
        _done_document,
        {"note": "Phoned the client."},
    ),
    "documents:document_remind": Route(
        "POST",
        _only({"therapist": Redirect(lambda w: _detail(w) + "documents/")}),
        _open_document,
    ),
    "document_templates:list": Route("GET", _only(dict.fromkeys(CLINICIANS, OK))),
    "document_templates:new": Route("GET", _only(dict.fromkeys(CLINICIANS, OK))),
    "document_templates:detail": Route(
        "GET", _only(dict.fromkeys(PRACTICE_CLINICIANS, OK)), _template
    ),
    "document_templates:edit": Route(
        "GET", _only(dict.fromkeys(PRACTICE_CLINICIANS, OK)), _template
    ),
    "document_templates:archive": Route(
        "POST",
        _only(dict.fromkeys(PRACTICE_CLINICIANS, Redirect("/documents/templates/"))),
        _template,
    ),
    # Messaging: the therapist in the profile, the client in the portal ---------------------
    # Supervisors and admins never see messages (SPEC roles); colleagues and outsiders get 404.
    "messaging:messages": Route("GET", _only({"therapist": OK}), _client),
    "messaging:send": Route(
        "POST", _only({"therapist": Redirect(_messaging)}), _client, {"text": "Hello"}
    ),
    "messaging:read": Route("POST", _only({"therapist": Redirect(_messaging)}), _client),
    # Maya's conversation: only Maya (the guardian has a conversation of their own).
    "messaging:portal_conversation": Route("GET", _only({"client_user": OK}), _conversation),
    "messaging:portal_messages": Route("GET", _only({"client_user": OK}), _conversation),
    "messaging:portal_send": Route(
        "POST",
        _only({"client_user": Redirect(_portal_conversation)}),
        _conversation,
        {"text": "Hi"},
    ),
    "messaging:portal_read": Route(
        "POST", _only({"client_user": Redirect(_portal_conversation)}), _conversation
    ),
    # Portal -------------------------------------------------------------------------------
    "portal:home": Route("GET", _only(dict.fromkeys(PORTAL, OK))),
    "portal:documents": Route("GET", _only(dict.fromkeys(PORTAL, OK))),
    "portal:document": Route(
        "GET", _only({"client_user": OK}), lambda w: {"document_id": w.open_document.public_id}
    ),
    "portal:document_submitted": Route(
        "GET", _only({"client_user": OK}), lambda w: {"document_id": w.done_document.public_id}
    ),
    "portal:document_pdf": Route(
        "GET", _only({"client_user": OK}), lambda w: {"document_id": w.done_document.public_id}
    ),
    "portal:sessions": Route("GET", _only(dict.fromkeys(PORTAL, OK))),
    "portal:book": Route("GET", _only({"client_user": OK}), _care),
    "portal:booking_withdraw": Route(
        "POST", _only({"client_user": Redirect("/portal/sessions/")}), _booking
    ),
    "portal:session_cancel": Route("GET", _only({"client_user": OK}), _upcoming),
    "portal:reminders": Route("GET", _only(dict.fromkeys(PORTAL, OK))),
    "portal:reminders_update": Route(
        "POST",
        _only({"client_user": Redirect("/portal/reminders/")}),
        lambda w: {"relationship_id": w.active_client.public_id},
        {"email": "on"},
    ),
    "portal:approve": Route("POST", _only({"client_user": Redirect("/portal/")}), _request),
    "portal:decline": Route("POST", _only({"client_user": Redirect("/portal/")}), _request),
    # Invitation links: public, the token is the credential --------------------------------
    "invitation_open": Route("GET", _everyone(OK), _signup_token),
    "invitation_signup": Route("POST", _everyone(Redirect("/accounts/signup/")), _signup_token),
    "invitation_respond": Route(
        "POST",
        _only({"client_user": Redirect("/portal/")}),
        _connection_token,
        {"answer": "approve"},
    ),
    # Practice admin ------------------------------------------------------------------------
    "practices:settings": Route("GET", _only({"practice_admin": OK})),
    "practices:audit_log": Route("GET", _only({"practice_admin": OK})),
    # Import clients: a therapist into their caseload, an admin into a clinician's ----------
    "imports:upload": Route(
        "GET",
        _only({**dict.fromkeys(("therapist", "colleague", "outsider"), OK), "practice_admin": OK}),
    ),
    **{
        f"imports:{name}": Route(
            "GET",
            _only(dict.fromkeys(("therapist", "practice_admin"), Redirect(_import_page))),
            _client_import,
        )
        for name in ("mapping", "preview")
    },
    "imports:progress": Route(
        "GET", _only(dict.fromkeys(("therapist", "practice_admin"), OK)), _client_import
    ),
    "imports:report": Route(
        "GET", _only(dict.fromkeys(("therapist", "practice_admin"), OK)), _client_import
    ),
    "imports:invitations": Route(
        "POST",
        _only(dict.fromkeys(("therapist", "practice_admin"), Redirect(_import_page))),
        _client_import,
    ),
    # Personal access tokens and the JSON API -------------------------------------------------
    "api_tokens:list": Route("GET", _only(dict.fromkeys(CLINICIANS, OK))),
    "api_tokens:revoke": Route("POST", _only({}), lambda world: {"token_id": uuid4()}),
    **_api_routes(),
}


# The resolver -----------------------------------------------------------------------------
def _walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        else:
            assert isinstance(entry, URLPattern)
            route = prefix + str(entry.pattern)
            if entry.name:
                yield route, f"{namespace}:{entry.name}" if namespace else entry.name
            else:
                yield route, route


def app_routes() -> dict[str, str]:
    """Route key (name, or the pattern when unnamed) → pattern, for every non-excluded route."""
    return {
        key: route
        for route, key in _walk(get_resolver().url_patterns)
        if not route.startswith(EXCLUDED_PREFIXES)
    }


def excluded_routes() -> dict[str, str]:
    return {
        key: route
        for route, key in _walk(get_resolver().url_patterns)
        if route.startswith(EXCLUDED_PREFIXES)
    }


def test_every_route_is_in_the_table():
    routes = app_routes()

    missing = sorted(set(routes) - set(TABLE))
    assert not missing, f"routes with no row in the permission table (deny by default): {missing}"
    stale = sorted(set(TABLE) - set(routes) - DEBUG_ONLY)
    assert not stale, f"rows for routes that no longer exist: {stale}"
    for key, route in TABLE.items():
        assert set(route.expect) == set(PERSONAS), f"{key} must state every persona"


def test_walk_covers_the_app():
    """A sanity check that the resolver walk sees the app's routes at all."""
    routes = app_routes()

    assert {"workspace:detail", "portal:home", "invitation_open", "practices:audit_log"} <= set(
        routes
    )
    assert "admin:index" in excluded_routes()
    assert "account_login" in excluded_routes()


# Personas and the world -------------------------------------------------------------------
@pytest.fixture
def world(therapist, colleague, active_client, client_user, child_client) -> World:
    pending = pending_relationship(therapist, full_name="Pat Pending", email="pat@example.com")
    bobs = pending_relationship(colleague, full_name="Maya Patel", email="maya@example.com")
    assert bobs.state == CareState.AWAITING_CONSENT
    last_week = timezone.now() - timedelta(days=7)
    draft_session = visit_services.session_schedule(
        relationship=active_client,
        starts_at=last_week,
        duration_minutes=50,
        modality="in_person",
        actor=active_client.therapist,
    )
    visit_services.note_save_draft(
        session=draft_session,
        note_format="soap",
        content={"subjective": "draft"},
        actor=draft_session.relationship.therapist,
    )
    signed_session = visit_services.session_schedule(
        relationship=active_client,
        starts_at=last_week - timedelta(days=7),
        duration_minutes=50,
        modality="in_person",
        actor=active_client.therapist,
    )
    note = visit_services.note_save_draft(
        session=signed_session,
        note_format="soap",
        content={"subjective": "signed"},
        actor=signed_session.relationship.therapist,
    )
    visit_services.note_sign(note=note, actor=therapist)
    phq9, gad7 = (v for v in sync_library() if v.scoring in ("phq9", "gad7"))
    open_document, done_document = document_services.document_assign(
        relationship=active_client, versions=[phq9, gad7], due_date=None, actor=therapist
    )
    document_services.document_submit(
        document=done_document, actor=client_user, answers={f"q{n}": "1" for n in range(1, 8)}
    )
    record_export = RecordExport.objects.create(
        requested_by=therapist,
        practice=therapist.membership.practice,
        scope=ExportScope.CLIENT,
        status=ExportStatus.READY,
        total=1,
        done=1,
        archive=b"PK\x05\x06" + bytes(18),  # an empty ZIP
        archive_size=22,
        finished_at=timezone.now(),
        expires_at=timezone.now() + timedelta(hours=24),
    )
    record_export.relationships.set([active_client])
    # Scheduling: the practice takes requests; alice works weekdays and has a session and a
    # request of Maya's ahead, an afternoon blocked, and a calendar feed.
    practice = therapist.membership.practice
    practice.booking_requests_enabled = True
    practice.save(update_fields=["booking_requests_enabled"])
    for weekday in range(5):
        WorkingHours.objects.create(
            clinician=therapist, weekday=weekday, start=time(9, 0), end=time(17, 0)
        )
    next_week = (timezone.now() + timedelta(days=7)).replace(minute=0, second=0, microsecond=0)
    upcoming_session = visit_services.session_schedule(
        relationship=active_client,
        starts_at=next_week,
        duration_minutes=50,
        modality="telehealth",
        actor=therapist,
        allow_overlap=True,
    )
    booking = BookingRequest.objects.create(
        relationship=active_client,
        requested_by=client_user,
        starts_at=next_week + timedelta(days=1),
        duration_minutes=50,
    )
    blocked_time = scheduling_services.blocked_time_add(
        clinician=therapist,
        actor=therapist,
        starts_at=next_week + timedelta(days=2),
        ends_at=next_week + timedelta(days=2, hours=4),
        reason="Training",
    )
    new_feed = feeds.feed_create(actor=therapist)
    return World(
        active_client=active_client,
        signup_invitation=pending.invitations.get(),
        connection_request=bobs.invitations.get(),
        draft_session=draft_session,
        signed_session=signed_session,
        diagnosis=clinical_services.diagnosis_add(
            relationship=active_client, code="F41.1", actor=active_client.therapist
        ),
        plan=plan_services.plan_create(
            relationship=active_client,
            actor=therapist,
            html="<h2>Problems</h2><p>Worry</p>",
            effective_date=timezone.localdate(),
        ),
        generation=PlanGeneration.objects.create(
            relationship=active_client,
            requested_by=therapist,
            options={"length": "short", "tone": "clinical", "format": "structured"},
        ),
        medication=clinical_services.medication_save(
            relationship=active_client,
            values={"name": "Sertraline", "dose": "50 mg"},
            actor=active_client.therapist,
        ),
        open_document=open_document,
        done_document=done_document,
        form_template=document_services.template_create(
            practice=therapist.membership.practice,
            actor=therapist,
            title="Sleep diary",
            intro="",
            fields=[{"type": "short_text", "label": "Bedtime"}],
        ),
        record_export=record_export,
        upcoming_session=upcoming_session,
        booking=booking,
        blocked_time=blocked_time,
        feed=new_feed.feed,
        feed_token=new_feed.token,
    )


@pytest.fixture
def browser_for(request, world, supervisor, outsider, practice_admin, guardian_user):
    def make(persona: str) -> Browser:
        browser = Browser()
        if persona != "anonymous":
            browser.force_login(request.getfixturevalue(persona))
        return browser

    return make


def _cases() -> list[Any]:
    routes = app_routes()
    cases = []
    for key in TABLE:
        marks = []
        if key not in routes:
            marks.append(pytest.mark.skip(reason=f"{key} is registered only with DEBUG on"))
        for persona in PERSONAS:
            cases.append(pytest.param(key, persona, id=f"{key}-{persona}", marks=marks))
    return cases


@pytest.mark.parametrize(("key", "persona"), _cases())
def test_route_as_persona(browser_for, world, key, persona):
    route = TABLE[key]
    url = reverse(key, kwargs=route.kwargs(world))
    browser = browser_for(persona)

    data = route.data(world) if callable(route.data) else route.data
    response = browser.get(url, data) if route.method == "GET" else browser.post(url, data)

    expected = route.expect[persona]
    if expected == LOGIN:
        assert response.status_code == 302, f"{persona} on {url}"
        assert response["Location"].startswith(f"/accounts/login/?next={url}")
    elif isinstance(expected, Redirect):
        target = expected.to(world) if callable(expected.to) else expected.to
        assert response.status_code == 302, f"{persona} on {url}: {response.status_code}"
        if expected.prefix:
            assert response["Location"].startswith(target)
        else:
            assert response["Location"] == target
    else:
        assert response.status_code == expected, f"{persona} on {url}"
    assert response.status_code != 403


#: Routes that answer GET too: the details tabs are shown by GET and saved by POST.
GET_AND_POST = {"workspace:personal", "workspace:emergency", "workspace:preferences"}


@pytest.mark.parametrize(
    "key",
    [key for key, route in TABLE.items() if route.method == "POST" and key not in GET_AND_POST],
)
def test_post_routes_refuse_get(browser_for, world, key):
    """GET never changes state: POST-only routes answer 405 to GET (SECURITY V2)."""
    route = TABLE[key]
    url = reverse(key, kwargs=route.kwargs(world))
    allowed = [
        persona for persona, expected in route.expect.items() if expected not in (LOGIN, NOT_FOUND)
    ]

    for persona in allowed:
        assert browser_for(persona).get(url).status_code == 405


def test_outbox_is_404_without_debug(rf: RequestFactory):
    """The outbox route only exists in DEBUG; even if reached, its view refuses without it."""
    from django.http import Http404

    assert settings.DEBUG is False
    with pytest.raises(Http404):
        site_views.outbox(rf.get("/outbox/"))


# Third-party routes -----------------------------------------------------------------------
@pytest.fixture
def staff_superuser(db):
    user = account("root@example.com", "Root")
    user.is_staff = True
    user.is_superuser = True
    user.save()
    return user


def test_django_admin_requires_sign_in(client):
    """The admin's own login hands over to allauth's (rate limits, MFA)."""
    response = client.get("/django-admin/", follow=True)

    assert [url for url, _ in response.redirect_chain] == [
        "/django-admin/login/?next=/django-admin/",
        "/accounts/login/?next=%2Fdjango-admin%2F",
    ]
    assert "Site administration" not in response.content.decode()


@pytest.mark.parametrize("persona", [p for p in PERSONAS if p != "anonymous"])
def test_django_admin_refuses_non_staff(browser_for, persona):
    browser = browser_for(persona)

    response = browser.get("/django-admin/", follow=True)

    assert response.status_code in (403, 404)
    assert "Site administration" not in response.content.decode()


def test_django_admin_opens_for_staff(staff_superuser):
    browser = Browser()
    browser.force_login(staff_superuser)

    response = browser.get("/django-admin/")

    assert response.status_code == 200
    assert "Site administration" in response.content.decode()


def test_every_admin_page_refuses_anonymous_and_non_staff(therapist, client_user):
    """Each admin route without URL arguments: anonymous → sign in; non-staff → no page."""
    therapist_browser = Browser()
    therapist_browser.force_login(therapist)
    routes = [
        key
        for key, route in excluded_routes().items()
        if key.startswith("admin:")
        and "<" not in route
        and "(?P" not in route
        and key not in ("admin:login", "admin:logout", "admin:jsi18n")
    ]
    assert "admin:accounts_user_changelist" in routes

    for key in routes:
        url = reverse(key)
        anonymous = Browser().get(url)
        assert anonymous.status_code == 302, key
        assert anonymous["Location"].startswith("/django-admin/login/"), key
        signed_in = therapist_browser.get(url, follow=True)
        assert signed_in.status_code in (403, 404), key


@pytest.mark.parametrize("name", ["account_email", "account_change_password", "mfa_index"])
def test_allauth_account_pages_require_sign_in(client, name):
    url = reverse(name)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("name", ["account_login", "account_reset_password", "account_signup"])
def test_allauth_public_pages_open(client, name):
    assert client.get(reverse(name)).status_code == 200


# Clients awaiting approval ----------------------------------------------------------------
#: What the owning therapist may still open for a client awaiting approval: the profile card
#: (name, email, the request's state) and the relationship's own lifecycle actions.
AWAITING_ALLOWED = {
    "workspace:detail",
    "clients:archive",
    "clients:restore",
    "clients:resend",
    "clients:remove",
    "api:get_client",  # the API's profile card
}


@pytest.mark.parametrize("key", sorted(GET_AND_POST))
@pytest.mark.parametrize("persona", PERSONAS)
def test_details_tabs_open_by_get_for_the_owner_and_supervisor_only(
    browser_for, world, key, persona
):
    url = reverse(key, kwargs=_client(world))
    response = browser_for(persona).get(url)

    expected = {"anonymous": 302, "therapist": OK, "supervisor": OK}.get(persona, NOT_FOUND)
    assert response.status_code == expected, f"{persona} on {url}"


def _awaiting_clients(therapist: Any) -> dict[str, CareRelationship]:
    """A connection request to an existing account, and an archived client asked to reconnect."""
    from caseload.clients import services as client_services
    from tests.factories import active_relationship

    account("erin@example.com", "Erin Existing")
    connection = pending_relationship(
        therapist, full_name="Erin Existing", email="erin@example.com"
    )
    former = active_relationship(therapist, full_name="Nora Fischer", email="nora@example.com")
    client_services.relationship_archive(relationship=former, actor=therapist)
    client_services.relationship_restore(relationship=former, actor=therapist)
    return {"connection request": connection, "restore invitation": former}


def _record_routes_of_one_client() -> list[str]:
    """Routes whose only URL argument is the client: every record URL of the profile."""

    class Probe:
        """Stands in for the world: every object has a public id, nothing else."""

        def __getattr__(self, name: str) -> Any:
            return SimpleNamespace(public_id=uuid4())

    keys = []
    for key, route in TABLE.items():
        try:
            kwargs = route.kwargs(Probe())  # type: ignore[arg-type]
        except (AttributeError, TypeError):
            continue  # needs more of the world than ids
        if set(kwargs) == {"client_id"} and key not in AWAITING_ALLOWED:
            keys.append(key)
    return keys


@pytest.mark.parametrize("key", _record_routes_of_one_client())
def test_every_record_url_of_a_client_awaiting_approval_is_404(therapist, key):
    route = TABLE[key]
    browser = Browser()
    browser.force_login(therapist)
    for state, relationship in _awaiting_clients(therapist).items():
        url = reverse(key, kwargs={"client_id": relationship.public_id})
        response = browser.get(url) if route.method == "GET" else browser.post(url, {})
        assert response.status_code == 404, f"{key} for a client with a {state}"


def test_the_record_routes_of_one_client_are_walked():
    """The awaiting-approval walk above really covers the record's entry points."""
    keys = set(_record_routes_of_one_client())
    assert {"plans:new", "visits:session_new", "clinical:diagnosis_add", "documents:assign"} <= keys


def test_a_client_awaiting_approval_shows_only_the_profile_card(therapist):
    browser = Browser()
    browser.force_login(therapist)
    for relationship in _awaiting_clients(therapist).values():
        response = browser.get(reverse("workspace:detail", args=[relationship.public_id]))
        html = response.content.decode()
        assert response.status_code == 200
        assert "Awaiting approval" in html
        assert 'id="clinical"' not in html and 'id="sessions"' not in html

"""Sessions & Notes (SN-1 … SN-3), the therapist's agenda and the supervisor's review queue."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from caseload.accounts.http import AuthenticatedHttpRequest
from caseload.audit.services import audit_record
from caseload.clients.access import get_relationship_for_user
from caseload.clients.models import CareRelationship
from caseload.lib.fields import FIRST_DATE, LAST_DATE
from caseload.lib.http import redirect_to
from caseload.practices.http import clinician_required
from caseload.practices.models import Role
from caseload.visits import services
from caseload.visits.assessment import (
    mental_status_from_post,
    mental_status_rows,
    needs_safety_plan,
    risk_from_post,
    risk_rows,
)
from caseload.visits.forms import (
    AddendumForm,
    NoteForm,
    SendBackForm,
    SessionForm,
    SessionOutcomeForm,
)
from caseload.visits.models import (
    NOTE_SECTION_MAX_LENGTH,
    Modality,
    NoteFormat,
    ProgressNote,
    TherapySession,
    join_link,
)
from caseload.visits.sections import session_cursor
from caseload.visits.selectors import (
    get_session_for_relationship,
    note_awaits_cosignature,
    note_for_session,
    notes_awaiting_cosignature,
    past_sessions_page,
    session_note,
    therapist_agenda,
)

SIGNED = "Note signed. It is now locked; corrections go in addenda."


def _zone(relationship: CareRelationship) -> ZoneInfo:
    return ZoneInfo(relationship.practice.time_zone)


def _session_url(relationship: CareRelationship, session: TherapySession) -> str:
    return reverse("visits:session", args=[relationship.public_id, session.public_id])


@require_http_methods(["GET", "POST"])
@clinician_required
def session_new(request: AuthenticatedHttpRequest, client_id: UUID) -> HttpResponse:
    relationship = get_relationship_for_user(request.user, client_id, write=True)
    zone = _zone(relationship)
    form = SessionForm(request.POST if request.method == "POST" else None, time_zone=zone)
    overlaps: list[TherapySession] = []
    if request.method == "POST" and form.is_valid():
        try:
            session = services.session_schedule(
                relationship=relationship,
                actor=request.user,
                starts_at=form.starts_at(),
                duration_minutes=form.cleaned_data["duration_minutes"],
                modality=form.cleaned_data["modality"],
                allow_overlap=form.cleaned_data["allow_overlap"],
                audit_context=request.audit_context,
            )
        except services.OverlapWarning as warning:
            overlaps = warning.overlapping
            form = SessionForm({**request.POST.dict(), "allow_overlap": "True"}, time_zone=zone)
            form.is_valid()
        except services.VisitError as error:
            form.add_error(error.field, str(error))
        else:
            local = timezone.localtime(session.starts_at, zone)
            messages.success(request, f"Session scheduled for {local:%A %d %B at %H:%M}.")
            return redirect_to(
                request, reverse("workspace:sessions", args=[relationship.public_id])
            )
    return render(
        request,
        "visits/session_new.html",
        {"relationship": relationship, "form": form, "overlaps": overlaps, "zone": zone},
    )


@require_GET
@clinician_required
def session_history(request: AuthenticatedHttpRequest, client_id: UUID) -> HttpResponse:
    """The Sessions & Notes tab's "Show earlier": the next page of past sessions, as table rows
    htmx puts in place of the button. Without htmx, the tab at that page."""
    relationship = get_relationship_for_user(request.user, client_id)
    before = session_cursor(request.GET.get("before"))
    tab_url = reverse("workspace:sessions", args=[relationship.public_id])
    if not request.htmx:
        return redirect(f"{tab_url}?before={before}" if before else tab_url)
    page = past_sessions_page(relationship, before=before)
    audit_record(
        action="client.view",
        actor=request.user,
        audit_context=request.audit_context,
        client=relationship.client,
        obj=relationship,
        detail={"tab": "sessions", "before": str(before or "")},
    )
    context = {
        "relationship": relationship,
        "past_sessions": page.sessions,
        "earlier_cursor": page.earlier,
        "practice_zone": relationship.practice.time_zone,
        "appended": True,  # focus moves to the first row shown
    }
    return render(request, "visits/partials/_sessions_section.html#history_rows", context)


def _session_page(
    request: AuthenticatedHttpRequest,
    relationship: CareRelationship,
    session: TherapySession,
    **forms: Any,
) -> HttpResponse:
    """Render the session page; every rendering shows the note, so every one is audited."""
    shown = session_note(session, requested_format=request.GET.get("format"))
    sections = shown.sections
    submitted = forms.get("submitted")
    if submitted is not None:
        error_field = forms.get("note_error_field")
        sections = [
            {
                **section,
                "text": submitted.get(section["key"], section["text"]),
                "error": str(forms.get("note_error") or "")
                if error_field == f"section_{section['key']}"
                else "",
            }
            for section in sections
        ]
    audit_record(
        action="note.view" if shown.note else "session.view",
        actor=request.user,
        audit_context=request.audit_context,
        client=relationship.client,
        obj=shown.note or session,
    )
    context = {
        "relationship": relationship,
        "session": session,
        "local_start": timezone.localtime(session.starts_at, _zone(relationship)),
        "is_telehealth": session.modality == Modality.TELEHEALTH,
        "join_link": join_link(
            relationship.practice.telehealth_url_template, session.video_room, session.modality
        ),
        "note": shown.note,
        "note_format": shown.format,
        "note_formats": NoteFormat.choices,
        "sections": sections,
        "section_max_length": NOTE_SECTION_MAX_LENGTH,
        "risk_rows": risk_rows(shown.note.risk_assessment if shown.note else {}),
        "mental_status_rows": mental_status_rows(shown.note.mental_status if shown.note else {}),
        "needs_safety_plan": bool(shown.note and needs_safety_plan(shown.note.risk_assessment)),
        "addenda": shown.addenda,
        "events": shown.events,
        "can_edit": relationship.access.can_write,
        "is_supervisor": relationship.access.is_supervisor,
        "awaits_cosignature": shown.note is not None
        and relationship.access.is_supervisor
        and note_awaits_cosignature(shown.note),
        "outcome_form": forms.get("outcome_form")
        or SessionOutcomeForm(initial={"status": session.status, "mood_score": session.mood_score}),
        "addendum_form": forms.get("addendum_form") or AddendumForm(),
        "send_back_form": forms.get("send_back_form") or SendBackForm(),
        "note_error": forms.get("note_error"),
    }
    return render(request, "visits/session_detail.html", context)


@require_GET
@clinician_required
def session_detail(
    request: AuthenticatedHttpRequest, client_id: UUID, session_id: UUID
) -> HttpResponse:
    relationship = get_relationship_for_user(request.user, client_id)
    session = get_session_for_relationship(relationship, session_id)
    return _session_page(request, relationship, session)


@require_POST
@clinician_required
def session_outcome(
    request: AuthenticatedHttpRequest, client_id: UUID, session_id: UUID
) -> HttpResponse:
    relationship = get_relationship_for_user(request.user, client_id, write=True)
    session = get_session_for_relationship(relationship, session_id)
    form = SessionOutcomeForm(request.POST)
    if form.is_valid():
        values = dict(form.cleaned_data)
        allow_overlap = values.pop("allow_overlap", False)
        try:
            services.session_update(
                session=session,
                actor=request.user,
                values=values,
                allow_overlap=allow_overlap,
                audit_context=request.audit_context,
            )
        except services.VisitError as error:
            form.add_error(error.field, str(error))
        except services.OverlapWarning as warning:
            form.add_error(
                "status",
                f"Its time now overlaps {len(warning.overlapping)} other session(s). Tick "
                "the box below to set it back anyway, or move it first.",
            )
        else:
            messages.success(request, "Session updated.")
            return redirect_to(request, _session_url(relationship, session))
    return _session_page(request, relationship, session, outcome_form=form)


def _autosave_status(
    request: AuthenticatedHttpRequest,
    relationship: CareRelationship,
    note: ProgressNote | None,
    error: str | None,
    status: int,
) -> HttpResponse:
    """The one-line answer to an htmx autosave (with the page's status badge, out of band)."""
    saved_at = timezone.localtime(note.updated_at, _zone(relationship)) if note else None
    return render(
        request,
        "visits/partials/_autosave_status.html",
        {"error": error, "saved_at": saved_at, "note": note},
        status=status,
    )


@require_POST
@clinician_required
def note_save(request: AuthenticatedHttpRequest, client_id: UUID, session_id: UUID) -> HttpResponse:
    """Save the draft, or save and sign it ("Sign note"). Autosave posts here through htmx
    and gets a one-line status back; it never signs."""
    relationship = get_relationship_for_user(request.user, client_id, write=True)
    session = get_session_for_relationship(relationship, session_id)
    form = NoteForm(request.POST)
    signing = "sign" in request.POST and not request.htmx
    note: ProgressNote | None = None
    error: str | None = "Choose SOAP, DAP, BIRP or free text."
    error_field: str | None = "format"
    status = 400
    if form.is_valid():
        save = services.note_save_and_sign if signing else services.note_save_draft
        try:
            note = save(
                session=session,
                actor=request.user,
                note_format=form.cleaned_data["format"],
                content=form.content(request.POST),
                risk_assessment=risk_from_post(request.POST),
                mental_status=mental_status_from_post(request.POST),
                audit_context=request.audit_context,
            )
        except services.VisitError as refused:
            # A section too long is the therapist's to fix (400); anything else is the note
            # changing meanwhile, e.g. signed in another tab (409).
            error, error_field = str(refused), refused.field
            status = 400 if refused.field else 409
        else:
            error, status = None, 200
    if request.htmx:
        return _autosave_status(request, relationship, note, error, status)
    if error:
        # Show what was typed, not the stored draft: nothing the therapist wrote is lost.
        return _session_page(
            request,
            relationship,
            session,
            note_error=error,
            note_error_field=error_field,
            submitted=form.content(request.POST)
            if error_field and error_field.startswith("section_")
            else None,
        )
    messages.success(request, SIGNED if signing else "Draft saved.")
    return redirect_to(request, _session_url(relationship, session))


@require_POST
@clinician_required
def note_sign(request: AuthenticatedHttpRequest, client_id: UUID, session_id: UUID) -> HttpResponse:
    relationship = get_relationship_for_user(request.user, client_id, write=True)
    session = get_session_for_relationship(relationship, session_id)
    note = note_for_session(session)
    try:
        if note is None:
            raise services.VisitError("Write the note before signing it.")
        services.note_sign(note=note, actor=request.user, audit_context=request.audit_context)
    except services.VisitError as error:
        return _session_page(request, relationship, session, note_error=str(error))
    messages.success(request, SIGNED)
    return redirect_to(request, _session_url(relationship, session))


@require_POST
@clinician_required
def note_addendum(
    request: AuthenticatedHttpRequest, client_id: UUID, session_id: UUID
) -> HttpResponse:
    relationship = get_relationship_for_user(request.user, client_id, write=True)
    session = get_session_for_relationship(relationship, session_id)
    note = note_for_session(session)
    form = AddendumForm(request.POST)
    note_error = None
    if note is None:
        note_error = "Write and sign the note first; addenda are for signed notes."
    elif form.is_valid():
        try:
            services.note_add_addendum(
                note=note,
                actor=request.user,
                text=form.cleaned_data["text"],
                audit_context=request.audit_context,
            )
        except services.VisitError as error:
            if error.field:
                form.add_error(error.field, str(error))
            else:  # e.g. the note is still a draft: the page shows no addendum form then
                note_error = str(error)
        else:
            messages.success(request, "Addendum added.")
            return redirect_to(request, _session_url(relationship, session))
    return _session_page(request, relationship, session, addendum_form=form, note_error=note_error)


def _supervised_note(
    request: AuthenticatedHttpRequest, client_id: UUID, session_id: UUID
) -> tuple[CareRelationship, TherapySession, ProgressNote]:
    relationship = get_relationship_for_user(request.user, client_id)
    if not relationship.access.is_supervisor:
        raise Http404("Not found.")
    session = get_session_for_relationship(relationship, session_id)
    note = note_for_session(session)
    if note is None:
        raise Http404("No note.")
    return relationship, session, note


@require_POST
@clinician_required
def note_cosign(
    request: AuthenticatedHttpRequest, client_id: UUID, session_id: UUID
) -> HttpResponse:
    relationship, session, note = _supervised_note(request, client_id, session_id)
    try:
        services.note_cosign(note=note, actor=request.user, audit_context=request.audit_context)
    except services.VisitError as error:
        # On the page itself, as an alert: a refused co-signature must not go unnoticed.
        return _session_page(request, relationship, session, note_error=str(error))
    else:
        messages.success(request, "Note co-signed.")
    return redirect_to(request, _session_url(relationship, session))


@require_POST
@clinician_required
def note_send_back(
    request: AuthenticatedHttpRequest, client_id: UUID, session_id: UUID
) -> HttpResponse:
    relationship, session, note = _supervised_note(request, client_id, session_id)
    form = SendBackForm(request.POST)
    if form.is_valid():
        try:
            services.note_send_back(
                note=note,
                actor=request.user,
                comment=form.cleaned_data["comment"],
                audit_context=request.audit_context,
            )
        except services.VisitError as error:
            form.add_error("comment", str(error))
        else:
            messages.success(request, "Note sent back to the therapist with your comment.")
            return redirect_to(request, _session_url(relationship, session))
    return _session_page(request, relationship, session, send_back_form=form)


#: Dates the agenda accepts: the years a session can take (lib.fields), as the calendar.
AGENDA_YEARS = (FIRST_DATE.year, LAST_DATE.year)


def _agenda_query(request: AuthenticatedHttpRequest, zone: ZoneInfo) -> tuple[str, date] | str:
    """The view ("day" or "week") and the chosen day asked for, or why they are refused."""
    view = request.GET.get("view", "week")
    if view not in ("day", "week"):
        return "Unknown view."
    try:
        day = (
            date.fromisoformat(request.GET["date"])
            if request.GET.get("date")
            else timezone.localdate(timezone=zone)
        )
    except ValueError:
        return "Dates look like 2026-11-28."
    if not AGENDA_YEARS[0] <= day.year <= AGENDA_YEARS[1]:
        return "That date is out of range."
    return view, day


@require_GET
@clinician_required
def agenda(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The therapist's sessions across all clients, by day or by week, in practice time."""
    zone = ZoneInfo(request.user.membership.practice.time_zone)
    query = _agenda_query(request, zone)
    if isinstance(query, str):
        return HttpResponseBadRequest(query)
    view, chosen = query  # switching between day and week keeps the chosen day
    start = chosen - timedelta(days=chosen.weekday()) if view == "week" else chosen
    span = 1 if view == "day" else 7
    result = therapist_agenda(request.user, day=start, span_days=span, tz=zone)
    audit_record(
        action="agenda.view",
        actor=request.user,
        audit_context=request.audit_context,
        detail={"view": view, "start": result.start.isoformat(), "sessions": len(result.sessions)},
    )
    return render(
        request,
        "visits/agenda.html",
        {
            "view": view,
            "days": result.days,
            "start": result.start,
            "chosen": chosen,
            "previous": result.start - timedelta(days=span),
            "next": result.start + timedelta(days=span),
            "zone": zone,
        },
    )


@require_GET
@clinician_required
def supervision_queue(request: AuthenticatedHttpRequest) -> HttpResponse:
    if request.user.membership.role != Role.SUPERVISOR:
        raise Http404("Not found.")
    notes = list(notes_awaiting_cosignature(request.user))
    audit_record(
        action="supervision.view",
        actor=request.user,
        audit_context=request.audit_context,
        detail={"notes": len(notes)},
    )
    return render(request, "visits/supervision.html", {"notes": notes})

"""The calendar (SCH-1): day, week and month views, scheduling from an empty slot (once or
repeating), a session's series actions, and the clinician's availability."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from caseload.accounts.http import AuthenticatedHttpRequest
from caseload.accounts.models import User
from caseload.audit.services import audit_record
from caseload.clients.access import RECORD_OPEN_STATES, get_relationship_for_user
from caseload.clients.models import CareRelationship
from caseload.lib.http import redirect_to
from caseload.practices.http import clinician_required, staff_required
from caseload.scheduling import recurrence, services
from caseload.scheduling.availability import care_zone, conflicts_for, zone_of
from caseload.scheduling.calendar import (
    VIEWS,
    YEARS,
    calendar_for,
    calendar_owner,
    clinicians_for,
    step,
)
from caseload.scheduling.forms import (
    BlockedTimeForm,
    CancelForm,
    MoveForm,
    ScheduleForm,
    WorkingHoursForm,
)
from caseload.scheduling.models import BlockedTime, SeriesOccurrence, WorkingHours
from caseload.visits import services as visit_services
from caseload.visits.models import SessionStatus, TherapySession
from caseload.visits.selectors import get_session_for_relationship


def calendar_url(*, view: str = "week", day: date | None = None, clinician: str = "") -> str:
    query: dict[str, str] = {"view": view}
    if day is not None:
        query["date"] = day.isoformat()
    if clinician:
        query["clinician"] = clinician
    return f"{reverse('scheduling:calendar')}?{urlencode(query)}"


def _calendar_query(request: AuthenticatedHttpRequest, today: date) -> tuple[str, date] | str:
    view = request.GET.get("view") or "week"
    if view not in VIEWS:
        return "Unknown view: choose day, week or month."
    try:
        day = date.fromisoformat(request.GET["date"]) if request.GET.get("date") else today
    except ValueError:
        return "Dates look like 2026-11-28."
    if not YEARS[0] <= day.year <= YEARS[1]:
        return "That date is out of range."
    return view, day


@require_GET
@staff_required
def calendar(request: AuthenticatedHttpRequest) -> HttpResponse:
    """A clinician's day, week or month. htmx navigation swaps the calendar partial."""
    clinician_param = request.GET.get("clinician", "")
    owner = calendar_owner(request.user, clinician_param)
    zone = zone_of(owner)
    query = _calendar_query(request, timezone.localdate(timezone=zone))
    if isinstance(query, str):
        return HttpResponseBadRequest(query)
    view, day = query
    result = calendar_for(request.user, owner, view=view, day=day)
    audit_record(
        action="calendar.view",
        actor=request.user,
        audit_context=request.audit_context,
        detail={
            "view": view,
            "start": result.first_day.isoformat(),
            "clinician": str(owner.public_id),
            "sessions": result.session_count,
        },
    )
    own = owner.pk == request.user.pk
    chosen_param = "" if own else str(owner.public_id)
    context = {
        "cal": result,
        "owner": owner,
        "own": own,
        "can_schedule": own and request.user.membership.role != "admin",
        "clinician_param": chosen_param,
        "choices": list(clinicians_for(request.user)),
        "previous_url": calendar_url(view=view, day=step(view, day, -1), clinician=chosen_param),
        "next_url": calendar_url(view=view, day=step(view, day, 1), clinician=chosen_param),
        "today_url": calendar_url(view=view, clinician=chosen_param),
        "view_urls": [
            (name, calendar_url(view=name, day=day, clinician=chosen_param)) for name in VIEWS
        ],
        "today": timezone.localdate(timezone=zone),
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "scheduling/_calendar.html", context)
    return render(request, "scheduling/calendar.html", context)


# Scheduling --------------------------------------------------------------------------------
def _own_clients(user: User) -> list[tuple[str, str]]:
    """The therapist's clients whose record is open: who a session can be scheduled for."""
    rows = CareRelationship.objects.filter(therapist=user, state__in=RECORD_OPEN_STATES).order_by(
        "client_name", "pk"
    )
    pairs = rows.values_list("public_id", "client_name")
    return [(str(public_id), name) for public_id, name in pairs]


def _warnings(clinician: User, starts: list[datetime], duration: int) -> list[str]:
    """What each proposed start runs into (sessions, blocked time, working hours), dated."""
    zone = zone_of(clinician)
    found = []
    for start in starts:
        conflicts = conflicts_for(clinician, starts_at=start, duration_minutes=duration)
        if conflicts:
            local = timezone.localtime(start, zone)
            found.append(f"{local:%a %-d %b %Y, %H:%M}: {' '.join(conflicts.messages)}")
    return found


def _schedule_initial(request: AuthenticatedHttpRequest) -> dict[str, Any]:
    initial: dict[str, Any] = {}
    for name in ("date", "time"):
        value = request.GET.get(name, "")
        try:
            if name == "date":
                initial[name] = date.fromisoformat(value)
            else:
                initial[name] = datetime.strptime(value, "%H:%M").time()
        except ValueError:
            continue
    return initial


@require_http_methods(["GET", "POST"])
@clinician_required
def schedule(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Schedule a session for one of the therapist's own clients, once or repeating."""
    zone = zone_of(request.user)
    form = ScheduleForm(
        request.POST if request.method == "POST" else None,
        initial=_schedule_initial(request),
        time_zone=zone,
        clients=_own_clients(request.user),
    )
    warnings: list[str] = []
    if request.method == "POST" and form.is_valid():
        client_id = form.cleaned_data["client"]
        relationship = get_relationship_for_user(request.user, client_id, write=True)
        try:
            result = _schedule(request, form, relationship)
        except visit_services.OverlapWarning as warning:
            warnings = [str(warning)]
        except visit_services.VisitError as error:
            form.add_error(error.field if error.field in form.fields else None, str(error))
        else:
            if isinstance(result, list):
                warnings = result
            else:
                messages.success(request, result)
                day = form.cleaned_data["date"]
                return redirect_to(request, calendar_url(view="week", day=day))
        if warnings:
            form = ScheduleForm(
                {**request.POST.dict(), "allow_overlap": "True"},
                time_zone=zone,
                clients=_own_clients(request.user),
            )
            form.is_valid()
    return render(
        request,
        "scheduling/calendar_schedule.html",
        {"form": form, "warnings": warnings, "zone": zone},
    )


def _schedule(
    request: AuthenticatedHttpRequest, form: ScheduleForm, relationship: CareRelationship
) -> str | list[str]:
    """Schedule what the form asks; the conflicts found instead when not yet confirmed."""
    data = form.cleaned_data
    starts_at = form.starts_at()
    allow = data["allow_overlap"]
    zone = zone_of(request.user)
    frequency = form.frequency
    if frequency is None:
        if not allow and (found := _warnings(request.user, [starts_at], data["duration_minutes"])):
            return found
        visit_services.session_schedule(
            relationship=relationship,
            actor=request.user,
            starts_at=starts_at,
            duration_minutes=data["duration_minutes"],
            modality=data["modality"],
            allow_overlap=allow,
            audit_context=request.audit_context,
        )
        local = timezone.localtime(starts_at, zone)
        return f"Session scheduled for {local:%A %-d %B at %H:%M}."
    until, count = form.end_rule()
    starts = recurrence.expand(
        starts_at=starts_at, zone=zone, frequency=frequency, until=until, count=count
    )
    if not allow and (found := _warnings(request.user, starts, data["duration_minutes"])):
        return found
    series = recurrence.series_create(
        relationship=relationship,
        actor=request.user,
        starts_at=starts_at,
        duration_minutes=data["duration_minutes"],
        modality=data["modality"],
        frequency=frequency,
        until=until,
        count=count,
        allow_overlap=allow,
        audit_context=request.audit_context,
    )
    return f"{len(starts)} sessions scheduled, {series.get_frequency_display().lower()}."


# A session's page --------------------------------------------------------------------------
def _session_for(
    user: User, session_id: UUID, *, write: bool = False
) -> tuple[CareRelationship, TherapySession]:
    """The session through the clients gate: 404 unless the user may read (or write) it."""
    client_id = (
        TherapySession.objects.filter(public_id=session_id)
        .values_list("relationship__public_id", flat=True)
        .first()
    )
    if client_id is None:
        raise Http404("No such session.")
    relationship = get_relationship_for_user(user, client_id, write=write)
    return relationship, get_session_for_relationship(relationship, session_id)


def _session_page(
    request: AuthenticatedHttpRequest,
    relationship: CareRelationship,
    session: TherapySession,
    *,
    move_form: MoveForm | None = None,
    warnings: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    zone = care_zone(relationship)
    local = timezone.localtime(session.starts_at, zone)
    occurrence = SeriesOccurrence.objects.filter(session=session).select_related("series").first()
    audit_record(
        action="session.view",
        actor=request.user,
        audit_context=request.audit_context,
        client=relationship.client,
        obj=session,
        detail={"page": "calendar"},
    )
    movable = session.status == SessionStatus.SCHEDULED
    move_form = move_form or MoveForm(
        initial={
            "date": local.date(),
            "time": local.time().replace(second=0, microsecond=0),
            "duration_minutes": session.duration_minutes,
            "modality": session.modality,
            "scope": "this",
        },
        time_zone=zone,
    )
    return render(
        request,
        "scheduling/calendar_session.html",
        {
            "relationship": relationship,
            "session": session,
            "local_start": local,
            "local_end": timezone.localtime(session.ends_at, zone),
            "occurrence": occurrence,
            "can_edit": relationship.access.can_write and movable,
            "move_form": move_form,
            "warnings": warnings or [],
            "zone": zone,
            "week_url": calendar_url(view="week", day=local.date())
            if relationship.therapist_id == request.user.pk
            else calendar_url(
                view="week", day=local.date(), clinician=str(relationship.therapist.public_id)
            ),
        },
        status=status,
    )


@require_GET
@clinician_required
def session_detail(request: AuthenticatedHttpRequest, session_id: UUID) -> HttpResponse:
    relationship, session = _session_for(request.user, session_id)
    return _session_page(request, relationship, session)


@require_POST
@clinician_required
def session_move(request: AuthenticatedHttpRequest, session_id: UUID) -> HttpResponse:
    """Move this session, or this and the following ones of its series."""
    relationship, session = _session_for(request.user, session_id, write=True)
    zone = care_zone(relationship)
    form = MoveForm(request.POST, time_zone=zone)
    if not form.is_valid():
        return _session_page(request, relationship, session, move_form=form, status=200)
    data = form.cleaned_data
    values = {
        "starts_at": form.starts_at(),
        "duration_minutes": data["duration_minutes"],
        "modality": data["modality"],
    }
    moved = values["starts_at"] != session.starts_at or (
        values["duration_minutes"] != session.duration_minutes
    )
    if moved and not data["allow_overlap"]:
        conflicts = conflicts_for(
            relationship.therapist,
            starts_at=values["starts_at"],
            duration_minutes=data["duration_minutes"],
            exclude_ids=(session.pk,),
        )
        if conflicts.blocked or conflicts.outside_working_hours or conflicts.requests:
            form = MoveForm({**request.POST.dict(), "allow_overlap": "True"}, time_zone=zone)
            form.is_valid()
            return _session_page(
                request, relationship, session, move_form=form, warnings=conflicts.messages
            )
    try:
        if data["scope"] == "following":
            recurrence.series_update_following(
                session=session,
                actor=request.user,
                values=values,
                allow_overlap=data["allow_overlap"],
                audit_context=request.audit_context,
            )
            done = "This and the following sessions were moved."
        else:
            visit_services.session_update(
                session=session,
                actor=request.user,
                values=values,
                allow_overlap=data["allow_overlap"],
                audit_context=request.audit_context,
            )
            done = "Session updated."
    except visit_services.OverlapWarning as warning:
        form = MoveForm({**request.POST.dict(), "allow_overlap": "True"}, time_zone=zone)
        form.is_valid()
        return _session_page(
            request, relationship, session, move_form=form, warnings=[str(warning)]
        )
    except visit_services.VisitError as error:
        form.add_error(error.field if error.field in form.fields else None, str(error))
        return _session_page(request, relationship, session, move_form=form)
    messages.success(request, done)
    return redirect_to(request, calendar_url(view="week", day=data["date"]))


@require_POST
@clinician_required
def session_cancel(request: AuthenticatedHttpRequest, session_id: UUID) -> HttpResponse:
    relationship, session = _session_for(request.user, session_id, write=True)
    form = CancelForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("Choose what to cancel.")
    local = timezone.localtime(session.starts_at, care_zone(relationship))
    try:
        if form.cleaned_data["scope"] == "following":
            count = recurrence.series_cancel_following(
                session=session, actor=request.user, audit_context=request.audit_context
            )
            done = f"{count} session{'s' if count != 1 else ''} cancelled."
        else:
            visit_services.session_update(
                session=session,
                actor=request.user,
                values={"status": SessionStatus.CANCELLED},
                audit_context=request.audit_context,
            )
            done = "Session cancelled."
    except visit_services.VisitError as error:
        messages.error(request, str(error))
        return redirect("scheduling:session", session_id=session.public_id)
    messages.success(request, done)
    return redirect_to(request, calendar_url(view="week", day=local.date()))


# Availability ------------------------------------------------------------------------------
def _hours_initial(user: User) -> dict[str, Any]:
    initial: dict[str, Any] = {}
    parts: dict[int, int] = {}
    for entry in WorkingHours.objects.filter(clinician=user).order_by("weekday", "start"):
        part = parts.get(entry.weekday, 0) + 1
        if part > 2:
            continue
        parts[entry.weekday] = part
        initial[f"day{entry.weekday}_start{part}"] = entry.start
        initial[f"day{entry.weekday}_end{part}"] = entry.end
    return initial


def _availability_page(
    request: AuthenticatedHttpRequest,
    *,
    hours_form: WorkingHoursForm | None = None,
    blocked_form: BlockedTimeForm | None = None,
) -> HttpResponse:
    zone = zone_of(request.user)
    blocked = [
        (block, timezone.localtime(block.starts_at, zone), timezone.localtime(block.ends_at, zone))
        for block in BlockedTime.objects.filter(
            clinician=request.user, ends_at__gte=timezone.now() - timedelta(days=1)
        ).order_by("starts_at")
    ]
    return render(
        request,
        "scheduling/availability.html",
        {
            "hours_form": hours_form or WorkingHoursForm(initial=_hours_initial(request.user)),
            "blocked_form": blocked_form or BlockedTimeForm(time_zone=zone),
            "blocked": blocked,
            "zone": zone,
        },
    )


@require_http_methods(["GET", "POST"])
@clinician_required
def availability(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The clinician's own working hours (a row per weekday) and blocked times."""
    if request.method == "GET":
        return _availability_page(request)
    form = WorkingHoursForm(request.POST)
    if form.is_valid():
        try:
            services.working_hours_set(
                clinician=request.user,
                actor=request.user,
                days=form.days(),
                audit_context=request.audit_context,
            )
        except services.AvailabilityError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, "Working hours saved.")
            return redirect_to(request, reverse("scheduling:availability"))
    return _availability_page(request, hours_form=form)


@require_POST
@clinician_required
def blocked_add(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = BlockedTimeForm(request.POST, time_zone=zone_of(request.user))
    if form.is_valid():
        try:
            services.blocked_time_add(
                clinician=request.user,
                actor=request.user,
                starts_at=form.starts_at(),
                ends_at=form.ends_at(),
                reason=form.cleaned_data["reason"],
                audit_context=request.audit_context,
            )
        except services.AvailabilityError as error:
            form.add_error(error.field if error.field in form.fields else None, str(error))
        else:
            messages.success(request, "Blocked time added.")
            return redirect_to(request, reverse("scheduling:availability"))
    return _availability_page(request, blocked_form=form)


@require_POST
@clinician_required
def blocked_delete(request: AuthenticatedHttpRequest, blocked_id: UUID) -> HttpResponse:
    blocked = BlockedTime.objects.filter(clinician=request.user, public_id=blocked_id).first()
    if blocked is None:
        raise Http404("No such blocked time.")
    services.blocked_time_delete(
        blocked=blocked, actor=request.user, audit_context=request.audit_context
    )
    messages.success(request, "Blocked time removed.")
    return redirect_to(request, reverse("scheduling:availability"))

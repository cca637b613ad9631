"""The bare-Django floor the benchmark compares Caseload with (`bench/compare.py`).

Settings, URLs and views in one module: the same database, the same session cookie, the same
50 rows (the same columns and badge annotations, so the database does the same work), but
only the session and auth middleware (and allauth's, which it requires), no access object,
no count, no layout, and a plain template. Served the same way as the app:
`uvicorn bench.floor_asgi:application`.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path

from caseload.settings import *  # noqa: F403

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",  # allauth refuses to start without it
]
ROOT_URLCONF = "bench.floor"

ROWS = """<!doctype html><title>Clients</title><ul>{% for r in rows %}
<li><a href="/clients/{{ r.public_id }}/">{{ r.client.full_name }}</a> {{ r.client.email }}
{{ r.next_session_at|date:"D j M, H:i" }} {{ r.last_seen_at|date:"j M Y" }}
{% if r.state == "invited" %}Pending{% endif %} {{ r.notes_due }} {{ r.notes_to_cosign }}
{{ r.plan_state }} {{ r.documents_to_review }} {{ r.document_flagged }} {{ r.unread_messages }}
</li>{% endfor %}</ul>"""
ICD = """{% for r in results %}
<option value="{{ r.code }}">{{ r.code }} {{ r.description }}</option>{% endfor %}"""

_compiled: dict[str, Any] = {}


def _template(source: str) -> Any:
    if source not in _compiled:
        from django.template import engines

        _compiled[source] = engines["django"].from_string(source)
    return _compiled[source]


def _rows(request: HttpRequest) -> Any:
    from django.db.models import F

    from caseload.clients.models import CareRelationship
    from caseload.workspace.selectors import (
        LIST_STATES,
        ListFilter,
        badge_annotations,
        last_seen_at,
        next_session_at,
    )

    if not request.user.is_authenticated:
        raise Http404
    return (
        CareRelationship.objects.filter(
            therapist=request.user, state__in=LIST_STATES[ListFilter.ACTIVE]
        )
        .select_related("client")
        .annotate(next_session_at=next_session_at(), last_seen_at=last_seen_at())
        .annotate(**badge_annotations())
        .order_by(F("client__full_name"), "pk")
    )


def client_list(request: HttpRequest) -> HttpResponse:
    from caseload.clients.models import search_key

    rows = _rows(request)
    if query := request.GET.get("q", "").strip():
        rows = rows.filter(client__search_text__contains=search_key(query))
    return HttpResponse(_template(ROWS).render({"rows": rows[:50]}))


def profile(request: HttpRequest, client_id: UUID) -> HttpResponse:
    rows = list(_rows(request).filter(public_id=client_id))
    if not rows:
        raise Http404
    return HttpResponse(_template(ROWS).render({"rows": rows}))


def icd10(request: HttpRequest) -> HttpResponse:
    from caseload.clinical import icd10 as index

    query = request.GET.get("q", "").strip()[:80]
    results = index.search(query, limit=15) if len(query) >= 2 else []
    return HttpResponse(_template(ICD).render({"results": results}))


def document_pdf(request: HttpRequest, client_id: UUID, document_id: UUID) -> HttpResponse:
    from django.utils import timezone

    from caseload.documents.models import AssignedDocument
    from caseload.documents.selectors import staff_document_pdf
    from caseload.lib.pdf import render_pdf

    if not request.user.is_authenticated:
        raise Http404
    document = AssignedDocument.objects.select_related(
        "version", "relationship__client", "relationship__practice", "relationship__therapist"
    ).get(public_id=document_id, relationship__therapist=request.user)
    pdf = staff_document_pdf(document.relationship, document)
    content = render_pdf(
        "documents/pdf.html", {"document": pdf, "generated_at": timezone.localtime()}
    )
    return HttpResponse(content, content_type="application/pdf")


urlpatterns = [
    path("clients/", client_list),
    path("clients/<uuid:client_id>/", profile),
    path("clinical/icd10/", icd10),
    path("clients/<uuid:client_id>/documents/<uuid:document_id>/pdf/", document_pdf),
]

"""Decision 0006 on every portal page: no template is handed a model instance or a queryset.

The walk visits every route the portal serves (`portal/…`, the portal's messages, the
emailed invitation link) as the client, the guardian and an anonymous visitor, records every
template rendered on the way (pages, partials, the redirect's next page, the PDF) and
inspects every value of its context, down through lists, dicts, dataclasses and forms.
The one model allowed is the visitor's own account as `user` (the auth context processor).
A portal route added without a visit here fails `test_the_walk_visits_every_portal_route`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields, is_dataclass
from typing import Any
from urllib.parse import urlparse

import pytest
from django.db.models import Manager, Model, QuerySet
from django.forms import BaseForm
from django.test import Client as Browser
from django.test.signals import template_rendered
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from caseload.accounts.models import User
from caseload.clients import services as client_services
from caseload.clients.models import CareRelationship, Invitation
from caseload.documents import services as document_services
from caseload.documents.library import sync_library
from caseload.documents.models import AssignedDocument, DocumentStatus
from caseload.documents.tests.helpers import answers_for
from caseload.messaging import services as messaging_services
from caseload.portal.selectors import invitation_page
from caseload.scheduling.models import BookingRequest
from caseload.scheduling.tests.booking_helpers import ready
from caseload.visits import services as visits_services
from tests.factories import pending_relationship

pytestmark = pytest.mark.django_db

#: Where the portal's routes live: the portal itself (with its messages) and the invitation.
PORTAL_PREFIXES = ("portal/", "invite/")


# Looking for models ---------------------------------------------------------------------
def offences(value: Any, where: str, seen: set[int] | None = None) -> Iterator[str]:
    """Every model instance, queryset or manager reachable from `value`, by its path."""
    seen = set() if seen is None else seen
    if isinstance(value, Model):
        yield f"{where} is a {type(value).__name__} instance"
        return
    if isinstance(value, (QuerySet, Manager)):
        yield f"{where} is a queryset of {value.model.__name__}"
        return
    if isinstance(value, (str, bytes, int, float, bool)) or value is None or id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, BaseForm):
        instance = getattr(value, "instance", None)
        if isinstance(instance, Model):
            yield f"{where} is a form of a {type(instance).__name__} instance"
        for name, field in value.fields.items():
            if getattr(field, "queryset", None) is not None:
                yield f"{where}.{name} chooses from a queryset"
        yield from offences(value.initial, f"{where}.initial", seen)
    elif is_dataclass(value) and not isinstance(value, type):
        for item in fields(value):
            yield from offences(getattr(value, item.name), f"{where}.{item.name}", seen)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from offences(item, f"{where}[{key!r}]", seen)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for index, item in enumerate(value):
            yield from offences(item, f"{where}[{index}]", seen)


def context_offences(context: dict[str, Any], visitor: User | None) -> list[str]:
    found = []
    for key, value in context.items():
        own = isinstance(value, User) and visitor is not None and value.pk == visitor.pk
        if key == "user" and own:
            continue  # the visitor's own account, from the auth context processor
        found.extend(offences(value, key))
    return found


def test_the_check_finds_a_model_wherever_it_hides(active_client):
    @dataclass(frozen=True)
    class Row:
        title: str
        relationship: Any

    assert context_offences({"relationship": active_client}, None) == [
        "relationship is a CareRelationship instance"
    ]
    assert context_offences({"rows": [Row("x", active_client)]}, None) == [
        "rows[0].relationship is a CareRelationship instance"
    ]
    assert context_offences({"page": {"items": CareRelationship.objects.all()}}, None) == [
        "page['items'] is a queryset of CareRelationship"
    ]
    assert context_offences({"sessions": active_client.sessions}, None) != []
    # Somebody else's account is a model like any other; only the visitor's own is allowed.
    assert context_offences({"user": active_client.therapist}, active_client.client.account)
    maya = active_client.client.account
    assert not context_offences({"user": maya}, maya)
    page = invitation_page(active_client.invitations.get(), maya)
    assert not context_offences({"page": page}, None)


# The walk --------------------------------------------------------------------------------
@dataclass
class Walk:
    """Every template rendered, by visit ("who METHOD url"); the route names visited."""

    rendered: dict[str, list[tuple[str, dict[str, Any]]]]
    offences: list[str]
    routes: set[str]

    def visit(
        self,
        browser: Browser,
        visitor: User | None,
        method: str,
        url: str,
        data: dict[str, Any] | None = None,
        *,
        status: int = 200,
        **headers: str,
    ) -> Any:
        who = visitor.email if visitor is not None else "anonymous"
        where = f"{who} {method} {url}" + (" (htmx)" if headers else "")
        while where in self.rendered:
            where += " (again)"
        captured: list[tuple[str, dict[str, Any]]] = []

        def record(sender: Any, template: Any, context: Any, **kwargs: Any) -> None:
            captured.append((template.name or "<string>", context.flatten()))

        template_rendered.connect(record)
        try:
            if method == "GET":
                response = browser.get(url, data or {}, follow=True, **headers)
            else:
                response = browser.post(url, data or {}, follow=True, **headers)
        finally:
            template_rendered.disconnect(record)
        assert response.status_code == status, where
        assert captured, f"{where} rendered no template: the walk checked nothing"
        self.routes.add(resolve(urlparse(url).path).view_name)
        self.rendered[where] = captured
        for template, context in captured:
            self.offences.extend(
                f"{where} → {template}: {found}" for found in context_offences(context, visitor)
            )
        return response


@pytest.fixture
def world(therapist, colleague, active_client, client_user, child_client, guardian_user):
    """Messages both ways, documents open and submitted, requests and a sign-up invitation."""
    for relationship, holder in ((active_client, client_user), (child_client, guardian_user)):
        messaging_services.message_send(relationship=relationship, actor=holder, text="Hello")
        messaging_services.message_send(relationship=relationship, actor=therapist, text="Hi")
    library = {version.template.library_key: version for version in sync_library()}
    documents = {
        relationship.pk: document_services.document_assign(
            relationship=relationship,
            versions=[library["phq9"], library["gad7"]],
            due_date=None,
            actor=therapist,
        )
        for relationship in (active_client, child_client)
    }

    def request_for(**kwargs: Any) -> Invitation:
        return client_services.client_add(
            actor=colleague, billing_type="cash_pay", **kwargs
        ).invitation

    child = {"is_child": True, "guardian_email": guardian_user.email}
    child |= {"guardian_name": "Sam Okafor", "guardian_relationship": "parent"}
    return {
        "maya_documents": documents[active_client.pk],
        "sam_documents": documents[child_client.pk],
        "to_maya": request_for(full_name="Maya Patel", email=client_user.email),
        "for_ben": request_for(full_name="Ben Okafor", **child),
        "for_zoe": request_for(full_name="Zoe Okafor", **child),
        "signup": pending_relationship(
            therapist, full_name="Pat Pending", email="pat@example.com"
        ).invitations.get(),
    }


def portal_routes() -> set[str]:
    def walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[str]:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = namespace
                if entry.namespace:
                    inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
                yield from walk(entry.url_patterns, prefix + str(entry.pattern), inner)
            elif (
                isinstance(entry, URLPattern)
                and entry.name
                and (prefix + str(entry.pattern)).startswith(PORTAL_PREFIXES)
            ):
                yield f"{namespace}:{entry.name}" if namespace else entry.name

    return set(walk(get_resolver().url_patterns))


@pytest.fixture
def walked(world, active_client, child_client, client_user, guardian_user, signed_in) -> Walk:
    walk = Walk(rendered={}, offences=[], routes=set())
    maya, sam, anonymous = signed_in(client_user), signed_in(guardian_user), Browser()
    htmx = {"HTTP_HX_REQUEST": "true"}

    # The portal home and documents: open, refused, submitted, and the client's PDF.
    open_doc, to_submit = world["maya_documents"]
    for browser, user in ((maya, client_user), (sam, guardian_user)):
        walk.visit(browser, user, "GET", "/portal/")
        walk.visit(browser, user, "GET", "/portal/documents/")
    walk.visit(maya, client_user, "GET", f"/portal/documents/{open_doc.public_id}/")
    walk.visit(
        sam, guardian_user, "GET", f"/portal/documents/{world['sam_documents'][0].public_id}/"
    )
    walk.visit(
        maya, client_user, "POST", f"/portal/documents/{open_doc.public_id}/", {"submit": "1"}
    )
    walk.visit(maya, client_user, "GET", f"/portal/documents/{open_doc.public_id}/pdf/")
    submitted = f"/portal/documents/{to_submit.public_id}/"
    walk.visit(maya, client_user, "POST", submitted, {"submit": "1", **answers_for("gad7", 6)})
    assert AssignedDocument.objects.get(pk=to_submit.pk).status != DocumentStatus.ASSIGNED
    walk.visit(maya, client_user, "GET", submitted)
    walk.visit(maya, client_user, "GET", f"{submitted}pdf/")
    walk.visit(maya, client_user, "GET", f"{submitted}submitted/")

    # Messages, both holders: the page, the items, sending (refused and sent), reading.
    for browser, user, relationship in (
        (maya, client_user, active_client),
        (sam, guardian_user, child_client),
    ):
        page = f"/portal/messages/{relationship.public_id}/"
        walk.visit(browser, user, "GET", page)
        walk.visit(browser, user, "GET", page, **htmx)
        walk.visit(browser, user, "GET", f"{page}items/")
        walk.visit(browser, user, "POST", f"{page}send/", {"text": "  "})
        walk.visit(browser, user, "POST", f"{page}send/", {"text": "Thanks"})
        walk.visit(browser, user, "POST", f"{page}send/", {"text": "Again"}, **htmx)
        walk.visit(browser, user, "POST", f"{page}read/")

    # Requests: approved and declined in the portal, answered from the emailed link.
    to_maya, for_ben, for_zoe = world["to_maya"], world["for_ben"], world["for_zoe"]
    walk.visit(maya, client_user, "GET", f"/invite/{to_maya.token()}/")
    walk.visit(maya, client_user, "POST", f"/portal/requests/{to_maya.public_id}/approve/")
    walk.visit(sam, guardian_user, "POST", f"/portal/requests/{for_zoe.public_id}/decline/")
    link = f"/invite/{for_ben.token()}/"
    walk.visit(sam, guardian_user, "GET", link)
    walk.visit(maya, client_user, "GET", link)  # signed in, but not as the invitee
    walk.visit(anonymous, None, "GET", link)
    walk.visit(sam, guardian_user, "POST", f"{link}respond/", {"answer": "approve"})
    walk.visit(sam, guardian_user, "GET", link, status=404)  # used: "no longer valid"

    # The anonymous sign-up invitation: the page, then on to the signup form.
    signup = f"/invite/{world['signup'].token()}/"
    walk.visit(anonymous, None, "GET", signup)
    walk.visit(anonymous, None, "POST", f"{signup}signup/")
    walk.visit(anonymous, None, "GET", "/invite/not-a-real-token/", status=404)

    # Sessions and session requests (SCH-2): request, withdraw, cancel.
    free = ready(active_client)
    session = visits_services.session_schedule(
        relationship=child_client,
        actor=child_client.therapist,
        starts_at=free[-1],
        duration_minutes=50,
        modality="telehealth",
    )
    book = f"/portal/care/{active_client.public_id}/book/"
    walk.visit(maya, client_user, "GET", "/portal/sessions/")
    walk.visit(maya, client_user, "GET", book)
    walk.visit(maya, client_user, "GET", book, {"at": free[0].isoformat()})
    walk.visit(maya, client_user, "POST", book, {"starts_at": free[0].isoformat()})
    pending = BookingRequest.objects.get(relationship=active_client)
    walk.visit(maya, client_user, "POST", f"/portal/bookings/{pending.public_id}/withdraw/")
    walk.visit(sam, guardian_user, "GET", f"/portal/sessions/{session.public_id}/cancel/")
    walk.visit(sam, guardian_user, "POST", f"/portal/sessions/{session.public_id}/cancel/")
    return walk


def test_no_portal_page_is_handed_a_model_or_a_queryset(walked, world):
    assert walked.offences == []
    # The walk saw the real pages, with their data: e.g. the invitation link's page.
    rendered = dict(walked.rendered[f"maya@example.com GET /invite/{world['to_maya'].token()}/"])
    page = rendered["portal/invitation.html"]["page"]
    assert (page.therapist_name, page.is_connection, page.signed_in_as_invitee) == (
        "Bob Lee",
        True,
        True,
    )
    anonymous = dict(walked.rendered[f"anonymous GET /invite/{world['signup'].token()}/"])
    page = anonymous["portal/invitation.html"]["page"]
    assert (page.email, page.is_connection, page.has_account) == ("pat@example.com", False, False)
    # The client's copy of a submitted document's PDF was rendered (and checked) too.
    pdf = f"maya@example.com GET /portal/documents/{world['maya_documents'][1].public_id}/pdf/"
    assert [template for template, _ in walked.rendered[pdf]] == ["documents/pdf.html"]


def test_the_walk_visits_every_portal_route(walked):
    routes = portal_routes()
    assert {"portal:home", "messaging:portal_send", "invitation_open"} <= routes
    missing = sorted(routes - walked.routes)
    assert not missing, f"portal routes the context walk never visits: {missing}"

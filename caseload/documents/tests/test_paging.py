"""Bounded documents: the Documents tab a page at a time ("Show earlier", with htmx and without
JavaScript), the Assign form on demand, the Overview card, and the portal's completed list."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.core.exceptions import BadRequest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from caseload.audit.models import AuditEvent
from caseload.clients.access import get_relationship_for_user
from caseload.documents import services
from caseload.documents.models import AssignedDocument, DocumentStatus
from caseload.documents.sections import documents_overview, documents_tab
from caseload.documents.selectors import (
    PAGE_SIZE,
    PORTAL_COMPLETED_PAGE_SIZE,
    UnknownCursor,
    documents_page,
)
from caseload.documents.tests.helpers import answers_for, assign_one, submit
from caseload.lib.http import SYSTEM
from tests.factories import active_relationship

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def assigned(relationship, version, count: int, **values) -> list[AssignedDocument]:
    """`count` plain rows, oldest first (the assigning service allows one open copy of a
    questionnaire at a time): assigned a day apart, the last one today."""
    rows = AssignedDocument.objects.bulk_create(
        AssignedDocument(
            relationship=relationship, version=version, assigned_by=relationship.therapist, **values
        )
        for _ in range(count)
    )
    now = timezone.now()
    for age, row in enumerate(reversed(rows)):
        AssignedDocument.objects.filter(pk=row.pk).update(assigned_at=now - timedelta(days=age))
    return rows


def completed(relationship, version, count: int) -> list[AssignedDocument]:
    """`count` submitted rows, the last one submitted most recently."""
    now = timezone.now()
    rows = assigned(
        relationship,
        version,
        count,
        status=DocumentStatus.COMPLETED,
        submitted_at=now,
        submitted_by=relationship.client.account,
    )
    for age, row in enumerate(reversed(rows)):
        AssignedDocument.objects.filter(pk=row.pk).update(submitted_at=now - timedelta(hours=age))
    return rows


def shown(html: str) -> list[str]:
    """Public ids of the document rows, in page order."""
    return re.findall(r'<tr data-document="([^"]+)">', html)


def ids(rows) -> list[str]:
    return [str(row.public_id) for row in rows]


def tab_url(relationship) -> str:
    return f"/clients/{relationship.public_id}/documents/"


def earlier_url(relationship) -> str:
    return f"/clients/{relationship.public_id}/documents/earlier/"


def earlier_control(html: str) -> tuple[str, str] | None:
    """(href, hx-get) of the "Show earlier documents" control, if there is one."""
    found = re.search(r'<a id="documents-earlier" href="([^"]+)" hx-get="([^"]+)"', html)
    return (unescape(found.group(1)), unescape(found.group(2))) if found else None


# The selector ------------------------------------------------------------------------------
def test_pages_walk_back_newest_first_without_gaps(active_client, library):
    rows = assigned(active_client, library["phq9"], 45)
    seen: list[str] = []
    page = documents_page(active_client)
    seen += ids(page.documents)
    while page.earlier is not None:
        page = documents_page(active_client, before=page.earlier)
        assert len(page.documents) <= PAGE_SIZE and not page.is_latest
        seen += ids(page.documents)

    assert seen == ids(reversed(rows))


def test_documents_assigned_in_the_same_instant_are_neither_lost_nor_repeated(
    active_client, library
):
    rows = AssignedDocument.objects.bulk_create(
        AssignedDocument(
            relationship=active_client, version=library["gad7"], assigned_by=active_client.therapist
        )
        for _ in range(PAGE_SIZE + 5)
    )
    AssignedDocument.objects.filter(relationship=active_client).update(assigned_at=timezone.now())

    first = documents_page(active_client)
    second = documents_page(active_client, before=first.earlier)

    assert ids(first.documents + second.documents) == ids(sorted(rows, key=lambda r: -r.pk))
    assert second.earlier is None


def test_another_clients_document_is_an_unknown_cursor(active_client, child_client, library):
    (elsewhere,) = assigned(child_client, library["phq9"], 1)

    with pytest.raises(UnknownCursor):
        documents_page(active_client, before=elsewhere.public_id)


# The Documents tab -------------------------------------------------------------------------
def test_the_tab_shows_the_newest_documents_first_with_show_earlier(
    therapist, active_client, library, signed_in
):
    rows = assigned(active_client, library["phq9"], 30)

    html = signed_in(therapist).get(tab_url(active_client)).content.decode()

    assert shown(html) == ids(reversed(rows[10:]))
    href, hx_get = earlier_control(html)
    assert href == f"{tab_url(active_client)}?before={rows[10].public_id}"
    assert hx_get == f"{earlier_url(active_client)}?before={rows[10].public_id}"


def test_a_short_list_has_no_show_earlier(therapist, active_client, library, signed_in):
    assigned(active_client, library["phq9"], PAGE_SIZE)

    html = signed_in(therapist).get(tab_url(active_client)).content.decode()

    assert len(shown(html)) == PAGE_SIZE
    assert earlier_control(html) is None


def test_show_earlier_with_htmx_returns_the_next_rows_and_their_control(
    therapist, active_client, library, signed_in
):
    rows = assigned(active_client, library["phq9"], 50)
    browser = signed_in(therapist)

    response = browser.get(earlier_url(active_client), {"before": rows[30].public_id}, **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert shown(html) == ids(reversed(rows[10:30]))
    assert html.rstrip().endswith("</tr>") and "<table" not in html  # rows for the table body
    assert earlier_control(html)[1].endswith(f"?before={rows[10].public_id}")
    last = browser.get(earlier_url(active_client), {"before": rows[10].public_id}).content
    assert shown(last.decode()) == ids(reversed(rows[:10]))
    assert earlier_control(last.decode()) is None


def test_showing_earlier_documents_is_audited_as_a_view_of_the_tab(
    therapist, active_client, library, signed_in
):
    rows = assigned(active_client, library["phq9"], 30)

    signed_in(therapist).get(earlier_url(active_client), {"before": rows[10].public_id})

    event = AuditEvent.objects.filter(action="client.view").latest("pk")
    assert event.actor == therapist
    assert event.detail == {"tab": "documents", "before": str(rows[10].public_id)}


def test_the_supervisor_shows_earlier_rows_without_remind_buttons(
    supervisor, active_client, library, signed_in
):
    rows = assigned(active_client, library["phq9"], 30)

    response = signed_in(supervisor).get(earlier_url(active_client), {"before": rows[10].public_id})

    assert response.status_code == 200
    assert len(shown(response.content.decode())) == 10
    assert "Send reminder" not in response.content.decode()


@pytest.mark.parametrize("persona", ["colleague", "outsider", "client_user"])
def test_nobody_else_shows_earlier_rows(request, active_client, library, persona, signed_in):
    rows = assigned(active_client, library["phq9"], 30)

    response = signed_in(request.getfixturevalue(persona)).get(
        earlier_url(active_client), {"before": rows[10].public_id}
    )

    assert response.status_code == 404


@pytest.mark.parametrize("before", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_a_bad_cursor_is_a_bad_request(therapist, active_client, library, before, signed_in):
    assigned(active_client, library["phq9"], 3)

    response = signed_in(therapist).get(earlier_url(active_client), {"before": before}, **HTMX)

    assert response.status_code == 400
    assert not AuditEvent.objects.filter(action="client.view").exists()


def test_without_a_cursor_the_rows_are_the_newest_page(
    therapist, active_client, library, signed_in
):
    rows = assigned(active_client, library["phq9"], 25)

    response = signed_in(therapist).get(earlier_url(active_client), **HTMX)

    assert shown(response.content.decode()) == ids(reversed(rows[5:]))


def test_another_clients_document_is_a_bad_cursor(
    therapist, active_client, child_client, library, signed_in
):
    assigned(active_client, library["phq9"], 3)
    (elsewhere,) = assigned(child_client, library["phq9"], 1)

    response = signed_in(therapist).get(earlier_url(active_client), {"before": elsewhere.public_id})

    assert response.status_code == 400


@pytest.mark.parametrize("before", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_a_bad_cursor_on_the_tab_is_a_bad_request(therapist, active_client, before):
    gated = get_relationship_for_user(therapist, active_client.public_id)

    with pytest.raises(BadRequest):
        documents_tab(therapist, gated, SYSTEM, before=before)


def test_without_javascript_the_section_shows_the_next_page(therapist, active_client, library):
    rows = assigned(active_client, library["phq9"], 50)
    gated = get_relationship_for_user(therapist, active_client.public_id)

    context = documents_tab(therapist, gated, SYSTEM, before=str(rows[30].public_id))

    assert ids(context["documents"]) == ids(reversed(rows[10:30]))
    assert context["documents_earlier"] == rows[10].public_id
    assert not context["documents_is_latest"]


def test_without_javascript_the_tab_link_shows_the_next_page(
    therapist, active_client, library, signed_in
):
    """Needs the workspace to pass the tab's `?before=` to the section's context."""
    rows = assigned(active_client, library["phq9"], 50)

    response = signed_in(therapist).get(tab_url(active_client), {"before": rows[30].public_id})

    html = response.content.decode()
    assert shown(html) == ids(reversed(rows[10:30]))
    assert earlier_control(html)[0] == f"{tab_url(active_client)}?before={rows[10].public_id}"
    assert f'<a href="{tab_url(active_client)}">Show the newest documents</a>' in html


def test_the_tab_costs_the_same_for_5_and_200_documents(therapist, library, signed_in):
    few_docs = active_relationship(therapist, full_name="Few Docs", email="few@example.com")
    many_docs = active_relationship(therapist, full_name="Many Docs", email="many@example.com")
    assigned(few_docs, library["phq9"], 5)
    assigned(many_docs, library["phq9"], 200)
    browser = signed_in(therapist)

    def cost(relationship) -> tuple[int, int]:
        browser.get(tab_url(relationship))  # warm: session activity, caches
        with CaptureQueriesContext(connection) as captured:
            html = browser.get(tab_url(relationship)).content.decode()
        return len(captured), len(shown(html))

    (few, rows_few), (many, rows_many) = cost(few_docs), cost(many_docs)
    assert many == few
    assert (rows_few, rows_many) == (5, PAGE_SIZE)


def test_show_earlier_costs_the_same_deep_in_a_long_list(
    therapist, active_client, library, signed_in
):
    rows = assigned(active_client, library["phq9"], 200)
    browser = signed_in(therapist)

    def cost(cursor: AssignedDocument) -> int:
        with CaptureQueriesContext(connection) as captured:
            browser.get(earlier_url(active_client), {"before": cursor.public_id})
        return len(captured)

    cost(rows[190])
    assert cost(rows[25]) == cost(rows[190])


# The Assign form, on demand ------------------------------------------------------------------
def _assign_details(html: str) -> str:
    found = re.search(r'<details class="edit-on-demand"[^>]*>', html)
    assert found, "no Assign documents disclosure"
    return found.group(0)


def test_the_assign_form_opens_on_demand(therapist, active_client, library, signed_in):
    html = signed_in(therapist).get(tab_url(active_client)).content.decode()

    assert _assign_details(html) == '<details class="edit-on-demand">'
    assign = f"{tab_url(active_client)}assign/"
    assert re.search(
        r'<details class="edit-on-demand">\s*<summary class="button">Assign documents</summary>'
        rf'\s*<form method="post" action="{assign}"',
        html,
    )


@pytest.mark.parametrize("htmx", [True, False])
def test_the_assign_form_comes_back_open_with_its_errors(
    therapist, active_client, library, signed_in, htmx
):
    response = signed_in(therapist).post(
        f"{tab_url(active_client)}assign/", {"templates": []}, **(HTMX if htmx else {})
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert _assign_details(html) == '<details class="edit-on-demand" open>'
    assert "Choose at least one document." in html


def test_a_successful_assignment_closes_the_form_again(
    therapist, active_client, library, signed_in
):
    response = signed_in(therapist).post(
        f"{tab_url(active_client)}assign/",
        {"templates": [str(library["gad7"].template.public_id)]},
        **HTMX,
    )

    assert _assign_details(response.content.decode()) == '<details class="edit-on-demand">'


def test_the_supervisor_has_no_assign_form(supervisor, active_client, library, signed_in):
    html = signed_in(supervisor).get(tab_url(active_client)).content.decode()

    assert 'class="edit-on-demand"' not in html


# The Overview card ---------------------------------------------------------------------------
def _card(browser, relationship) -> str:
    html = browser.get(f"/clients/{relationship.public_id}/").content.decode()
    found = re.search(
        r'<section class="overview-card" aria-labelledby="overview-documents-title">.*?</section>',
        html,
        re.S,
    )
    assert found, "no Documents card on the Overview"
    return found.group(0)


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _score(relationship, client_user, version, scale, total, days_ago, **fixed):
    document = submit(
        assign_one(relationship, version), client_user, answers_for(scale, total, **fixed)
    )
    when = timezone.now() - timedelta(days=days_ago)
    AssignedDocument.objects.filter(pk=document.pk).update(submitted_at=when)
    return document


def test_the_card_shows_documents_to_review_and_the_latest_scores_with_band_and_change(
    therapist, active_client, client_user, library, signed_in
):
    _score(active_client, client_user, library["phq9"], "phq9", 16, 40)
    first = _score(active_client, client_user, library["phq9"], "phq9", 12, 20)
    _score(active_client, client_user, library["phq9"], "phq9", 8, 5)
    _score(active_client, client_user, library["gad7"], "gad7", 11, 10)
    services.document_mark_reviewed(document=first, actor=therapist)

    card = _card(signed_in(therapist), active_client)

    text = _text(card)
    assert "To review 3 documents to review" in text
    assert "Needs immediate attention" not in text
    assert "PHQ-9 8 · Mild down 8 since the first score of 16 ·" in text
    assert "GAD-7 11 · Moderate the only score so far ·" in text
    assert f'<a href="{tab_url(active_client)}"><strong>8</strong> · Mild</a>' in card
    assert f'<h4 id="overview-documents-title"><a href="{tab_url(active_client)}">' in card


def test_a_rising_score_says_up_and_a_flag_needs_immediate_attention(
    therapist, active_client, client_user, library, signed_in
):
    _score(active_client, client_user, library["phq9"], "phq9", 4, 30)
    _score(active_client, client_user, library["phq9"], "phq9", 10, 2, q9=1)

    text = _text(_card(signed_in(therapist), active_client))

    assert "PHQ-9 10 · Moderate up 6 since the first score of 4 ·" in text
    assert "Needs immediate attention" in text
    assert "GAD-7" not in text


def test_an_unchanged_score_says_so(therapist, active_client, client_user, library, signed_in):
    _score(active_client, client_user, library["gad7"], "gad7", 7, 30)
    _score(active_client, client_user, library["gad7"], "gad7", 7, 2)

    text = _text(_card(signed_in(therapist), active_client))

    assert "GAD-7 7 · Mild unchanged since the first score of 7 ·" in text


def test_without_scores_the_card_says_nothing_to_review(
    therapist, active_client, library, signed_in
):
    assigned(active_client, library["phq9"], 2)

    text = _text(_card(signed_in(therapist), active_client))

    assert "To review Nothing to review" in text
    assert "No PHQ-9 or GAD-7 scores yet" in text


def test_the_supervisor_sees_the_documents_card(
    supervisor, active_client, client_user, library, signed_in
):
    _score(active_client, client_user, library["gad7"], "gad7", 11, 10)

    text = _text(_card(signed_in(supervisor), active_client))

    assert "1 document to review" in text and "GAD-7 11 · Moderate" in text


def test_the_overview_costs_the_same_for_5_and_200_documents(therapist, library):
    few_docs = active_relationship(therapist, full_name="Few Docs", email="few@example.com")
    many_docs = active_relationship(therapist, full_name="Many Docs", email="many@example.com")
    for relationship, count in ((few_docs, 5), (many_docs, 200)):
        rows = completed(relationship, library["phq9"], count)
        AssignedDocument.objects.filter(pk__in=[row.pk for row in rows]).update(
            score=9, severity="Mild"
        )
        AssignedDocument.objects.filter(pk=rows[-1].pk).update(score=3, severity="Minimal")

    def cost(relationship):
        gated = get_relationship_for_user(therapist, relationship.public_id)
        with CaptureQueriesContext(connection) as captured:
            overview = documents_overview(therapist, gated, SYSTEM)["documents_overview"]
        return len(captured), overview

    (few, few_overview), (many, many_overview) = cost(few_docs), cost(many_docs)
    assert many == few == 1
    assert (few_overview.to_review, many_overview.to_review) == (5, 200)
    (phq9,) = many_overview.scores
    assert (phq9.latest, phq9.severity, phq9.first, phq9.change) == (3, "Minimal", 9, -6)


# The portal: completed documents a page at a time --------------------------------------------
def test_the_portal_shows_the_latest_completed_documents_and_a_link_to_earlier(
    client_user, active_client, library, signed_in
):
    rows = completed(active_client, library["gad7"], 30)
    browser = signed_in(client_user)

    html = browser.get("/portal/documents/").content.decode()

    assert "Completed documents (30)" in html
    assert re.findall(r'<li data-document="([^"]+)">', html) == ids(reversed(rows[10:]))
    link = f'href="/portal/documents/?before={rows[10].public_id}"'
    assert f"<a {link}>Show earlier completed documents</a>" in html

    earlier = browser.get("/portal/documents/", {"before": rows[10].public_id}).content.decode()
    assert re.findall(r'<li data-document="([^"]+)">', earlier) == ids(reversed(rows[:10]))
    assert "Show earlier completed documents" not in earlier
    assert '<a href="/portal/documents/">Show the latest completed documents</a>' in earlier


@pytest.mark.parametrize("before", ["nope", "00000000-0000-0000-0000-000000000000"])
def test_a_bad_portal_cursor_is_a_bad_request(client_user, active_client, before, signed_in):
    response = signed_in(client_user).get("/portal/documents/", {"before": before})

    assert response.status_code == 400


def test_someone_elses_document_is_not_a_portal_cursor(
    client_user, child_client, library, signed_in
):
    (elsewhere,) = completed(child_client, library["gad7"], 1)

    response = signed_in(client_user).get("/portal/documents/", {"before": elsewhere.public_id})

    assert response.status_code == 400


def test_the_portal_list_costs_the_same_for_5_and_200_completed_documents(
    client_user, active_client, library, signed_in
):
    browser = signed_in(client_user)
    completed(active_client, library["gad7"], 5)
    browser.get("/portal/documents/")
    with CaptureQueriesContext(connection) as few:
        browser.get("/portal/documents/")

    completed(active_client, library["phq9"], 195)
    with CaptureQueriesContext(connection) as many:
        html = browser.get("/portal/documents/").content.decode()

    assert len(many) == len(few)
    assert html.count("<li data-document=") == PORTAL_COMPLETED_PAGE_SIZE
    assert "Completed documents (200)" in html

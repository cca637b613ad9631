"""The therapist's side: the profile's Documents section, assigning, the document page, reviewing,
list badges with a constant query count, score charts beside mood (DOC-4), What's next."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from caseload.documents import services
from caseload.documents.models import AssignedDocument, DocumentStatus
from caseload.documents.tests.helpers import (
    INTAKE_ANSWERS,
    answers_for,
    assign,
    assign_one,
    fresh,
    submit,
)
from caseload.visits import services as visit_services
from caseload.visits.charts import trend_charts
from tests.factories import active_relationship
from tests.html import field_errors, text_by_id

pytestmark = pytest.mark.django_db


def profile(relationship):
    return f"/clients/{relationship.public_id}/"


def tab(relationship, key="documents"):
    """A tab of the profile: Documents unless told."""
    return f"/clients/{relationship.public_id}/{key}/"


def page(document):
    return f"/clients/{document.relationship.public_id}/documents/{document.public_id}/"


def list_item(response, name):
    """The HTML of the client list entry for `name`."""
    html = response.content.decode()
    for item in re.findall(r"<li[^>]*>.*?</li>", html, flags=re.S):
        if f'<span class="client-name">{name}</span>' in item:
            return item
    raise AssertionError(f"{name} is not in the list")


def section_row(response, document):
    html = response.content.decode()
    found = re.search(rf'<tr data-document="{document.public_id}">(.*?)</tr>', html, flags=re.S)
    assert found, "the document is not in the Documents section"
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())


# Assigning -----------------------------------------------------------------------------------
def test_assigning_from_the_profile(therapist, active_client, library, signed_in):
    due = timezone.localdate() + timedelta(days=5)

    response = signed_in(therapist).post(
        f"{profile(active_client)}documents/assign/",
        {
            "templates": [
                str(library["intake"].template.public_id),
                str(library["phq9"].template.public_id),
            ],
            "due_date": due.isoformat(),
        },
    )

    assert response.status_code == 302
    assert response["Location"] == tab(active_client)
    documents = AssignedDocument.objects.filter(relationship=active_client)
    assert sorted(d.version.title for d in documents) == [
        "Intake form",
        "PHQ-9 (Patient Health Questionnaire)",
    ]
    assert {d.due_date for d in documents} == {due}


def test_assigning_over_htmx_returns_the_section_with_a_message(
    therapist, child_client, library, signed_in
):
    response = signed_in(therapist).post(
        f"{profile(child_client)}documents/assign/",
        {"templates": [str(library["consent"].template.public_id)]},
        HTTP_HX_REQUEST="true",
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert '<section id="documents"' in html
    assert "Informed consent for treatment" in html
    assert "Assigned 1 document. We&#x27;ve emailed the guardian a link to the portal." in html


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"templates": []}, "templates", "Choose at least one document."),
        ({"templates": ["not-a-template"]}, "templates", "Select a valid choice."),
        ({"due_date": "2000-01-01"}, "due_date", "The due date can't be in the past."),
    ],
)
def test_assign_errors_are_shown_on_their_field(
    therapist, active_client, library, data, field, message, signed_in
):
    posted = {"templates": [str(library["gad7"].template.public_id)], **data}

    response = signed_in(therapist).post(
        f"{profile(active_client)}documents/assign/", posted, HTTP_HX_REQUEST="true"
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert message in html.replace("&#x27;", "'")
    if field == "due_date":
        assert field_errors(response, "due_date") == [message]
    else:
        assert 'id="assign-templates-error"' in html
    assert not AssignedDocument.objects.exists()


def test_assigning_an_open_document_again_is_refused_on_the_documents_field(
    therapist, active_client, library, signed_in
):
    assign(active_client, library["gad7"])

    response = signed_in(therapist).post(
        f"{profile(active_client)}documents/assign/",
        {"templates": [str(library["gad7"].template.public_id)]},
        HTTP_HX_REQUEST="true",
    )

    assert text_by_id(response, "assign-templates-error") == [
        "Already assigned and not yet completed: GAD-7 (Generalized Anxiety Disorder 7)."
    ]
    assert AssignedDocument.objects.count() == 1


@pytest.mark.parametrize("persona", ["supervisor", "colleague", "outsider", "client_user"])
def test_only_the_therapist_assigns(request, active_client, library, persona, signed_in):
    response = signed_in(request.getfixturevalue(persona)).post(
        f"{profile(active_client)}documents/assign/",
        {"templates": [str(library["gad7"].template.public_id)]},
    )

    assert response.status_code == 404
    assert not AssignedDocument.objects.exists()


def test_whats_next_ticks_intake_documents_once_assigned(
    therapist, active_client, library, signed_in
):
    browser = signed_in(therapist)

    before = browser.get(profile(active_client)).content.decode()
    assign(active_client, library["intake"])
    after = browser.get(profile(active_client)).content.decode()

    pattern = (
        r'<li class="(done)?">[^<]*<span class="tick"[^>]*>[^<]*</span>\s*'
        r'<a href="[^"]*/documents/">Assign intake documents</a>'
    )
    assert re.search(pattern, before).group(1) is None
    assert re.search(pattern, after).group(1) == "done"


# The profile's Documents section and the document page -------------------------------------------
def test_the_profile_lists_documents_with_status_and_score(
    therapist, active_client, client_user, library, signed_in
):
    phq9, gad7, consent = assign(
        active_client, library["phq9"], library["gad7"], library["consent"]
    )
    submit(phq9, client_user, answers_for("phq9", 16))
    services.document_save_progress(document=gad7, actor=client_user, answers={"q1": "1"})

    response = signed_in(therapist).get(tab(active_client))

    assert response.status_code == 200
    assert section_row(response, phq9).startswith("PHQ-9 (Patient Health Questionnaire) Completed")
    assert "16 · Moderately severe" in section_row(response, phq9)
    assert "In progress" in section_row(response, gad7)
    assert "Assigned" in section_row(response, consent)
    assert "Send reminder" in section_row(response, consent)
    assert "Send reminder" not in section_row(response, phq9)


def test_the_supervisor_sees_the_section_without_assign_or_remind(
    supervisor, active_client, library, signed_in
):
    document = assign_one(active_client, library["phq9"])

    response = signed_in(supervisor).get(tab(active_client))

    assert "Assigned" in section_row(response, document)
    assert "Send reminder" not in section_row(response, document)
    assert "documents/assign/" not in response.content.decode()


def test_the_document_page_shows_score_and_severity(
    therapist, active_client, client_user, library, signed_in
):
    document = submit(
        assign_one(active_client, library["gad7"]), client_user, answers_for("gad7", 11)
    )

    response = signed_in(therapist).get(page(document))

    assert response.status_code == 200
    html = response.content.decode()
    assert '<h2 id="score-title">Score</h2>' in html
    assert '<p class="score-line"><strong>11</strong> — Moderate</p>' in html
    assert "Needs immediate attention" not in html
    assert "Integrity check passed" in html
    assert "Mark reviewed" in html


def test_a_flagged_phq9_says_it_needs_immediate_attention(
    therapist, active_client, client_user, library, signed_in
):
    document = submit(
        assign_one(active_client, library["phq9"]), client_user, answers_for("phq9", 2, q9=1)
    )

    html = signed_in(therapist).get(page(document)).content.decode()
    section = signed_in(therapist).get(tab(active_client))

    assert "<strong>2</strong> — Minimal" in html
    assert "Needs immediate attention: item 9" in html
    assert "Needs immediate attention" in section_row(section, document)


def test_the_document_page_shows_the_signature(
    therapist, active_client, client_user, library, signed_in
):
    document = assign_one(active_client, library["intake"])
    signed_in(client_user).post(
        f"/portal/documents/{document.public_id}/",
        {**INTAKE_ANSWERS, "typed_name": "Maya Patel", "consent": "on", "submit": "1"},
        REMOTE_ADDR="198.51.100.4",
        HTTP_USER_AGENT="TestBrowser/2.0",
    )

    response = signed_in(therapist).get(page(document))

    html = response.content.decode()
    assert '<h2 id="signature-title">Signature</h2>' in html
    assert "Signed electronically by Maya Patel (maya@example.com)" in html
    assert "From IP address 198.51.100.4 · TestBrowser/2.0" in html
    assert fresh(document).signature.sha256 in html
    assert "Worry keeps me up at night." in html


def test_a_tampered_document_shows_the_failed_check(
    therapist, active_client, client_user, library, signed_in
):
    document = submit(
        assign_one(active_client, library["gad7"]), client_user, answers_for("gad7", 5)
    )
    AssignedDocument.objects.filter(pk=document.pk).update(answers=answers_for("gad7", 0))

    html = signed_in(therapist).get(page(document)).content.decode()

    assert "Integrity check failed" in html
    assert "The stored answers do not match the stored document text." in html


def test_an_open_document_shows_no_answers_yet(
    therapist, active_client, client_user, library, signed_in
):
    document = assign_one(active_client, library["phq9"])
    services.document_save_progress(document=document, actor=client_user, answers={"q1": "3"})

    response = signed_in(therapist).get(page(document))

    html = response.content.decode()
    assert "The client hasn't submitted this document yet (progress saved" in html
    assert "Nearly every day" not in html
    assert "Mark reviewed" not in html


def test_the_pdf_of_an_open_document_sends_back_to_the_page(
    therapist, active_client, library, signed_in
):
    document = assign_one(active_client, library["phq9"])

    response = signed_in(therapist).get(f"{page(document)}pdf/")

    assert response.status_code == 302
    assert response["Location"] == page(document)


@pytest.mark.parametrize("persona", ["colleague", "outsider", "practice_admin", "client_user"])
def test_nobody_else_opens_the_document_page(
    request, active_client, client_user, library, persona, signed_in
):
    document = submit(
        assign_one(active_client, library["gad7"]), client_user, answers_for("gad7", 5)
    )
    browser = signed_in(request.getfixturevalue(persona))

    assert browser.get(page(document)).status_code == 404
    assert browser.get(f"{page(document)}pdf/").status_code == 404
    assert browser.post(f"{page(document)}review/").status_code == 404


def test_a_document_is_not_found_through_another_clients_profile(
    therapist, active_client, child_client, client_user, library, signed_in
):
    document = submit(
        assign_one(active_client, library["gad7"]), client_user, answers_for("gad7", 5)
    )

    response = signed_in(therapist).get(
        f"/clients/{child_client.public_id}/documents/{document.public_id}/"
    )

    assert response.status_code == 404


# Reviewing --------------------------------------------------------------------------------------
def test_mark_reviewed_moves_to_reviewed(therapist, active_client, client_user, library, signed_in):
    document = submit(
        assign_one(active_client, library["phq9"]), client_user, answers_for("phq9", 6)
    )
    browser = signed_in(therapist)

    response = browser.post(f"{page(document)}review/")

    assert response.status_code == 302
    assert response["Location"] == page(document)
    assert fresh(document).status == DocumentStatus.REVIEWED
    html = browser.get(page(document)).content.decode()
    assert "PHQ-9 (Patient Health Questionnaire) marked reviewed." in html
    assert "reviewed " in html and "by Alice Rivera" in html
    assert "Mark reviewed" not in html


def test_the_supervisor_reads_but_does_not_review(
    supervisor, active_client, client_user, library, signed_in
):
    document = submit(
        assign_one(active_client, library["phq9"]), client_user, answers_for("phq9", 6)
    )
    browser = signed_in(supervisor)

    page_html = browser.get(page(document)).content.decode()
    response = browser.post(f"{page(document)}review/")

    assert "<strong>6</strong> — Mild" in page_html
    assert "Mark reviewed" not in page_html
    assert response.status_code == 404
    assert fresh(document).status == DocumentStatus.COMPLETED


def test_reviewing_an_open_document_shows_why_not(therapist, active_client, library, signed_in):
    document = assign_one(active_client, library["phq9"])

    response = signed_in(therapist).post(f"{page(document)}review/", follow=True)

    assert "The client hasn&#x27;t completed this document yet." in response.content.decode()
    assert fresh(document).status == DocumentStatus.ASSIGNED


def test_sending_a_reminder_from_the_section(therapist, active_client, library, signed_in):
    document = assign_one(active_client, library["phq9"])
    browser = signed_in(therapist)

    first = browser.post(f"{page(document)}remind/", HTTP_HX_REQUEST="true")
    second = browser.post(f"{page(document)}remind/", HTTP_HX_REQUEST="true")

    assert "Reminder sent." in first.content.decode()
    assert "A reminder was already sent in the last 24 hours." in second.content.decode()
    assert fresh(document).reminded_at is not None


# Badges in the client list ------------------------------------------------------------------
def test_badges_show_documents_to_review_and_clear_after_review(
    therapist, active_client, client_user, library, signed_in
):
    phq9, gad7 = assign(active_client, library["phq9"], library["gad7"])
    browser = signed_in(therapist)
    assert "to review" not in list_item(browser.get("/clients/"), "Maya Patel")

    submit(phq9, client_user, answers_for("phq9", 9, q9=1))
    submit(gad7, client_user, answers_for("gad7", 3))
    item = list_item(browser.get("/clients/"), "Maya Patel")
    assert "2 documents to review" in item
    assert "Needs immediate attention" in item

    services.document_follow_up(document=phq9, actor=therapist, note="Called; safe.")
    item = list_item(browser.get("/clients/"), "Maya Patel")
    assert "2 documents to review" in item
    assert "Needs immediate attention" not in item  # closed by "Followed up"

    services.document_mark_reviewed(document=phq9, actor=therapist)
    item = list_item(browser.get("/clients/"), "Maya Patel")
    assert "1 document to review" in item
    assert "Needs immediate attention" not in item

    services.document_mark_reviewed(document=gad7, actor=therapist)
    item = list_item(browser.get("/clients/"), "Maya Patel")
    assert "to review" not in item
    assert "Needs immediate attention" not in item


def test_an_open_flagless_document_needs_no_review(
    therapist, active_client, client_user, library, signed_in
):
    document = assign_one(active_client, library["phq9"])
    services.document_save_progress(document=document, actor=client_user, answers={"q9": "3"})

    item = list_item(signed_in(therapist).get("/clients/"), "Maya Patel")

    assert "to review" not in item
    assert "Needs immediate attention" not in item


def _client_with_documents(therapist, library, n):
    relationship = active_relationship(
        therapist, full_name=f"Client {n}", email=f"client{n}@example.com"
    )
    phq9, gad7 = assign(relationship, library["phq9"], library["gad7"])
    submit(phq9, relationship.client.account, answers_for("phq9", 5, q9=1))
    submit(gad7, relationship.client.account, answers_for("gad7", 5))
    return relationship


def _list_queries(browser):
    browser.get("/clients/")  # warm up: the first request stores session activity
    with CaptureQueriesContext(connection) as captured:
        response = browser.get("/clients/")
    assert response.status_code == 200
    return len(captured.captured_queries), response


def test_the_client_list_query_count_does_not_grow_with_documents(therapist, library, signed_in):
    browser = signed_in(therapist)
    _client_with_documents(therapist, library, 1)
    with_one, response = _list_queries(browser)
    assert "2 documents to review" in list_item(response, "Client 1")

    for n in range(2, 6):
        _client_with_documents(therapist, library, n)
    with_five, response = _list_queries(browser)

    assert all(
        "Needs immediate attention" in list_item(response, f"Client {n}") for n in range(1, 6)
    )
    assert with_five == with_one


# Score charts beside mood (DOC-4) ------------------------------------------------------------
def _at(days_ago):
    return timezone.now().replace(hour=15, minute=0, second=0, microsecond=0) - timedelta(
        days=days_ago
    )


def test_the_profile_charts_phq9_and_gad7_beside_mood(
    therapist, active_client, client_user, library, signed_in
):
    for days_ago, mood in ((40, 4), (10, 7)):
        session = visit_services.session_schedule(
            relationship=active_client,
            actor=therapist,
            starts_at=_at(days_ago),
            duration_minutes=50,
            modality="in_person",
        )
        visit_services.session_update(session=session, actor=therapist, values={"mood_score": mood})
    for days_ago, total in ((40, 16), (10, 8)):
        document = submit(
            assign_one(active_client, library["phq9"]), client_user, answers_for("phq9", total)
        )
        AssignedDocument.objects.filter(pk=document.pk).update(submitted_at=_at(days_ago))
    document = submit(
        assign_one(active_client, library["gad7"]), client_user, answers_for("gad7", 12)
    )
    AssignedDocument.objects.filter(pk=document.pk).update(submitted_at=_at(25))

    response = signed_in(therapist).get(tab(active_client, "sessions"))

    first, last = (f"{timezone.localtime(_at(d)):%d %b %Y}" for d in (40, 10))
    assert text_by_id(response, "mood-chart-summary") == [
        f"Mood over 2 sessions from {first} to {last}: first 4, latest 7, lowest 4, highest 7."
    ]
    assert text_by_id(response, "phq9-chart-summary") == [
        f"PHQ-9 over 2 responses from {first} to {last}: first 16, latest 8, lowest 8, highest 16."
    ]
    (gad7,) = text_by_id(response, "gad7-chart-summary")
    assert gad7.startswith("GAD-7 over 1 response from")
    assert gad7.endswith("first 12, latest 12, lowest 12, highest 12.")
    html = response.content.decode()
    assert '<figcaption id="phq9-chart-title">PHQ-9 total over time (0–27)</figcaption>' in html
    assert '<figcaption id="gad7-chart-title">GAD-7 total over time (0–21)</figcaption>' in html
    assert (
        html.index('id="mood-chart-summary"')
        < html.index('id="phq9-chart-summary"')
        < html.index('id="gad7-chart-summary"')
    )
    # One time axis: a session and a questionnaire on the same day are drawn at the same x, and
    # GAD-7 sits as far along it as its (wall-clock, practice-time) date is into the span.
    points = re.findall(r'<circle cx="([\d.]+)" cy="[\d.]+" r="4" class="point" data-(\w+)=', html)
    x = {}
    for cx, key in points:
        x.setdefault(key, []).append(float(cx))
    assert x["mood"] == x["phq9"]
    assert x["mood"][0] < x["mood"][1]
    zone = ZoneInfo(active_client.practice.time_zone)
    wall = {d: _at(d).astimezone(zone).replace(tzinfo=None) for d in (40, 25, 10)}
    along = (wall[25] - wall[40]) / (wall[10] - wall[40])
    left, right = x["mood"]
    assert x["gad7"] == [pytest.approx(left + along * (right - left), abs=0.1)]
    assert "Moderately severe" in html  # each score's severity, in the chart's table


def test_no_questionnaire_charts_without_scores(therapist, active_client, library, signed_in):
    assign(active_client, library["phq9"], library["gad7"])

    response = signed_in(therapist).get(tab(active_client, "sessions"))

    assert text_by_id(response, "phq9-chart-summary") is None
    assert text_by_id(response, "gad7-chart-summary") is None


def test_aligned_charts_put_the_same_date_at_the_same_x():
    day = datetime(2026, 3, 1, 15, 0, tzinfo=timezone.get_current_timezone())
    moods = [(day, 5), (day + timedelta(days=20), 7), (day + timedelta(days=40), 6)]
    scores = {
        "phq9": [(day + timedelta(days=20), 14, "Moderate"), (day + timedelta(days=30), 9, "Mild")],
        "gad7": [(day + timedelta(days=10), 6, "Mild"), (day + timedelta(days=40), 3, "Minimal")],
    }

    charts = {chart.key: chart.chart for chart in trend_charts(moods, scores)}

    assert list(charts) == ["mood", "phq9", "gad7"]
    x = {key: {p.when: p.x for p in chart.points} for key, chart in charts.items()}
    assert x["mood"][day + timedelta(days=20)] == x["phq9"][day + timedelta(days=20)]
    assert x["mood"][day + timedelta(days=40)] == x["gad7"][day + timedelta(days=40)]
    # The axis spans all three series: GAD-7's day 10 sits a quarter of the way along.
    left, right = x["mood"][day], x["mood"][day + timedelta(days=40)]
    assert x["gad7"][day + timedelta(days=10)] == pytest.approx(left + (right - left) / 4, abs=0.1)
    assert x["phq9"][day + timedelta(days=30)] == pytest.approx(
        left + (right - left) * 3 / 4, abs=0.1
    )
    # Each questionnaire keeps its own 0–maximum scale.
    assert charts["phq9"].y_ticks[-1][1] == 27
    assert charts["gad7"].y_ticks[-1][1] == 21


def test_questionnaire_charts_without_mood_still_share_one_axis():
    day = datetime(2026, 3, 1, 15, 0, tzinfo=timezone.get_current_timezone())
    scores = {
        "phq9": [(day, 14, "Moderate")],
        "gad7": [(day, 6, "Mild"), (day + timedelta(days=10), 3, "Minimal")],
    }

    charts = {chart.key: chart.chart for chart in trend_charts([], scores)}

    assert list(charts) == ["phq9", "gad7"]
    assert charts["phq9"].points[0].x == charts["gad7"].points[0].x


def test_the_phq9_chart_shows_severity_bands_and_marks_item9_positive_responses(
    therapist, active_client, client_user, library, signed_in
):
    for total, item9 in ((16, 2), (8, 0)):
        document = assign_one(active_client, library["phq9"])
        submit(document, client_user, answers_for("phq9", total, q9=item9))
    gad7 = assign_one(active_client, library["gad7"])
    submit(gad7, client_user, answers_for("gad7", 12))

    response = signed_in(therapist).get(tab(active_client, "sessions"))

    html = response.content.decode()
    phq9 = html.split('class="phq9-chart"', 1)[1].split("</figure>", 1)[0]
    gad7_chart = html.split('class="gad7-chart"', 1)[1].split("</figure>", 1)[0]
    assert re.findall(r'data-band="([^"]+)"', phq9) == [
        "Minimal",
        "Mild",
        "Moderate",
        "Moderately severe",
        "Severe",
    ]
    assert ">Moderately severe (15–19)</text>" in phq9
    assert re.findall(r'data-band="([^"]+)"', gad7_chart) == [
        "Minimal",
        "Mild",
        "Moderate",
        "Severe",
    ]
    assert "Shaded bands: severity cut-offs at 5, 10, 15, 20." in phq9
    assert "Shaded bands: severity cut-offs at 5, 10, 15." in gad7_chart
    assert phq9.count('data-item9="positive"') == 1
    assert 'class="point flagged" data-phq9="16"' in phq9
    assert 'class="point" data-phq9="8"' in phq9
    assert "item 9 above 0" in phq9
    assert 'data-item9="positive"' not in gad7_chart

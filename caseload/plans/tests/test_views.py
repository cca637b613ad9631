"""Treatment plan pages: editor, versions, diff, restore, dates, PDF (TP-1, TP-4 … TP-6)."""

from __future__ import annotations

import io
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from pypdf import PdfReader

from caseload.audit.models import AuditEvent
from caseload.clinical import services as clinical_services
from caseload.plans import services
from caseload.plans.models import PlanVersion, TreatmentPlan

HOSTILE = (
    '<h2 onclick="alert(1)">Goals</h2>'
    "<script>alert('x')</script>"
    '<p style="position:fixed;top:0">Reduce worry</p>'
    '<a href="javascript:alert(1)">click</a>'
    '<img src="x" onerror="alert(1)">'
    "<iframe src='https://evil.example'></iframe>"
    "<style>body{display:none}</style>"
    "<svg><script>alert(2)</script></svg>"
    '<a href="https://example.org/cbt" onmouseover="steal()">CBT guide</a>'
    '<form action="https://evil.example"><input name=x></form>'
)
BAD_MARKERS = (
    "<script",
    "onclick",
    "onerror",
    "onmouseover",
    "javascript:",
    "style=",
    "<iframe",
    "<style",
    "<svg",
    "<img",
    "<form",
    "alert(",
)


@pytest.fixture
def therapist_browser(client, therapist):
    client.force_login(therapist)
    return client


def _create(relationship, user, html="<h2>Problems</h2><ul><li>Worry</li></ul>"):
    return services.plan_create(
        relationship=relationship, actor=user, html=html, effective_date=timezone.localdate()
    )


def test_create_treatment_plan_saves_version_one_with_a_90_day_review(
    therapist_browser, active_client
):
    response = therapist_browser.post(
        f"/clients/{active_client.public_id}/plans/new/",
        {"title": "Plan", "html": "<h2>Problems</h2><p>Worry</p>", "effective_date": "2026-11-01"},
    )

    plan = TreatmentPlan.objects.get(relationship=active_client)
    assert response.status_code == 302
    assert response["Location"] == f"/clients/{active_client.public_id}/plans/{plan.public_id}/"
    assert plan.review_date == date(2026, 11, 1) + timedelta(days=90)
    assert list(plan.versions.values_list("number", "source")) == [(1, "manual")]


def test_empty_plan_is_refused_with_a_message_and_nothing_saved(therapist_browser, active_client):
    response = therapist_browser.post(
        f"/clients/{active_client.public_id}/plans/new/",
        {"title": "Plan", "html": "<p><script>x</script></p>", "effective_date": "2026-11-01"},
    )

    assert response.status_code == 200
    assert "Write the plan before saving it." in response.content.decode()
    assert not TreatmentPlan.objects.exists()


def test_review_date_before_effective_date_is_refused(therapist_browser, active_client):
    response = therapist_browser.post(
        f"/clients/{active_client.public_id}/plans/new/",
        {
            "title": "Plan",
            "html": "<p>x</p>",
            "effective_date": "2026-11-01",
            "review_date": "2026-10-01",
        },
    )

    assert "The review date must be after the effective date." in response.content.decode()
    assert not TreatmentPlan.objects.exists()


@pytest.mark.parametrize(
    ("effective", "review", "field"),
    [
        ("9999-12-31", "", "effective_date"),  # its default review date would overflow
        ("0001-01-01", "", "effective_date"),
        ("2026-11-01", "9999-12-31", "review_date"),
    ],
)
def test_dates_out_of_range_are_field_errors_not_500s(
    therapist_browser, active_client, effective, review, field
):
    response = therapist_browser.post(
        f"/clients/{active_client.public_id}/plans/new/",
        {"title": "Far", "html": "<p>x</p>", "effective_date": effective, "review_date": review},
    )

    assert response.status_code == 200
    assert response.context["form"].errors[field] == [
        "Choose a date between 1 January 1900 and 31 December 2199."
    ]
    assert not TreatmentPlan.objects.exists()


def test_the_service_refuses_dates_out_of_range_whoever_calls_it(therapist, active_client):
    with pytest.raises(services.PlanError) as refused:
        services.plan_create(
            relationship=active_client,
            actor=therapist,
            html="<p>x</p>",
            effective_date=date(9999, 12, 31),
        )
    assert refused.value.field == "effective_date"
    plan = _create(active_client, therapist)
    with pytest.raises(services.PlanError) as refused:
        services.plan_update_dates(
            plan=plan,
            actor=therapist,
            effective_date=plan.effective_date,
            review_date=date(9999, 1, 1),
        )
    assert refused.value.field == "review_date"
    assert not TreatmentPlan.objects.filter(review_date__year=9999).exists()


def test_a_post_too_large_to_read_is_a_400_page_and_saves_nothing(
    therapist_browser, active_client, settings
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 20_000
    response = therapist_browser.post(
        f"/clients/{active_client.public_id}/plans/new/",
        {"title": "Long", "html": "<p>" + "x" * 30_000 + "</p>", "effective_date": "2026-11-01"},
    )

    assert response.status_code == 400
    assert "Request not accepted" in response.content.decode()
    assert "Nothing was saved." in response.content.decode()
    assert not TreatmentPlan.objects.exists()


def test_hostile_html_is_sanitised_in_the_page_and_in_the_pdf(
    therapist_browser, active_client, therapist
):
    therapist_browser.post(
        f"/clients/{active_client.public_id}/plans/new/",
        {"title": "Plan", "html": HOSTILE, "effective_date": "2026-11-01"},
    )
    plan = TreatmentPlan.objects.get()
    stored = plan.versions.get().html

    page = therapist_browser.get(f"/clients/{active_client.public_id}/plans/{plan.public_id}/")
    body = page.content.decode()
    article = body[body.index('class="plan-body"') : body.index("</article>")]
    for marker in BAD_MARKERS:
        assert marker not in stored.lower(), marker
        assert marker not in article.lower(), marker
    assert "Reduce worry" in article and 'href="https://example.org/cbt"' in article

    pdf = therapist_browser.get(f"/clients/{active_client.public_id}/plans/{plan.public_id}/pdf/")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Reduce worry" in text
    assert "alert" not in text and "display:none" not in text


def test_every_save_is_a_new_version_and_unchanged_text_is_refused(
    therapist_browser, active_client, therapist
):
    plan = _create(active_client, therapist)
    url = f"/clients/{active_client.public_id}/plans/{plan.public_id}/edit/"

    therapist_browser.post(url, {"html": "<h2>Problems</h2><ul><li>Worry</li><li>Sleep</li></ul>"})
    same = therapist_browser.post(
        url, {"html": "<h2>Problems</h2><ul><li>Worry</li><li>Sleep</li></ul>"}
    )

    assert "Nothing changed since the last version." in same.content.decode()
    assert list(plan.versions.order_by("number").values_list("number", flat=True)) == [1, 2]


def test_diff_shows_added_and_removed_lines(therapist_browser, active_client, therapist):
    plan = _create(active_client, therapist)
    services.plan_save_version(
        plan=plan, actor=therapist, html="<h2>Problems</h2><ul><li>Low mood</li></ul>"
    )

    page = therapist_browser.get(
        f"/clients/{active_client.public_id}/plans/{plan.public_id}/diff/?from=1&to=2"
    ).content.decode()

    assert (
        '<li class="diff-removed"><del><span class="visually-hidden">Removed: </span>• Worry'
        in page
    )
    assert (
        '<li class="diff-added"><ins><span class="visually-hidden">Added: </span>• Low mood' in page
    )
    assert '<li class="diff-same">## Problems</li>' in page


def test_restore_makes_a_new_version_with_the_old_text(therapist_browser, active_client, therapist):
    plan = _create(active_client, therapist)
    services.plan_save_version(plan=plan, actor=therapist, html="<p>Second</p>")

    response = therapist_browser.post(
        f"/clients/{active_client.public_id}/plans/{plan.public_id}/versions/1/restore/"
    )

    assert response.status_code == 302
    newest = plan.versions.order_by("-number").first()
    assert (newest.number, newest.source, newest.restored_from) == (3, "restored", 1)
    assert newest.html == plan.versions.get(number=1).html


def test_versions_are_immutable(active_client, therapist):
    plan = _create(active_client, therapist)
    version = plan.versions.get()
    version.html = "<p>changed</p>"

    with pytest.raises(PermissionError):
        version.save()
    with pytest.raises(PermissionError):
        version.delete()
    assert PlanVersion.objects.get(pk=version.pk).html.startswith("<h2>Problems")


def test_pdf_has_letterhead_client_diagnoses_version_and_signature_lines(
    therapist_browser, active_client, therapist, supervisor
):
    active_client.date_of_birth = date(1990, 4, 2)
    active_client.save(update_fields=["date_of_birth"])
    clinical_services.diagnosis_add(
        relationship=active_client, actor=active_client.therapist, code="F41.1"
    )
    plan = _create(active_client, therapist)

    response = therapist_browser.get(
        f"/clients/{active_client.public_id}/plans/{plan.public_id}/pdf/?supervisor=1&client=1"
    )

    assert response["Content-Type"] == "application/pdf"
    text = " ".join(
        " ".join(page.extract_text().split())
        for page in PdfReader(io.BytesIO(response.content)).pages
    )
    for expected in (
        active_client.practice.name,
        "Maya Patel",
        "2 April 1990",
        "F41.1 Generalized anxiety disorder",
        "Version 1",
        "Worry",
        "Alice Rivera, therapist",
        "Helen Brooks, supervisor",
        "Maya Patel — date",
    ):
        assert expected in text, expected
    assert AuditEvent.objects.filter(action="plan.export_pdf", client=active_client.client).exists()


def test_expiring_and_expired_plans_show_on_the_plan_and_in_the_client_list(
    therapist_browser, active_client, therapist
):
    # "Today" is the practice's (New York) day, whatever the server's UTC date is.
    today = timezone.localdate(timezone=ZoneInfo(active_client.practice.time_zone))
    plan = services.plan_create(
        relationship=active_client,
        actor=therapist,
        html="<p>x</p>",
        effective_date=today - timedelta(days=80),
        review_date=today + timedelta(days=10),
    )
    page = therapist_browser.get(f"/clients/{active_client.public_id}/plans/{plan.public_id}/")
    assert "Expires within 14 days" in page.content.decode()
    assert "Plan expiring" in therapist_browser.get("/clients/").content.decode()

    services.plan_update_dates(
        plan=plan,
        actor=therapist,
        effective_date=today - timedelta(days=100),
        review_date=today - timedelta(days=1),
    )
    assert "Plan expired" in therapist_browser.get("/clients/").content.decode()


def test_supervisor_reads_plans_but_cannot_change_them(
    client, supervisor, active_client, therapist
):
    plan = _create(active_client, therapist)
    client.force_login(supervisor)
    base = f"/clients/{active_client.public_id}/plans/{plan.public_id}/"

    assert client.get(base).status_code == 200
    assert client.get(base + "pdf/").status_code == 200
    assert client.get(base + "edit/").status_code == 404
    assert client.post(base + "versions/1/restore/").status_code == 404
    assert plan.versions.count() == 1


def test_a_plan_of_another_client_under_this_clients_url_is_404(
    therapist_browser, active_client, child_client, therapist
):
    other = _create(child_client, therapist)

    response = therapist_browser.get(f"/clients/{active_client.public_id}/plans/{other.public_id}/")

    assert response.status_code == 404


def test_pdf_rendering_fetches_only_the_apps_own_static_files():
    from caseload.lib.pdf import StaticFilesOnlyFetcher

    fetcher = StaticFilesOnlyFetcher()
    response = fetcher.fetch("file:///static/caseload/plan-print.css")
    assert b"@page" in response.read()
    response.close()
    for url in ("https://evil.example/x.css", "file:///etc/passwd", "http://127.0.0.1:8000/"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)


def test_opening_a_plan_in_the_editor_is_audited(therapist_browser, active_client, therapist):
    plan = _create(active_client, therapist)

    therapist_browser.get(f"/clients/{active_client.public_id}/plans/{plan.public_id}/edit/")

    event = AuditEvent.objects.get(action="plan.view")
    assert (event.actor, event.client, event.detail) == (
        therapist,
        active_client.client,
        {"version": 1, "editor": True},
    )

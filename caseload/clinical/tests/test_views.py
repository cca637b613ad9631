"""Clinical Information on the profile (MC-6): what each person sees, and the section's forms."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from caseload.accounts.models import User
from caseload.audit.models import AuditEvent
from caseload.clients import services as client_services
from caseload.clients.models import CareRelationship
from caseload.clinical import services
from caseload.clinical.models import ClinicalSummary, Diagnosis, DiagnosisStatus, Medication
from tests.factories import active_relationship
from tests.html import field_errors, post_form_actions

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "clinical"}


def profile(relationship: CareRelationship) -> str:
    return f"/clients/{relationship.public_id}/"


def tab(relationship: CareRelationship) -> str:
    """The Clinical Information tab (`workspace:clinical`)."""
    return f"{profile(relationship)}clinical/"


def diagnoses_url(relationship: CareRelationship, diagnosis: Diagnosis | None = None) -> str:
    base = f"{profile(relationship)}diagnoses/"
    return f"{base}{diagnosis.public_id}/" if diagnosis else base


def medications_url(relationship: CareRelationship, medication: Medication | None = None) -> str:
    base = f"{profile(relationship)}medications/"
    return f"{base}{medication.public_id}/" if medication else base


def summary_url(relationship: CareRelationship) -> str:
    return f"{profile(relationship)}summary/"


def section_html(response: Any, element_id: str = "clinical") -> str:
    """The markup of the profile section `element_id` (sections don't nest)."""
    html = response.content.decode()
    assert f'id="{element_id}"' in html, f"no #{element_id} section"
    return html.split(f'id="{element_id}"', 1)[1].split("</section>", 1)[0]


def clinical_text(response: Any) -> str:
    """The section's visible text, tags removed and whitespace collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", section_html(response))).split())


def details_tag(html: str, name: str) -> str:
    """The opening tag of the `<details class="edit-on-demand …">` whose classes hold `name`."""
    match = re.search(r'<details class="edit-on-demand(?: [\w-]+)* ' + name + r"\b[^>]*>", html)
    assert match, f"no edit-on-demand details {name!r}"
    return match.group(0)


def is_open(tag: str) -> bool:
    return re.search(r"\sopen[\s>=]", tag) is not None


def actions(*names: str) -> list[str]:
    return list(
        AuditEvent.objects.filter(action__in=names).order_by("pk").values_list("action", flat=True)
    )


@pytest.fixture
def record(therapist: User, active_client: CareRelationship) -> CareRelationship:
    """Maya's record with a primary and a second diagnosis, a medication and a summary."""
    services.diagnosis_add(relationship=active_client, actor=therapist, code="F41.1")
    services.diagnosis_add(relationship=active_client, actor=therapist, code="F33.1")
    services.medication_save(
        relationship=active_client,
        actor=therapist,
        values={"name": "Sertraline", "dose": "50 mg", "frequency": "Daily"},
    )
    services.clinical_summary_update(
        relationship=active_client,
        actor=therapist,
        presenting_concerns="Worry about work most days.",
        mental_health_history="One depressive episode in 2019.",
    )
    return active_client


# What the profile shows -------------------------------------------------------------------
def test_therapist_sees_the_record_with_its_forms(therapist, record, signed_in):
    response = signed_in(therapist).get(tab(record))

    assert response.status_code == 200
    text = clinical_text(response)
    assert "Clinical Information" in text
    assert "F41.1" in text and "Generalized anxiety disorder" in text
    assert "F33.1" in text and "Major depressive disorder, recurrent, moderate" in text
    assert "Primary" in text
    assert "Sertraline" in text and "50 mg" in text
    html = response.content.decode()
    assert "Worry about work most days." in html
    assert "One depressive episode in 2019." in html
    forms = post_form_actions(response)
    f33 = record.diagnoses.get(code="F33.1")
    for url in (
        diagnoses_url(record),
        diagnoses_url(record, f33),
        diagnoses_url(record, f33) + "remove/",
        medications_url(record),
        summary_url(record),
    ):
        assert url in forms


def test_supervisor_reads_the_record_without_any_form(supervisor, record, signed_in):
    response = signed_in(supervisor).get(tab(record))

    assert response.status_code == 200
    text = clinical_text(response)
    assert "F41.1" in text and "Generalized anxiety disorder" in text
    assert "Sertraline" in text
    assert "Worry about work most days." in text
    assert "One depressive episode in 2019." in text
    section = section_html(response)
    assert "<form" not in section
    assert "<input" not in section and "<textarea" not in section
    assert "Make primary" not in section and "Remove" not in section
    assert post_form_actions(response) == []


def test_new_record_says_nothing_was_recorded(therapist, active_client, signed_in):
    text = clinical_text(signed_in(therapist).get(tab(active_client)))

    assert "No diagnoses yet." in text
    assert "No medications recorded." in text


# Read first, edit on demand ----------------------------------------------------------------
FORMS = ("diagnosis-add", "row-edit", "add-medication", "edit-history")


def test_the_tab_reads_first_with_every_form_closed(therapist, record, signed_in):
    response = signed_in(therapist).get(tab(record))

    html = section_html(response)
    for name in FORMS:
        assert not is_open(details_tag(html, name)), name
    # The history is text, outside any form; its form opens with "Edit".
    history = html.split('class="readonly facts history"', 1)[1].split("</dl>", 1)[0]
    assert "Worry about work most days." in history
    assert "One depressive episode in 2019." in history
    edit = html.split(details_tag(html, "edit-history"), 1)[1].split("</details>", 1)[0]
    assert "<summary" in edit and ">Edit<" in edit
    assert summary_url(record) in edit
    for label in ("Add diagnosis", "Add medication"):
        assert f'<summary class="button">{label}</summary>' in html


def test_the_icd10_picker_is_inside_the_add_diagnosis_form(therapist, active_client, signed_in):
    html = section_html(signed_in(therapist).get(tab(active_client)))

    add = html.split(details_tag(html, "diagnosis-add"), 1)[1].split("</details>", 1)[0]
    picker = add.split('class="field icd-picker"', 1)[1]
    assert 'hx-get="/clinical/icd10/"' in picker
    assert 'id="icd-results"' in picker
    assert diagnoses_url(active_client) in add


def test_a_refused_diagnosis_opens_its_form_with_what_was_typed(
    therapist, active_client, signed_in
):
    response = signed_in(therapist).post(diagnoses_url(active_client), {"code": "F41"}, **HTMX)

    html = section_html(response)
    assert is_open(details_tag(html, "diagnosis-add"))
    assert 'value="F41"' in html.split(details_tag(html, "diagnosis-add"), 1)[1]
    for name in ("add-medication", "edit-history"):
        assert not is_open(details_tag(html, name)), name


def test_a_refused_diagnosis_without_javascript_opens_its_form(therapist, active_client, signed_in):
    response = signed_in(therapist).post(diagnoses_url(active_client), {"code": "F41"})

    html = section_html(response)
    assert is_open(details_tag(html, "diagnosis-add"))
    assert f'href="{tab(active_client)}"' in response.content.decode()  # back to the tab


def test_a_refused_history_opens_its_form_and_keeps_the_text(therapist, record, signed_in):
    too_long = "x" * 20001

    response = signed_in(therapist).post(
        summary_url(record),
        {"presenting_concerns": too_long, "mental_health_history": "Kept."},
        **HTMX,
    )

    html = section_html(response)
    assert is_open(details_tag(html, "edit-history"))
    assert field_errors(response, "presenting_concerns")
    assert "Kept.</textarea>" in html
    assert ClinicalSummary.objects.get().presenting_concerns == "Worry about work most days."


def test_a_saved_change_closes_the_form_again(therapist, record, signed_in):
    response = signed_in(therapist).post(
        medications_url(record), {"name": "Bupropion", "dose": "150 mg"}, **HTMX
    )

    html = section_html(response)
    for name in FORMS:
        assert not is_open(details_tag(html, name)), name
    assert 'value="150 mg"' not in html.split(details_tag(html, "add-medication"), 1)[1]


# ICD-10-CM search ---------------------------------------------------------------------------
@pytest.mark.parametrize("persona", ["therapist", "supervisor"])
def test_search_by_words_offers_the_billable_code(request, persona, signed_in):
    browser = signed_in(request.getfixturevalue(persona))

    response = browser.get("/clinical/icd10/", {"code": "generalized anx"})

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-icd-code="F41.1"' in html
    assert "Generalized anxiety disorder" in html
    assert 'role="option"' in html


def test_search_by_code_prefix_offers_only_billable_codes(therapist, signed_in):
    html = signed_in(therapist).get("/clinical/icd10/", {"code": "F41"}).content.decode()

    assert 'data-icd-code="F41.1"' in html
    assert 'data-icd-code="F41.0"' in html
    assert 'data-icd-code="F41"' not in html  # the category itself can't be billed


def test_search_with_no_match_says_so_escaped(therapist, signed_in):
    html = signed_in(therapist).get("/clinical/icd10/", {"code": "zzqx <b>"}).content.decode()

    assert "No billable code matches" in html
    assert "<b>" not in html and "&lt;b&gt;" in html
    assert "data-icd-code" not in html


def test_search_needs_two_characters(therapist, signed_in):
    html = signed_in(therapist).get("/clinical/icd10/", {"code": "F"}).content.decode()

    assert "data-icd-code" not in html


@pytest.mark.parametrize("persona", ["practice_admin", "client_user", "guardian_user"])
def test_search_is_only_for_clinicians(request, persona, signed_in):
    response = signed_in(request.getfixturevalue(persona)).get(
        "/clinical/icd10/", {"code": "F41.1"}
    )

    assert response.status_code == 404


def test_search_anonymous_is_sent_to_sign_in(client):
    response = client.get("/clinical/icd10/", {"code": "F41.1"})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# Adding a diagnosis -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("F41", "F41 is a category, not a billable code."),
        ("Q99.99", "Q99.99 is not an ICD-10-CM code."),
        ("anxiety", "ANXIETY is not an ICD-10-CM code."),
    ],
)
def test_invalid_code_is_refused_on_the_field_in_place(
    therapist, active_client, code, message, signed_in
):
    response = signed_in(therapist).post(diagnoses_url(active_client), {"code": code}, **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="clinical"')
    assert "<html" not in html
    assert any(error.startswith(message) for error in field_errors(response, "code")), field_errors(
        response, "code"
    )
    assert 'aria-invalid="true"' in html.split('id="id_code"')[1].split(">")[0]
    assert f'value="{code}"' in html  # what was typed is kept
    assert not Diagnosis.objects.exists()
    assert actions("diagnosis.add") == []


def test_invalid_code_without_javascript_shows_the_section_page(
    therapist, active_client, signed_in
):
    response = signed_in(therapist).post(diagnoses_url(active_client), {"code": "F41"})

    assert response.status_code == 200
    assert "<html" in response.content.decode()
    assert field_errors(response, "code")[0].startswith("F41 is a category")
    assert not Diagnosis.objects.exists()


def test_empty_code_asks_for_a_diagnosis(therapist, active_client, signed_in):
    response = signed_in(therapist).post(diagnoses_url(active_client), {"code": ""}, **HTMX)

    assert field_errors(response, "code") == ["Choose a diagnosis."]
    assert not Diagnosis.objects.exists()


def test_duplicate_code_is_refused_on_the_field(therapist, record, signed_in):
    response = signed_in(therapist).post(diagnoses_url(record), {"code": "f41.1"}, **HTMX)

    assert field_errors(response, "code") == ["F41.1 is already on this record."]
    assert record.diagnoses.count() == 2


def test_future_onset_is_refused_on_its_field(therapist, active_client, signed_in):
    tomorrow = timezone.localdate() + timedelta(days=2)

    response = signed_in(therapist).post(
        diagnoses_url(active_client), {"code": "F41.1", "onset_date": tomorrow}, **HTMX
    )

    assert field_errors(response, "onset_date") == ["This date is in the future."]
    assert not Diagnosis.objects.exists()


def test_valid_code_is_added_in_place_as_the_primary_diagnosis(therapist, active_client, signed_in):
    response = signed_in(therapist).post(
        diagnoses_url(active_client), {"code": "F41.1", "onset_date": "2024-03-01"}, **HTMX
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="clinical"')
    row = html.split('data-diagnosis="F41.1"')[1].split("</tr>")[0]
    assert "Generalized anxiety disorder" in row
    assert "Primary" in row
    assert "Added F41.1 Generalized anxiety disorder." in html  # the status message, out of band
    assert field_errors(response, "code") == []
    diagnosis = Diagnosis.objects.get()
    assert (diagnosis.code, diagnosis.is_primary, str(diagnosis.onset_date)) == (
        "F41.1",
        True,
        "2024-03-01",
    )
    event = AuditEvent.objects.get(action="diagnosis.add")
    assert event.actor == therapist
    assert event.client == active_client.client
    assert event.detail == {"primary": True}


def test_code_typed_with_its_description_is_accepted(therapist, active_client, signed_in):
    signed_in(therapist).post(
        diagnoses_url(active_client), {"code": "F41.1 Generalized anxiety disorder"}, **HTMX
    )

    assert Diagnosis.objects.get().code == "F41.1"


def test_plain_post_adds_and_goes_back_to_the_section(therapist, active_client, signed_in):
    browser = signed_in(therapist)

    response = browser.post(diagnoses_url(active_client), {"code": "F41.1"})

    assert response.status_code == 302
    assert response["Location"] == tab(active_client)
    assert Diagnosis.objects.filter(code="F41.1").exists()
    followed = browser.get(response["Location"])
    assert "Added F41.1 Generalized anxiety disorder." in followed.content.decode()


# Changing and removing diagnoses ------------------------------------------------------------
def test_make_primary_moves_the_primary_flag(therapist, record, signed_in):
    f41, f33 = record.diagnoses.get(code="F41.1"), record.diagnoses.get(code="F33.1")
    assert f41.is_primary and not f33.is_primary

    # What the row's "Make primary" button posts.
    response = signed_in(therapist).post(
        diagnoses_url(record, f33),
        {"status": "active", "is_primary": "on", "onset_date": "", "resolved_date": ""},
        **HTMX,
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "Primary" in html.split('data-diagnosis="F33.1"')[1].split("</tr>")[0]
    assert "Primary" not in html.split('data-diagnosis="F41.1"')[1].split("</tr>")[0]
    f41.refresh_from_db()
    f33.refresh_from_db()
    assert (f41.is_primary, f33.is_primary) == (False, True)
    assert actions("diagnosis.update") == ["diagnosis.update"]


def test_mark_resolved_dates_it_today_and_keeps_it_primary(therapist, record, signed_in):
    f41 = record.diagnoses.get(code="F41.1")

    # What the row's "Mark resolved" button posts for the primary diagnosis.
    response = signed_in(therapist).post(
        diagnoses_url(record, f41),
        {"status": "resolved", "is_primary": "on", "onset_date": ""},
        **HTMX,
    )

    f41.refresh_from_db()
    assert f41.status == DiagnosisStatus.RESOLVED
    # "Today" in the practice's time zone, where the therapist works (not the server's UTC).
    practice_today = timezone.localdate(timezone=ZoneInfo(record.practice.time_zone))
    assert f41.resolved_date == practice_today
    assert f41.is_primary
    row = response.content.decode().split('data-diagnosis="F41.1"')[1].split("</tr>")[0]
    assert "Resolved" in row
    assert "Reactivate" in row
    assert actions("diagnosis.update") == ["diagnosis.update"]


def test_resolved_before_onset_is_refused_with_a_message(therapist, record, signed_in):
    f33 = record.diagnoses.get(code="F33.1")

    response = signed_in(therapist).post(
        diagnoses_url(record, f33),
        {"status": "resolved", "onset_date": "2024-05-01", "resolved_date": "2024-04-01"},
        **HTMX,
    )

    assert "The resolved date is before the onset date." in response.content.decode()
    f33.refresh_from_db()
    assert (f33.status, f33.onset_date, f33.resolved_date) == ("active", None, None)
    assert actions("diagnosis.update") == []


def test_remove_deletes_the_diagnosis_and_audits_it(therapist, record, signed_in):
    f33 = record.diagnoses.get(code="F33.1")

    response = signed_in(therapist).post(diagnoses_url(record, f33) + "remove/", **HTMX)

    assert response.status_code == 200
    assert 'data-diagnosis="F33.1"' not in response.content.decode()
    assert list(record.diagnoses.values_list("code", flat=True)) == ["F41.1"]
    event = AuditEvent.objects.get(action="diagnosis.remove")
    assert (event.actor, event.object_id, event.detail) == (therapist, str(f33.public_id), {})


def test_plain_post_remove_goes_back_to_the_section(therapist, record, signed_in):
    f33 = record.diagnoses.get(code="F33.1")

    response = signed_in(therapist).post(diagnoses_url(record, f33) + "remove/")

    assert response.status_code == 302
    assert response["Location"] == tab(record)
    assert not record.diagnoses.filter(code="F33.1").exists()


# Medications and the summary ----------------------------------------------------------------
def test_medication_without_a_name_is_refused_on_the_field(therapist, active_client, signed_in):
    response = signed_in(therapist).post(
        medications_url(active_client), {"name": "", "dose": "10 mg"}, **HTMX
    )

    assert field_errors(response, "name") == ["Enter the medication's name."]
    html = response.content.decode()
    assert 'value="10 mg"' in html
    assert is_open(details_tag(html, "add-medication"))  # the form stays open
    assert not Medication.objects.exists()
    assert actions("medication.add") == []


def test_medication_stop_before_start_is_refused_on_the_stop_date(
    therapist, active_client, signed_in
):
    response = signed_in(therapist).post(
        medications_url(active_client),
        {"name": "Sertraline", "start_date": "2024-05-01", "stop_date": "2024-04-01"},
        **HTMX,
    )

    assert field_errors(response, "stop_date") == ["The stop date is before the start date."]
    assert not Medication.objects.exists()


def test_medication_is_added_in_place_and_audited(therapist, active_client, signed_in):
    response = signed_in(therapist).post(
        medications_url(active_client),
        {"name": "Bupropion", "dose": "150 mg", "frequency": "Mornings", "prescriber": "Dr Ng"},
        **HTMX,
    )

    assert response.status_code == 200
    text = clinical_text(response)
    assert "Bupropion" in text and "150 mg" in text and "Dr Ng" in text
    medication = Medication.objects.get()
    assert (medication.name, medication.dose) == ("Bupropion", "150 mg")
    event = AuditEvent.objects.get(action="medication.add")
    assert event.actor == therapist
    assert "Bupropion" not in str(event.detail)  # field names, never values


def test_medication_is_removed(therapist, record, signed_in):
    medication = record.medications.get()

    signed_in(therapist).post(medications_url(record, medication) + "remove/", **HTMX)

    assert not Medication.objects.exists()
    assert actions("medication.remove") == ["medication.remove"]


def test_each_medication_row_has_an_edit_form_filled_in(therapist, record, signed_in):
    medication = record.medications.get()

    response = signed_in(therapist).get(tab(record))

    assert medications_url(record, medication) in post_form_actions(response)
    row = section_html(response).split(f'data-medication="{medication.public_id}"')[1]
    row = row.split("</tr>", 1)[0]
    assert 'name="name" value="Sertraline"' in row
    assert 'name="dose" value="50 mg"' in row
    assert 'id="id_name"' not in row  # ids don't clash with the add form's


def test_medication_is_updated_in_place_with_a_stop_date(therapist, record, signed_in):
    medication = record.medications.get()

    response = signed_in(therapist).post(
        medications_url(record, medication),
        {"name": "Sertraline", "dose": "100 mg", "frequency": "Daily", "stop_date": "2024-06-30"},
        **HTMX,
    )

    assert "Saved Sertraline." in response.content.decode()
    assert "100 mg" in clinical_text(response)
    medication.refresh_from_db()
    assert (medication.dose, str(medication.stop_date)) == ("100 mg", "2024-06-30")
    assert actions("medication.update") == ["medication.update"]


def test_medication_edit_errors_show_on_that_rows_fields(therapist, record, signed_in):
    medication = record.medications.get()

    response = signed_in(therapist).post(
        medications_url(record, medication),
        {"name": "", "start_date": "2024-05-01", "stop_date": "2024-04-01"},
        **HTMX,
    )

    prefix = f"medication_{medication.public_id.hex[:8]}_"
    assert field_errors(response, prefix + "name") == ["Enter the medication's name."]
    assert is_open(details_tag(section_html(response), "row-edit"))
    response = signed_in(therapist).post(
        medications_url(record, medication),
        {"name": "Sertraline", "start_date": "2024-05-01", "stop_date": "2024-04-01"},
        **HTMX,
    )
    assert field_errors(response, prefix + "stop_date") == [
        "The stop date is before the start date."
    ]
    medication.refresh_from_db()
    assert (medication.name, medication.dose, medication.stop_date) == ("Sertraline", "50 mg", None)
    assert actions("medication.update") == []


def test_summary_is_saved_in_place_and_audited_without_its_text(
    therapist, active_client, signed_in
):
    response = signed_in(therapist).post(
        summary_url(active_client),
        {"presenting_concerns": "Panic on the subway.", "mental_health_history": ""},
        **HTMX,
    )

    assert response.status_code == 200
    assert "Panic on the subway." in response.content.decode()
    summary = ClinicalSummary.objects.get(relationship=active_client)
    assert summary.presenting_concerns == "Panic on the subway."
    event = AuditEvent.objects.get(action="clinical_summary.update")
    assert event.detail == {"fields": ["presenting_concerns"]}
    assert "subway" not in str(event.detail)


def test_summary_plain_post_goes_back_to_the_section(therapist, active_client, signed_in):
    response = signed_in(therapist).post(
        summary_url(active_client),
        {"presenting_concerns": "Sleep.", "mental_health_history": "None."},
    )

    assert response.status_code == 302
    assert response["Location"] == tab(active_client)
    assert ClinicalSummary.objects.get().mental_health_history == "None."


# Who may change it ---------------------------------------------------------------------------
def _all_posts(relationship: CareRelationship) -> list[tuple[str, dict[str, str]]]:
    diagnosis = relationship.diagnoses.get(code="F33.1")
    medication = relationship.medications.get()
    return [
        (diagnoses_url(relationship), {"code": "F43.10"}),
        (diagnoses_url(relationship, diagnosis), {"status": "resolved", "is_primary": "on"}),
        (diagnoses_url(relationship, diagnosis) + "remove/", {}),
        (medications_url(relationship), {"name": "Lithium"}),
        (medications_url(relationship, medication), {"name": "Lithium"}),
        (medications_url(relationship, medication) + "remove/", {}),
        (summary_url(relationship), {"presenting_concerns": "Changed"}),
    ]


def _record_state(relationship: CareRelationship) -> Any:
    return (
        list(
            Diagnosis.objects.filter(relationship=relationship)
            .order_by("code")
            .values_list("code", "status", "is_primary")
        ),
        list(Medication.objects.filter(relationship=relationship).values_list("name", "dose")),
        list(ClinicalSummary.objects.filter(relationship=relationship).values_list()),
    )


@pytest.mark.parametrize(
    "persona", ["supervisor", "colleague", "outsider", "practice_admin", "client_user"]
)
def test_no_one_but_the_therapist_can_change_the_record(request, record, persona, signed_in):
    browser = signed_in(request.getfixturevalue(persona))
    before = _record_state(record)
    changes = len(AuditEvent.objects.exclude(action="access.denied"))

    for url, data in _all_posts(record):
        assert browser.post(url, data).status_code == 404, url
        assert browser.post(url, data, **HTMX).status_code == 404, url

    assert _record_state(record) == before
    assert AuditEvent.objects.exclude(action="access.denied").count() == changes


def test_another_clients_diagnosis_under_this_url_is_404(therapist, record, signed_in):
    other = active_relationship(therapist, full_name="Noor Haddad", email="noor@example.com")
    theirs = services.diagnosis_add(relationship=other, actor=therapist, code="F43.10")
    their_medication = services.medication_save(
        relationship=other, actor=therapist, values={"name": "Lithium"}
    )
    browser = signed_in(therapist)

    for url in (
        f"{diagnoses_url(record)}{theirs.public_id}/",
        f"{diagnoses_url(record)}{theirs.public_id}/remove/",
        f"{medications_url(record)}{their_medication.public_id}/",
        f"{medications_url(record)}{their_medication.public_id}/remove/",
    ):
        response = browser.post(url, {"status": "resolved", "name": "Changed"}, **HTMX)
        assert response.status_code == 404, url

    theirs.refresh_from_db()
    their_medication.refresh_from_db()
    assert theirs.status == "active"
    assert their_medication.name == "Lithium"


def test_archived_record_is_read_only_and_refuses_changes_with_a_message(
    therapist, record, signed_in
):
    client_services.relationship_archive(relationship=record, actor=record.therapist)
    browser = signed_in(therapist)
    before = _record_state(record)

    page = browser.get(tab(record))
    section = section_html(page)
    assert "F41.1" in section
    assert "<form" not in section

    message = "Restore this client before changing their record."
    for url, data in _all_posts(record):
        response = browser.post(url, data, **HTMX)
        assert response.status_code == 200, url
        assert message in response.content.decode(), url
        plain = browser.post(url, data, follow=True)
        assert message in plain.content.decode(), url
    assert _record_state(record) == before


@pytest.mark.parametrize(
    ("query", "code", "name"),
    [
        ("autism", "F84.0", "Autism spectrum disorder"),
        ("alcohol use disorder moderate", "F10.20", "Alcohol use disorder, moderate or severe"),
        ("dysthymia", "F34.1", "Persistent depressive disorder"),
    ],
)
def test_search_by_dsm5tr_name_offers_its_code_under_that_name(
    therapist, signed_in, query, code, name
):
    html = signed_in(therapist).get("/clinical/icd10/", {"code": query}).content.decode()

    first = html.split('role="option"')[1]
    assert f'data-icd-code="{code}"' in first
    assert name in first and "DSM-5-TR" in first

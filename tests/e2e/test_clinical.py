"""MC-6 Clinical Information in the browser: ICD-10-CM search as you type, in place."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from caseload.clinical import icd10, services
from caseload.clinical.models import ClinicalSummary, Diagnosis, Medication
from tests.e2e.conftest import assert_not_reloaded, mark_page, sign_in


@pytest.fixture(autouse=True)
def _icd10_index_built() -> None:
    """The live server shares this process: build the code index (seconds, once) up front.

    In production the first search after start-up pays for it; here it would eat the
    browser steps' short timeouts.
    """
    icd10.get_index()


def open_clinical(page: Page, relationship: Any) -> Any:
    page.goto(f"/clients/{relationship.public_id}/clinical/")
    page.wait_for_load_state()  # htmx is set up (deferred scripts ran)
    return page.get_by_role("region", name="Clinical Information")


def test_diagnosis_is_found_by_words_picked_and_added_as_primary_in_place(
    page: Page, therapist: Any, active_client: Any
) -> None:
    sign_in(page, therapist.email)
    page.goto("/clients/")  # sign-in lands on the home page
    expect(page).to_have_url(re.compile(r"/clients/$"))
    mark_page(page)
    # The profile opens in place from the list, then its tab; its sections work once swapped in.
    page.get_by_role("complementary", name="Client list").get_by_role(
        "link", name=re.compile("Maya Patel")
    ).click()
    page.get_by_role("navigation", name="Profile").get_by_role(
        "link", name="Clinical Information"
    ).click()
    expect(page).to_have_url(re.compile(rf"/clients/{active_client.public_id}/clinical/$"))
    clinical = page.get_by_role("region", name="Clinical Information")
    expect(clinical).to_contain_text("No diagnoses yet.")

    clinical.locator("summary", has_text="Add diagnosis").click()
    field = clinical.get_by_label("Diagnosis", exact=True)
    field.press_sequentially("generalized anx", delay=20)
    suggestions = clinical.get_by_role("listbox", name="Matching ICD-10-CM codes")
    option = suggestions.get_by_role("option", name=re.compile(r"^F41\.1 Generalized anxiety"))
    expect(option).to_be_visible()
    option.click()
    expect(field).to_have_value("F41.1")
    expect(suggestions).to_have_count(0)  # the list closes once a code is picked

    clinical.get_by_role("button", name="Add diagnosis").click()

    row = clinical.get_by_role("row", name=re.compile(r"F41\.1"))
    expect(row).to_contain_text("Generalized anxiety disorder")
    expect(row).to_contain_text("Primary")
    expect(page.get_by_role("status").first).to_contain_text("Added F41.1")
    expect(clinical.get_by_label("Diagnosis", exact=True)).to_have_value("")
    assert_not_reloaded(page)
    diagnosis = Diagnosis.objects.get()
    assert (diagnosis.code, diagnosis.is_primary) == ("F41.1", True)


def test_a_category_is_refused_on_the_field_then_a_second_diagnosis_becomes_primary(
    page: Page, therapist: Any, active_client: Any
) -> None:
    services.diagnosis_add(relationship=active_client, code="F41.1", actor=active_client.therapist)
    sign_in(page, therapist.email)
    clinical = open_clinical(page, active_client)
    mark_page(page)

    clinical.locator("summary", has_text="Add diagnosis").click()
    field = clinical.get_by_label("Diagnosis", exact=True)
    field.fill("F33")
    clinical.get_by_role("button", name="Add diagnosis").click()

    field = clinical.get_by_label("Diagnosis", exact=True)
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(
        re.compile(r"F33 is a category, not a billable code\.")
    )
    expect(field).to_be_focused()
    assert Diagnosis.objects.count() == 1

    expect(field).to_have_value("F33")  # what was typed is kept
    field.fill("")
    field.press_sequentially("F33.1", delay=20)
    clinical.get_by_role("option", name=re.compile(r"^F33\.1 Major depressive")).click()
    clinical.get_by_role("button", name="Add diagnosis").click()
    second = clinical.get_by_role("row", name=re.compile(r"F33\.1"))
    expect(second).to_be_visible()
    expect(second).not_to_contain_text("Primary")

    second.get_by_role("button", name="Make primary").click()
    expect(clinical.get_by_role("row", name=re.compile(r"F33\.1"))).to_contain_text("Primary")
    expect(clinical.get_by_role("row", name=re.compile(r"F41\.1"))).not_to_contain_text("Primary")

    clinical.get_by_role("row", name=re.compile(r"F41\.1")).get_by_role(
        "button", name="Mark resolved"
    ).click()
    expect(clinical.get_by_role("row", name=re.compile(r"F41\.1"))).to_contain_text("Resolved")
    assert_not_reloaded(page)
    assert dict(Diagnosis.objects.values_list("code", "is_primary")) == {
        "F41.1": False,
        "F33.1": True,
    }
    assert Diagnosis.objects.get(code="F41.1").status == "resolved"


def test_medication_history_and_removal_in_place(
    page: Page, therapist: Any, active_client: Any
) -> None:
    sign_in(page, therapist.email)
    clinical = open_clinical(page, active_client)
    mark_page(page)

    clinical.locator("summary", has_text="Add medication").click()
    clinical.get_by_label("Dose").fill("50 mg")
    clinical.get_by_role("button", name="Add medication").click()
    name = clinical.get_by_label("Name")
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(clinical.get_by_text("Enter the medication's name.")).to_be_visible()
    expect(clinical.get_by_label("Dose")).to_have_value("50 mg")

    name.fill("Sertraline")
    clinical.get_by_role("button", name="Add medication").click()
    expect(clinical.get_by_role("row", name=re.compile("Sertraline"))).to_contain_text("50 mg")

    clinical.get_by_text("Edit presenting concerns and history").click()
    clinical.get_by_label("Presenting concerns").fill("Worry about work, poor sleep.")
    clinical.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text("Saved")

    page.once("dialog", lambda dialog: dialog.accept())
    clinical.get_by_role("row", name=re.compile("Sertraline")).get_by_role(
        "button", name="Remove"
    ).click()
    expect(clinical.get_by_text("No medications recorded.")).to_be_visible()
    assert_not_reloaded(page)
    assert not Medication.objects.exists()
    summary = ClinicalSummary.objects.get()
    assert summary.presenting_concerns == "Worry about work, poor sleep."


def test_supervisor_reads_the_record_without_forms(
    page: Page, supervisor: Any, active_client: Any
) -> None:
    services.diagnosis_add(relationship=active_client, code="F41.1", actor=active_client.therapist)
    sign_in(page, supervisor.email)
    clinical = open_clinical(page, active_client)

    expect(clinical.get_by_role("row", name=re.compile(r"F41\.1"))).to_contain_text("Primary")
    expect(clinical.get_by_role("button")).to_have_count(0)
    expect(clinical.get_by_role("textbox")).to_have_count(0)

"""Whole-record export in the browser: ask on the profile, watch it build, download once."""

from __future__ import annotations

import io
import json
import re
import zipfile
from typing import Any

import pytest
from django.urls import reverse
from fhir.resources.R4B.bundle import Bundle
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from caseload.exports.tests.records import ADDENDUM_TEXT, SIGNED_NOTE_TEXT, build_full_record
from tests.e2e.conftest import sign_in
from tests.e2e.test_accessibility import serious_violations


@pytest.fixture(autouse=True)
def _urls_loaded() -> None:
    """Load the URLconf (and with it WeasyPrint) before the browser's first request."""
    reverse("exports:index")


def test_therapist_exports_a_record_and_downloads_it_once(
    page: Page, active_client: Any, run_tasks: Any, browser_problems: Any
) -> None:
    relationship = build_full_record(active_client)
    run_tasks()  # the emails the record's set-up queued
    sign_in(page, relationship.therapist.email)
    page.goto(f"/clients/{relationship.public_id}/")
    page.get_by_role("button", name="Export record").click()

    expect(page).to_have_url(re.compile(r"/exports/[0-9a-f-]{36}/$"))
    status = page.locator(".export-status")
    expect(status).to_contain_text("Waiting for the worker")
    assert run_tasks() == 1  # the worker builds the ZIP; the page notices by polling
    download_link = page.get_by_role("link", name="Download the export")
    expect(download_link).to_be_visible()
    assert not serious_violations(page)

    with page.expect_download() as download_info:
        download_link.click()
    with open(download_info.value.path(), "rb") as file:
        archive = zipfile.ZipFile(io.BytesIO(file.read()))
    names = archive.namelist()
    bundle_name = next(name for name in names if name.endswith("/fhir-bundle.json"))
    pdf_name = next(name for name in names if name.endswith("/record.pdf"))
    bundle = Bundle.model_validate(json.loads(archive.read(bundle_name)))
    assert bundle.entry and bundle.entry[0].resource.__resource_type__ == "Patient"
    reader = PdfReader(io.BytesIO(archive.read(pdf_name)))
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert SIGNED_NOTE_TEXT in text
    assert ADDENDUM_TEXT in text

    # The link worked once: a second visit explains why there is nothing to download.
    browser_problems.allow("410")
    page.goto(download_link.get_attribute("href") or "")
    expect(page.get_by_role("heading", name="This export is no longer available")).to_be_visible()
    expect(page.get_by_text("downloaded already")).to_be_visible()
    assert not serious_violations(page)


def test_practice_admin_exports_every_client_record(
    page: Page, active_client: Any, child_client: Any, practice_admin: Any, run_tasks: Any
) -> None:
    run_tasks()
    sign_in(page, practice_admin.email)
    page.get_by_role("link", name="Exports").click()
    expect(page.get_by_text("2 client records, one folder each.")).to_be_visible()
    assert not serious_violations(page)
    page.get_by_role("button", name="Export all client records").click()

    expect(page.locator(".export-status")).to_contain_text("Waiting for the worker")
    assert run_tasks() == 1
    download_link = page.get_by_role("link", name="Download the export")
    expect(download_link).to_be_visible()
    with page.expect_download() as download_info:
        download_link.click()
    with open(download_info.value.path(), "rb") as file:
        archive = zipfile.ZipFile(io.BytesIO(file.read()))
    bundles = [name for name in archive.namelist() if name.endswith("/fhir-bundle.json")]
    assert len(bundles) == 2
    for name in bundles:
        Bundle.model_validate(json.loads(archive.read(name)))

"""Import clients from a CSV in the browser: upload, columns, preview, import, report."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from caseload.clients.models import CareRelationship
from caseload.imports.models import ClientImport
from tests.e2e.conftest import sign_in
from tests.factories import pending_relationship


def two_hundred_rows() -> str:
    lines = ["First name;Last name;E-mail;Phone;DOB;Billing"]
    for n in range(192):
        lines.append(f"Client;Number {n:03d};client{n:03d}@example.com;;1985-01-01;Cash Pay")
    # Five bad rows.
    lines += [
        ";;noname@example.com;;;Cash Pay",
        "Bad;Email;not-an-email;;;Cash Pay",
        "Bad;Phone;badphone@example.com;12;;Cash Pay",
        "Future;Birth;future@example.com;;2999-01-01;Cash Pay",
        "Odd;Billing;odd@example.com;;;Barter",
    ]
    # Three duplicates: two of earlier rows, one of a client already in the practice.
    lines += [
        "Client;Number 000;CLIENT000@example.com;;;Cash Pay",
        "Client;Number 001;client001@example.com;;;Cash Pay",
        "Maya;Patel;maya@example.com;;;Cash Pay",
    ]
    assert len(lines) == 201
    return "\ufeff" + "\n".join(lines) + "\n"


def test_import_200_rows_with_bad_rows_and_duplicates(
    page: Page, therapist: Any, colleague: Any, run_tasks: Any
) -> None:
    pending_relationship(colleague, full_name="Maya Patel", email="maya@example.com")
    sign_in(page, therapist.email)
    page.goto("/clients/")
    page.get_by_role("link", name="Import clients").click()
    expect(page.get_by_role("heading", name="Import clients")).to_be_visible()
    page.get_by_label("CSV file").set_input_files(
        {"name": "clients.csv", "mimeType": "text/csv", "buffer": two_hundred_rows().encode()}
    )
    page.get_by_role("button", name="Upload").click()

    # Columns: recognised from the headers, and adjustable.
    expect(page.get_by_role("heading", name="Match the columns")).to_be_visible()
    expect(page.get_by_label("E-mail")).to_have_value("email")
    expect(page.get_by_label("DOB")).to_have_value("date_of_birth")
    page.get_by_label("Billing").select_option(label="Don't import")
    page.get_by_role("button", name="Preview").click()
    # Billing is required in this practice: every row now needs it, so map it back.
    expect(page.locator('[data-count="errors"]')).to_have_text("200")
    page.get_by_role("link", name="Change the columns").click()
    page.get_by_label("Billing").select_option(label="Billing type")
    page.get_by_role("button", name="Preview").click()

    expect(page.locator('[data-count="total"]')).to_have_text("200")
    expect(page.locator('[data-count="ready"]')).to_have_text("192")
    expect(page.locator('[data-count="errors"]')).to_have_text("5")
    expect(page.locator('[data-count="duplicates"]')).to_have_text("3")
    errors = page.get_by_role("region", name="Rows with errors")
    expect(errors).to_contain_text("Email: Enter a valid email address.")
    expect(errors).to_contain_text("This date is in the future.")
    duplicates = page.get_by_role("region", name="Duplicates")
    expect(duplicates).to_contain_text("A client with this email is already in the practice.")
    expect(duplicates).to_contain_text("Duplicate of an earlier row of this file.")

    page.get_by_label("Send invitations later").check()
    page.get_by_role("button", name="Import 192 clients").click()
    expect(page.get_by_role("progressbar", name="Import progress")).to_be_visible()
    expect(page.locator("#import-status")).to_contain_text("Waiting to start")

    assert run_tasks() >= 1  # the worker runs the import; the page polls for it
    expect(page.locator("#import-status")).to_have_text(
        "Import finished: 192 created, 3 skipped, 5 failed.", timeout=10_000
    )
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the report (CSV)").click()
    report = download_info.value.path().read_text().splitlines()
    assert report[0] == "Row,Name,Email,Outcome,Details"
    assert len(report) == 201
    assert sum(",Created," in line for line in report) == 192
    assert sum(",Skipped," in line for line in report) == 3
    assert sum(",Failed," in line for line in report) == 5

    page.get_by_role("button", name="Send invitations now").click()
    expect(page.get_by_text("192 invitations are on their way.")).to_be_visible()

    assert CareRelationship.objects.filter(therapist=therapist).count() == 192
    assert ClientImport.objects.get().content == ""
    page.goto("/clients/")
    expect(page).to_have_url(re.compile(r"/clients/$"))

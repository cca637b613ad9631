"""Import clients through the pages, as a browser posts them: who may, and the steps."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from caseload.clients.models import CareRelationship
from caseload.imports.models import ClientImport, ImportStatus
from tests.factories import PracticeFactory, staff
from tests.html import field_errors

pytestmark = pytest.mark.django_db

CSV = (
    "Full name;Email;Date of birth;Billing type\n"
    "Lena Ortiz;lena@example.com;1990-04-02;Insurance\n"
    "Sara Fox;sara@example.com;;Cash Pay\n"
    "Tom Hale;not-an-email;;Cash Pay\n"
)


def csv_file(text=CSV, name="clients.csv"):
    return SimpleUploadedFile(name, ("\ufeff" + text).encode(), content_type="text/csv")


def test_therapist_uploads_maps_previews_imports_and_downloads_the_report(
    therapist, signed_in, run_tasks, django_capture_on_commit_callbacks
):
    browser = signed_in(therapist)
    assert "Import clients" in browser.get("/clients/").content.decode()
    page = browser.get("/clients/import/")
    assert page.status_code == 200
    assert 'name="clinician"' not in page.content.decode()

    response = browser.post("/clients/import/", {"file": csv_file()})
    client_import = ClientImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/clients/import/{client_import.public_id}/columns/"
    mapping = browser.get(response["Location"]).content.decode()
    assert '<option value="full_name" selected>' in mapping

    response = browser.post(
        f"/clients/import/{client_import.public_id}/columns/",
        {
            "column_0": "full_name",
            "column_1": "email",
            "column_2": "date_of_birth",
            "column_3": "billing_type",
        },
    )
    assert response["Location"] == f"/clients/import/{client_import.public_id}/preview/"
    preview = browser.get(response["Location"]).content.decode()
    assert 'data-count="ready">2<' in preview
    assert 'data-count="errors">1<' in preview
    assert "Email: Enter a valid email address." in preview

    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(
            f"/clients/import/{client_import.public_id}/preview/", {"invitations": "now"}
        )
    assert response["Location"] == f"/clients/import/{client_import.public_id}/"
    assert ClientImport.objects.get().status == ImportStatus.QUEUED
    assert run_tasks() >= 1
    assert ClientImport.objects.get().status == ImportStatus.DONE
    assert CareRelationship.objects.filter(therapist=therapist).count() == 2

    progress = browser.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in progress
    assert "Import finished: 2 created, 0 skipped, 1 failed." in progress
    assert "hx-trigger" not in progress  # polling stops
    report = browser.get(f"/clients/import/{client_import.public_id}/report.csv")
    assert report["Content-Type"] == "text/csv"
    assert "attachment" in report["Content-Disposition"]
    lines = report.content.decode().splitlines()
    assert lines[0] == "Row,Name,Email,Outcome,Details"
    assert len(lines) == 4


def test_a_bad_file_gets_a_field_error(therapist, signed_in):
    browser = signed_in(therapist)
    response = browser.post("/clients/import/", {"file": csv_file("Name,Email\n")})
    assert response.status_code == 200
    assert field_errors(response, "file") == ["The file has column names but no clients."]
    response = browser.post("/clients/import/", {})
    assert field_errors(response, "file") == ["Choose a CSV file to upload."]
    assert not ClientImport.objects.exists()


def test_a_mapping_without_an_email_column_is_refused(therapist, signed_in):
    browser = signed_in(therapist)
    browser.post("/clients/import/", {"file": csv_file()})
    client_import = ClientImport.objects.get()
    response = browser.post(
        f"/clients/import/{client_import.public_id}/columns/", {"column_0": "full_name"}
    )
    assert response.status_code == 200
    assert "Choose the column with the client&#x27;s (or guardian&#x27;s) email." in (
        response.content.decode()
    )


def test_practice_admin_chooses_a_clinician(therapist, practice_admin, signed_in):
    browser = signed_in(practice_admin)
    page = browser.get("/clients/import/").content.decode()
    assert "Alice Rivera" in page
    assert "Helen Brooks" in page  # a supervisor is a clinician too
    assert ">Priya Shah</option>" not in page

    response = browser.post("/clients/import/", {"file": csv_file()})
    assert field_errors(response, "clinician") == [
        "Choose the clinician whose caseload the clients join."
    ]
    response = browser.post("/clients/import/", {"file": csv_file(), "clinician": therapist.pk})
    client_import = ClientImport.objects.get()
    assert response.status_code == 302
    assert (client_import.therapist, client_import.created_by) == (therapist, practice_admin)
    # The clinician sees the import into their caseload; the admin too.
    for user in (therapist, practice_admin):
        page = signed_in(user).get(f"/clients/import/{client_import.public_id}/columns/")
        assert page.status_code == 200


def test_admin_cant_choose_someone_of_another_practice(practice_admin, outsider, signed_in):
    response = signed_in(practice_admin).post(
        "/clients/import/", {"file": csv_file(), "clinician": outsider.pk}
    )
    assert response.status_code == 200
    assert field_errors(response, "clinician")
    assert not ClientImport.objects.exists()


def test_supervisor_cant_import(supervisor, signed_in):
    browser = signed_in(supervisor)
    assert browser.get("/clients/import/").status_code == 404
    assert browser.post("/clients/import/", {"file": csv_file()}).status_code == 404
    assert "Import clients" not in browser.get("/clients/").content.decode()


def test_another_practices_admin_and_a_colleague_get_404(therapist, colleague, signed_in):
    signed_in(therapist).post("/clients/import/", {"file": csv_file()})
    client_import = ClientImport.objects.get()
    other_practice = PracticeFactory(name="Elsewhere")
    other_admin = staff(other_practice, "admin", email="other-admin@example.com")
    for user in (other_admin, colleague):
        browser = signed_in(user)
        for suffix in ("", "columns/", "preview/", "report.csv"):
            url = f"/clients/import/{client_import.public_id}/{suffix}"
            assert browser.get(url).status_code == 404, (user, url)
        url = f"/clients/import/{client_import.public_id}/invitations/"
        assert browser.post(url).status_code == 404


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get("/clients/import/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]

"""Asking for an export, the worker building it, and the single-use, expiring download."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle
from pypdf import PdfReader

from caseload.audit.models import AuditEvent, Outcome
from caseload.clients.models import CareRelationship
from caseload.exports.models import ExportStatus, RecordExport
from caseload.exports.tests.records import ADDENDUM_TEXT, SIGNED_NOTE_TEXT
from caseload.practices.models import Membership, Role


def export_url(relationship: Any) -> str:
    return f"/clients/{relationship.public_id}/export/"


def request_export(browser: Any, relationship: Any) -> RecordExport:
    response = browser.post(export_url(relationship))
    assert response.status_code == 302
    export = RecordExport.objects.get()
    assert response["Location"] == f"/exports/{export.public_id}/"
    return export


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_owner_exports_a_record_the_worker_builds_it_and_the_zip_holds_pdf_and_bundle(
    full_record: Any, signed_in: Any, run_tasks: Any
) -> None:
    run_tasks()  # the invitation and message emails queued by the set-up
    browser = signed_in(full_record.therapist)
    export = request_export(browser, full_record)
    page = browser.get(f"/exports/{export.public_id}/")
    assert "Waiting for the worker" in page.content.decode()

    assert run_tasks() == 1
    export.refresh_from_db()
    assert export.status == ExportStatus.READY
    assert (export.done, export.total) == (1, 1)
    assert "Download the export" in browser.get(f"/exports/{export.public_id}/").content.decode()

    response = browser.get(f"/exports/{export.public_id}/download/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    folder = f"maya-patel-{str(full_record.client.public_id)[:8]}"
    assert sorted(archive.namelist()) == [
        "README.txt",
        f"{folder}/fhir-bundle.json",
        f"{folder}/record.pdf",
    ]
    Bundle.model_validate(json.loads(archive.read(f"{folder}/fhir-bundle.json")))
    text = pdf_text(archive.read(f"{folder}/record.pdf"))
    assert SIGNED_NOTE_TEXT in " ".join(text.split())
    assert ADDENDUM_TEXT in " ".join(text.split())
    for heading in ("Diagnoses", "Medications", "Sessions", "Treatment plans", "Messages"):
        assert heading in text
    assert "F41.1" in text and "Sertraline" in text and "Signed electronically" in text


def test_the_download_link_works_once(full_record: Any, signed_in: Any, run_tasks: Any) -> None:
    browser = signed_in(full_record.therapist)
    export = request_export(browser, full_record)
    run_tasks()
    assert browser.get(f"/exports/{export.public_id}/download/").status_code == 200

    again = browser.get(f"/exports/{export.public_id}/download/")
    assert again.status_code == 410
    assert "downloaded already" in again.content.decode()
    export.refresh_from_db()
    assert export.status == ExportStatus.DOWNLOADED
    assert RecordExport.objects.filter(pk=export.pk, archive__isnull=True).exists()


def test_the_download_link_expires(
    full_record: Any, signed_in: Any, run_tasks: Any, settings: Any
) -> None:
    browser = signed_in(full_record.therapist)
    export = request_export(browser, full_record)
    run_tasks()
    RecordExport.objects.filter(pk=export.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    response = browser.get(f"/exports/{export.public_id}/download/")
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert RecordExport.objects.get(pk=export.pk).status == ExportStatus.EXPIRED
    assert RecordExport.objects.filter(pk=export.pk, archive__isnull=True).exists()


def test_ready_export_expires_after_24_hours(full_record: Any, run_tasks: Any) -> None:
    from caseload.exports.services import export_request_client

    export = export_request_client(relationship=full_record, actor=full_record.therapist)
    run_tasks()
    export.refresh_from_db()
    assert export.expires_at - export.finished_at == timedelta(hours=24)


@pytest.mark.parametrize("who", ["colleague", "outsider", "supervisor", "practice_admin"])
def test_only_the_owner_exports_a_client(
    who: str, request: Any, active_client: Any, signed_in: Any
) -> None:
    browser = signed_in(request.getfixturevalue(who))
    assert browser.post(export_url(active_client)).status_code == 404
    assert not RecordExport.objects.exists()


@pytest.mark.parametrize("who", ["client_user", "guardian_user"])
def test_clients_and_guardians_have_no_exports(
    who: str, request: Any, active_client: Any, child_client: Any, signed_in: Any
) -> None:
    browser = signed_in(request.getfixturevalue(who))
    assert browser.post(export_url(active_client)).status_code == 404
    assert browser.post(export_url(child_client)).status_code == 404
    assert browser.get("/exports/").status_code == 404
    assert browser.post("/exports/practice/").status_code == 404


def test_the_profile_offers_export_to_the_owner_only(
    active_client: Any, supervisor: Any, signed_in: Any
) -> None:
    profile = f"/clients/{active_client.public_id}/"
    owner_page = signed_in(active_client.therapist).get(profile).content.decode()
    assert "Export record" in owner_page
    assert export_url(active_client) in owner_page
    assert "Export record" not in signed_in(supervisor).get(profile).content.decode()


def test_someone_elses_export_is_not_found(
    full_record: Any, colleague: Any, signed_in: Any, run_tasks: Any
) -> None:
    export = request_export(signed_in(full_record.therapist), full_record)
    run_tasks()
    other = signed_in(colleague)
    assert other.get(f"/exports/{export.public_id}/").status_code == 404
    assert other.get(f"/exports/{export.public_id}/download/").status_code == 404
    assert RecordExport.objects.get(pk=export.pk).status == ExportStatus.READY


def test_practice_admin_exports_every_client_one_folder_each(
    full_record: Any, child_client: Any, practice_admin: Any, signed_in: Any, run_tasks: Any
) -> None:
    browser = signed_in(practice_admin)
    assert "Export all client records" in browser.get("/exports/").content.decode()
    response = browser.post("/exports/practice/")
    export = RecordExport.objects.get()
    assert response["Location"] == f"/exports/{export.public_id}/"
    assert export.total == 2
    run_tasks()

    archive = zipfile.ZipFile(
        io.BytesIO(browser.get(f"/exports/{export.public_id}/download/").content)
    )
    folders = {name.split("/")[0] for name in archive.namelist() if "/" in name}
    assert folders == {
        f"maya-patel-{str(full_record.client.public_id)[:8]}",
        f"ava-okafor-{str(child_client.client.public_id)[:8]}",
    }
    for folder in folders:
        Bundle.model_validate(json.loads(archive.read(f"{folder}/fhir-bundle.json")))


def test_therapist_cannot_export_the_practice(active_client: Any, signed_in: Any) -> None:
    assert signed_in(active_client.therapist).post("/exports/practice/").status_code == 404


def test_request_and_download_are_audited_without_clinical_content(
    full_record: Any, signed_in: Any, run_tasks: Any
) -> None:
    browser = signed_in(full_record.therapist)
    export = request_export(browser, full_record)
    run_tasks()
    browser.get(f"/exports/{export.public_id}/download/")
    browser.get(f"/exports/{export.public_id}/download/")

    events = list(AuditEvent.objects.filter(action__startswith="export.").order_by("pk"))
    assert [(e.action, e.outcome) for e in events] == [
        ("export.request", Outcome.OK),
        ("export.ready", Outcome.OK),
        ("export.download", Outcome.OK),
        ("export.download", Outcome.DENIED),
    ]
    assert events[0].client_id == full_record.client_id
    assert events[0].actor == full_record.therapist
    assert {e.object_id for e in events} == {str(export.public_id)}
    assert events[3].detail == {"reason": "used"}
    dumped = json.dumps([e.detail for e in events])
    for clinical in (SIGNED_NOTE_TEXT, "F41.1", "Sertraline", "Maya"):
        assert clinical not in dumped


def test_progress_is_polled_until_ready(full_record: Any, signed_in: Any, run_tasks: Any) -> None:
    browser = signed_in(full_record.therapist)
    export = request_export(browser, full_record)
    url = f"/exports/{export.public_id}/"
    poll = browser.get(url, headers={"HX-Request": "true"})
    assert 'hx-trigger="every 1s"' in poll.content.decode()
    assert browser.get(url, {"seen": "queued:0"}, headers={"HX-Request": "true"}).status_code == 204
    run_tasks()
    ready = browser.get(url, {"seen": "queued:0"}, headers={"HX-Request": "true"})
    assert ready.status_code == 200
    assert "Download the export" in ready.content.decode()
    assert "hx-trigger" not in ready.content.decode()


def test_an_export_interrupted_by_a_dead_worker_is_built_when_the_task_runs_again(
    full_record: Any, run_tasks: Any
) -> None:
    from django_tasks_db.models import DBTaskResult

    from caseload.exports.services import export_request_client

    run_tasks()
    export = export_request_client(relationship=full_record, actor=full_record.therapist)
    # The worker claimed it and died mid-way; recovery puts the task back (decision 0020).
    RecordExport.objects.filter(pk=export.pk).update(status=ExportStatus.RUNNING)
    assert DBTaskResult.objects.ready().count() == 1

    assert run_tasks() == 1
    export.refresh_from_db()
    assert export.status == ExportStatus.READY
    assert export.done == 1


def test_a_built_export_is_not_built_again(full_record: Any, run_tasks: Any) -> None:
    from caseload.exports.services import export_request_client
    from caseload.exports.tasks import build_record_export

    export = export_request_client(relationship=full_record, actor=full_record.therapist)
    run_tasks()
    export.refresh_from_db()
    finished_at = export.finished_at

    assert build_record_export.call(export.pk) == "skipped: already built"
    export.refresh_from_db()
    assert export.finished_at == finished_at


def test_a_practice_export_download_is_audited_for_each_client(
    full_record: Any, child_client: Any, practice_admin: Any, signed_in: Any, run_tasks: Any
) -> None:
    browser = signed_in(practice_admin)
    browser.post("/exports/practice/")
    export = RecordExport.objects.get()
    run_tasks()

    assert browser.get(f"/exports/{export.public_id}/download/").status_code == 200

    downloads = AuditEvent.objects.filter(action="export.download", outcome=Outcome.OK)
    assert sorted(downloads.values_list("client_id", flat=True)) == sorted(
        [full_record.client_id, child_client.client_id]
    )
    assert {e.actor for e in downloads} == {practice_admin}


def test_an_admin_no_longer_admin_cannot_download_the_practice_export(
    full_record: Any, practice_admin: Any, signed_in: Any, run_tasks: Any
) -> None:
    browser = signed_in(practice_admin)
    browser.post("/exports/practice/")
    export = RecordExport.objects.get()
    run_tasks()
    Membership.objects.filter(user=practice_admin).update(role=Role.THERAPIST)

    assert browser.get(f"/exports/{export.public_id}/download/").status_code == 404
    assert RecordExport.objects.get(pk=export.pk).status == ExportStatus.READY
    denied = AuditEvent.objects.get(action="export.download")
    assert (denied.outcome, denied.detail) == (Outcome.DENIED, {"reason": "not_allowed"})


def test_a_therapist_no_longer_the_clients_cannot_download_their_export(
    full_record: Any, colleague: Any, signed_in: Any, run_tasks: Any
) -> None:
    browser = signed_in(full_record.therapist)
    export = request_export(browser, full_record)
    run_tasks()
    CareRelationship.objects.filter(pk=full_record.pk).update(therapist=colleague)

    assert browser.get(f"/exports/{export.public_id}/download/").status_code == 404
    assert RecordExport.objects.get(pk=export.pk).status == ExportStatus.READY

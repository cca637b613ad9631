"""Document actions are audited (PR-1): who, which client, which document — never the answers."""

from __future__ import annotations

import json

import pytest

from caseload.audit.models import AuditEvent
from caseload.documents.tests.helpers import (
    INTAKE_ANSWERS,
    answers_for,
    assign_one,
    builder_post,
)

pytestmark = pytest.mark.django_db

#: What an audit detail must never hold: answers, typed names, document text, scores.
SECRETS = (
    "Maya Patel",
    "555-0101",
    "Worry keeps me up",
    "Elm Street",
    "Nearly every day",
    "Several days",
    "Moderately severe",
    "Intake form",
    "PHQ-9",
    "typed_name",
    "answers",
    "score",
)


def events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


def assert_no_secrets(event):
    detail = json.dumps(event.detail)
    for secret in SECRETS:
        assert secret not in detail, f"{secret!r} in {event.action} detail {detail}"


def test_the_document_lifecycle_is_audited_without_clinical_content(
    therapist, active_client, client_user, library, signed_in
):
    staff = signed_in(therapist)
    portal = signed_in(client_user)
    base = f"/clients/{active_client.public_id}/documents/"
    staff.post(
        f"{base}assign/",
        {
            "templates": [
                str(library["intake"].template.public_id),
                str(library["phq9"].template.public_id),
            ]
        },
        REMOTE_ADDR="192.0.2.10",
    )
    intake, phq9 = (active_client.documents.get(version=library[key]) for key in ("intake", "phq9"))
    staff.post(f"{base}{phq9.public_id}/remind/", REMOTE_ADDR="192.0.2.10")
    portal.get(f"/portal/documents/{intake.public_id}/", REMOTE_ADDR="192.0.2.20")
    portal.post(
        f"/portal/documents/{intake.public_id}/",
        {"save": "1", "address": "12 Elm Street", "phone": "555-0101"},
        REMOTE_ADDR="192.0.2.20",
    )
    portal.post(
        f"/portal/documents/{intake.public_id}/",
        {**INTAKE_ANSWERS, "typed_name": "Maya Patel", "consent": "on", "submit": "1"},
        REMOTE_ADDR="192.0.2.20",
    )
    portal.post(
        f"/portal/documents/{phq9.public_id}/",
        {**answers_for("phq9", 16, q9=2), "submit": "1"},
        REMOTE_ADDR="192.0.2.20",
    )
    portal.get(f"/portal/documents/{intake.public_id}/pdf/", REMOTE_ADDR="192.0.2.20")
    staff.get(f"{base}{phq9.public_id}/", REMOTE_ADDR="192.0.2.10")
    staff.get(f"{base}{phq9.public_id}/pdf/", REMOTE_ADDR="192.0.2.10")
    staff.post(
        f"{base}{phq9.public_id}/follow-up/",
        {"note": "Phoned Maya; safety plan reviewed."},
        REMOTE_ADDR="192.0.2.10",
    )
    staff.post(f"{base}{phq9.public_id}/review/", REMOTE_ADDR="192.0.2.10")

    by_therapist = {
        "document.assign": [intake, phq9],
        "document.remind": [phq9],
        "document.view": [phq9],
        "document.follow_up": [phq9],
        "document.review": [phq9],
    }
    by_client = {
        "document.save_progress": [intake],
        "document.sign": [intake],
        "document.submit": [intake, phq9],
    }
    for actor, expected, ip in (
        (therapist, by_therapist, "192.0.2.10"),
        (client_user, by_client, "192.0.2.20"),
    ):
        for action, documents in expected.items():
            found = events(action)
            assert [e.object_id for e in found] == [str(d.public_id) for d in documents], action
            for event in found:
                assert event.actor == actor
                assert event.client == active_client.client
                assert event.ip_address == ip
                assert event.object_type == "documents.assigneddocument"
    exports = events("document.export_pdf")
    assert [(e.actor, e.object_id) for e in exports] == [
        (client_user, str(intake.public_id)),
        (therapist, str(phq9.public_id)),
    ]
    (opened,) = events("document.open")
    assert opened.actor == client_user
    assert (opened.object_id, opened.client, opened.detail) == (
        str(intake.public_id),
        intake.relationship.client,
        {},
    )
    assert [e.detail for e in events("document.assign")] == [
        {"template": str(library["intake"].template.public_id)},
        {"template": str(library["phq9"].template.public_id)},
    ]
    assert [e.detail for e in events("document.submit")] == [{}, {}]  # no clinical finding
    for event in AuditEvent.objects.filter(action__startswith="document"):
        assert_no_secrets(event)


def test_template_changes_are_audited_without_their_questions(therapist, signed_in):
    browser = signed_in(therapist)
    browser.post(
        "/documents/templates/new/",
        builder_post([{"label": "Do you drink alcohol?", "type": "yes_no"}], title="Habits"),
    )
    (created,) = events("document_template.create")
    template_id = created.object_id
    browser.post(
        f"/documents/templates/{template_id}/edit/",
        builder_post([{"label": "How much alcohol?", "type": "number"}], title="Habits", initial=1),
    )
    browser.post(f"/documents/templates/{template_id}/archive/")

    (updated,) = events("document_template.update")
    (archived,) = events("document_template.archive")
    assert updated.detail == {"version": 2}
    assert {created.object_id, updated.object_id, archived.object_id} == {template_id}
    assert all(e.actor == therapist for e in (created, updated, archived))
    for event in (created, updated, archived):
        assert "alcohol" not in json.dumps(event.detail)


def test_portal_actions_are_in_the_practices_audit_log(
    active_client, client_user, practice_admin, library, signed_in
):
    """Clients have no membership: their document events still belong to the practice."""
    document = assign_one(active_client, library["consent"])
    browser = signed_in(client_user)
    browser.get(f"/portal/documents/{document.public_id}/")
    browser.post(
        f"/portal/documents/{document.public_id}/",
        {"understood": "yes", "typed_name": "Maya Patel", "consent": "on", "submit": "1"},
    )
    browser.get(f"/portal/documents/{document.public_id}/pdf/")

    events = AuditEvent.objects.filter(actor=client_user, action__startswith="document.")
    assert sorted(events.values_list("action", flat=True)) == [
        "document.export_pdf",
        "document.open",
        "document.sign",
        "document.submit",
    ]
    assert set(events.values_list("practice", flat=True)) == {active_client.practice_id}
    admin_page = signed_in(practice_admin).get("/practice/audit/")
    assert "document.sign" in admin_page.content.decode()

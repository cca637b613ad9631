"""Note integrity: no signing before the session has happened, no co-signing a note whose
content no longer matches its signature, and an addendum written after co-signing goes back
to the supervisor."""

from __future__ import annotations

from datetime import timedelta
from html import unescape
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from caseload.audit.models import AuditEvent
from caseload.visits import services
from caseload.visits.models import NoteEvent, NoteStatus, ProgressNote, TherapySession
from caseload.visits.selectors import notes_awaiting_cosignature

pytestmark = pytest.mark.django_db

SOAP = {
    "format": "soap",
    "section_subjective": "Reports sleeping better.",
    "section_objective": "",
    "section_assessment": "",
    "section_plan": "",
}


def schedule(relationship: Any, days: int) -> TherapySession:
    return services.session_schedule(
        relationship=relationship,
        actor=relationship.therapist,
        starts_at=timezone.now() + timedelta(days=days),
        duration_minutes=50,
        modality="in_person",
    )


def draft(session: TherapySession) -> ProgressNote:
    return services.note_save_draft(
        session=session,
        actor=session.relationship.therapist,
        note_format="soap",
        content={"subjective": "Talked about work."},
    )


def page_url(session: TherapySession, action: str = "") -> str:
    return f"/clients/{session.relationship.public_id}/sessions/{session.public_id}/{action}"


def text(response: Any) -> str:
    return " ".join(unescape(response.content.decode()).split())


def tamper(note: ProgressNote) -> None:
    """What a raw UPDATE behind the application's back does (no model save, no hash)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE visits_progressnote SET content = %s WHERE id = %s",
            ['{"subjective": "Something else entirely."}', note.pk],
        )


# Signing only after the session --------------------------------------------------------
def test_a_note_for_a_session_five_days_ahead_cannot_be_signed(
    therapist: Any, active_client: Any
) -> None:
    note = draft(schedule(active_client, days=5))

    with pytest.raises(services.VisitError, match="This session hasn't happened yet"):
        services.note_sign(note=note, actor=therapist)

    stored = ProgressNote.objects.get(pk=note.pk)
    assert (stored.status, stored.content_sha256) == (NoteStatus.DRAFT, "")
    assert not NoteEvent.objects.exists()


def test_signing_a_future_session_from_the_page_says_why_and_keeps_the_draft(
    therapist: Any, active_client: Any, signed_in: Any
) -> None:
    session = schedule(active_client, days=5)

    response = signed_in(therapist).post(page_url(session, "note/"), {**SOAP, "sign": "1"})

    assert response.status_code == 200
    shown = text(response)
    assert "This session hasn't happened yet (it starts" in shown
    assert "sign the note after the session" in shown
    assert not ProgressNote.objects.filter(status=NoteStatus.SIGNED).exists()


def test_a_past_session_is_signed_as_before(therapist: Any, active_client: Any) -> None:
    note = services.note_sign(note=draft(schedule(active_client, days=-1)), actor=therapist)

    assert note.status == NoteStatus.SIGNED and note.verify()


# Co-signing checks the hash -------------------------------------------------------------
def test_co_signing_a_note_changed_after_signing_is_refused_and_audited(
    therapist: Any, supervisor: Any, active_client: Any
) -> None:
    note = services.note_sign(note=draft(schedule(active_client, days=-2)), actor=therapist)
    tamper(note)

    with pytest.raises(services.VisitError, match="content no longer matches what was signed"):
        services.note_cosign(note=note, actor=supervisor)

    stored = ProgressNote.objects.get(pk=note.pk)
    assert (stored.status, stored.cosigned_by) == (NoteStatus.SIGNED, None)
    event = AuditEvent.objects.get(action="note.integrity_failed")
    assert (event.actor, event.outcome) == (supervisor, "failed")
    assert not AuditEvent.objects.filter(action="note.cosign").exists()


def test_the_refused_co_signature_is_an_alert_on_the_page(
    therapist: Any, supervisor: Any, active_client: Any, signed_in: Any
) -> None:
    session = schedule(active_client, days=-2)
    tamper(services.note_sign(note=draft(session), actor=therapist))

    response = signed_in(supervisor).post(page_url(session, "note/cosign/"))

    html = response.content.decode()
    assert response.status_code == 200
    assert '<p class="error" role="alert">This note can&#x27;t be co-signed' in html
    assert "does not match: the note changed after signing" in text(response)
    assert ProgressNote.objects.get(session=session).status == NoteStatus.SIGNED


# An addendum after co-signing -----------------------------------------------------------
def test_an_addendum_after_co_signing_goes_back_to_the_supervisors_queue(
    therapist: Any, supervisor: Any, active_client: Any, signed_in: Any
) -> None:
    session = schedule(active_client, days=-3)
    note = services.note_sign(note=draft(session), actor=therapist)
    services.note_cosign(note=note, actor=supervisor)
    assert list(notes_awaiting_cosignature(supervisor)) == []

    services.note_add_addendum(note=note, actor=therapist, text="Client called to add context.")

    assert list(notes_awaiting_cosignature(supervisor)) == [note]
    browser = signed_in(supervisor)
    queue = text(browser.get("/supervision/"))
    assert "Maya Patel" in queue and "new addendum" in queue
    page = browser.get(page_url(session))
    assert "An addendum was added after your co-signature" in text(page)
    assert ">Co-sign</button>" in page.content.decode()
    assert ">Send back</button>" not in page.content.decode()

    response = browser.post(page_url(session, "note/cosign/"))

    assert response.status_code == 302
    assert list(notes_awaiting_cosignature(supervisor)) == []
    stored = ProgressNote.objects.get(pk=note.pk)
    assert stored.status == NoteStatus.COSIGNED
    assert AuditEvent.objects.filter(action="note.cosign_addendum").count() == 1
    assert list(stored.events.values_list("kind", flat=True)) == [
        "signed",
        "cosigned",
        "addendum",
        "cosigned",
    ]


def test_a_co_signed_note_without_a_new_addendum_is_not_co_signed_twice(
    therapist: Any, supervisor: Any, active_client: Any
) -> None:
    note = services.note_sign(note=draft(schedule(active_client, days=-3)), actor=therapist)
    services.note_add_addendum(note=note, actor=therapist, text="Before co-signing.")
    services.note_cosign(note=note, actor=supervisor)

    with pytest.raises(services.VisitError, match="Only a signed note can be co-signed"):
        services.note_cosign(note=note, actor=supervisor)
    assert list(notes_awaiting_cosignature(supervisor)) == []

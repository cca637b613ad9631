"""Immutability and SHA-256 verification of completed and signed documents (DOC-3)."""

from __future__ import annotations

import pytest
from django.db.models import ProtectedError

from caseload.audit.models import AuditEvent
from caseload.documents import services
from caseload.documents.content import CONSENT_TEXT, completed_text, sha256, signed_text, verify
from caseload.documents.models import (
    AssignedDocument,
    DocumentSignature,
    DocumentStatus,
    TemplateVersion,
)
from caseload.documents.tests.helpers import (
    INTAKE_ANSWERS,
    answers_for,
    assign_one,
    fresh,
    submit,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_intake(active_client, client_user, library):
    document = assign_one(active_client, library["intake"])
    submit(document, client_user, INTAKE_ANSWERS, typed_name="Maya Patel", consent=True)
    return fresh(document)


@pytest.fixture
def completed_phq9(active_client, client_user, library):
    document = assign_one(active_client, library["phq9"])
    submit(document, client_user, answers_for("phq9", 11))
    return fresh(document)


# What is stored ---------------------------------------------------------------------------------
def test_the_stored_text_is_the_document_as_completed(signed_intake):
    content = signed_intake.content

    assert content.startswith("Intake form\n===========\n")
    assert "Date of birth\nAnswer: 12 Apr 1990\n" in content
    assert "How well have you been sleeping lately?\nAnswer: 2 (of 1–5)\n" in content
    assert "Preferred name\nAnswer: —\n" in content  # unanswered optional question
    assert "[Signature] I confirm that the information I have given is true" in content
    assert signed_intake.content_sha256 == sha256(content)
    assert len(signed_intake.content_sha256) == 64


def test_questionnaire_text_shows_the_chosen_answer_labels(completed_phq9):
    assert "Little interest or pleasure in doing things\nAnswer: Nearly every day\n" in (
        completed_phq9.content
    )
    assert "Answer: Not at all" in completed_phq9.content


def test_the_signature_hashes_exactly_the_signed_text(signed_intake, client_user):
    signature = signed_intake.signature

    assert signature.consent_text == CONSENT_TEXT
    assert signature.content == signed_text(
        content=signed_intake.content,
        typed_name="Maya Patel",
        signer_email="maya@example.com",
        consent_text=CONSENT_TEXT,
    )
    assert signature.sha256 == sha256(signature.content)
    assert signature.signer == client_user


def test_completed_text_is_a_pure_function_of_version_and_answers(signed_intake):
    version = signed_intake.version

    rebuilt = completed_text(
        title=version.title, intro=version.intro, fields=version.fields, answers=INTAKE_ANSWERS
    )

    assert rebuilt == signed_intake.content


# Immutability ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.answers.update(q1="0"),
        lambda d: setattr(d, "content", d.content + "extra"),
        lambda d: setattr(d, "content_sha256", "0" * 64),
    ],
)
def test_a_submitted_document_cannot_be_changed_by_saving(completed_phq9, change):
    change(completed_phq9)

    with pytest.raises(ValueError, match="A submitted document is never changed"):
        completed_phq9.save()
    assert fresh(completed_phq9).answers == answers_for("phq9", 11)


@pytest.mark.parametrize(
    "change",
    [
        lambda d: setattr(d, "status", "in_progress"),  # reopened under its signature
        lambda d: setattr(d, "score", 0),
        lambda d: setattr(d, "severity", "Minimal"),
        lambda d: setattr(d, "flagged", True),
        lambda d: setattr(d, "submitted_at", None),
    ],
)
def test_nothing_recorded_at_submission_can_be_changed(completed_phq9, change):
    change(completed_phq9)

    with pytest.raises(ValueError, match="never changed"):
        completed_phq9.save()
    stored = fresh(completed_phq9)
    assert (stored.status, stored.score) == ("completed", 11)


def test_a_reviewed_document_cannot_be_changed_either(completed_phq9, therapist):
    services.document_mark_reviewed(document=completed_phq9, actor=therapist)
    document = fresh(completed_phq9)
    document.answers = {**document.answers, "q9": "3"}

    with pytest.raises(ValueError, match="never changed"):
        document.save()


def test_an_open_document_can_still_be_saved(active_client, library):
    document = assign_one(active_client, library["phq9"])
    document.answers = {"q1": "1"}

    document.save()

    assert fresh(document).answers == {"q1": "1"}


def test_a_template_version_is_never_updated_or_deleted(library):
    version = TemplateVersion.objects.get(pk=library["phq9"].pk)
    version.title = "Changed"

    with pytest.raises(ValueError, match="never changed"):
        version.save()
    with pytest.raises(ValueError, match="kept"):
        version.delete()
    assert TemplateVersion.objects.get(pk=version.pk).title.startswith("PHQ-9")


def test_versions_refuse_bulk_update_and_delete(active_client, library):
    assign_one(active_client, library["phq9"])

    with pytest.raises(ValueError, match="never changed"):
        TemplateVersion.objects.filter(pk=library["phq9"].pk).update(title="Changed")
    with pytest.raises(ValueError, match="kept"):
        TemplateVersion.objects.filter(pk=library["phq9"].pk).delete()
    # Even a raw delete is stopped by the document that uses the version.
    with pytest.raises(ProtectedError):
        TemplateVersion._base_manager.filter(pk=library["phq9"].pk).delete()
    assert TemplateVersion.objects.get(pk=library["phq9"].pk).title.startswith("PHQ-9")


def test_signatures_refuse_bulk_update_and_delete(signed_intake):
    with pytest.raises(ValueError, match="never changed"):
        DocumentSignature.objects.filter(document=signed_intake).update(typed_name="Someone")
    with pytest.raises(ValueError, match="kept"):
        DocumentSignature.objects.filter(document=signed_intake).delete()
    assert verify(fresh(signed_intake)).ok


def test_a_later_change_of_the_signer_email_does_not_break_verification(signed_intake):
    signer = signed_intake.signature.signer
    signed_email = signer.email
    signer.email = "maya.new@example.com"
    signer.save(update_fields=["email"])

    document = fresh(signed_intake)

    assert verify(document).ok
    assert document.signature.signer_email == signed_email


def test_a_signature_is_never_updated_or_deleted(signed_intake):
    signature = DocumentSignature.objects.get(document=signed_intake)
    signature.typed_name = "Someone Else"

    with pytest.raises(ValueError, match="never changed"):
        signature.save()
    with pytest.raises(ValueError, match="kept"):
        signature.delete()
    assert DocumentSignature.objects.get(pk=signature.pk).typed_name == "Maya Patel"


def test_a_signed_document_cannot_be_deleted(signed_intake):
    with pytest.raises(ProtectedError):
        AssignedDocument.objects.filter(pk=signed_intake.pk).delete()


def test_reviewing_changes_only_the_status(signed_intake, therapist):
    before = (signed_intake.answers, signed_intake.content, signed_intake.content_sha256)

    services.document_mark_reviewed(document=signed_intake, actor=therapist)

    after = fresh(signed_intake)
    assert after.status == DocumentStatus.REVIEWED
    assert (after.answers, after.content, after.content_sha256) == before
    assert verify(after).ok


# Verification ------------------------------------------------------------------------------------
def test_a_fresh_signed_document_verifies(signed_intake):
    result = verify(signed_intake)

    assert result.ok
    assert result.problems == ()


def test_a_fresh_questionnaire_verifies(completed_phq9):
    assert verify(completed_phq9).ok


def test_an_unsubmitted_document_does_not_verify(active_client, library):
    result = verify(assign_one(active_client, library["phq9"]))

    assert not result.ok
    assert result.problems == ("The document has not been submitted.",)


def _tamper(document, **values):
    AssignedDocument.objects.filter(pk=document.pk).update(**values)
    return verify(fresh(document))


def test_tampered_answers_fail(signed_intake):
    result = _tamper(signed_intake, answers={**INTAKE_ANSWERS, "safety_thoughts": "yes"})

    assert not result.ok
    assert result.problems == ("The stored answers do not match the stored document text.",)


def test_tampered_questionnaire_answers_fail(completed_phq9):
    result = _tamper(completed_phq9, answers=answers_for("phq9", 11, q9=1))

    assert not result.ok
    assert "The stored answers do not match the stored document text." in result.problems


def test_tampered_document_text_fails(signed_intake):
    changed = signed_intake.content.replace("555-0101", "555-9999")
    assert changed != signed_intake.content

    result = _tamper(signed_intake, content=changed)

    assert not result.ok
    assert set(result.problems) == {
        "The stored answers do not match the stored document text.",
        "The stored document text does not match its SHA-256.",
        "The signed text does not match the stored document.",
    }


def test_tampered_hash_fails(completed_phq9):
    result = _tamper(completed_phq9, content_sha256=sha256("something else"))

    assert result.problems == ("The stored document text does not match its SHA-256.",)


def test_a_consistent_rewrite_of_answers_text_and_hash_is_caught_by_the_signature(signed_intake):
    answers = {**INTAKE_ANSWERS, "safety_attempt": "yes"}
    version = signed_intake.version
    content = completed_text(
        title=version.title, intro=version.intro, fields=version.fields, answers=answers
    )

    result = _tamper(
        signed_intake, answers=answers, content=content, content_sha256=sha256(content)
    )

    assert result.problems == ("The signed text does not match the stored document.",)


def _tamper_signature(document, **values):
    DocumentSignature._base_manager.filter(document=document).update(**values)  # raw write
    return verify(fresh(document))


def test_tampered_signed_text_fails(signed_intake):
    forged = signed_intake.signature.content.replace("Maya Patel", "Mya Patel")

    result = _tamper_signature(signed_intake, content=forged)

    assert not result.ok
    assert set(result.problems) == {
        "The signed text does not match the stored document.",
        "The signed text does not match the signature's SHA-256.",
    }


def test_tampered_typed_name_fails(signed_intake):
    result = _tamper_signature(signed_intake, typed_name="Someone Else")

    assert result.problems == ("The signed text does not match the stored document.",)


def test_tampered_consent_text_fails(signed_intake):
    result = _tamper_signature(signed_intake, consent_text="I agree to nothing.")

    assert result.problems == ("The signed text does not match the stored document.",)


def test_tampered_signature_hash_fails(signed_intake):
    result = _tamper_signature(signed_intake, sha256="0" * 64)

    assert result.problems == ("The signed text does not match the signature's SHA-256.",)


def test_a_signature_that_went_missing_fails(signed_intake):
    DocumentSignature._base_manager.filter(document=signed_intake).delete()  # a raw write

    result = verify(fresh(signed_intake))

    assert result.problems == ("The document needs a signature and has none.",)


# The signature's record, from a real request ---------------------------------------------------
def test_signing_in_the_portal_records_signer_name_time_ip_and_browser(
    active_client, client_user, library, signed_in
):
    document = assign_one(active_client, library["consent"])
    browser = signed_in(client_user)

    response = browser.post(
        f"/portal/documents/{document.public_id}/",
        {"understood": "yes", "typed_name": "Maya Patel", "consent": "on", "submit": "1"},
        REMOTE_ADDR="203.0.113.7",
        HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) TestBrowser/1.0",
    )

    assert response.status_code == 302
    stored = fresh(document)
    signature = stored.signature
    assert stored.status == DocumentStatus.SIGNED
    assert signature.signer == client_user
    assert signature.typed_name == "Maya Patel"
    assert signature.signed_at == stored.submitted_at
    assert signature.ip_address == "203.0.113.7"
    assert signature.user_agent == "Mozilla/5.0 (X11; Linux x86_64) TestBrowser/1.0"
    assert verify(stored).ok


def test_a_very_long_user_agent_is_cut_to_fit(active_client, client_user, library, signed_in):
    document = assign_one(active_client, library["privacy"])

    signed_in(client_user).post(
        f"/portal/documents/{document.public_id}/",
        {"received": "yes", "typed_name": "Maya Patel", "consent": "on", "submit": "1"},
        HTTP_USER_AGENT="A" * 900,
    )

    # The signature keeps the browser as the request's audit context read it (cut there).
    signed = AuditEvent.objects.get(action="document.sign")
    assert signed.user_agent.startswith("AAAA")
    assert fresh(document).signature.user_agent == signed.user_agent
    assert 0 < len(signed.user_agent) <= 500

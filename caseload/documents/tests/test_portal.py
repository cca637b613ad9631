"""Documents in the portal: who sees what, filling in, signing, read-only after submit, the PDF."""

from __future__ import annotations

import io
import re
from zoneinfo import ZoneInfo

import pytest
from django.contrib.messages import get_messages
from pypdf import PdfReader

from caseload.clients import services as client_services
from caseload.documents import services
from caseload.documents.models import AssignedDocument, DocumentSignature, DocumentStatus
from caseload.documents.tests.helpers import (
    INTAKE_ANSWERS,
    answers_for,
    assign_one,
    fresh,
    model_instances,
    submit,
)
from tests.factories import active_child_relationship, active_relationship
from tests.html import field_errors

pytestmark = pytest.mark.django_db


def listed(response):
    """The documents (public ids) a portal page lists."""
    return re.findall(r'data-document="([0-9a-f-]+)"', response.content.decode())


def url(document, suffix=""):
    return f"/portal/documents/{document.public_id}/{suffix}"


def pdf_text(response):
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(response.content))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def shown_messages(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def documents(therapist, active_client, child_client, library):
    """Maya's PHQ-9, Ava's consent (Sam fills it), and another family's and client's."""
    other_family = active_child_relationship(
        therapist,
        child_name="Leo Grant",
        guardian_name="Kim Grant",
        guardian_email="kim@example.com",
    )
    other_client = active_relationship(therapist, full_name="Noah Berg", email="noah@example.com")
    return {
        "maya": assign_one(active_client, library["phq9"]),
        "ava": assign_one(child_client, library["consent"]),
        "leo": assign_one(other_family, library["consent"]),
        "noah": assign_one(other_client, library["gad7"]),
    }


# Who sees what ------------------------------------------------------------------------------------
def test_a_client_sees_only_their_own_documents(client_user, documents, signed_in):
    browser = signed_in(client_user)

    for page in ("/portal/documents/", "/portal/"):
        response = browser.get(page)
        assert response.status_code == 200
        assert listed(response) == [str(documents["maya"].public_id)]
    assert "For Ava" not in response.content.decode()


def test_a_guardian_sees_the_childs_documents_labelled_for_the_child(
    guardian_user, documents, signed_in
):
    response = signed_in(guardian_user).get("/portal/documents/")

    assert listed(response) == [str(documents["ava"].public_id)]
    html = response.content.decode()
    assert "<h3>For Ava Okafor</h3>" in html
    assert "Informed consent for treatment" in html


def test_a_guardian_who_is_also_a_client_sees_both_groups(
    therapist, guardian_user, documents, library, signed_in
):
    own = active_relationship(therapist, full_name="Sam Okafor", email="sam@example.com")
    mine = assign_one(own, library["gad7"])

    response = signed_in(guardian_user).get("/portal/documents/")

    assert sorted(listed(response)) == sorted(
        [str(documents["ava"].public_id), str(mine.public_id)]
    )
    assert response.content.decode().count("<h3>For ") == 1


@pytest.mark.parametrize(
    ("persona", "others"),
    [
        ("client_user", ["ava", "leo", "noah"]),
        ("guardian_user", ["maya", "leo", "noah"]),
    ],
)
def test_nobody_opens_another_clients_document(request, documents, persona, others, signed_in):
    browser = signed_in(request.getfixturevalue(persona))

    for key in others:
        document = documents[key]
        assert browser.get(url(document)).status_code == 404
        assert browser.post(url(document), {"save": "1", "q1": "3"}).status_code == 404
        assert browser.get(url(document, "pdf/")).status_code == 404
        assert fresh(document).status == DocumentStatus.ASSIGNED


def test_another_clients_submitted_answers_stay_hidden(
    client_user, documents, therapist, signed_in
):
    noah = documents["noah"]
    submit(noah, noah.relationship.client.account, answers_for("gad7", 18))

    browser = signed_in(client_user)

    assert browser.get(url(noah)).status_code == 404
    assert browser.get(url(noah, "pdf/")).status_code == 404


@pytest.mark.parametrize("persona", ["therapist", "supervisor", "colleague", "practice_admin"])
def test_staff_have_no_portal(request, documents, persona, signed_in):
    browser = signed_in(request.getfixturevalue(persona))
    document = documents["maya"]

    assert browser.get("/portal/documents/").status_code == 404
    assert browser.get(url(document)).status_code == 404
    assert browser.post(url(document), {"save": "1", "q1": "3"}).status_code == 404
    assert browser.get(url(document, "pdf/")).status_code == 404
    assert fresh(document).answers == {}


def test_signed_out_visitors_are_sent_to_sign_in(client, documents):
    response = client.get(url(documents["maya"]))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_documents_leave_the_portal_when_the_client_is_archived(
    client_user, active_client, documents, signed_in
):
    client_services.relationship_archive(relationship=active_client, actor=active_client.therapist)
    browser = signed_in(client_user)

    assert listed(browser.get("/portal/documents/")) == []
    assert browser.get(url(documents["maya"])).status_code == 404


# Filling in --------------------------------------------------------------------------------------
def test_an_open_document_shows_its_questions(client_user, documents, signed_in):
    response = signed_in(client_user).get(url(documents["maya"]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Little interest or pleasure in doing things" in html
    assert html.count('name="q1"') == 4  # the four answers, as radio buttons
    assert 'name="submit"' in html
    assert 'name="save"' in html


def test_saving_progress_keeps_the_answers_for_later(client_user, documents, signed_in):
    document = documents["maya"]
    browser = signed_in(client_user)

    response = browser.post(url(document), {"save": "1", "q1": "2", "q2": "0"})

    assert response.status_code == 302
    assert response["Location"] == url(document)
    stored = fresh(document)
    assert stored.status == DocumentStatus.IN_PROGRESS
    assert stored.answers == {"q1": "2", "q2": "0"}
    again = browser.get(url(document)).content.decode()
    assert re.search(r'<input[^>]*name="q1"[^>]*value="2"[^>]*checked', again)
    assert "In progress" in again


def test_an_answer_out_of_range_is_refused_when_saving(client_user, documents, signed_in):
    document = documents["maya"]

    response = signed_in(client_user).post(url(document), {"save": "1", "q1": "4"})

    assert response.status_code == 200
    assert field_errors(response, "q1") == [
        "Select a valid choice. 4 is not one of the available choices."
    ]
    assert fresh(document).status == DocumentStatus.ASSIGNED
    assert fresh(document).answers == {}


def test_submitting_with_missing_answers_marks_each_and_changes_nothing(
    client_user, documents, signed_in
):
    document = documents["maya"]
    answers = answers_for("phq9", 10)
    del answers["q4"], answers["q9"]

    response = signed_in(client_user).post(url(document), {"submit": "1", **answers})

    assert response.status_code == 200
    assert field_errors(response, "q4") == ["Answer this question."]
    assert field_errors(response, "q9") == ["Answer this question."]
    assert field_errors(response, "q1") == []
    assert field_errors(response, "difficulty") == []  # optional
    assert "Some answers need your attention" in response.content.decode()
    stored = fresh(document)
    assert stored.status == DocumentStatus.ASSIGNED
    assert stored.answers == {}
    assert stored.submitted_at is None


def test_value_ranges_of_a_practice_form_are_checked_on_the_server(
    therapist, active_client, client_user, signed_in
):
    template = services.template_create(
        practice=therapist.membership.practice,
        actor=therapist,
        title="Sleep check-in",
        intro="",
        fields=[
            {"type": "number", "label": "Hours slept", "min": 0, "max": 24},
            {"type": "scale", "label": "Rested", "min": 1, "max": 5},
            {"type": "long_text", "label": "Notes", "required": False},
        ],
    )
    document = assign_one(active_client, template.versions.get())

    response = signed_in(client_user).post(
        url(document), {"submit": "1", "f1": "30", "f2": "9", "f3": "x" * 5001}
    )

    assert field_errors(response, "f1") == ["Ensure this value is less than or equal to 24."]
    assert field_errors(response, "f2") == [
        "Select a valid choice. 9 is not one of the available choices."
    ]
    assert field_errors(response, "f3") == [
        "Ensure this value has at most 5000 characters (it has 5001)."
    ]
    assert fresh(document).status == DocumentStatus.ASSIGNED
    response = signed_in(client_user).post(url(document), {"submit": "1", "f1": "7.5", "f2": "4"})
    assert response.status_code == 302
    assert fresh(document).answers == {"f1": "7.5", "f2": "4"}
    assert fresh(document).status == DocumentStatus.COMPLETED


def test_submitting_a_questionnaire_completes_it(client_user, documents, signed_in):
    document = documents["maya"]

    response = signed_in(client_user).post(
        url(document), {"submit": "1", **answers_for("phq9", 16), "difficulty": "somewhat"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/portal/documents/"
    assert shown_messages(response) == [
        "PHQ-9 (Patient Health Questionnaire) submitted. Thank you."
    ]
    stored = fresh(document)
    assert stored.status == DocumentStatus.COMPLETED
    assert (stored.score, stored.severity) == (16, "Moderately severe")
    assert stored.answers["difficulty"] == "somewhat"


def test_signing_needs_the_typed_name_and_the_box(guardian_user, documents, signed_in):
    document = documents["ava"]
    browser = signed_in(guardian_user)

    response = browser.post(url(document), {"submit": "1", "understood": "yes"})

    assert response.status_code == 200
    assert field_errors(response, "typed_name") == ["Type your full name to sign."]
    assert field_errors(response, "consent") == ["Tick the box to agree to sign electronically."]
    response = browser.post(
        url(document), {"submit": "1", "understood": "yes", "typed_name": "Sam Okafor"}
    )
    assert field_errors(response, "consent") == ["Tick the box to agree to sign electronically."]
    assert field_errors(response, "typed_name") == []
    assert fresh(document).status == DocumentStatus.ASSIGNED
    assert not DocumentSignature.objects.exists()


def test_a_missing_answer_blocks_signing_too(guardian_user, documents, signed_in):
    document = documents["ava"]

    response = signed_in(guardian_user).post(
        url(document), {"submit": "1", "typed_name": "Sam Okafor", "consent": "on"}
    )

    assert field_errors(response, "understood") == ["Answer this question."]
    assert not DocumentSignature.objects.exists()


def test_the_guardian_signs_the_childs_consent(guardian_user, documents, signed_in):
    document = documents["ava"]

    response = signed_in(guardian_user).post(
        url(document),
        {"submit": "1", "understood": "yes", "typed_name": "Sam Okafor", "consent": "on"},
    )

    assert response.status_code == 302
    assert shown_messages(response) == [
        "Informed consent for treatment signed and submitted. Thank you."
    ]
    stored = fresh(document)
    assert stored.status == DocumentStatus.SIGNED
    assert stored.signature.signer == guardian_user
    assert stored.signature.typed_name == "Sam Okafor"


def test_saving_progress_on_a_signable_document_does_not_sign(guardian_user, documents, signed_in):
    document = documents["ava"]

    signed_in(guardian_user).post(
        url(document), {"save": "1", "understood": "yes", "typed_name": "Sam", "consent": "on"}
    )

    stored = fresh(document)
    assert stored.status == DocumentStatus.IN_PROGRESS
    assert not DocumentSignature.objects.exists()


# After submitting --------------------------------------------------------------------------------
def test_a_submitted_document_is_read_only(client_user, documents, signed_in):
    document = submit(documents["maya"], client_user, answers_for("phq9", 16))
    browser = signed_in(client_user)

    response = browser.get(url(document))

    html = response.content.decode()
    assert response.status_code == 200
    assert '<form method="post" novalidate class="document-form">' not in html
    assert 'name="q1"' not in html
    assert "Submitted documents can't be changed." in html
    assert "Nearly every day" in html  # the answers, as chosen
    assert "Moderately severe" not in html  # the severity is the therapist's reading
    assert "Score" not in html


def test_a_second_post_changes_nothing(client_user, documents, signed_in):
    document = submit(documents["maya"], client_user, answers_for("phq9", 16))
    before = fresh(document)

    for action in ("save", "submit"):
        response = signed_in(client_user).post(
            url(document), {action: "1", **answers_for("phq9", 0)}
        )
        assert response.status_code == 302
        assert response["Location"] == url(document)
        assert shown_messages(response) == [
            "This document has been submitted and can no longer be changed."
        ]

    after = fresh(document)
    assert (after.answers, after.score, after.content, after.submitted_at) == (
        before.answers,
        before.score,
        before.content,
        before.submitted_at,
    )


def test_a_signed_document_shows_who_signed(guardian_user, documents, signed_in):
    document = submit(
        documents["ava"],
        guardian_user,
        {"understood": "yes"},
        typed_name="Sam Okafor",
        consent=True,
    )

    html = signed_in(guardian_user).get(url(document)).content.decode()

    assert "Signed electronically by Sam Okafor" in html
    assert 'name="typed_name"' not in html


def test_a_client_reads_submitted_and_signed_times_in_the_practices_zone(
    active_client, client_user, library, signed_in
):
    # The practice is in New York; the client's request runs in no zone of its own.
    document = fresh(assign_one(active_client, library["intake"]))
    submit(document, client_user, INTAKE_ANSWERS, typed_name="Maya Patel", consent=True)
    document = fresh(document)
    new_york, utc = ZoneInfo("America/New_York"), ZoneInfo("UTC")
    browser = signed_in(client_user)

    html = browser.get(url(document)).content.decode()
    local = document.submitted_at.astimezone(new_york)
    assert f"Submitted {local:%-d %b %Y, %H:%M} {local:%Z}" in html
    assert f"{document.submitted_at.astimezone(utc):%-d %b %Y, %H:%M}" not in html
    signed = document.signature.signed_at.astimezone(new_york)
    assert f"on {signed:%-d %b %Y, %H:%M} {signed:%Z}" in html
    text = pdf_text(browser.get(url(document, "pdf/")))
    assert f"{local:%-d %B %Y, %H:%M} {local:%Z}" in text


# The PDF -----------------------------------------------------------------------------------------
def test_an_open_document_has_no_pdf_yet(client_user, documents, signed_in):
    response = signed_in(client_user).get(url(documents["maya"], "pdf/"))

    assert response.status_code == 302
    assert response["Location"] == url(documents["maya"])


def test_the_clients_pdf_has_the_signature_block_and_no_score(
    active_client, client_user, therapist, library, signed_in
):
    document = assign_one(active_client, library["intake"])
    submit(document, client_user, INTAKE_ANSWERS, typed_name="Maya Patel", consent=True)

    text = pdf_text(signed_in(client_user).get(url(document, "pdf/")))

    assert "Intake form" in text
    assert "Maya Patel" in text
    assert "Electronic signature" in text
    assert "Signed by Maya Patel (account maya@example.com)" in text
    assert "SHA-256 of the signed text:" in text
    assert fresh(document).signature.sha256 in text.replace(" ", "")
    assert "Worry keeps me up at night." in text


def test_the_score_is_on_the_therapists_pdf_only(client_user, therapist, documents, signed_in):
    document = submit(documents["maya"], client_user, answers_for("phq9", 16, q9=1))

    client_copy = pdf_text(signed_in(client_user).get(url(document, "pdf/")))
    therapist_copy = pdf_text(
        signed_in(therapist).get(
            f"/clients/{document.relationship.public_id}/documents/{document.public_id}/pdf/"
        )
    )

    assert "Little interest or pleasure in doing things" in client_copy
    for hidden in ("Score", "Moderately severe", "immediate attention"):
        assert hidden not in client_copy
        assert hidden in therapist_copy
    assert "16 — Moderately severe" in therapist_copy


def test_the_clients_pdf_is_rendered_from_named_columns_not_models(
    active_client, client_user, library, signed_in
):
    """Decision 0006: no model instance reaches the template of the client's copy."""
    document = assign_one(active_client, library["intake"])
    submit(document, client_user, INTAKE_ANSWERS, typed_name="Maya Patel", consent=True)

    response = signed_in(client_user).get(url(document, "pdf/"))

    assert response.status_code == 200
    assert [t.name for t in response.templates] == ["documents/pdf.html"]
    context = response.context
    assert context["document"].title == "Intake form"
    assert context["document"].signature.typed_name == "Maya Patel"
    assert context["document"].score is None
    assert model_instances(context) == []


def test_the_model_check_finds_a_model_in_a_context(active_client):
    """The check above can fail: a model anywhere in the context is found."""
    assert model_instances([{"rows": ({"x": active_client},)}]) == [active_client]


def test_the_pdf_is_a_download(client_user, documents, signed_in):
    document = submit(documents["maya"], client_user, answers_for("phq9", 3))

    response = signed_in(client_user).get(url(document, "pdf/"))

    assert response["Content-Disposition"] == (
        'attachment; filename="phq-9--patient-health-questionnaire.pdf"'
    )
    assert AssignedDocument.objects.get(pk=document.pk).status == DocumentStatus.COMPLETED

"""Emails (DOC-2): one per assignment batch, to the client or guardian, no clinical text."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from caseload.documents import services
from caseload.documents.tests.helpers import answers_for, assign, assign_one, submit
from tests.factories import pending_relationship

pytestmark = pytest.mark.django_db

#: Nothing an email may say: document names, conditions, scores, the client's name.
CLINICAL = (
    "PHQ",
    "GAD",
    "Patient Health",
    "Anxiety",
    "depress",
    "Intake",
    "consent",
    "privacy",
    "score",
    "severe",
    "item 9",
    "dead",
    "harm",
)


def texts(message):
    return [message.subject, message.body, *(content for content, _ in message.alternatives)]


def assert_nothing_clinical(message, *names):
    for text in texts(message):
        text = re.sub(r"https?://\S+?(?=[\s\"<]|$)", "", text)  # ids in links are random
        for word in (*CLINICAL, *names):
            assert word.lower() not in text.lower(), f"{word!r} in {text!r}"


def test_one_email_per_assignment_batch_to_the_client(outbox, active_client, library, settings):
    assign(active_client, library["intake"], library["phq9"], library["gad7"], library["consent"])

    assert outbox() == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["maya@example.com"]
    assert message.subject == "You have documents to complete"
    assert f"{settings.SITE_URL}/portal/documents/" in message.body
    assert active_client.practice.name in message.body
    assert message.body.startswith("Hello,\n")
    assert_nothing_clinical(message, "Maya", "Patel", "Alice", "Rivera")


def test_each_assign_call_sends_its_own_single_email(outbox, active_client, library):
    assign(active_client, library["phq9"])
    assert outbox() == 1
    assign(active_client, library["gad7"], library["privacy"])
    assert outbox() == 1

    assert [m.to for m in mail.outbox] == [["maya@example.com"], ["maya@example.com"]]


def test_a_childs_documents_are_emailed_to_the_guardian(outbox, child_client, library):
    assign(child_client, library["intake"], library["consent"])

    outbox()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["sam@example.com"]
    assert_nothing_clinical(message, "Ava", "Okafor", "Sam")


def test_no_email_for_a_client_who_has_not_signed_up(outbox, therapist, library):
    pending = pending_relationship(therapist, full_name="Pat Pending", email="pat@example.com")
    outbox()
    mail.outbox.clear()

    assign(pending, library["intake"])

    assert outbox() == 0
    assert mail.outbox == []


def test_a_refused_assignment_sends_nothing(outbox, active_client, library):
    assign(active_client, library["phq9"])
    outbox()
    mail.outbox.clear()

    with pytest.raises(services.DocumentError):
        assign(active_client, library["phq9"])

    assert outbox() == 0
    assert mail.outbox == []


def test_a_reminder_sends_one_email_and_a_second_one_today_sends_none(
    outbox, therapist, active_client, library
):
    document = assign_one(active_client, library["gad7"])
    outbox()
    mail.outbox.clear()

    services.document_send_reminder(document=document, actor=therapist)
    with pytest.raises(services.DocumentError):
        services.document_send_reminder(document=document, actor=therapist)

    assert outbox() == 1
    (message,) = mail.outbox
    assert message.to == ["maya@example.com"]
    assert message.subject == "Reminder: documents are waiting for you"
    assert "A reminder:" in message.body
    assert_nothing_clinical(message, "Maya", "Patel")


def test_a_flagged_phq9_emails_the_therapist_once_with_nothing_clinical(
    outbox, active_client, client_user, library, settings
):
    document = assign_one(active_client, library["phq9"])
    outbox()
    mail.outbox.clear()

    submit(document, client_user, answers_for("phq9", 21, q9=3))

    assert outbox() == 1
    (message,) = mail.outbox
    assert message.to == ["alice@example.com"]
    assert message.subject == "A questionnaire response needs your attention"
    link = f"{settings.SITE_URL}/clients/{active_client.public_id}/documents/{document.public_id}/"
    assert link in message.body
    assert_nothing_clinical(message, "Maya", "Patel", "21")


@pytest.mark.parametrize(
    ("key", "answers"), [("phq9", answers_for("phq9", 24, q9=0)), ("gad7", answers_for("gad7", 21))]
)
def test_an_unflagged_questionnaire_sends_no_email(
    outbox, active_client, client_user, library, key, answers
):
    document = assign_one(active_client, library[key])
    outbox()
    mail.outbox.clear()

    submit(document, client_user, answers)

    assert outbox() == 0
    assert mail.outbox == []


def test_signing_sends_no_email(outbox, active_client, client_user, library):
    document = assign_one(active_client, library["consent"])
    outbox()
    mail.outbox.clear()

    submit(document, client_user, {"understood": "yes"}, typed_name="Maya Patel", consent=True)

    assert outbox() == 0

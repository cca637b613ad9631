"""Document services: assigning, saving progress, submitting and signing, reviewing, reminders."""

from __future__ import annotations

from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from caseload.audit.models import AuditEvent
from caseload.clients import services as client_services
from caseload.clients.models import CareState
from caseload.documents import services
from caseload.documents.models import (
    AssignedDocument,
    DocumentSignature,
    DocumentStatus,
    DocumentTemplate,
    TemplateVersion,
)
from caseload.documents.selectors import portal_notified
from caseload.documents.services import DocumentError
from caseload.documents.tests.helpers import (
    INTAKE_ANSWERS,
    answers_for,
    assign,
    assign_one,
    fresh,
    submit,
)
from caseload.lib.http import AuditContext
from caseload.practices.models import Practice
from tests.factories import pending_relationship

pytestmark = pytest.mark.django_db


def practice_today(relationship):
    """Due dates are the practice's days (New York for the factory's practice), not UTC's."""
    return timezone.localdate(timezone=ZoneInfo(relationship.practice.time_zone))


# Assigning ------------------------------------------------------------------------------------
def test_assign_creates_one_document_per_template_at_the_latest_version(
    therapist, active_client, library
):
    due = practice_today(active_client) + timedelta(days=7)

    documents = assign(active_client, library["intake"], library["phq9"], due_date=due)

    assert [d.version_id for d in documents] == [library["intake"].pk, library["phq9"].pk]
    for document in fresh(documents[0]), fresh(documents[1]):
        assert document.status == DocumentStatus.ASSIGNED
        assert document.due_date == due
        assert document.assigned_by == therapist
        assert document.answers == {}
        assert document.relationship_id == active_client.pk


def test_due_date_is_optional_and_today_is_allowed(active_client, library):
    (undated,) = assign(active_client, library["phq9"])
    (today,) = assign(active_client, library["gad7"], due_date=practice_today(active_client))

    assert undated.due_date is None
    assert today.due_date == practice_today(active_client)


def test_the_past_is_the_practices_whatever_the_hour_in_utc(active_client, library):
    """The due date is checked against the practice's today, not UTC's (the worker's)."""
    if timezone.now().astimezone(UTC).hour < 10:  # Pago Pago (UTC-11) is still on yesterday
        Practice.objects.filter(pk=active_client.practice_id).update(time_zone="Pacific/Pago_Pago")
        active_client.refresh_from_db()
        today = practice_today(active_client)
        assert today < timezone.localdate(timezone=UTC)
        (made,) = assign(active_client, library["phq9"], due_date=today)
        assert made.due_date == today
    else:  # Kiritimati (UTC+14) is already on tomorrow: UTC's today is its yesterday
        Practice.objects.filter(pk=active_client.practice_id).update(time_zone="Pacific/Kiritimati")
        active_client.refresh_from_db()
        yesterday = practice_today(active_client) - timedelta(days=1)
        assert yesterday == timezone.localdate(timezone=UTC)
        with pytest.raises(DocumentError, match="can't be in the past"):
            assign(active_client, library["phq9"], due_date=yesterday)


def test_assign_refuses_a_past_due_date(active_client, library):
    with pytest.raises(DocumentError) as raised:
        assign(
            active_client,
            library["phq9"],
            due_date=practice_today(active_client) - timedelta(days=1),
        )

    assert raised.value.field == "due_date"
    assert str(raised.value) == "The due date can't be in the past."
    assert not AssignedDocument.objects.exists()


def test_assign_refuses_nothing_chosen(active_client, library):
    with pytest.raises(DocumentError, match="Choose at least one document") as raised:
        assign(active_client)

    assert raised.value.field == "templates"


def test_assign_refuses_an_archived_client(active_client, library):
    client_services.relationship_archive(relationship=active_client, actor=active_client.therapist)

    with pytest.raises(DocumentError, match="Restore this client before changing their record"):
        assign(active_client, library["phq9"])
    assert not AssignedDocument.objects.exists()


def test_assign_refuses_a_client_awaiting_approval(colleague, active_client, library):
    bobs = pending_relationship(colleague, full_name="Maya Patel", email="maya@example.com")
    assert bobs.state == CareState.AWAITING_CONSENT

    with pytest.raises(DocumentError, match="hasn't approved your connection request yet"):
        assign(bobs, library["phq9"])
    assert not AssignedDocument.objects.exists()


@pytest.mark.parametrize("persona", ["colleague", "supervisor", "outsider"])
def test_assign_refuses_anyone_but_the_clients_therapist(request, active_client, library, persona):
    user = request.getfixturevalue(persona)

    with pytest.raises(DocumentError, match="Only the client's therapist assigns documents"):
        assign(active_client, library["phq9"], actor=user)
    assert not AssignedDocument.objects.exists()


def test_assign_refuses_a_document_that_is_still_open(active_client, client_user, library):
    first = assign_one(active_client, library["phq9"])
    services.document_save_progress(document=first, actor=client_user, answers={"q1": "1"})

    with pytest.raises(DocumentError) as raised:
        assign(active_client, library["gad7"], library["phq9"])

    assert raised.value.field == "templates"
    assert str(raised.value) == (
        "Already assigned and not yet completed: PHQ-9 (Patient Health Questionnaire)."
    )
    assert AssignedDocument.objects.count() == 1  # nothing of the batch was assigned


def test_a_completed_questionnaire_can_be_assigned_again(active_client, client_user, library):
    first = assign_one(active_client, library["phq9"])
    submit(first, client_user, answers_for("phq9", 3))

    again = assign_one(active_client, library["phq9"])

    assert again.pk != first.pk
    assert again.status == DocumentStatus.ASSIGNED


def test_the_same_template_for_another_client_is_not_a_duplicate(
    therapist, active_client, child_client, library
):
    assign_one(active_client, library["phq9"])

    assert assign_one(child_client, library["phq9"]).relationship_id == child_client.pk


def test_a_client_who_has_not_signed_up_can_be_assigned_documents(therapist, library):
    pending = pending_relationship(therapist, full_name="Pat Pending", email="pat@example.com")
    assert pending.state == CareState.INVITED

    assert assign_one(pending, library["intake"]).status == DocumentStatus.ASSIGNED


def test_the_portal_is_told_only_for_active_care_with_an_account(
    therapist, active_client, child_client
):
    pending = pending_relationship(therapist, full_name="Pat Pending", email="pat@example.com")

    assert portal_notified(active_client)
    assert portal_notified(child_client)  # the guardian signs in for the child
    assert not portal_notified(pending)  # not signed up yet
    client_services.relationship_archive(relationship=active_client, actor=therapist)
    active_client.refresh_from_db()
    assert not portal_notified(active_client)


def test_assigning_audits_the_actor_and_where_the_action_came_from(
    therapist, active_client, library
):
    context = AuditContext(ip_address="192.0.2.44", request_id="req-1", user_agent="Browser/1")

    (document,) = services.document_assign(
        relationship=active_client,
        versions=[library["phq9"]],
        due_date=None,
        actor=therapist,
        audit_context=context,
    )

    event = AuditEvent.objects.get(action="document.assign")
    assert (event.actor, event.client_id, event.object_id) == (
        therapist,
        active_client.client_id,
        str(document.public_id),
    )
    assert (event.ip_address, event.request_id, event.user_agent) == (
        "192.0.2.44",
        "req-1",
        "Browser/1",
    )


# Saving progress --------------------------------------------------------------------------------
def test_save_progress_moves_to_in_progress_and_keeps_the_answers(
    active_client, client_user, library
):
    document = assign_one(active_client, library["intake"])

    saved = services.document_save_progress(
        document=document,
        actor=client_user,
        answers={"phone": "555-0101", "unknown": "dropped", "signature": "forged"},
    )

    stored = fresh(saved)
    assert stored.status == DocumentStatus.IN_PROGRESS
    assert stored.answers == {"phone": "555-0101"}
    assert stored.progress_saved_at is not None
    assert stored.submitted_at is None
    assert stored.content == ""


def test_saving_again_replaces_the_answers(active_client, client_user, library):
    document = assign_one(active_client, library["intake"])
    services.document_save_progress(document=document, actor=client_user, answers={"phone": "1"})

    services.document_save_progress(
        document=document, actor=client_user, answers={"address": "Elm St"}
    )

    assert fresh(document).answers == {"address": "Elm St"}


def test_save_progress_is_refused_after_submitting(active_client, client_user, library):
    document = submit(
        assign_one(active_client, library["gad7"]), client_user, answers_for("gad7", 4)
    )

    with pytest.raises(DocumentError, match="has been submitted and can no longer be changed"):
        services.document_save_progress(document=document, actor=client_user, answers={"q1": "3"})
    assert fresh(document).answers == answers_for("gad7", 4)


def test_save_progress_is_refused_once_the_client_is_archived(active_client, client_user, library):
    document = assign_one(active_client, library["gad7"])
    client_services.relationship_archive(relationship=active_client, actor=active_client.therapist)

    with pytest.raises(DocumentError, match="can no longer be filled in"):
        services.document_save_progress(document=document, actor=client_user, answers={"q1": "3"})
    assert fresh(document).status == DocumentStatus.ASSIGNED


@pytest.mark.parametrize("persona", ["therapist", "guardian_user", "supervisor"])
def test_only_the_client_fills_in_their_document(
    request, active_client, client_user, library, persona
):
    document = assign_one(active_client, library["gad7"])
    someone_else = request.getfixturevalue(persona)

    with pytest.raises(DocumentError, match="Only the client, or a child's guardian"):
        services.document_save_progress(document=document, actor=someone_else, answers={})
    with pytest.raises(DocumentError, match="Only the client, or a child's guardian"):
        submit(document, someone_else, answers_for("gad7", 4))
    assert fresh(document).status == DocumentStatus.ASSIGNED
    assert not AuditEvent.objects.filter(action__in=["document.save_progress", "document.submit"])


def test_a_childs_document_is_filled_in_by_the_guardian_only(
    child_client, guardian_user, client_user, library
):
    document = assign_one(child_client, library["gad7"])

    with pytest.raises(DocumentError, match="Only the client, or a child's guardian"):
        submit(document, client_user, answers_for("gad7", 4))
    submit(document, guardian_user, answers_for("gad7", 4))

    assert fresh(document).submitted_by == guardian_user


# Submitting -------------------------------------------------------------------------------------
def test_submitting_a_questionnaire_completes_and_scores_it(active_client, client_user, library):
    document = assign_one(active_client, library["phq9"])
    services.document_save_progress(document=document, actor=client_user, answers={"q1": "2"})

    submit(document, client_user, {**answers_for("phq9", 12), "difficulty": "very"})

    stored = fresh(document)
    assert stored.status == DocumentStatus.COMPLETED
    assert (stored.score, stored.severity, stored.flagged) == (12, "Moderate", False)
    assert stored.answers["difficulty"] == "very"
    assert stored.submitted_by == client_user
    assert stored.submitted_at is not None
    assert not DocumentSignature.objects.filter(document=stored).exists()


def test_the_signature_records_the_audit_contexts_address_and_browser(
    active_client, client_user, library
):
    document = assign_one(active_client, library["consent"])

    services.document_submit(
        document=document,
        actor=client_user,
        answers={"understood": "yes"},
        typed_name="Maya Patel",
        consent=True,
        audit_context=AuditContext(ip_address="198.51.100.9", user_agent="Browser/2"),
    )

    signature = fresh(document).signature
    assert (signature.ip_address, signature.user_agent) == ("198.51.100.9", "Browser/2")
    signed = AuditEvent.objects.get(action="document.sign")
    assert (signed.actor, signed.ip_address) == (client_user, "198.51.100.9")


def test_signing_without_a_request_records_no_address(active_client, client_user, library):
    document = assign_one(active_client, library["consent"])

    submit(document, client_user, {"understood": "yes"}, typed_name="Maya Patel", consent=True)

    signature = fresh(document).signature
    assert (signature.ip_address, signature.user_agent) == (None, "")


def test_submitting_gad7_stores_its_score(active_client, client_user, library):
    document = submit(
        assign_one(active_client, library["gad7"]), client_user, answers_for("gad7", 15)
    )

    stored = fresh(document)
    assert (stored.score, stored.severity, stored.flagged) == (15, "Severe", False)


def test_a_form_without_scoring_has_no_score(active_client, client_user, library, therapist):
    template = services.template_create(
        practice=therapist.membership.practice,
        actor=therapist,
        title="Sleep diary",
        intro="",
        fields=[{"type": "short_text", "label": "Bedtime"}],
    )
    document = assign_one(active_client, template.versions.get())

    submit(document, client_user, {"f1": "23:00"})

    stored = fresh(document)
    assert stored.status == DocumentStatus.COMPLETED
    assert (stored.score, stored.severity, stored.flagged) == (None, "", False)


def test_an_incomplete_questionnaire_is_refused_and_nothing_changes(
    active_client, client_user, library
):
    document = assign_one(active_client, library["phq9"])
    answers = answers_for("phq9", 12)
    del answers["q9"]

    with pytest.raises(DocumentError, match=r"better off dead.*: Answer this question") as refused:
        submit(document, client_user, answers)

    assert refused.value.field == "q9"
    stored = fresh(document)
    assert stored.status == DocumentStatus.ASSIGNED
    assert stored.score is None
    assert stored.content == ""


@pytest.mark.parametrize("key", ["consent", "privacy", "intake"])
def test_submitting_a_signable_document_signs_it(active_client, client_user, library, key):
    answers = {"consent": {"understood": "yes"}, "privacy": {"received": "yes"}}.get(
        key, INTAKE_ANSWERS
    )
    document = assign_one(active_client, library[key])

    submit(document, client_user, answers, typed_name="  Maya   Patel ", consent=True)

    stored = fresh(document)
    assert stored.status == DocumentStatus.SIGNED
    signature = stored.signature
    assert signature.signer == client_user
    assert signature.typed_name == "Maya Patel"
    assert signature.signed_at == stored.submitted_at
    assert "Signed electronically by: Maya Patel (account maya@example.com)" in signature.content
    assert signature.content.startswith(stored.content)


@pytest.mark.parametrize(
    ("typed_name", "consent", "field", "message"),
    [
        ("", True, "typed_name", "Type your full name to sign."),
        ("   ", True, "typed_name", "Type your full name to sign."),
        ("x" * 201, True, "typed_name", "The name is too long."),
        ("Maya Patel", False, "consent", "Tick the box to agree to sign electronically."),
    ],
)
def test_signing_needs_a_typed_name_and_consent(
    active_client, client_user, library, typed_name, consent, field, message
):
    document = assign_one(active_client, library["consent"])

    with pytest.raises(DocumentError) as raised:
        submit(document, client_user, {"understood": "yes"}, typed_name=typed_name, consent=consent)

    assert (raised.value.field, str(raised.value)) == (field, message)
    stored = fresh(document)
    assert stored.status == DocumentStatus.ASSIGNED
    assert not DocumentSignature.objects.exists()


def test_a_document_is_submitted_once(active_client, client_user, library):
    document = submit(
        assign_one(active_client, library["gad7"]), client_user, answers_for("gad7", 4)
    )

    with pytest.raises(DocumentError, match="has been submitted"):
        submit(document, client_user, answers_for("gad7", 20))
    assert fresh(document).score == 4


def test_a_guardian_submits_the_childs_document(child_client, guardian_user, library):
    document = assign_one(child_client, library["consent"])

    submit(document, guardian_user, {"understood": "yes"}, typed_name="Sam Okafor", consent=True)

    stored = fresh(document)
    assert stored.status == DocumentStatus.SIGNED
    assert stored.submitted_by == guardian_user
    assert stored.signature.signer == guardian_user


# Reviewing --------------------------------------------------------------------------------------
def test_the_therapist_marks_a_submitted_document_reviewed(
    therapist, active_client, client_user, library
):
    document = submit(
        assign_one(active_client, library["phq9"]), client_user, answers_for("phq9", 2)
    )

    services.document_mark_reviewed(document=document, actor=therapist)

    stored = fresh(document)
    assert stored.status == DocumentStatus.REVIEWED
    assert stored.reviewed_by == therapist
    assert stored.reviewed_at is not None
    assert stored.score == 2  # the score and answers stay


def test_a_signed_document_stays_signed_when_reviewed(
    therapist, active_client, client_user, library
):
    document = assign_one(active_client, library["privacy"])
    submit(document, client_user, {"received": "yes"}, typed_name="Maya Patel", consent=True)

    services.document_mark_reviewed(document=document, actor=therapist)

    stored = fresh(document)
    assert stored.status == DocumentStatus.REVIEWED
    assert stored.signature.typed_name == "Maya Patel"


@pytest.mark.parametrize("progress", [False, True])
def test_reviewing_needs_a_submitted_document(
    therapist, active_client, client_user, library, progress
):
    document = assign_one(active_client, library["phq9"])
    if progress:
        services.document_save_progress(document=document, actor=client_user, answers={"q1": "1"})

    with pytest.raises(DocumentError, match="hasn't completed this document yet"):
        services.document_mark_reviewed(document=document, actor=therapist)
    assert fresh(document).reviewed_at is None


@pytest.mark.parametrize("persona", ["supervisor", "colleague", "client_user"])
def test_only_the_clients_therapist_reviews(request, active_client, client_user, library, persona):
    document = submit(
        assign_one(active_client, library["phq9"]), client_user, answers_for("phq9", 2)
    )

    with pytest.raises(DocumentError, match="Only the client's therapist"):
        services.document_mark_reviewed(document=document, actor=request.getfixturevalue(persona))
    assert fresh(document).status == DocumentStatus.COMPLETED


def test_reviewing_twice_is_refused(therapist, active_client, client_user, library):
    document = submit(
        assign_one(active_client, library["phq9"]), client_user, answers_for("phq9", 2)
    )
    services.document_mark_reviewed(document=document, actor=therapist)
    first = fresh(document).reviewed_at

    with pytest.raises(DocumentError, match="already marked reviewed"):
        services.document_mark_reviewed(document=document, actor=therapist)
    assert fresh(document).reviewed_at == first


# Templates --------------------------------------------------------------------------------------
def test_template_update_adds_a_version_and_nothing_when_unchanged(therapist, active_client):
    fields = [{"type": "short_text", "label": "Bedtime"}]
    template = services.template_create(
        practice=therapist.membership.practice,
        actor=therapist,
        title="Sleep",
        intro="",
        fields=fields,
    )
    document = assign_one(active_client, template.versions.get())

    same = services.template_update(
        template=template, actor=therapist, title="Sleep", intro="", fields=fields
    )
    changed = services.template_update(
        template=template,
        actor=therapist,
        title="Sleep diary",
        intro="Each night",
        fields=[*fields, {"type": "yes_no", "label": "Woke up?"}],
    )

    assert same.number == 1
    assert changed.number == 2
    assert template.versions.count() == 2
    template.refresh_from_db()
    assert template.title == "Sleep diary"
    assert fresh(document).version.number == 1
    assert len(fresh(document).version.fields) == 1


def test_library_templates_are_not_edited_or_archived(therapist, library):
    template = library["phq9"].template

    with pytest.raises(DocumentError, match="can't be edited"):
        services.template_update(
            template=template, actor=therapist, title="Mine", intro="", fields=[{"label": "Q"}]
        )
    with pytest.raises(DocumentError, match="can't be archived"):
        services.template_archive(template=template, actor=therapist)
    assert TemplateVersion.objects.filter(template=template).count() == 1


def test_an_archived_template_is_restored_before_editing(therapist):
    template = services.template_create(
        practice=therapist.membership.practice,
        actor=therapist,
        title="Sleep",
        intro="",
        fields=[{"label": "Bedtime"}],
    )
    services.template_archive(template=template, actor=therapist)

    with pytest.raises(DocumentError, match="Restore this template"):
        services.template_update(
            template=template, actor=therapist, title="Sleep", intro="", fields=[{"label": "Other"}]
        )


def test_only_members_of_the_practice_change_its_templates(therapist, outsider):
    template = services.template_create(
        practice=therapist.membership.practice,
        actor=therapist,
        title="Sleep",
        intro="",
        fields=[{"label": "Bedtime"}],
    )

    with pytest.raises(DocumentError, match="Only members of the practice"):
        services.template_create(
            practice=therapist.membership.practice,
            actor=outsider,
            title="Planted",
            intro="",
            fields=[{"label": "Q"}],
        )
    with pytest.raises(DocumentError, match="Only members of the practice"):
        services.template_update(
            template=template, actor=outsider, title="Changed", intro="", fields=[{"label": "Q"}]
        )
    with pytest.raises(DocumentError, match="Only members of the practice"):
        services.template_archive(template=template, actor=outsider)

    template.refresh_from_db()
    assert (template.title, template.archived_at) == ("Sleep", None)
    assert template.versions.count() == 1
    assert not DocumentTemplate.objects.filter(title="Planted").exists()


def test_template_create_validates_the_fields(therapist):
    with pytest.raises(ValidationError, match="one signature at most"):
        services.template_create(
            practice=therapist.membership.practice,
            actor=therapist,
            title="Two signatures",
            intro="",
            fields=[{"type": "signature", "label": "A"}, {"type": "signature", "label": "B"}],
        )


# Reminders --------------------------------------------------------------------------------------
def test_a_reminder_is_sent_at_most_once_a_day(therapist, active_client, library):
    document = assign_one(active_client, library["phq9"])

    services.document_send_reminder(document=document, actor=therapist)
    first = fresh(document).reminded_at
    with pytest.raises(DocumentError, match="already sent in the last 24 hours"):
        services.document_send_reminder(document=document, actor=therapist)
    assert fresh(document).reminded_at == first

    AssignedDocument.objects.filter(pk=document.pk).update(
        reminded_at=timezone.now() - timedelta(hours=24, minutes=1)
    )
    services.document_send_reminder(document=document, actor=therapist)
    assert fresh(document).reminded_at > first


def test_a_reminder_23_hours_later_is_still_refused(therapist, active_client, library):
    document = assign_one(active_client, library["phq9"])
    AssignedDocument.objects.filter(pk=document.pk).update(
        reminded_at=timezone.now() - timedelta(hours=23, minutes=59)
    )

    with pytest.raises(DocumentError, match="last 24 hours"):
        services.document_send_reminder(document=document, actor=therapist)


def test_no_reminder_for_a_submitted_document(therapist, active_client, client_user, library):
    document = submit(
        assign_one(active_client, library["phq9"]), client_user, answers_for("phq9", 1)
    )

    with pytest.raises(DocumentError, match="already completed"):
        services.document_send_reminder(document=document, actor=therapist)
    assert fresh(document).reminded_at is None


def test_no_reminder_from_someone_else_or_to_a_client_not_signed_up(
    therapist, colleague, active_client, library
):
    document = assign_one(active_client, library["phq9"])
    pending = pending_relationship(therapist, full_name="Pat Pending", email="pat@example.com")
    waiting = assign_one(pending, library["phq9"])

    with pytest.raises(DocumentError, match="active clients of yours only"):
        services.document_send_reminder(document=document, actor=colleague)
    with pytest.raises(DocumentError, match="active clients of yours only"):
        services.document_send_reminder(document=waiting, actor=therapist)
    assert fresh(document).reminded_at is None


def test_the_service_itself_refuses_answers_outside_the_form(active_client, client_user, library):
    """Whoever calls it, submitting checks values as the portal form does (V4)."""
    document = assign_one(active_client, library["phq9"])
    answers = answers_for("phq9", 12)
    answers["q3"] = "7"  # not one of the scale's options

    with pytest.raises(DocumentError) as refused:
        submit(document, client_user, answers)

    assert refused.value.field == "q3"
    assert fresh(document).status == DocumentStatus.ASSIGNED


def test_an_acknowledgement_must_be_yes_to_sign(active_client, client_user, library):
    document = assign_one(active_client, library["consent"])

    with pytest.raises(DocumentError, match="Answer \u201cYes\u201d to submit") as refused:
        services.document_submit(
            document=document,
            actor=client_user,
            answers={"understood": "no"},
            typed_name="Maya Patel",
            consent=True,
        )

    assert refused.value.field == "understood"
    assert not DocumentSignature.objects.filter(document=document).exists()
    # Saving progress with "No" is allowed: the person may come back after asking.
    services.document_save_progress(
        document=document, actor=client_user, answers={"understood": "no"}
    )
    assert fresh(document).answers == {"understood": "no"}


def test_a_date_of_birth_in_the_future_is_refused(active_client, client_user, library):
    document = assign_one(active_client, library["intake"])

    with pytest.raises(DocumentError, match="Enter a date in the past") as refused:
        services.document_save_progress(
            document=document, actor=client_user, answers={"date_of_birth": "2090-01-01"}
        )

    assert refused.value.field == "date_of_birth"

"""The crisis response: a client whose answers say they may be in danger (PHQ-9 item 9 above
0, an intake safety question answered "yes") is told at once where to turn — the practice's
crisis text, its phone, and that the portal isn't monitored in real time — and the
therapist's alert closes only with a recorded, audited "Followed up"."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from caseload.audit.models import AuditEvent
from caseload.documents import services
from caseload.documents.models import FlagFollowUp
from caseload.documents.tests.helpers import INTAKE_ANSWERS, answers_for, assign_one, fresh, submit
from caseload.practices.services import practice_update_settings
from tests.html import text_by_id

pytestmark = pytest.mark.django_db

US_CRISIS = "call or text 988, or call 911 in an emergency"
NOT_MONITORED = "This portal isn't monitored in real time"


def portal_url(document: Any, suffix: str = "") -> str:
    return f"/portal/documents/{document.public_id}/{suffix}"


def phq9_post(total: int, item9: int) -> dict[str, str]:
    return {"submit": "1", **answers_for("phq9", total, q9=item9)}


def page_text(response: Any) -> str:
    return " ".join(response.content.decode().split())


@pytest.fixture
def phq9_document(active_client: Any, library: dict[str, Any]) -> Any:
    return assign_one(active_client, library["phq9"])


@pytest.fixture
def flagged(phq9_document: Any, client_user: Any) -> Any:
    return submit(phq9_document, client_user, answers_for("phq9", 12, q9=2))


# The client: the confirmation page ------------------------------------------------------
def test_phq9_item9_above_zero_shows_the_crisis_text_at_once(
    client_user: Any, phq9_document: Any, practice: Any, signed_in: Any
) -> None:
    practice.phone = "+1 617 555 0100"
    practice.save(update_fields=["phone"])
    browser = signed_in(client_user)

    response = browser.post(portal_url(phq9_document), phq9_post(10, item9=1))

    assert response.status_code == 302
    assert response["Location"] == portal_url(phq9_document, "submitted/")
    page = browser.get(response["Location"])
    assert page.status_code == 200
    text = page_text(page)
    assert "PHQ-9 (Patient Health Questionnaire) submitted. Thank you." in text
    assert "If you are in danger, get help now" in text
    assert 'role="alert"' in page.content.decode()
    assert US_CRISIS in text
    assert "+1 617 555 0100" in text
    assert NOT_MONITORED in text
    assert fresh(phq9_document).flagged


def test_item9_above_zero_saved_without_submitting_shows_the_crisis_text_at_once(
    client_user: Any, phq9_document: Any, signed_in: Any
) -> None:
    browser = signed_in(client_user)

    saved = browser.post(portal_url(phq9_document), {"save": "1", "q9": "2"}, follow=True)

    text = page_text(saved)
    assert "Your progress is saved" in text
    assert "If you are in danger, get help now" in text
    assert US_CRISIS in text and NOT_MONITORED in text
    assert "your therapist can't see them until you submit" in text  # saving tells no one
    assert 'aria-labelledby="crisis-title-saved"' in saved.content.decode()
    assert fresh(phq9_document).status == "in_progress"  # still the client's to submit

    calm = browser.post(portal_url(phq9_document), {"save": "1", "q9": "0"}, follow=True)
    assert "If you are in danger, get help now" not in page_text(calm)


def test_without_item9_the_client_goes_back_to_the_list_without_the_crisis_text(
    client_user: Any, phq9_document: Any, signed_in: Any
) -> None:
    browser = signed_in(client_user)

    response = browser.post(portal_url(phq9_document), phq9_post(10, item9=0))

    assert response["Location"] == "/portal/documents/"
    page = browser.get(portal_url(phq9_document, "submitted/"))
    assert page.status_code == 200
    assert US_CRISIS not in page_text(page)


def test_a_practice_elsewhere_shows_its_own_crisis_text(
    client_user: Any, phq9_document: Any, practice: Any, practice_admin: Any, signed_in: Any
) -> None:
    practice_update_settings(
        practice=practice,
        values={"crisis_text": "call 999, or the Samaritans on 116 123", "phone": "020 7946 0000"},
        actor=practice_admin,
    )
    browser = signed_in(client_user)
    browser.post(portal_url(phq9_document), phq9_post(10, item9=3))

    text = page_text(browser.get(portal_url(phq9_document, "submitted/")))

    assert "call 999, or the Samaritans on 116 123" in text
    assert "988" not in text
    assert "020 7946 0000" in text


def test_the_crisis_text_stays_on_the_submitted_document(
    client_user: Any, flagged: Any, signed_in: Any
) -> None:
    text = page_text(signed_in(client_user).get(portal_url(flagged)))

    assert US_CRISIS in text and NOT_MONITORED in text


def test_the_confirmation_page_is_the_clients_own(
    flagged: Any, child_client: Any, signed_in: Any
) -> None:
    guardian = child_client.client.guardianship.account

    assert signed_in(guardian).get(portal_url(flagged, "submitted/")).status_code == 404


def test_an_open_document_has_no_confirmation_yet(
    client_user: Any, phq9_document: Any, signed_in: Any
) -> None:
    response = signed_in(client_user).get(portal_url(phq9_document, "submitted/"))

    assert response["Location"] == portal_url(phq9_document)


# The intake's safety questions ----------------------------------------------------------
def test_the_intake_shows_the_crisis_text_beside_its_safety_questions(
    client_user: Any, active_client: Any, library: dict[str, Any], signed_in: Any
) -> None:
    intake = assign_one(active_client, library["intake"])

    html = signed_in(client_user).get(portal_url(intake)).content.decode()

    text = " ".join(html.split())
    assert US_CRISIS in text and NOT_MONITORED in text
    notice = html.index('class="crisis-notice"')
    assert html.index('id="field-sleep"') < notice < html.index('id="field-safety_thoughts"')


def test_a_yes_to_a_safety_question_flags_the_intake_and_shows_the_crisis_text(
    client_user: Any, active_client: Any, library: dict[str, Any], signed_in: Any
) -> None:
    intake = assign_one(active_client, library["intake"])
    browser = signed_in(client_user)

    response = browser.post(
        portal_url(intake),
        {
            "submit": "1",
            **INTAKE_ANSWERS,
            "safety_thoughts": "yes",
            "typed_name": "Maya Patel",
            "consent": "on",
        },
    )

    assert response["Location"] == portal_url(intake, "submitted/")
    assert US_CRISIS in page_text(browser.get(response["Location"]))
    assert fresh(intake).flagged


def test_an_intake_answered_no_is_not_flagged(
    client_user: Any, active_client: Any, library: dict[str, Any]
) -> None:
    intake = assign_one(active_client, library["intake"])

    done = submit(intake, client_user, INTAKE_ANSWERS, typed_name="Maya Patel", consent=True)

    assert not done.flagged


# The therapist: "Followed up" -----------------------------------------------------------
def test_following_up_records_who_when_and_the_note_and_audits_without_it(
    therapist: Any, flagged: Any
) -> None:
    follow_up = services.document_follow_up(
        document=flagged, actor=therapist, note="Phoned Maya; safety plan reviewed."
    )

    assert follow_up.followed_up_by == therapist
    assert follow_up.note == "Phoned Maya; safety plan reviewed."
    event = AuditEvent.objects.get(action="document.follow_up")
    assert event.actor == therapist and event.object_id == str(flagged.public_id)
    assert "Phoned" not in str(event.detail)


@pytest.mark.parametrize(
    ("note", "message"),
    [
        ("  ", "Say briefly how you followed up."),
        ("x" * 501, "Keep the note to 500 characters"),
    ],
)
def test_a_follow_up_needs_a_short_note(
    therapist: Any, flagged: Any, note: str, message: str
) -> None:
    with pytest.raises(services.DocumentError, match=message) as refused:
        services.document_follow_up(document=flagged, actor=therapist, note=note)

    assert refused.value.field == "note"
    assert not FlagFollowUp.objects.exists()


def test_only_the_therapist_follows_up_once_a_flagged_answer(
    therapist: Any, supervisor: Any, flagged: Any, active_client: Any, library: dict[str, Any]
) -> None:
    with pytest.raises(services.DocumentError, match="Only the client's therapist"):
        services.document_follow_up(document=flagged, actor=supervisor, note="Seen.")
    services.document_follow_up(document=flagged, actor=therapist, note="Called.")
    with pytest.raises(services.DocumentError, match="already recorded"):
        services.document_follow_up(document=flagged, actor=therapist, note="Called again.")
    calm = assign_one(active_client, library["gad7"])
    with pytest.raises(services.DocumentError, match="no flagged answer"):
        services.document_follow_up(document=calm, actor=therapist, note="Nothing.")
    assert FlagFollowUp.objects.count() == 1


def test_followed_up_on_the_home_page_closes_the_alert(
    therapist: Any, flagged: Any, active_client: Any, signed_in: Any
) -> None:
    browser = signed_in(therapist)
    home = browser.get("/")
    attention = " ".join(text_by_id(home, "home-attention") or [])
    assert "Maya Patel: PHQ-9" in attention
    section = home.content.decode().split('id="home-attention"')[1].split("</section>")[0]
    assert '<time datetime="' in section  # when it was submitted
    action = reverse(
        "documents:document_follow_up", args=[active_client.public_id, flagged.public_id]
    )
    assert f'action="{action}"' in home.content.decode()

    response = browser.post(action, {"note": "Phoned Maya, she is safe tonight.", "next": "home"})

    assert response["Location"] == "/"
    after = browser.get("/")
    assert "Nothing needs immediate attention." in " ".join(
        text_by_id(after, "home-attention") or []
    )
    detail = page_text(
        browser.get(
            reverse("documents:document", args=[active_client.public_id, flagged.public_id])
        )
    )
    assert "Phoned Maya, she is safe tonight." in detail
    assert "Followed up" in detail


def test_marking_reviewed_waits_for_the_follow_up(therapist: Any, flagged: Any) -> None:
    with pytest.raises(services.DocumentError, match="Record how you followed up"):
        services.document_mark_reviewed(document=flagged, actor=therapist)
    assert fresh(flagged).status == "completed"
    assert not AuditEvent.objects.filter(action="document.review").exists()

    services.document_follow_up(document=flagged, actor=therapist, note="Called; safe.")
    services.document_mark_reviewed(document=flagged, actor=therapist)

    assert fresh(flagged).status == "reviewed"


def test_the_document_page_asks_for_the_follow_up_before_mark_reviewed(
    therapist: Any, flagged: Any, active_client: Any, signed_in: Any
) -> None:
    browser = signed_in(therapist)
    url = reverse("documents:document", args=[active_client.public_id, flagged.public_id])
    review = reverse("documents:document_review", args=[active_client.public_id, flagged.public_id])

    before = browser.get(url).content.decode()
    assert f'action="{review}"' not in before
    assert "Record the follow-up above before marking it reviewed." in page_text(browser.get(url))
    refused = browser.post(review, follow=True)
    assert "Record how you followed up the flagged answer" in page_text(refused)
    assert fresh(flagged).status == "completed"

    services.document_follow_up(document=flagged, actor=therapist, note="Called; safe.")
    assert f'action="{review}"' in browser.get(url).content.decode()


def test_a_reviewed_flagged_answer_without_follow_up_stays_on_the_home_page(
    therapist: Any, flagged: Any, active_client: Any, signed_in: Any
) -> None:
    """Reviewed before the follow-up was required: the alert stays until "Followed up"."""
    type(flagged).objects.filter(pk=flagged.pk).update(
        status="reviewed", reviewed_at=flagged.submitted_at, reviewed_by=therapist
    )
    browser = signed_in(therapist)

    attention = " ".join(text_by_id(browser.get("/"), "home-attention") or [])
    assert "Maya Patel: PHQ-9" in attention
    documents = page_text(browser.get(f"/clients/{active_client.public_id}/documents/"))
    assert "Needs immediate attention" in documents

    services.document_follow_up(document=flagged, actor=therapist, note="Called; safe.")

    assert "Maya Patel: PHQ-9" not in page_text(browser.get("/"))
    documents = page_text(browser.get(f"/clients/{active_client.public_id}/documents/"))
    assert "Needs immediate attention" not in documents


def test_an_empty_follow_up_is_refused_with_a_message(
    therapist: Any, flagged: Any, active_client: Any, signed_in: Any
) -> None:
    browser = signed_in(therapist)
    action = reverse(
        "documents:document_follow_up", args=[active_client.public_id, flagged.public_id]
    )

    response = browser.post(action, {"note": ""}, follow=True)

    assert "Say briefly how you followed up." in page_text(response)
    assert not FlagFollowUp.objects.exists()


def test_a_supervisor_sees_the_alert_without_the_action(
    supervisor: Any, flagged: Any, active_client: Any, signed_in: Any
) -> None:
    home = signed_in(supervisor).get("/")

    assert "Maya Patel: PHQ-9" in " ".join(text_by_id(home, "home-attention") or [])
    assert "document_follow_up" not in home.content.decode()
    assert "/follow-up/" not in home.content.decode()


def test_following_up_anothers_client_is_not_found(
    outsider: Any, colleague: Any, flagged: Any, active_client: Any, signed_in: Any
) -> None:
    action = reverse(
        "documents:document_follow_up", args=[active_client.public_id, flagged.public_id]
    )

    for stranger in (outsider, colleague):
        assert signed_in(stranger).post(action, {"note": "x"}).status_code == 404
    assert not FlagFollowUp.objects.exists()


def test_practice_admin_sets_the_crisis_text_in_settings(
    practice: Any, practice_admin: Any, signed_in: Any
) -> None:
    response = signed_in(practice_admin).post(
        reverse("practices:settings"),
        {
            "name": practice.name,
            "time_zone": "Europe/London",
            "phone": "020 7946 0000",
            "crisis_text": "call 999, or the Samaritans on 116 123",
            "booking_weeks_ahead": "4",
            "cancellation_window_hours": "24",
            "reminders": "off",
        },
    )

    assert response.status_code == 302
    practice.refresh_from_db()
    assert practice.crisis_instructions == "call 999, or the Samaritans on 116 123"
    assert practice.phone == "020 7946 0000"

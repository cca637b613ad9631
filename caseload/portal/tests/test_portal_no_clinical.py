"""Clients and guardians see nothing of the clinical record, sessions or notes (issue 3).

The therapists fill every clinical field with words found nowhere else; then the client and
the guardian fetch every page the portal offers them, and every clinical URL.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from caseload.clients import services as client_services
from caseload.clients.models import CareRelationship, CareState, Invitation
from caseload.clinical import services as clinical
from caseload.messaging.selectors import portal_conversations
from caseload.visits import services as visits
from caseload.visits.models import TherapySession
from tests.factories import pending_relationship

pytestmark = pytest.mark.django_db

#: Words that exist only in the clinical record. None may reach a portal page.
SECRETS = [
    # Diagnoses: the codes and words of their published descriptions.
    "F42.2",
    "Mixed obsessional thoughts",
    "F43.10",
    "Post-traumatic stress",
    # Medications.
    "Zorblaxatine",
    "Quenfidrone",
    "Dr Thaddeus Pillworth",
    # History and presenting concerns.
    "Quixotic-Presenting-Concern",
    "Vermilion-History-Marker",
    # Notes, addenda, the supervisor's comment.
    "Saffron-Subjective-Word",
    "Ochre-Plan-Word",
    "Cobalt-Addendum-Word",
    "Mauve-Supervisor-Comment",
    "Teal-Draft-Word",
    # What the therapist's pages call these things.
    "Clinical Information",
    "Progress note",
    "Sessions &amp; Notes",
    "Mood over",
    "mood-chart",
    "<svg",
    "diagnos",
    "medication",
]


def fill_clinical_record(relationship: CareRelationship, supervisor: Any) -> list[TherapySession]:
    """Everything issue 3 records, with distinctive words. Returns the sessions."""
    therapist = relationship.therapist
    clinical.diagnosis_add(relationship=relationship, actor=therapist, code="F42.2")
    clinical.diagnosis_add(relationship=relationship, actor=therapist, code="F43.10")
    clinical.medication_save(
        relationship=relationship,
        actor=therapist,
        values={"name": "Zorblaxatine", "dose": "20 mg", "prescriber": "Dr Thaddeus Pillworth"},
    )
    clinical.medication_save(
        relationship=relationship, actor=therapist, values={"name": "Quenfidrone"}
    )
    clinical.clinical_summary_update(
        relationship=relationship,
        actor=therapist,
        presenting_concerns="Quixotic-Presenting-Concern",
        mental_health_history="Vermilion-History-Marker",
    )
    sessions = []
    for days_ago, mood in ((21, 3), (14, 6), (7, 9)):
        session = visits.session_schedule(
            relationship=relationship,
            actor=therapist,
            starts_at=timezone.now() - timedelta(days=days_ago, hours=relationship.pk),
            duration_minutes=50,
            modality="telehealth",
        )
        visits.session_update(
            session=session, actor=therapist, values={"status": "completed", "mood_score": mood}
        )
        sessions.append(session)
    signed = visits.note_save_draft(
        session=sessions[0],
        actor=therapist,
        note_format="soap",
        content={"subjective": "Saffron-Subjective-Word", "plan": "Ochre-Plan-Word"},
    )
    signed = visits.note_sign(note=signed, actor=therapist)
    visits.note_add_addendum(note=signed, actor=therapist, text="Cobalt-Addendum-Word")
    sent_back = visits.note_sign(
        note=visits.note_save_draft(
            session=sessions[1],
            actor=therapist,
            note_format="dap",
            content={"data": "Saffron-Subjective-Word"},
        ),
        actor=therapist,
    )
    if therapist.membership.supervisor is not None:
        visits.note_cosign(note=signed, actor=supervisor)
        visits.note_send_back(note=sent_back, actor=supervisor, comment="Mauve-Supervisor-Comment")
    visits.note_save_draft(
        session=sessions[2],
        actor=therapist,
        note_format="free_text",
        content={"note": "Teal-Draft-Word"},
    )
    return sessions


def clinical_urls(relationship: CareRelationship) -> list[tuple[str, str, dict[str, str]]]:
    """Every clinical and session URL of this relationship, with the method it answers to."""
    base = f"/clients/{relationship.public_id}/"
    diagnosis = relationship.diagnoses.first()
    medication = relationship.medications.first()
    urls: list[tuple[str, str, dict[str, str]]] = [
        ("GET", base, {}),
        ("GET", "/clinical/icd10/?code=F42", {}),
        ("GET", "/sessions/", {}),
        ("GET", "/supervision/", {}),
        ("GET", f"{base}sessions/new/", {}),
        ("POST", f"{base}sessions/new/", {"date": "2030-01-01", "time": "10:00"}),
        ("POST", f"{base}diagnoses/", {"code": "F41.1"}),
        ("POST", f"{base}medications/", {"name": "Intruder"}),
        ("POST", f"{base}summary/", {"presenting_concerns": "Intruder"}),
    ]
    if diagnosis is not None:
        urls += [
            ("POST", f"{base}diagnoses/{diagnosis.public_id}/", {"status": "resolved"}),
            ("POST", f"{base}diagnoses/{diagnosis.public_id}/remove/", {}),
        ]
    if medication is not None:
        urls += [
            ("POST", f"{base}medications/{medication.public_id}/", {"name": "Intruder"}),
            ("POST", f"{base}medications/{medication.public_id}/remove/", {}),
        ]
    for session in relationship.sessions.all():
        page = f"{base}sessions/{session.public_id}/"
        urls += [
            ("GET", page, {}),
            ("POST", f"{page}outcome/", {"status": "cancelled"}),
            ("POST", f"{page}note/", {"format": "soap", "section_subjective": "Intruder"}),
            ("POST", f"{page}note/sign/", {}),
            ("POST", f"{page}note/addenda/", {"text": "Intruder"}),
            ("POST", f"{page}note/cosign/", {}),
            ("POST", f"{page}note/send-back/", {"comment": "Intruder"}),
        ]
    return urls


def assert_no_secrets(response: Any, where: str) -> None:
    html = response.content.decode()
    for secret in SECRETS:
        assert secret.lower() not in html.lower(), f"{secret!r} leaked into {where}"


@pytest.fixture
def requests_to_connect(colleague: Any, client_user: Any, guardian_user: Any) -> dict[Any, Any]:
    """Bob asks Maya to connect, and Sam to connect for a second child: pending invitations."""
    to_maya = pending_relationship(colleague, full_name="Maya Patel", email="maya@example.com")
    for_ben = client_services.client_add(
        actor=colleague,
        full_name="Ben Okafor",
        billing_type="cash_pay",
        is_child=True,
        guardian_name="Sam Okafor",
        guardian_email="sam@example.com",
        guardian_relationship="parent",
    ).relationship
    assert to_maya.state == for_ben.state == CareState.AWAITING_CONSENT
    return {client_user: to_maya.invitations.get(), guardian_user: for_ben.invitations.get()}


@pytest.mark.parametrize("persona", ["client_user", "guardian_user"])
def test_portal_pages_show_nothing_clinical(
    request, supervisor, active_client, child_client, requests_to_connect, persona, signed_in
):
    user = request.getfixturevalue(persona)
    fill_clinical_record(active_client, supervisor)
    fill_clinical_record(child_client, supervisor)
    invitation: Invitation = requests_to_connect[user]
    browser = signed_in(user)

    pages = {
        "/portal/": browser.get("/portal/"),
        "/ (home)": browser.get("/", follow=True),
        "invitation link": browser.get(f"/invite/{invitation.token()}/"),
    }
    # Approve Bob's request, then Bob keeps a record too: the portal still shows none of it.
    approved = browser.post(f"/portal/requests/{invitation.public_id}/approve/", follow=True)
    pages["approve, then the portal"] = approved
    bobs = CareRelationship.objects.get(pk=invitation.relationship_id)
    assert bobs.state == CareState.ACTIVE
    fill_clinical_record(bobs, supervisor)
    pages["/portal/ after approving"] = browser.get("/portal/")
    pages["used invitation link"] = browser.get(f"/invite/{invitation.token()}/")
    # Every conversation the portal offers (the messaging pages read named columns too).
    conversations = portal_conversations(user)
    assert len(conversations) == 2  # with Alice, and with Bob since approving
    for conversation in conversations:
        url = f"/portal/messages/{conversation.public_id}/"
        pages[url] = browser.get(url)
        pages[f"{url}items/"] = browser.get(f"{url}items/")

    for where, response in pages.items():
        assert response.status_code in (200, 404), where
        assert_no_secrets(response, where)
    assert pages["/portal/"].status_code == 200
    assert "Alice Rivera" in pages["/portal/"].content.decode()  # the page is real


@pytest.mark.parametrize("persona", ["client_user", "guardian_user"])
def test_declined_request_pages_show_nothing_clinical(
    request, supervisor, active_client, child_client, requests_to_connect, persona, signed_in
):
    user = request.getfixturevalue(persona)
    fill_clinical_record(active_client, supervisor)
    fill_clinical_record(child_client, supervisor)
    invitation: Invitation = requests_to_connect[user]
    browser = signed_in(user)

    declined = browser.post(f"/portal/requests/{invitation.public_id}/decline/", follow=True)

    assert declined.status_code == 200
    assert_no_secrets(declined, "decline, then the portal")


@pytest.mark.parametrize("persona", ["client_user", "guardian_user"])
def test_every_clinical_url_is_404_for_clients_and_guardians(
    request, supervisor, active_client, child_client, persona, signed_in
):
    user = request.getfixturevalue(persona)
    fill_clinical_record(active_client, supervisor)
    fill_clinical_record(child_client, supervisor)
    browser = signed_in(user)
    before = {
        relationship.pk: (
            list(relationship.diagnoses.values_list("code", "status", "is_primary")),
            list(relationship.medications.values_list("name", "dose")),
            list(relationship.sessions.values_list("status", "mood_score", "note__status")),
        )
        for relationship in (active_client, child_client)
    }

    for relationship in (active_client, child_client):
        for method, url, data in clinical_urls(relationship):
            if method == "GET":
                responses = [browser.get(url), browser.get(url, HTTP_HX_REQUEST="true")]
            else:
                responses = [
                    browser.post(url, data),
                    browser.post(url, data, HTTP_HX_REQUEST="true"),
                ]
            for response in responses:
                assert response.status_code == 404, f"{method} {url}"
                assert_no_secrets(response, f"{method} {url}")

    after = {
        relationship.pk: (
            list(relationship.diagnoses.values_list("code", "status", "is_primary")),
            list(relationship.medications.values_list("name", "dose")),
            list(relationship.sessions.values_list("status", "mood_score", "note__status")),
        )
        for relationship in (active_client, child_client)
    }
    assert after == before

"""The API's endpoints: the same gate, services and audit as the app; problem details."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.test import Client, override_settings

from caseload.audit.models import AuditEvent
from caseload.clinical.models import Diagnosis
from caseload.documents import services as document_services
from caseload.documents.library import sync_library
from caseload.documents.tests.helpers import answers_for, assign_one, submit
from caseload.messaging.models import Message
from caseload.visits import services as visits
from caseload.visits.models import ProgressNote, TherapySession
from tests.factories import MessageFactory, TherapySessionFactory

pytestmark = pytest.mark.django_db

JSON = "application/json"


def _problem(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("/api/v1/problems/") and body["title"] and body["detail"]
    return body


def test_client_list_is_cursor_paginated_by_name(therapist, api_client):
    from tests.factories import CareRelationshipFactory, ClientFactory

    for name in ["Cara", "Abe", "Dina", "Bea", "Eve"]:
        CareRelationshipFactory(
            therapist=therapist, client=ClientFactory(full_name=name, search_text=name.lower())
        )
    client = api_client(therapist, "read")
    first = client.get("/api/v1/clients?limit=2").json()
    assert [c["full_name"] for c in first["items"]] == ["Abe", "Bea"]
    assert first["next"].startswith("http://testserver/api/v1/clients?")
    second = client.get(first["next"]).json()
    assert [c["full_name"] for c in second["items"]] == ["Cara", "Dina"]
    third = client.get(second["next"]).json()
    assert [c["full_name"] for c in third["items"]] == ["Eve"]
    assert third["next"] is None and third["next_cursor"] is None
    assert [c["full_name"] for c in client.get("/api/v1/clients?q=din").json()["items"]] == ["Dina"]


@pytest.mark.parametrize("cursor", ["nonsense", "eyJhZnRlciI6ICIxIn0", "e30"])
def test_a_cursor_the_api_did_not_hand_out_is_400(therapist, active_client, api_client, cursor):
    response = api_client(therapist).get(f"/api/v1/clients?cursor={cursor}")
    _problem(response, 400)


def test_client_detail_and_relationship_are_audited_reads(therapist, active_client, api_client):
    client = api_client(therapist, "read")
    detail = client.get(f"/api/v1/clients/{active_client.public_id}").json()
    assert detail["full_name"] == "Maya Patel" and detail["access"]["can_write"] is True
    relationship = client.get(f"/api/v1/clients/{active_client.public_id}/relationship").json()
    assert relationship["state"] == "active" and relationship["therapist"] == "Alice Rivera"
    events = AuditEvent.objects.filter(action="client.view", client=active_client.client)
    assert [e.detail["tab"] for e in events.order_by("pk")] == ["overview", "details"]
    assert all(e.detail["via"] == "api" and e.actor == therapist for e in events)
    token = therapist.api_tokens.get()
    assert {e.detail["token"] for e in events} == {str(token.public_id)}


def test_another_therapists_client_is_404_everywhere(colleague, active_client, api_client):
    client = api_client(colleague)
    base = f"/api/v1/clients/{active_client.public_id}"
    for path in ["", "/relationship", "/sessions", "/notes", "/diagnoses", "/documents"]:
        _problem(client.get(base + path), 404)
    _problem(
        client.post(f"{base}/sessions", {"starts_at": "2030-01-07T10:00:00Z"}, content_type=JSON),
        404,
    )
    assert client.get("/api/v1/clients").json()["items"] == []
    assert not TherapySession.objects.exists()


def test_supervisor_reads_but_cannot_write(supervisor, therapist, active_client, api_client):
    client = api_client(supervisor, "write")
    base = f"/api/v1/clients/{active_client.public_id}"
    assert client.get(base + "/sessions").status_code == 200
    assert [c["full_name"] for c in client.get("/api/v1/clients").json()["items"]] == ["Maya Patel"]
    _problem(client.post(f"{base}/sessions", {"starts_at": "2030-01-07T10:00:00Z"}, JSON), 404)
    _problem(client.get(base + "/messages"), 404)  # supervisors never see the conversation
    assert not TherapySession.objects.exists()


def test_client_and_guardian_accounts_get_nothing(
    client_user, guardian_user, active_client, child_client, api_client, practice_admin
):
    for user in (client_user, guardian_user, practice_admin):
        client = api_client(user)
        assert client.get("/api/v1/clients").json()["items"] == []
        for relationship in (active_client, child_client):
            _problem(client.get(f"/api/v1/clients/{relationship.public_id}"), 404)
            _problem(client.get(f"/api/v1/clients/{relationship.public_id}/messages"), 404)


def test_schedule_a_session_through_the_visits_service(therapist, active_client, api_client):
    response = api_client(therapist).post(
        f"/api/v1/clients/{active_client.public_id}/sessions",
        {"starts_at": "2030-01-07T10:00:00", "duration_minutes": 45, "modality": "telehealth"},
        content_type=JSON,
    )
    assert response.status_code == 201, response.content
    session = TherapySession.objects.get()
    assert response.json()["id"] == str(session.public_id)
    assert session.duration_minutes == 45 and session.modality == "telehealth"
    event = AuditEvent.objects.get(action="session.schedule")
    assert event.actor == therapist and event.object_id == str(session.public_id)
    listed = api_client(therapist, "read").get(
        f"/api/v1/clients/{active_client.public_id}/sessions"
    )
    assert [s["id"] for s in listed.json()["items"]] == [str(session.public_id)]


def test_an_overlap_is_409_unless_allowed(therapist, active_client, api_client):
    client = api_client(therapist)
    url = f"/api/v1/clients/{active_client.public_id}/sessions"
    body = {"starts_at": "2030-01-07T10:00:00Z"}
    assert client.post(url, body, content_type=JSON).status_code == 201
    _problem(client.post(url, body, content_type=JSON), 409)
    assert client.post(url, {**body, "allow_overlap": True}, content_type=JSON).status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body.starts_at"),
        ({"starts_at": "tomorrow"}, "body.starts_at"),
        ({"starts_at": "2030-01-07T10:00:00Z", "duration_minutes": 1}, "body.duration_minutes"),
        ({"starts_at": "2030-01-07T10:00:00Z", "modality": "phone"}, "body.modality"),
        ({"starts_at": "0001-01-01T00:00:00+14:00"}, "body.starts_at"),
        ({"starts_at": "2200-01-07T10:00:00Z"}, "body.starts_at"),  # past the calendar's years
        # 1900 in UTC but still 31 December 1899 in the practice's zone (New York).
        ({"starts_at": "1900-01-01T02:00:00Z"}, "body.starts_at"),
    ],
)
def test_invalid_session_input_is_422_listing_the_field(
    therapist, active_client, api_client, body, field
):
    response = api_client(therapist).post(
        f"/api/v1/clients/{active_client.public_id}/sessions", body, content_type=JSON
    )
    problem = _problem(response, 422)
    assert field in [error["field"] for error in problem["errors"]]


@pytest.mark.parametrize(
    ("wall_time", "said"),
    [("2030-03-10T02:30:00", "does not exist"), ("2030-11-03T01:30:00", "happens twice")],
)
def test_a_wall_time_the_clocks_skip_or_repeat_is_422_asking_for_the_offset(
    therapist, active_client, api_client, wall_time, said
):
    # New York, the practice's zone: 2:00-3:00 is skipped on 10 March 2030, 1:00-2:00 repeated
    # on 3 November.
    url = f"/api/v1/clients/{active_client.public_id}/sessions"
    problem = _problem(api_client(therapist).post(url, {"starts_at": wall_time}, JSON), 422)
    assert said in problem["detail"] and "UTC offset" in problem["detail"]
    assert [error["field"] for error in problem["errors"]] == ["body.starts_at"]
    assert not TherapySession.objects.exists()


def test_a_session_across_the_clocks_going_back_ends_its_duration_later(
    therapist, active_client, api_client
):
    url = f"/api/v1/clients/{active_client.public_id}/sessions"
    body = {"starts_at": "2030-11-03T00:45:00", "duration_minutes": 90}  # EDT, ends in EST
    created = api_client(therapist).post(url, body, JSON)
    assert created.status_code == 201, created.content
    starts = datetime.fromisoformat(created.json()["starts_at"])
    ends = datetime.fromisoformat(created.json()["ends_at"])
    assert ends - starts == timedelta(minutes=90)
    assert starts.astimezone(UTC) == datetime(2030, 11, 3, 4, 45, tzinfo=UTC)


def test_malformed_json_is_a_problem_not_a_500(therapist, active_client, api_client):
    response = api_client(therapist).post(
        f"/api/v1/clients/{active_client.public_id}/sessions", "{nope", content_type=JSON
    )
    assert response.status_code in (400, 422)
    assert response["Content-Type"] == "application/problem+json"


def test_notes_read_draft_update_and_signed_read_only(therapist, active_client, api_client):
    draft_session, signed_session = TherapySessionFactory.create_batch(
        2, relationship=active_client
    )
    client = api_client(therapist)
    base = f"/api/v1/clients/{active_client.public_id}/sessions"
    _problem(client.get(f"{base}/{draft_session.public_id}/note"), 404)
    created = client.put(
        f"{base}/{draft_session.public_id}/note",
        {"format": "soap", "content": {"subjective": "Slept\x00 better."}},
        content_type=JSON,
    )
    assert created.status_code == 200, created.content
    note = ProgressNote.objects.get(session=draft_session)
    assert note.content["subjective"] == "Slept better." and note.status == "draft"
    updated = client.put(
        f"{base}/{draft_session.public_id}/note",
        {"format": "soap", "content": {"plan": "Walks."}},
        content_type=JSON,
    )
    assert updated.json()["sections"][3] == {"key": "plan", "label": "Plan", "text": "Walks."}
    assert AuditEvent.objects.filter(action="note.save_draft").count() == 1

    visits.note_save_and_sign(
        session=signed_session, actor=therapist, note_format="dap", content={"data": "Calm."}
    )
    signed_url = f"{base}/{signed_session.public_id}/note"
    read = client.get(signed_url).json()
    assert read["locked"] is True and read["status"] == "signed"
    assert AuditEvent.objects.filter(action="note.view").count() == 1
    _problem(client.put(signed_url, {"format": "dap", "content": {"data": "X"}}, JSON), 409)
    assert ProgressNote.objects.get(session=signed_session).content["data"] == "Calm."
    listed = client.get(f"/api/v1/clients/{active_client.public_id}/notes").json()["items"]
    assert {n["status"] for n in listed} == {"draft", "signed"}


def test_a_note_put_with_a_key_not_of_its_format_or_without_content_saves_nothing(
    therapist, active_client, api_client
):
    session = TherapySessionFactory(relationship=active_client)
    client = api_client(therapist)
    url = f"/api/v1/clients/{active_client.public_id}/sessions/{session.public_id}/note"
    body = {"format": "soap", "content": {"subjective": "Slept better."}}
    assert client.put(url, body, JSON).status_code == 200

    misspelt = {"format": "soap", "content": {"subjective": "New", "asessment": "Calmer"}}
    problem = _problem(client.put(url, misspelt, JSON), 422)
    assert "asessment" in problem["detail"] and "subjective, objective" in problem["detail"]
    assert [error["field"] for error in problem["errors"]] == ["body.content"]
    other_format = {"format": "dap", "content": {"subjective": "New"}}
    _problem(client.put(url, other_format, JSON), 422)
    # Changing the format alone would empty the draft: content is required.
    assert client.put(url, {"format": "dap"}, JSON).status_code == 422
    note = ProgressNote.objects.get(session=session)
    assert note.format == "soap" and note.content["subjective"] == "Slept better."


def test_diagnoses_and_documents_are_listed(therapist, active_client, api_client):
    Diagnosis.objects.create(
        relationship=active_client, code="F41.1", description="Generalized anxiety disorder"
    )
    client = api_client(therapist, "read")
    diagnoses = client.get(f"/api/v1/clients/{active_client.public_id}/diagnoses").json()
    assert [d["code"] for d in diagnoses] == ["F41.1"]
    documents = client.get(f"/api/v1/clients/{active_client.public_id}/documents").json()
    assert documents == {"items": [], "next_cursor": None, "next": None}


def test_a_flagged_document_says_whether_its_follow_up_is_recorded(
    therapist, active_client, client_user, api_client
):
    phq9 = next(v for v in sync_library() if v.template.library_key == "phq9")
    flagged = submit(assign_one(active_client, phq9), client_user, answers_for("phq9", 12, q9=2))
    url = f"/api/v1/clients/{active_client.public_id}/documents"
    client = api_client(therapist, "read")

    [before] = client.get(url).json()["items"]
    document_services.document_follow_up(document=flagged, actor=therapist, note="Called.")
    [after] = client.get(url).json()["items"]

    assert (before["flagged"], before["awaits_follow_up"]) == (True, True)
    assert (after["flagged"], after["awaits_follow_up"]) == (True, False)


def test_messages_list_and_send_through_the_messaging_service(therapist, active_client, api_client):
    MessageFactory(relationship=active_client, text="Hello")
    client = api_client(therapist)
    url = f"/api/v1/clients/{active_client.public_id}/messages"
    listed = client.get(url).json()
    assert [m["text"] for m in listed["items"]] == ["Hello"] and listed["can_send"] is True
    event = AuditEvent.objects.get(action="message.list")
    assert "Hello" not in str(event.detail)
    sent = client.post(url, {"text": "See you Monday"}, content_type=JSON)
    assert sent.status_code == 201, sent.content
    assert Message.objects.filter(text="See you Monday", sender=therapist).exists()
    _problem(client.post(url, {"text": "   "}, content_type=JSON), 422)
    # The description gives the limit the service keeps, and a longer text is a 422.
    described = client.get("/api/v1/openapi.json").json()["components"]["schemas"]["MessageIn"]
    assert described["properties"]["text"]["maxLength"] == settings.MESSAGE_MAX_LENGTH
    too_long = {"text": "x" * (settings.MESSAGE_MAX_LENGTH + 1)}
    _problem(client.post(url, too_long, content_type=JSON), 422)


def test_session_auth_works_and_writes_need_csrf(signed_in, therapist, active_client):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(therapist)
    assert browser.get("/api/v1/clients").status_code == 200
    url = f"/api/v1/clients/{active_client.public_id}/sessions"
    body = {"starts_at": "2030-01-07T10:00:00Z"}
    _problem(browser.post(url, body, content_type=JSON), 403)
    assert not TherapySession.objects.exists()
    browser.get("/account/api-tokens/")  # sets the CSRF cookie
    token = browser.cookies["csrftoken"].value
    response = browser.post(url, body, content_type=JSON, headers={"X-CSRFToken": token})
    assert response.status_code == 201


@override_settings(API_RATE_LIMIT=3)
def test_rate_limit_is_per_token_with_retry_after(therapist, api_client):
    client, other = api_client(therapist), api_client(therapist)
    for _ in range(3):
        assert client.get("/api/v1/clients").status_code == 200
    response = client.get("/api/v1/clients")
    _problem(response, 429)
    assert 1 <= int(response["Retry-After"]) <= 61
    assert other.get("/api/v1/clients").status_code == 200


def test_openapi_description_and_docs_are_served(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.1")
    assert "/api/v1/clients/{client_id}/sessions" in schema["paths"]
    responses = schema["paths"]["/api/v1/clients"]["get"]["responses"]
    assert "application/problem+json" in responses["404"]["content"]
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    assert b'data-api-csrf="true"' in docs.content  # "Try it out" sends the CSRF token


def test_every_status_appears_once_in_the_description(client):
    import json

    raw = client.get("/api/v1/openapi.json").content.decode()
    pairs: list[list[str]] = []
    json.loads(raw, object_pairs_hook=lambda items: pairs.append([k for k, _ in items]) or {})
    assert all(len(keys) == len(set(keys)) for keys in pairs)


def test_list_queries_do_not_grow_with_the_page(
    therapist, active_client, api_client, django_assert_max_num_queries
):
    from tests.factories import CareRelationshipFactory

    CareRelationshipFactory.create_batch(30, therapist=therapist)
    TherapySessionFactory.create_batch(30, relationship=active_client)
    client = api_client(therapist, "read")
    client.get("/api/v1/clients")  # the token's first use records it
    # the token, the rate limit (6 in the database cache, 1 round trip to Redis), the page,
    # the audit event: the same for 1 row or 50
    with django_assert_max_num_queries(9):
        assert len(client.get("/api/v1/clients?limit=50").json()["items"]) == 31
    with django_assert_max_num_queries(11):
        response = client.get(f"/api/v1/clients/{active_client.public_id}/sessions?limit=50")
        assert len(response.json()["items"]) == 30


def test_a_method_no_operation_takes_is_a_405_problem(therapist, active_client, api_client):
    response = api_client(therapist).delete(f"/api/v1/clients/{active_client.public_id}/sessions")
    _problem(response, 405)
    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "POST"}


def test_another_practices_stored_name_never_reaches_the_api(active_client, outsider, api_client):
    """Maya ("Maya Patel" at alice's practice) added elsewhere, awaiting her approval: the API
    names and finds her only as the second therapist typed her, like the app."""
    from caseload.clients import services as client_services

    client_services.client_add(actor=outsider, full_name="M. Jones", email="maya@example.com")
    client = api_client(outsider, "read")

    listed = client.get("/api/v1/clients").json()["items"]
    assert [c["full_name"] for c in listed] == ["M. Jones"]
    assert client.get("/api/v1/clients?q=patel").json()["items"] == []  # her name elsewhere
    assert "Maya" not in client.get(f"/api/v1/clients/{listed[0]['id']}").content.decode()

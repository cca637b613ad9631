"""Personal access tokens: hashed, expiring, revocable, scoped; the API tokens page."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from caseload.api import services
from caseload.api.models import ApiToken
from caseload.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_the_token_is_stored_only_as_its_sha256(therapist):
    created = services.token_create(actor=therapist, name="Sync", scope="read", expires_in_days=30)
    stored = ApiToken.objects.get(pk=created.token.pk)
    assert created.secret.startswith("cl_") and len(created.secret) > 40
    assert stored.token_hash == hashlib.sha256(created.secret.encode()).hexdigest()
    assert created.secret not in str(ApiToken.objects.filter(pk=stored.pk).values().get())
    event = AuditEvent.objects.get(action="api_token.create")
    assert created.secret not in str(event.detail)


def test_a_valid_token_authenticates_and_records_its_use(therapist, active_client):
    secret = services.token_create(
        actor=therapist, name="Sync", scope="read", expires_in_days=30
    ).secret
    response = Client().get("/api/v1/clients", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    assert [c["full_name"] for c in response.json()["items"]] == ["Maya Patel"]
    assert ApiToken.objects.get().last_used_at is not None


@pytest.mark.parametrize("header", ["", "Bearer cl_nonsense", "Bearer ", "Basic abc"])
def test_no_or_unknown_token_is_401_problem(header, active_client):
    headers = {"Authorization": header} if header else {}
    response = Client().get("/api/v1/clients", headers=headers)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 401 and body["title"] and body["type"] and body["detail"]


def test_an_expired_token_is_refused(therapist):
    secret = services.token_create(
        actor=therapist, name="Old", scope="read", expires_in_days=7
    ).secret
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = Client().get("/api/v1/clients", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 401


def test_a_revoked_token_stops_working_at_once(therapist):
    created = services.token_create(actor=therapist, name="Gone", scope="read", expires_in_days=7)
    headers = {"Authorization": f"Bearer {created.secret}"}
    assert Client().get("/api/v1/clients", headers=headers).status_code == 200
    services.token_revoke(actor=therapist, token=created.token)
    assert Client().get("/api/v1/clients", headers=headers).status_code == 401
    assert AuditEvent.objects.filter(action="api_token.revoke").count() == 1


def test_a_deactivated_owner_takes_their_tokens_with_them(therapist):
    created = services.token_create(actor=therapist, name="X", scope="read", expires_in_days=7)
    secret = created.secret
    therapist.is_active = False
    therapist.save()
    response = Client().get("/api/v1/clients", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 401


def test_only_the_owner_revokes(therapist, colleague):
    created = services.token_create(actor=therapist, name="X", scope="read", expires_in_days=7)
    with pytest.raises(services.TokenError):
        services.token_revoke(actor=colleague, token=created.token)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"name": "  ", "scope": "read", "expires_in_days": 30}, "name"),
        ({"name": "x", "scope": "admin", "expires_in_days": 30}, "scope"),
        ({"name": "x", "scope": "read", "expires_in_days": 3650}, "expires_in_days"),
    ],
)
def test_bad_token_input_names_the_field(therapist, values, field):
    with pytest.raises(services.TokenError) as refused:
        services.token_create(actor=therapist, **values)
    assert refused.value.field == field


def test_a_read_token_may_not_write(therapist, active_client, api_client):
    response = api_client(therapist, "read").post(
        f"/api/v1/clients/{active_client.public_id}/sessions",
        {"starts_at": "2030-01-07T10:00:00+00:00"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert "read-only" in response.json()["detail"]


def test_tokens_page_creates_shows_once_lists_and_revokes(signed_in, therapist):
    browser = signed_in(therapist)
    page = browser.get("/account/api-tokens/")
    assert page.status_code == 200 and b"You have no tokens yet." in page.content
    created = browser.post(
        "/account/api-tokens/", {"name": "Calendar", "scope": "write", "expires_in_days": "90"}
    )
    assert created.status_code == 200
    secret = created.context["created"].secret
    assert secret.encode() in created.content
    listing = browser.get("/account/api-tokens/")
    assert b"Calendar" in listing.content and secret.encode() not in listing.content
    token = ApiToken.objects.get()
    assert token.scope == "write" and token.user == therapist
    revoked = browser.post(f"/account/api-tokens/{token.public_id}/revoke/")
    assert revoked.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_tokens_page_refuses_bad_input_with_field_errors(signed_in, therapist):
    response = signed_in(therapist).post(
        "/account/api-tokens/", {"name": "", "scope": "everything", "expires_in_days": "2"}
    )
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"name", "scope", "expires_in_days"}
    assert not ApiToken.objects.exists()


def test_someone_elses_token_cannot_be_revoked_from_the_page(signed_in, therapist, colleague):
    created = services.token_create(actor=therapist, name="X", scope="read", expires_in_days=7)
    response = signed_in(colleague).post(f"/account/api-tokens/{created.token.public_id}/revoke/")
    assert response.status_code == 404
    created.token.refresh_from_db()
    assert created.token.revoked_at is None

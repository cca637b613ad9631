"""The API end to end: a token made on the API tokens page lists clients and schedules a
session over HTTP, and the session shows in the app."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import requests
from playwright.sync_api import Page, expect

from tests.e2e.conftest import sign_in
from tests.e2e.test_accessibility import serious_violations

NEW_YORK = ZoneInfo("America/New_York")  # the fixture practice's time zone


def test_token_from_settings_lists_clients_and_schedules_a_session_the_app_shows(
    page: Page, live_server: Any, therapist: Any, active_client: Any
) -> None:
    sign_in(page, therapist.email)
    page.get_by_role("link", name="API tokens").click()
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
    page.get_by_label("Name").fill("Calendar sync")
    page.get_by_label("Read and write").check()
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_text("Copy it now: it won't be shown again.")).to_be_visible()
    token = page.get_by_label("Your new token").input_value()
    assert token.startswith("cl_")
    assert not serious_violations(page)  # the page with its form, the new token and the list

    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"
    listed = api.get(f"{live_server.url}/api/v1/clients", timeout=10)
    assert listed.status_code == 200
    clients = listed.json()["items"]
    assert [c["full_name"] for c in clients] == ["Maya Patel"]

    starts = (datetime.now(NEW_YORK) + timedelta(days=2)).replace(
        hour=14, minute=30, second=0, microsecond=0
    )
    created = api.post(
        f"{live_server.url}/api/v1/clients/{clients[0]['id']}/sessions",
        json={"starts_at": starts.isoformat(), "duration_minutes": 45, "modality": "telehealth"},
        timeout=10,
    )
    assert created.status_code == 201, created.text

    page.goto(f"/clients/{active_client.public_id}/sessions/")
    upcoming = page.get_by_role("listitem").filter(has_text="45 min · Telehealth")
    expect(upcoming).to_contain_text(starts.strftime("%a %-d %b %Y, 14:30"))

    page.goto("/account/api-tokens/")
    expect(page.get_by_role("cell", name="Calendar sync", exact=True)).to_be_visible()
    page.get_by_role("button", name="Revoke Calendar sync").click()
    expect(page.get_by_text("Token “Calendar sync” revoked.")).to_be_visible()
    assert api.get(f"{live_server.url}/api/v1/clients", timeout=10).status_code == 401


def test_the_interactive_docs_load_under_the_csp(page: Page, therapist: Any) -> None:
    sign_in(page, therapist.email)
    page.goto("/api/v1/docs")
    expect(page.get_by_role("heading", name=re.compile("Caseload API"))).to_be_visible()
    expect(page.get_by_text("/api/v1/clients/{client_id}/sessions").first).to_be_visible()

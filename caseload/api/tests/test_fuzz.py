"""The API fuzzed from its own OpenAPI description (schemathesis) against a seeded record:
no server error, and every answer — status, content type, body — is what the schema says."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import override_settings
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from caseload.api.services import token_create
from caseload.clinical.models import Diagnosis
from caseload.visits import services as visits
from tests.factories import MessageFactory, TherapySessionFactory


@dataclass(frozen=True)
class Seeded:
    token: str
    client_id: str
    session_ids: list[str]


@pytest.fixture
def seeded(therapist: Any, active_client: Any) -> Seeded:
    """Alice's client Maya with sessions (a draft note, a signed one), a diagnosis, messages."""
    sessions = [TherapySessionFactory(relationship=active_client) for _ in range(3)]
    visits.note_save_draft(
        session=sessions[0], actor=therapist, note_format="soap", content={"plan": "Walks."}
    )
    visits.note_save_and_sign(
        session=sessions[1], actor=therapist, note_format="dap", content={"data": "Calmer."}
    )
    Diagnosis.objects.create(
        relationship=active_client, code="F41.1", description="Generalized anxiety disorder"
    )
    MessageFactory.create_batch(3, relationship=active_client)
    secret = token_create(actor=therapist, name="fuzz", scope="write", expires_in_days=7).secret
    return Seeded(
        token=secret,
        client_id=str(active_client.public_id),
        session_ids=[str(s.public_id) for s in sessions],
    )


#: The WSGI application as a server runs it (the description is read once, at collection).
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@pytest.fixture(autouse=True)
def keep_test_connection(db: None) -> Iterator[None]:
    """As Django's test client does: requests don't close the test's database connection."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@override_settings(API_RATE_LIMIT=100_000)
def test_api_conforms_to_its_schema(case: Any, seeded: Seeded) -> None:
    # Real records, so the fuzzer reaches past the access gate (a random id is only a 404).
    if "client_id" in (case.path_parameters or {}):
        case.path_parameters["client_id"] = seeded.client_id
    if "session_id" in (case.path_parameters or {}):
        index = len(str(case.path_parameters["session_id"])) % len(seeded.session_ids)
        case.path_parameters["session_id"] = seeded.session_ids[index]
    case.call_and_validate(
        headers={"Authorization": f"Bearer {seeded.token}"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )

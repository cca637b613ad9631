"""Fixtures for the documents tests: the library's versions and a quiet outbox."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail

from caseload.documents.library import sync_library


@pytest.fixture
def library(db: None) -> dict[str, Any]:
    """The latest version of every library template, by key (intake, phq9, gad7, …).

    Migrating the test database recorded them; `sync_library` only reads them back here.
    """
    return {version.template.library_key: version for version in sync_library()}


@pytest.fixture
def outbox(run_tasks: Any, active_client: Any, child_client: Any) -> Any:
    """Send what the fixtures queued (sign-up invitations), then start from an empty outbox.

    Returns `run_tasks`, so a test sends what it queued and then reads `mail.outbox`.
    """
    run_tasks()
    mail.outbox.clear()
    return run_tasks

"""Fixtures for the scheduling tests: a quiet outbox."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail


@pytest.fixture
def outbox(run_tasks: Any, active_client: Any, child_client: Any) -> Any:
    """Send what the fixtures queued (sign-up invitations), then start from an empty outbox.

    Returns `run_tasks`, so a test sends what it queued and then reads `mail.outbox`.
    """
    run_tasks()
    mail.outbox.clear()
    return run_tasks

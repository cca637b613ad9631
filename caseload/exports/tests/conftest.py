"""Fixtures for the exports tests."""

from __future__ import annotations

from typing import Any

import pytest

from caseload.exports.tests.records import build_full_record


@pytest.fixture
def full_record(active_client: Any) -> Any:
    """Maya's demo-like record: every kind of entry an export carries."""
    return build_full_record(active_client)

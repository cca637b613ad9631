from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client


@pytest.fixture
def token_for(db: None) -> Callable[..., str]:
    """A personal access token of `user` (write scope unless told), as its secret."""
    from caseload.api.services import token_create

    def make(user: Any, scope: str = "write") -> str:
        return token_create(actor=user, name="test", scope=scope, expires_in_days=30).secret

    return make


@pytest.fixture
def api_client(token_for: Callable[..., str]) -> Callable[..., Client]:
    """Django's test client sending `user`'s token on every request."""

    def make(user: Any, scope: str = "write") -> Client:
        return Client(headers={"Authorization": f"Bearer {token_for(user, scope)}"})

    return make

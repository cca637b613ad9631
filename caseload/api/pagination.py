"""Cursor pagination: keyset paging behind an opaque cursor, and the `next` link."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest

from caseload.api.problems import Problem

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def encode_cursor(public_id: UUID) -> str:
    raw = json.dumps({"after": str(public_id)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> UUID:
    """The row a cursor points after; a cursor this API didn't hand out is a 400."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return UUID(json.loads(raw)["after"])
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise Problem(400, "Unknown cursor: use the `next` link of the previous page.") from None


@dataclass(frozen=True)
class Page[T: Model]:
    items: list[T]
    next_cursor: str | None


def _after(order: tuple[str, ...], anchor: dict[str, Any]) -> Q:
    """Rows strictly after `anchor` in the order (each field ascending, or `-` descending)."""
    condition = Q()
    for index, field in enumerate(order):
        name = field.lstrip("-")
        step = Q(**{f"{name}__{'lt' if field.startswith('-') else 'gt'}": anchor[name]})
        for earlier in order[:index]:
            step &= Q(**{earlier.lstrip("-"): anchor[earlier.lstrip("-")]})
        condition |= step
    return condition


def keyset_page[T: Model](
    queryset: QuerySet[T], *, order: tuple[str, ...], cursor: str | None, limit: int
) -> Page[T]:
    """At most `limit` rows of `queryset` in `order` (which ends with a unique field), after
    the row the cursor names. The cursor must name a row of `queryset` (400 otherwise)."""
    if cursor:
        anchor_id = decode_cursor(cursor)
        names = [field.lstrip("-") for field in order]
        anchor = queryset.filter(public_id=anchor_id).values(*names).first()
        if anchor is None:
            raise Problem(400, "Unknown cursor: use the `next` link of the previous page.")
        queryset = queryset.filter(_after(order, anchor))
    rows = list(queryset.order_by(*order)[: limit + 1])
    shown = rows[:limit]
    more = len(rows) > limit
    return Page(shown, encode_cursor(shown[-1].public_id) if more else None)  # type: ignore[attr-defined]


def next_link(request: HttpRequest, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    query = request.GET.copy()
    query["cursor"] = cursor
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")

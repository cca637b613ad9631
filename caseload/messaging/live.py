"""Live events: tell a user's open pages that something changed (MSG-2, decision 0011).

Events go to one channel-layer group per user, so only the two people of a conversation
ever hear about it. They carry identifiers and counts, never message text: a page that wants
the new message fetches it over HTTP, through the same permission checks and audit as
everything else.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

#: The consumer method that handles these events (`live.event` → `live_event`).
EVENT_TYPE = "live.event"


def user_group(user_id: int) -> str:
    return f"user-{user_id}"


def publish(user_ids: Iterable[int], payload: dict[str, Any]) -> None:
    """Send `payload` to every open page of these users. Never raises: without the live
    channel the pages still work, and show the change on their next load."""
    layer = get_channel_layer()
    if layer is None:
        return
    send = async_to_sync(layer.group_send)
    for user_id in sorted(set(user_ids)):
        try:
            send(user_group(user_id), {"type": EVENT_TYPE, "payload": payload})
        except Exception:
            logger.warning("Live event %s not delivered", payload.get("event"), exc_info=True)

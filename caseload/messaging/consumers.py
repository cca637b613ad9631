"""The live channel: one websocket per open page, fed by the user's channel-layer group."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.utils.crypto import constant_time_compare

from caseload.lib.middleware import session_timed_out
from caseload.messaging.live import user_group
from caseload.practices.two_factor import held_at_set_up

#: Close code for "your session is over": the page stops reconnecting.
SIGNED_OUT = 4401


# channels ships no type hints: its consumer base class is `Any` to mypy.
class LiveEventsConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    """Pushes "something changed" events to a signed-in user's page.

    The user comes from the session cookie (AuthMiddlewareStack); anonymous sockets are
    refused. The group is the user's own, so an event reaches only the people it was sent to.
    The session is checked again before every event: signing out, or the idle and absolute
    time limits, end the socket too; so does a practice's two-factor rule that the staff
    member hasn't yet met.
    """

    group_name = ""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not await self.session_is_valid():
            await self.close(code=SIGNED_OUT)
            return
        self.group_name = user_group(user.pk)
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.group_name:
            await self.channel_layer.group_discard(self.group_name, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """The page has nothing to say over this socket: everything it does is plain HTTP."""

    async def live_event(self, event: dict[str, Any]) -> None:
        if not await self.session_is_valid():
            await self.close(code=SIGNED_OUT)
            return
        await self.send_json(event["payload"])

    async def session_is_valid(self) -> bool:
        # database_sync_to_async (untyped) also closes stale database connections around the call.
        return bool(await database_sync_to_async(self._session_is_valid)())

    def _session_is_valid(self) -> bool:
        """Read the session afresh: still there, still this user's, within its time limits."""
        session = self.scope.get("session")
        key = getattr(session, "session_key", None)
        if not key:
            return False
        store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=key)
        data = store.load()
        if str(data.get(SESSION_KEY)) != str(self.scope["user"].pk):
            return False
        # As Django's own session check: a deactivated account, or a password changed since
        # (which changes the hash), ends the session's socket too.
        user = get_user_model().objects.filter(pk=self.scope["user"].pk, is_active=True).first()
        if user is None or not constant_time_compare(
            str(data.get(HASH_SESSION_KEY, "")), user.get_session_auth_hash()
        ):
            return False
        if held_at_set_up(user):
            return False  # nothing live until the second factor is set up
        return not session_timed_out(data)

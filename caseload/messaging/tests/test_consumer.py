"""The live channel's websocket: who may connect, what each person hears (MSG-2, decision 0011).

The consumer runs through the real ASGI application (origin check, session authentication,
routing) with Channels' in-memory layer; the test across two server processes and Redis is
tests/test_live_two_processes.py.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.models import Session
from django.test import Client as Browser

from caseload.asgi import application
from caseload.messaging import services
from caseload.messaging.consumers import SIGNED_OUT

# The consumer reads sessions and users from other threads: its rows must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = b"http://testserver"


def session_key(user: Any) -> str:
    browser = Browser()
    browser.force_login(user)
    return browser.cookies["sessionid"].value


def socket(key: str | None, origin: bytes = ORIGIN) -> WebsocketCommunicator:
    headers = [(b"origin", origin)]
    if key:
        headers.append((b"cookie", f"sessionid={key}".encode()))
    return WebsocketCommunicator(application, "/ws/events/", headers=headers)


def run(scenario: Any) -> Any:
    return async_to_sync(scenario)()


send = database_sync_to_async(
    lambda relationship, sender, text="Sapphire-Secret-Word": services.message_send(
        relationship=relationship, actor=sender, text=text
    )
)


def test_an_anonymous_socket_is_refused(db: None) -> None:
    async def scenario() -> bool:
        connected, _ = await socket(None).connect()
        return connected

    assert run(scenario) is False


def test_a_socket_opened_from_another_site_is_refused(therapist: Any) -> None:
    key = session_key(therapist)

    async def scenario() -> bool:
        connected, _ = await socket(key, origin=b"https://evil.example").connect()
        return connected

    assert run(scenario) is False


def test_an_unknown_session_is_refused(db: None) -> None:
    async def scenario() -> bool:
        connected, _ = await socket("no-such-session-key").connect()
        return connected

    assert run(scenario) is False


def test_the_therapist_hears_of_the_clients_message_and_the_supervisor_hears_nothing(
    therapist: Any, supervisor: Any, colleague: Any, client_user: Any, active_client: Any
) -> None:
    keys = {user: session_key(user) for user in (therapist, supervisor, colleague, client_user)}

    async def scenario() -> dict[str, Any]:
        sockets = {user: socket(key) for user, key in keys.items()}
        for communicator in sockets.values():
            connected, _ = await communicator.connect()
            assert connected
        message = await send(active_client, client_user)
        heard = {
            "therapist": [
                await sockets[therapist].receive_json_from(timeout=2),
                await sockets[therapist].receive_json_from(timeout=2),
            ],
            "client": [await sockets[client_user].receive_json_from(timeout=2)],
            "supervisor silent": await sockets[supervisor].receive_nothing(timeout=0.3),
            "colleague silent": await sockets[colleague].receive_nothing(timeout=0.1),
            "message": str(message.public_id),
        }
        for communicator in sockets.values():
            await communicator.disconnect()
        return heard

    heard = run(scenario)

    conversation = str(active_client.public_id)
    new_message = {"event": "message", "conversation": conversation, "message": heard["message"]}
    assert heard["therapist"] == [
        new_message,
        {"event": "unread", "conversation": conversation, "count": 1},
    ]
    assert heard["client"] == [new_message]  # their other open pages show it too
    assert heard["supervisor silent"] and heard["colleague silent"]
    assert "Sapphire" not in str(heard)


def test_signing_out_ends_the_socket_at_the_next_event(
    therapist: Any, client_user: Any, active_client: Any
) -> None:
    key = session_key(therapist)

    async def scenario() -> Any:
        communicator = socket(key)
        connected, _ = await communicator.connect()
        assert connected
        await database_sync_to_async(Session.objects.filter(session_key=key).delete)()
        await send(active_client, client_user)
        return await communicator.receive_output(timeout=2)

    assert run(scenario) == {"type": "websocket.close", "code": SIGNED_OUT}


@pytest.mark.parametrize("change", ["password", "deactivate"])
def test_a_password_change_or_deactivation_ends_the_socket_at_the_next_event(
    therapist: Any, client_user: Any, active_client: Any, change: str
) -> None:
    key = session_key(therapist)

    def change_account() -> None:
        if change == "password":
            therapist.set_password("a-new-password-2026")
        else:
            therapist.is_active = False
        therapist.save()

    async def scenario() -> Any:
        communicator = socket(key)
        connected, _ = await communicator.connect()
        assert connected
        await database_sync_to_async(change_account)()
        await send(active_client, client_user)
        return await communicator.receive_output(timeout=2)

    assert run(scenario) == {"type": "websocket.close", "code": SIGNED_OUT}


def test_an_idle_session_ends_the_socket_at_the_next_event(
    therapist: Any, client_user: Any, active_client: Any, settings: Any
) -> None:
    key = session_key(therapist)

    def go_idle() -> None:
        from django.contrib.sessions.backends.db import SessionStore

        store = SessionStore(session_key=key)
        store["caseload_last_activity"] = (
            int(time.time()) - settings.SESSION_IDLE_TIMEOUT_SECONDS - 5
        )
        store.save()

    async def scenario() -> Any:
        communicator = socket(key)
        connected, _ = await communicator.connect()
        assert connected
        await database_sync_to_async(go_idle)()
        await send(active_client, client_user)
        return await communicator.receive_output(timeout=2)

    assert run(scenario) == {"type": "websocket.close", "code": SIGNED_OUT}


def test_an_idle_session_cannot_open_a_socket(therapist: Any, settings: Any) -> None:
    key = session_key(therapist)
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore(session_key=key)
    store["caseload_last_activity"] = int(time.time()) - settings.SESSION_IDLE_TIMEOUT_SECONDS - 5
    store.save()

    async def scenario() -> bool:
        connected, _ = await socket(key).connect()
        return connected

    assert run(scenario) is False


def test_staff_held_at_two_factor_set_up_cannot_open_a_socket(therapist: Any) -> None:
    # The practice requires a second factor and this therapist has none yet: every page
    # but the set-up is closed to them (practices.middleware), the live channel too.
    practice = therapist.membership.practice
    practice.staff_two_factor_required = True
    practice.save(update_fields=["staff_two_factor_required"])
    key = session_key(therapist)

    async def scenario() -> bool:
        connected, _ = await socket(key).connect()
        return connected

    assert run(scenario) is False

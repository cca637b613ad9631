"""The ASGI handler (caseload/lib/handlers.py) reuses request threads without sharing them.

Each request's sync work runs in a thread borrowed from the handler's idle list: one request
after another runs in the same thread (no thread started per request), and requests at the
same time still run in threads of their own, so a slow one holds up no other.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator
from django.core.signals import request_started

from caseload.lib.handlers import IDLE_EXECUTORS, SyncMiddlewareASGIHandler

# A page that reads neither the database nor a session: the handler is what is tested.
PATH = "/no-such-page/"


def scope() -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


async def request(handler: SyncMiddlewareASGIHandler) -> int:
    communicator = ApplicationCommunicator(handler, scope())
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await communicator.receive_output(10)
    while (await communicator.receive_output(10)).get("more_body", False):
        pass  # the body's chunks, up to the last
    await communicator.wait(10)
    return int(start["status"])


def run_loop(
    main: Callable[[], Coroutine[Any, Any, list[int]]],
) -> tuple[list[int], threading.Thread]:
    """Run `main` on an event loop of its own thread, as a server's (the browser tests leave
    one running in the test's thread). Returns what it returned and the loop's thread."""
    returned: list[list[int]] = []
    loop_thread = threading.Thread(target=lambda: returned.append(asyncio.run(main())))
    loop_thread.start()
    loop_thread.join(timeout=60)
    assert returned, "the requests did not finish"
    return returned[0], loop_thread


@pytest.fixture
def handler() -> Iterator[SyncMiddlewareASGIHandler]:
    handler = SyncMiddlewareASGIHandler()
    yield handler
    for executor in handler._idle_executors:
        executor.shutdown(wait=True)


@pytest.fixture
def request_threads() -> Iterator[list[threading.Thread]]:
    """The thread each request's sync work (request_started onwards) runs in (the objects, not
    their idents: the system gives a finished thread's ident to the next one)."""
    seen: list[threading.Thread] = []

    def record(**_: Any) -> None:
        seen.append(threading.current_thread())

    request_started.connect(record, dispatch_uid="test-request-threads")
    yield seen
    request_started.disconnect(dispatch_uid="test-request-threads")


def test_requests_one_after_another_reuse_one_thread(
    handler: SyncMiddlewareASGIHandler, request_threads: list[threading.Thread]
) -> None:
    async def five() -> list[int]:
        return [await request(handler) for _ in range(5)]

    statuses, loop_thread = run_loop(five)
    assert statuses == [404] * 5
    assert len(request_threads) == 5
    assert len(set(request_threads)) == 1, "a thread was started for each request"
    assert loop_thread not in request_threads, "requests ran on the event loop's thread"


def test_requests_at_the_same_time_run_in_threads_of_their_own(
    handler: SyncMiddlewareASGIHandler,
) -> None:
    # Each request waits in its thread until the other has started: in one shared thread the
    # first would wait for ever and the barrier would break.
    both_started = threading.Barrier(2, timeout=5)
    threads: list[threading.Thread] = []

    def meet(**_: Any) -> None:
        threads.append(threading.current_thread())
        both_started.wait()

    request_started.connect(meet, dispatch_uid="test-meet")
    try:

        async def two_at_once() -> list[int]:
            return list(await asyncio.gather(request(handler), request(handler)))

        assert run_loop(two_at_once)[0] == [404, 404]
    finally:
        request_started.disconnect(dispatch_uid="test-meet")
    assert len(set(threads)) == 2
    assert len(handler._idle_executors) == 2  # both given back for the next requests


def test_a_burst_leaves_no_more_idle_threads_than_the_cap(
    handler: SyncMiddlewareASGIHandler,
) -> None:
    gate = threading.Barrier(IDLE_EXECUTORS + 4, timeout=10)

    def hold(**_: Any) -> None:
        gate.wait()  # every request of the burst is in its own thread at once

    request_started.connect(hold, dispatch_uid="test-burst")
    try:

        async def burst() -> list[int]:
            return list(
                await asyncio.gather(*(request(handler) for _ in range(IDLE_EXECUTORS + 4)))
            )

        assert run_loop(burst)[0] == [404] * (IDLE_EXECUTORS + 4)
    finally:
        request_started.disconnect(dispatch_uid="test-burst")
    assert len(handler._idle_executors) == IDLE_EXECUTORS

"""The ASGI handler (caseload/lib/handlers.py): one switch to a reused thread a request.

Each request's sync work runs in a thread borrowed from the handler's idle list: one request
after another runs in the same thread (no thread started per request), and requests at the
same time still run in threads of their own, so a slow one holds up no other. All of a
request's sync work (request_started, the view, the response's close and request_finished)
is one call into that thread; a streaming response is closed after its body is sent; a
client that goes away still ends the request (request_finished: the connection goes back).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator
from django.core.signals import request_finished, request_started
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.test import override_settings
from django.urls import path

from caseload.lib.handlers import IDLE_EXECUTORS, SyncMiddlewareASGIHandler

# A page that reads neither the database nor a session: the handler is what is tested.
PATH = "/no-such-page/"


VIEW_EVENTS: list[str] = []
RELEASE_VIEW = threading.Event()


def plain_view(request: HttpRequest) -> HttpResponse:
    VIEW_EVENTS.append("view")
    return HttpResponse("plain")


def streaming_view(request: HttpRequest) -> StreamingHttpResponse:
    async def body() -> AsyncIterator[bytes]:
        VIEW_EVENTS.append("body")
        yield b"streamed"

    return StreamingHttpResponse(body())


def waiting_view(request: HttpRequest) -> HttpResponse:
    VIEW_EVENTS.append("waiting")
    RELEASE_VIEW.wait(10)
    return HttpResponse("late")


urlpatterns = [
    path("plain/", plain_view),
    path("streaming/", streaming_view),
    path("waiting/", waiting_view),
]
URLCONF = override_settings(ROOT_URLCONF=__name__)


def scope(path: str = PATH) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


async def request(handler: SyncMiddlewareASGIHandler, path: str = PATH) -> int:
    communicator = ApplicationCommunicator(handler, scope(path))
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await communicator.receive_output(10)
    while True:
        message = await communicator.receive_output(10)
        if message.get("body"):
            VIEW_EVENTS.append("sent")
        if not message.get("more_body", False):
            break  # the body's last chunk
    await communicator.wait(10)
    return int(start["status"])


class CountingExecutor(ThreadPoolExecutor):
    """A request thread that counts the calls the handler makes into it."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.calls = 0

    def submit(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return super().submit(*args, **kwargs)


def run_loop(
    main: Callable[[], Coroutine[Any, Any, list[int]]],
) -> tuple[list[int], threading.Thread]:
    """Run `main` on an event loop of its own thread, as a server's (the browser tests leave
    one running in the test's thread). Returns what it returned and the loop's thread."""
    returned: list[list[int]] = []
    loop_thread = threading.Thread(target=lambda: returned.append(asyncio.run(main())), daemon=True)
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

    def record(sender: Any, **_: Any) -> None:
        if sender is SyncMiddlewareASGIHandler:  # not another test's live server
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


@pytest.fixture
def events() -> Iterator[list[str]]:
    """What happened, in order: the view, request_finished, the body sent."""
    VIEW_EVENTS.clear()

    def finished(sender: Any, **_: Any) -> None:
        if sender is SyncMiddlewareASGIHandler:  # not another test's live server
            VIEW_EVENTS.append("finished")

    request_finished.connect(finished, dispatch_uid="test-events")
    yield VIEW_EVENTS
    request_finished.disconnect(dispatch_uid="test-events")


@URLCONF
def test_a_request_is_one_call_into_its_thread(
    handler: SyncMiddlewareASGIHandler, events: list[str]
) -> None:
    executor = CountingExecutor()
    handler._idle_executors.append(executor)

    async def one() -> list[int]:
        return [await request(handler, "/plain/")]

    assert run_loop(one)[0] == [200]
    # The stock handler: three calls (request_started, the view, the close).
    assert executor.calls == 1
    # Content in memory: closed (the connection handed back) before it is sent.
    assert events == ["view", "finished", "sent"]


@URLCONF
def test_a_streaming_response_is_closed_after_its_body_is_sent(
    handler: SyncMiddlewareASGIHandler, events: list[str]
) -> None:
    async def one() -> list[int]:
        return [await request(handler, "/streaming/")]

    assert run_loop(one)[0] == [200]
    assert events == ["body", "sent", "finished"]


async def until(condition: Callable[[], bool], seconds: float = 10) -> None:
    for _ in range(int(seconds * 100)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("timed out")


@URLCONF
def test_a_client_that_goes_away_still_ends_the_request_once(
    handler: SyncMiddlewareASGIHandler, events: list[str]
) -> None:
    RELEASE_VIEW.clear()

    async def leave() -> list[int]:
        communicator = ApplicationCommunicator(handler, scope("/waiting/"))
        await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
        await until(lambda: "waiting" in events)
        await communicator.send_input({"type": "http.disconnect"})
        # The view runs on (a thread can't be stopped); its answer goes nowhere.
        asyncio.get_running_loop().call_later(0.2, RELEASE_VIEW.set)
        await communicator.wait(10)
        assert await communicator.receive_nothing()
        return []

    try:
        run_loop(leave)
    finally:
        RELEASE_VIEW.set()
    # request_finished (the request's connection handed back), once, after the view ended.
    assert events == ["waiting", "finished"]
    assert len(handler._idle_executors) == 1, "the request's thread was not given back"


@URLCONF
def test_a_request_given_up_while_its_view_runs_never_lends_that_thread(
    handler: SyncMiddlewareASGIHandler, events: list[str], request_threads: list[threading.Thread]
) -> None:
    """A server that gives up on a request (its timeout after a disconnect) cancels it while
    the view still runs: the next request must not queue behind that view."""
    RELEASE_VIEW.clear()

    async def give_up_then_ask_again() -> list[int]:
        slow = ApplicationCommunicator(handler, scope("/waiting/"))
        await slow.send_input({"type": "http.request", "body": b"", "more_body": False})
        await until(lambda: "waiting" in events)
        slow.future.cancel()  # as a server cancels the application's task
        with contextlib.suppress(asyncio.CancelledError):
            await slow.future
        assert handler._idle_executors == []  # the busy thread is not lent again
        return [await request(handler, "/plain/")]  # answered while the slow view still runs

    try:
        assert run_loop(give_up_then_ask_again)[0] == [200]
        assert "view" in events and RELEASE_VIEW.is_set() is False
    finally:
        RELEASE_VIEW.set()
    assert len(request_threads) == 2 and request_threads[0] is not request_threads[1]


@URLCONF
def test_a_failing_close_still_sends_the_answer(
    handler: SyncMiddlewareASGIHandler, events: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    """The view's work is done when its response is closed: an error there is logged, and
    the answer still goes out (Django's handler sends before it closes)."""

    def broken(sender: Any, **_: Any) -> None:
        if sender is SyncMiddlewareASGIHandler:
            raise RuntimeError("a cache backend could not close")

    request_finished.connect(broken, dispatch_uid="test-broken-close")
    try:

        async def one() -> list[int]:
            return [await request(handler, "/plain/")]

        assert run_loop(one)[0] == [200]
    finally:
        request_finished.disconnect(dispatch_uid="test-broken-close")
    assert "sent" in events
    assert "Closing the response failed" in caplog.text

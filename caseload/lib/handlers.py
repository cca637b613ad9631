"""The ASGI handler for Django's HTTP requests: one switch to a reused thread a request.

Django's own ASGIHandler builds the middleware chain in async mode: every middleware that can
run both ways runs on the event loop, and every sync-only one (ours, which read the database)
is entered through `sync_to_async` and left through `async_to_sync`. With the stack in
settings.MIDDLEWARE that was seven switches between the event loop and the thread a request,
for a sync view in the end; the ICD-10 picker spent more CPU on them than on its search.

This handler builds the chain in sync mode and makes one switch to the request's thread
(`thread_sensitive=True`, as for a sync view under the stock handler) for all of a request's
sync work: the request_started signal, building the request, the middleware and view, and,
for a response already in memory (not a streaming one), `response.close()`, whose
request_finished signal hands the database connection back. The stock handler makes three
switches for these (the signal, the view, the close after the body is sent). A streaming
response (a file download) is still closed after its body is sent.

That thread is not made for the request either. The stock handler opens a
`ThreadSensitiveContext()` per request, which starts a new thread for the request's sync work
and, when the request ends, a second thread to join the first: two thread starts a request,
a third of a health check's time on the 2-core machine. Here each request borrows a
single-thread executor from an idle list and gives it back when it ends
(`ThreadSensitiveContext(executor=...)`, asgiref's way to reuse them), so a process keeps as
many request threads as it has had requests at once, at most IDLE_EXECUTORS of them idle.
Each request still has its own thread while it runs, so one slow request (a PDF) holds up no
other.

Everything else (reading the body, the client-disconnect watch, sending the response) is
Django's ASGIHandler (decision 0036).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from typing import IO, Any, cast

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.db import connections
from django.http import FileResponse, HttpResponseBase
from django.urls import set_script_prefix

logger = logging.getLogger(__name__)

# Idle request threads a process keeps for the next requests; more run during a burst.
IDLE_EXECUTORS = 16


class SyncMiddlewareASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        # Touched only on the event loop's thread, between awaits: no lock needed.
        self._idle_executors: list[ThreadPoolExecutor] = []
        # Made once: building a SyncToAsync inspects the function (a few percent a request).
        self._respond_in_thread = sync_to_async(self._respond, thread_sensitive=True)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        executor = self._borrow_executor()
        finished = False
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
            finished = True
        finally:
            if finished:
                self._return_executor(executor)
            else:
                # Cancelled (the server gave up on it) or failed: its view may still be
                # running in the thread. Never lend that thread to the next request.
                self._retire_executor(executor)

    def _borrow_executor(self) -> ThreadPoolExecutor:
        if self._idle_executors:
            return self._idle_executors.pop()
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="caseload-request")

    def _return_executor(self, executor: ThreadPoolExecutor) -> None:
        if len(self._idle_executors) < IDLE_EXECUTORS:
            self._idle_executors.append(executor)
        else:
            self._retire_executor(executor)

    @staticmethod
    def _retire_executor(executor: ThreadPoolExecutor) -> None:
        """Let the thread finish what it runs, close its database connections (back to the
        pool), then end."""
        executor.submit(connections.close_all)
        executor.shutdown(wait=False)

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Django's ASGIHandler.handle, with the request's sync work in one call (`_respond`)."""
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        with closing(body_file):
            set_script_prefix(get_script_prefix(scope))
            state = _RequestState()
            response: HttpResponseBase | None = None
            try:
                try:
                    async with asyncio.TaskGroup() as tasks:
                        # A client that goes away cancels the wait for the response.
                        tasks.create_task(self.listen_for_disconnect(receive))
                        response = await self._respond_in_thread(scope, body_file, state)
                        await self.send_response(response, send)
                        raise _RequestProcessed
                except* (_RequestProcessed, RequestAborted):
                    pass
            except BaseExceptionGroup as group:
                if len(group.exceptions) == 1:
                    raise group.exceptions[0] from None
                raise
            if response is None or response.streaming:
                # The client went away (the view may still run: this waits for it, in its
                # thread), or the body was streamed: close what `_respond` did not.
                await self._finish_in_thread(state, response)

    def _respond(
        self, scope: dict[str, Any], body_file: IO[bytes], state: _RequestState
    ) -> HttpResponseBase:
        """In the request's thread: request_started, the request, the middleware and view,
        and the close of a response already in memory (its content stays to be sent)."""
        state.started = True
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        response: HttpResponseBase
        if request is None:  # a body Django couldn't read: its 400 or 413
            response = cast(HttpResponseBase, error_response)
        else:
            response = self.get_response(request)
            response._handler_class = self.__class__  # type: ignore[attr-defined]
            if isinstance(response, FileResponse):
                response.block_size = self.chunk_size
        if not response.streaming:
            self._close(response, state)
        return response

    def _close(self, response: HttpResponseBase, state: _RequestState) -> None:
        state.closed = True
        try:
            response.close()  # request_finished: the database connection goes back
        except Exception:
            # The view's work is done (and committed): its answer still goes out, as under
            # Django's handler, which closes after sending.
            logger.exception("Closing the response failed")

    async def _finish_in_thread(
        self, state: _RequestState, response: HttpResponseBase | None
    ) -> None:
        def finish() -> None:
            # After `_respond` in the same thread, so its flags are final here.
            if response is not None and response.streaming:
                self._close(response, state)
            elif state.started and not state.closed:
                # Gone before the view answered: its response was never made or is dropped.
                state.closed = True
                signals.request_finished.send(sender=self.__class__)

        await sync_to_async(finish, thread_sensitive=True)()


class _RequestState:
    """What a request's thread has done: read by the thread alone, in order."""

    __slots__ = ("closed", "started")

    def __init__(self) -> None:
        self.started = False
        self.closed = False


class _RequestProcessed(Exception):
    """The response is sent: ends the disconnect watch (as in Django's handler)."""

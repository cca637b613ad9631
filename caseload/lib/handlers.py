"""The ASGI handler for Django's HTTP requests: the middleware run in one reused thread.

Django's own ASGIHandler builds the middleware chain in async mode: every middleware that can
run both ways runs on the event loop, and every sync-only one (ours, which read the database)
is entered through `sync_to_async` and left through `async_to_sync`. With the stack in
settings.MIDDLEWARE that was seven switches between the event loop and the thread a request,
for a sync view in the end; the ICD-10 picker spent more CPU on them than on its search.

This handler builds the chain in sync mode and enters it once, in the thread Django gives sync
views (`thread_sensitive=True`, as for a sync view under the stock handler): one switch in,
one out.

That thread is no longer made for the request. The stock handler opens a
`ThreadSensitiveContext()` per request, which starts a new thread for the request's sync work
and, when the request ends, a second thread to join the first: two thread starts a request,
a third of a health check's time on the 2-core machine. Here each request borrows a
single-thread executor from an idle list and gives it back when it ends
(`ThreadSensitiveContext(executor=...)`, asgiref's way to reuse them), so a process keeps as
many request threads as it has had requests at once, at most IDLE_EXECUTORS of them idle.
Each request still has its own thread while it runs, so one slow request (a PDF) holds up
no other; its sync work (request_started, the view, response.close and request_finished,
which hands the database connection back) all runs in that one thread, as before.

Everything else (reading the request, streaming the response, the signals) is Django's.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase

# Idle request threads a process keeps for the next requests; more run during a burst.
IDLE_EXECUTORS = 16


class SyncMiddlewareASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        # Touched only on the event loop's thread, between awaits: no lock needed.
        self._idle_executors: list[ThreadPoolExecutor] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        executor = self._borrow_executor()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            self._return_executor(executor)

    def _borrow_executor(self) -> ThreadPoolExecutor:
        if self._idle_executors:
            return self._idle_executors.pop()
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="caseload-request")

    def _return_executor(self, executor: ThreadPoolExecutor) -> None:
        # A request cancelled while its view still runs gives back a busy executor: the next
        # request's work queues behind it in the same thread, never beside it.
        if len(self._idle_executors) < IDLE_EXECUTORS:
            self._idle_executors.append(executor)
        else:
            executor.shutdown(wait=False)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        response: HttpResponseBase = await sync_to_async(self.get_response, thread_sensitive=True)(
            request
        )
        return response

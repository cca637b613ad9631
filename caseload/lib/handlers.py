"""The ASGI handler for Django's HTTP requests: the middleware run in one thread.

Django's own ASGIHandler builds the middleware chain in async mode: every middleware that can
run both ways runs on the event loop, and every sync-only one (ours, which read the database)
is entered through `sync_to_async` and left through `async_to_sync`. With the stack in
settings.MIDDLEWARE that was seven switches between the event loop and the thread a request,
for a sync view in the end; the ICD-10 picker spent more CPU on them than on its search.

This handler builds the chain in sync mode and enters it once, in the thread Django gives sync
views (`thread_sensitive=True`, as for a sync view under the stock handler): one switch in,
one out. Everything else (reading the request, streaming the response, the request_started
and request_finished signals that return connections to the pool) is Django's ASGIHandler.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase


class SyncMiddlewareASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        response: HttpResponseBase = await sync_to_async(self.get_response, thread_sensitive=True)(
            request
        )
        return response

"""Site-wide views: the health check and, in DEBUG, the email outbox."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

from django.conf import settings
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def _outbox_messages() -> list[tuple[str, EmailMessage]]:
    directory = settings.OUTBOX_DIR
    if not directory.exists():
        return []
    found: list[tuple[str, EmailMessage]] = []
    for path in sorted(directory.glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True):
        raw = path.read_bytes()
        # The file backend separates messages with a line of dashes.
        for index, chunk in enumerate(raw.split(b"\n" + b"-" * 79 + b"\n")):
            if chunk.strip():
                parsed = message_from_bytes(chunk.strip(), policy=policy.default)
                found.append((f"{path.stem}-{index}", parsed))
    return found


def _body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    return part.get_content() if part is not None else ""


@require_GET
def outbox(request: HttpRequest) -> HttpResponse:
    """DEBUG only: the emails the app "sent" to the file outbox, newest first."""
    if not settings.DEBUG:
        raise Http404
    items = [
        {"id": key, "to": m["To"], "subject": m["Subject"], "date": m["Date"], "body": _body(m)}
        for key, m in _outbox_messages()
    ]
    return render(request, "outbox.html", {"items": items})

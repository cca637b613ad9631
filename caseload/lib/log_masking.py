"""Secrets in URLs stay out of the logs (SECURITY: invitation and reset links are bearer keys).

An invitation link (/invite/<token>/…), allauth's password reset link
(/accounts/password/reset/key/<uidb36>-<key>/) and its email confirmation link
(/accounts/confirm-email/<key>/) let whoever holds them in; a calendar feed's address
(/calendar/feeds/<token>.ics) lets whoever holds it read a clinician's calendar. Every log
line the app writes that carries a URL, the access log included, shows such a segment as
`[masked]`:

- `MaskSecretsLogFilter` rewrites log records; settings.LOGGING puts it on the console
  handler and on the loggers that log request paths (django.request, django.server, and
  django.channels.server, the access log of `manage.py runserver` under daphne);
- `MaskingServer` is daphne's server with the path masked before its access log sees it;
  `python -m caseload.serve` runs daphne with it (daphne's access log writes to a stream,
  not through logging).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from daphne.server import Server

MASK = "[masked]"

#: A path separator, plain or percent-encoded (a link inside ?next=…).
_SEP = r"(?:/|%2F)"
SECRET_PATH = re.compile(
    rf"(?P<prefix>{_SEP}(?:invite|accounts{_SEP}password{_SEP}reset{_SEP}key|"
    rf"accounts{_SEP}confirm-email|calendar{_SEP}feeds){_SEP})"
    r"(?P<secret>[^/?#&\s\"'%<>]+)",
    re.IGNORECASE,
)


def mask_secret_paths(text: str) -> str:
    """`/invite/abc…/respond/` → `/invite/[masked]/respond/`, in any text."""
    return SECRET_PATH.sub(lambda match: match.group("prefix") + MASK, text)


class MaskSecretsLogFilter(logging.Filter):
    """Rewrite a record whose message (or traceback) carries a secret URL segment."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record: leave it to the formatter
            return True
        masked = mask_secret_paths(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_secret_paths(record.exc_text)
        return True


class MaskingServer(Server):  # type: ignore[misc]  # daphne is untyped
    """Daphne's server, handing its access log a path with the secrets masked."""

    def __init__(self, application: Any, *args: Any, action_logger: Any = None, **kwargs: Any):
        if action_logger is not None:
            action_logger = _masking(action_logger)
        super().__init__(application, *args, action_logger=action_logger, **kwargs)


def _masking(action_logger: Any) -> Any:
    def log_action(protocol: str, action: str, details: dict[str, Any]) -> None:
        if isinstance(details.get("path"), str):
            details = {**details, "path": mask_secret_paths(details["path"])}
        action_logger(protocol, action, details)

    return log_action

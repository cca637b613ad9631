"""Text-message reminders go through a provider chosen by a setting (SCH-3), off by default.

`settings.SMS_PROVIDER` is the dotted path of a class with `send(to, body) -> str` (the
provider's message id), built without arguments; it reads its own credentials from the
environment. None (the default) means no text messages at all, whatever a practice chose.

A provider raises `SmsError` for a failure worth retrying (the service is down, a timeout):
it is an `OSError`, like a refused connection, so a reminder is retried with the same backoff
as an email (`caseload.lib.email.send_with_retry`).
"""

from __future__ import annotations

from functools import cache
from typing import Protocol, runtime_checkable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

#: A text message longer than this is cut by the provider or sent as several: keep it short.
SMS_MAX_LENGTH = 320


class SmsError(OSError):
    """The provider could not send now; the reminder is tried again later."""


@runtime_checkable
class SmsProvider(Protocol):
    """Sends one text message; returns the provider's id for it."""

    def send(self, to: str, body: str) -> str: ...


@cache
def _provider(path: str) -> SmsProvider:
    try:
        provider = import_string(path)()
    except ImportError as error:
        raise ImproperlyConfigured(f"SMS_PROVIDER {path!r} cannot be imported: {error}") from None
    if not isinstance(provider, SmsProvider):
        raise ImproperlyConfigured(f"SMS_PROVIDER {path!r} has no send(to, body) method.")
    return provider


def sms_provider() -> SmsProvider | None:
    """The configured provider, or None when text messages are off."""
    path = getattr(settings, "SMS_PROVIDER", None)
    if not path:
        return None
    return _provider(str(path))

"""Durable email (PR-2, SECURITY R2): messages are sent by a background task that retries.

A task is enqueued in the same transaction as the record it belongs to, so either both exist
or neither. On a mail-server failure the task re-enqueues itself with exponential backoff;
the last attempt re-raises so the failure is visible in the task results and the logs.

A task whose worker died is run again (`caseload.worker`), so a tracked send may run twice:
see `send_tracked` for how that stays one email under one Message-ID, with a trace.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from email.utils import make_msgid
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import models
from django.db.models import F, Q, QuerySet
from django.tasks import Task
from django.template.loader import render_to_string
from django.utils import timezone

from caseload.lib.expressions import CurrentTime

logger = logging.getLogger(__name__)


class DeliveryStatus(models.TextChoices):
    """Where an email tracked by `send_tracked` stands (invitations, message notices)."""

    QUEUED = "queued", "Queued"
    # Handed to the mail server, outcome not yet recorded. Still so after a while: the worker
    # died mid-send, and its task will be run again.
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    RETRYING = "retrying", "Not delivered — retrying"
    FAILED = "failed", "Not delivered"


def build_message(
    *, to: str, subject: str, template: str, context: dict[str, Any]
) -> EmailMultiAlternatives:
    """Render `<template>.txt` and `<template>.html` into one message."""
    context = {"site_url": settings.SITE_URL, **context}
    text = render_to_string(f"{template}.txt", context)
    html = render_to_string(f"{template}.html", context)
    message = EmailMultiAlternatives(
        subject=subject.strip(), body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=[to]
    )
    message.attach_alternative(html, "text/html")
    return message


def retry_delay(attempt: int) -> timedelta:
    return timedelta(seconds=settings.EMAIL_RETRY_BASE_SECONDS * 2 ** (attempt - 1))


def send_with_retry(
    *,
    task: Task[..., Any],
    attempt: int,
    send: Callable[[], object],
    on_retry: Callable[[str], object] = lambda error: None,
    on_give_up: Callable[[str], object] = lambda error: None,
    args: tuple[Any, ...] = (),
    kwargs: dict[str, Any] | None = None,
) -> bool:
    """Run `send`; on an OSError (SMTP errors included) schedule `task` again or give up."""
    try:
        send()
    except OSError as error:
        description = f"{type(error).__name__}: {error}"[:300]
        if attempt >= settings.EMAIL_MAX_ATTEMPTS:
            logger.error("Email gave up after %s attempts: %s", attempt, description)
            on_give_up(description)
            raise
        logger.warning("Email attempt %s failed, retrying: %s", attempt, description)
        on_retry(description)
        task.using(run_after=timezone.now() + retry_delay(attempt)).enqueue(
            *args, **(kwargs or {}), attempt=attempt + 1
        )
        return False
    return True


def undelivered() -> Q:
    """Tracked records whose email is not out: being retried, failed, or handed to the mail
    server longer ago than `EMAIL_HANDOFF_STALE_SECONDS` without an outcome (the worker died
    mid-send; the task is run again)."""
    # "Stale" is read when the query runs: the My Clients badges build this once per process.
    stale = CurrentTime(ago=lambda: timedelta(seconds=settings.EMAIL_HANDOFF_STALE_SECONDS))
    return Q(delivery_status__in=[DeliveryStatus.RETRYING, DeliveryStatus.FAILED]) | Q(
        delivery_status=DeliveryStatus.SENDING, delivery_handed_at__lt=stale
    )


def is_undelivered(record: Any) -> bool:
    """`undelivered()` for one record in memory."""
    if record.delivery_status in (DeliveryStatus.RETRYING, DeliveryStatus.FAILED):
        return True
    stale = timezone.now() - timedelta(seconds=settings.EMAIL_HANDOFF_STALE_SECONDS)
    return bool(
        record.delivery_status == DeliveryStatus.SENDING
        and record.delivery_handed_at is not None
        and record.delivery_handed_at < stale
    )


def new_message_id() -> str:
    return make_msgid(domain=urlsplit(settings.SITE_URL).hostname or "caseload.local")


def send_tracked(
    *,
    rows: QuerySet[Any],
    task: Task[..., Any],
    attempt: int,
    message: EmailMultiAlternatives,
    args: tuple[Any, ...] = (),
    kwargs: dict[str, Any] | None = None,
) -> str:
    """`send_with_retry`, recording the outcome on `rows` (a record with `delivery_status`,
    `delivery_error`, `delivery_attempts`, `delivery_message_id`, `delivery_handed_at` and
    `delivered_at`, such as an invitation).

    Idempotent across a worker's death: before the message is handed to the mail server the
    record is committed as SENDING with the message's Message-ID (kept for every attempt of
    this email) and the time. A run that finds SENDING was preceded by a hand-off whose outcome
    was never recorded: the server may or may not have accepted it. It is sent again under the
    same Message-ID (a receiving system can recognise the copy), logged as such, and counted in
    `delivery_attempts`. Run from a worker (autocommit) so the SENDING record is committed.
    """
    current = rows.values("delivery_status", "delivery_message_id").first()
    if current is None:
        return "skipped: record deleted"
    if current["delivery_status"] == DeliveryStatus.SENT:
        return "skipped: already sent"  # a re-run of a task whose end was not recorded
    message_id = current["delivery_message_id"] or new_message_id()
    if current["delivery_status"] == DeliveryStatus.SENDING:
        logger.warning(
            "Email %s: an earlier hand-off to the mail server has no recorded outcome (its "
            "worker stopped); sending again under the same Message-ID",
            message_id,
        )
    message.extra_headers["Message-ID"] = message_id
    rows.update(
        delivery_status=DeliveryStatus.SENDING,
        delivery_message_id=message_id,
        delivery_handed_at=timezone.now(),
        delivery_attempts=F("delivery_attempts") + 1,
    )

    delivered = send_with_retry(
        task=task,
        attempt=attempt,
        send=lambda: message.send(),
        on_retry=lambda error: rows.update(
            delivery_status=DeliveryStatus.RETRYING, delivery_error=error
        ),
        on_give_up=lambda error: rows.update(
            delivery_status=DeliveryStatus.FAILED, delivery_error=error
        ),
        args=args,
        kwargs=kwargs,
    )
    if not delivered:
        return "retrying"
    rows.update(delivery_status=DeliveryStatus.SENT, delivery_error="", delivered_at=timezone.now())
    return "sent"

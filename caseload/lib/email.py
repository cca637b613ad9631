"""Durable email (PR-2, SECURITY R2): messages are sent by a background task that retries.

A task is enqueued in the same transaction as the record it belongs to, so either both exist
or neither. On a mail-server failure the task re-enqueues itself with exponential backoff;
the last attempt re-raises so the failure is visible in the task results and the logs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import models
from django.db.models import F, QuerySet
from django.tasks import Task
from django.template.loader import render_to_string
from django.utils import timezone

logger = logging.getLogger(__name__)


class DeliveryStatus(models.TextChoices):
    """Where an email tracked by `send_tracked` stands (invitations, message notices)."""

    QUEUED = "queued", "Queued"
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
    on_retry: Callable[[str], None] = lambda error: None,
    on_give_up: Callable[[str], None] = lambda error: None,
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
    `delivery_error`, `delivery_attempts` and `delivered_at`, such as an invitation)."""

    def record(**values: Any) -> None:
        rows.update(delivery_attempts=F("delivery_attempts") + 1, **values)

    delivered = send_with_retry(
        task=task,
        attempt=attempt,
        send=lambda: message.send(),
        on_retry=lambda error: record(
            delivery_status=DeliveryStatus.RETRYING, delivery_error=error
        ),
        on_give_up=lambda error: record(
            delivery_status=DeliveryStatus.FAILED, delivery_error=error
        ),
        args=args,
        kwargs=kwargs,
    )
    if not delivered:
        return "retrying"
    record(delivery_status=DeliveryStatus.SENT, delivery_error="", delivered_at=timezone.now())
    return "sent"

"""Start (or restart) the worker's hourly run that assigns scheduled questionnaires.

Each run enqueues the next while any schedule is running; run this after a deploy that
cleared the queue, or from cron as a safety net (a duplicate run assigns nothing twice).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from caseload.documents.schedules import assign_scheduled_questionnaires


class Command(BaseCommand):
    help = "Enqueue the task that assigns scheduled questionnaires (it then repeats hourly)."

    def handle(self, *args: Any, **options: Any) -> None:
        result = assign_scheduled_questionnaires.enqueue()
        self.stdout.write(f"Enqueued {result.id}.")

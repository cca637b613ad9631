"""Start (or restart) the worker's chain of session-reminder scans (SCH-3).

Each scan enqueues the next (every REMINDER_SCAN_SECONDS) while none is waiting; run this
when the worker starts (scripts/run-demo and deploy/ do) or from cron as a safety net: it
enqueues nothing when a scan is already waiting, and a duplicate scan sends nothing twice.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from caseload.scheduling.reminders import ensure_reminder_chain


class Command(BaseCommand):
    help = "Enqueue the task that sends due session reminders (it then repeats on its own)."

    def handle(self, *args: Any, **options: Any) -> None:
        if ensure_reminder_chain():
            self.stdout.write("Reminder scans started.")
        else:
            self.stdout.write("Reminder scans are already running.")

"""Query expressions whose value is read when the query runs, not when it is built.

A correlated annotation that compares with "now" or "today" can then be built once per
process (the My Clients badges are) and still see the time of each request.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import DateField, DateTimeField, Value
from django.utils import timezone


class CurrentTime(Value):
    """`timezone.now()` at the moment the query is compiled, less `ago()` when given (a
    callable, so that a setting such as a staleness limit is read then too)."""

    def __init__(self, ago: Callable[[], timedelta] | None = None) -> None:
        super().__init__(None, output_field=DateTimeField())
        self.ago = ago

    @property
    def value(self) -> datetime:
        return timezone.now() - (self.ago() if self.ago else timedelta(0))

    @value.setter
    def value(self, _ignored: Any) -> None:
        """Value.__init__ and copies assign it: the time is always read afresh."""


class CurrentDate(Value):
    """`timezone.localdate()` (the active time zone) plus `days`, when the query is compiled."""

    def __init__(self, days: int = 0) -> None:
        super().__init__(None, output_field=DateField())
        self.days = days

    @property
    def value(self) -> date:
        return timezone.localdate() + timedelta(days=self.days)

    @value.setter
    def value(self, _ignored: Any) -> None:
        """Value.__init__ and copies assign it: the date is always read afresh."""

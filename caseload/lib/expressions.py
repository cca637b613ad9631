"""Query expressions whose value is read when the query runs, not when it is built.

A correlated annotation that compares with "now" or "today" can then be built once per
process (the My Clients badges are) and still see the time of each request.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db.models import DateField, DateTimeField, Value
from django.utils import timezone

#: While `lib.prepared` compiles a query once for many runs, the clock is not read: each
#: expression gives a stand-in value (recorded with how to read the real one) that the
#: prepared query replaces with the time of each run.
_recording: ContextVar[dict[Any, tuple[Value, Callable[[], Any]]] | None] = ContextVar(
    "caseload_clock_recording", default=None
)
_STAND_IN_TIME = datetime(1901, 2, 3, tzinfo=UTC)
_STAND_IN_DATE = date(1901, 2, 3)


def _read(expression: Value, read: Callable[[], Any], stand_in: Any) -> Any:
    recording = _recording.get()
    if recording is None:
        return read()
    # Distinct stand-ins, one per read, so each is replaced by its own expression's value.
    if isinstance(stand_in, datetime):
        stand_in = stand_in + timedelta(microseconds=len(recording) + 1)
    else:
        stand_in = stand_in + timedelta(days=len(recording) + 1)
    recording[stand_in] = (expression, read)
    return stand_in


def record_clock() -> tuple[Any, dict[Any, tuple[Value, Callable[[], Any]]]]:
    """Start recording the clock's reads (for `lib.prepared`): (token to reset, the reads)."""
    reads: dict[Any, tuple[Value, Callable[[], Any]]] = {}
    return _recording.set(reads), reads


def stop_recording_clock(token: Any) -> None:
    _recording.reset(token)


class CurrentTime(Value):
    """`timezone.now()` at the moment the query is compiled, less `ago()` when given (a
    callable, so that a setting such as a staleness limit is read then too)."""

    def __init__(self, ago: Callable[[], timedelta] | None = None) -> None:
        super().__init__(None, output_field=DateTimeField())
        self.ago = ago

    @property
    def value(self) -> datetime:
        return _read(self, self._now, _STAND_IN_TIME)  # type: ignore[no-any-return]

    @value.setter
    def value(self, _ignored: Any) -> None:
        """Value.__init__ and copies assign it: the time is always read afresh."""

    def _now(self) -> datetime:
        return timezone.now() - (self.ago() if self.ago else timedelta(0))


class CurrentDate(Value):
    """`timezone.localdate()` (the active time zone) plus `days`, when the query is compiled."""

    def __init__(self, days: int = 0) -> None:
        super().__init__(None, output_field=DateField())
        self.days = days

    @property
    def value(self) -> date:
        return _read(self, self._today, _STAND_IN_DATE)  # type: ignore[no-any-return]

    @value.setter
    def value(self, _ignored: Any) -> None:
        """Value.__init__ and copies assign it: the date is always read afresh."""

    def _today(self) -> date:
        return timezone.localdate() + timedelta(days=self.days)

"""A queryset's SQL compiled once per process, run with each request's values.

Building and compiling a query with a dozen correlated annotations (the My Clients badges)
cost more CPU than running it. A `PreparedQuery` compiles a queryset built from stand-in
values once, finds where those values land among the SQL parameters, and on each run puts
the real values there and lets Django's own model iteration read the rows (select_related,
annotations and all). The clock is read at each run (`lib.expressions` records its reads
while compiling).

Stand-ins: integers (ids) replace a parameter equal to them; a text stand-in replaces a
parameter equal to it, or is replaced inside a LIKE pattern (`contains`), escaped the way
Django escapes it. Compiling refuses a query whose SQL text shows a stand-in (a value Django
inlined), a stand-in it can't find among the parameters, or a date or time it didn't get from
the clock: such a query would be frozen, so it is an error, not a silent fallback.

Run the same shape of query only: anything that changes the SQL's shape (the filter, the
sort, whether there is a search, the time zone) belongs in the caller's cache key.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import connections
from django.db.models import QuerySet
from django.utils import timezone

from caseload.lib.expressions import record_clock, stop_recording_clock

#: A parameter position and how to compute its value from a run's values.
Slot = tuple[int, Callable[[Mapping[str, Any]], Any]]


class PreparedQueryError(Exception):
    """The queryset can't be prepared: some value would be frozen at its first run."""


@dataclass(frozen=True)
class PreparedQuery[R]:
    queryset: QuerySet[Any, R]
    compiler: Any  # the backend's SQLCompiler after as_sql(): select, klass_info, …
    sql: str
    params: tuple[Any, ...]
    slots: tuple[Slot, ...]

    @classmethod
    def compile(
        cls,
        queryset: QuerySet[Any, R],
        stand_ins: Mapping[str, int | str],
        *,
        optional: tuple[str, ...] = (),
    ) -> PreparedQuery[R]:
        """Compile `queryset`, built with `stand_ins` (name → stand-in value) in place of
        the real values, for runs that give the real ones by name. A name in `optional` may
        be absent from the query (it is replaced wherever it is found)."""
        if queryset.query.low_mark or queryset.query.high_mark is not None:
            raise PreparedQueryError("Prepare the unsliced queryset; run() slices it.")
        compiler = queryset.query.get_compiler(using=queryset.db)
        token, clock_reads = record_clock()
        try:
            sql, raw_params = compiler.as_sql()
        finally:
            stop_recording_clock(token)
        params = tuple(raw_params)
        connection = connections[queryset.db]
        clock = {
            expression.output_field.get_db_prep_value(stand_in, connection): (expression, read)
            for stand_in, (expression, read) in clock_reads.items()
        }
        slots: list[Slot] = []
        found: set[str] = set()
        for position, param in enumerate(params):
            slot = _slot_for(param, stand_ins, clock, connection)
            if slot is not None:
                name, make = slot
                found.add(name)
                slots.append((position, make))
            elif isinstance(param, date) or (isinstance(param, str) and _looks_like_a_date(param)):
                raise PreparedQueryError(f"A date or time not read from the clock: {param!r}")
        for name, stand_in in stand_ins.items():
            if name not in found and name not in optional:
                raise PreparedQueryError(f"{name}: not a parameter of the compiled query")
            if str(stand_in) in sql:
                raise PreparedQueryError(f"{name}: inlined into the SQL text")
        return cls(queryset, compiler, sql, params, tuple(slots))

    def sql_with_params(self, values: Mapping[str, Any]) -> tuple[str, tuple[Any, ...]]:
        params = list(self.params)
        for position, make in self.slots:
            params[position] = make(values)
        return self.sql, tuple(params)

    def count(self, values: Mapping[str, Any]) -> int:
        """How many rows the query gives for these values: `SELECT COUNT(*)` around its SQL
        (prepare it without annotations or ordering, as `QuerySet.count()` would drop them)."""
        sql, params = self.sql_with_params(values)
        with connections[self.queryset.db].cursor() as cursor:
            # `sql` is Django's compiled SQL; every value is a parameter.
            cursor.execute(f"SELECT COUNT(*) FROM ({sql}) counted", params)  # noqa: S608
            row = cursor.fetchone()
        return int(row[0])

    def run(
        self, values: Mapping[str, Any], *, offset: int = 0, limit: int | None = None
    ) -> list[R]:
        """The rows, as the queryset would give them, for these values."""
        connection = connections[self.queryset.db]
        sql, params = self.sql_with_params(values)
        if offset or limit is not None:
            high = None if limit is None else int(offset) + int(limit)
            sql = f"{sql} {connection.ops.limit_offset_sql(int(offset), high)}"
        compiler = copy.copy(self.compiler)
        compiler.connection = connection
        compiler.as_sql = lambda *args, **kwargs: (sql, params)
        queryset = self.queryset.all()
        queryset.query.get_compiler = lambda *args, **kwargs: compiler  # type: ignore[method-assign]
        return list(queryset)


_prepared: dict[tuple[Any, ...], PreparedQuery[Any]] = {}


def prepared[R](
    key: tuple[Any, ...],
    build: Callable[[], QuerySet[Any, R]],
    stand_ins: Mapping[str, int | str],
    *,
    optional: tuple[str, ...] = (),
) -> PreparedQuery[R]:
    """The query `build()` gives (built with `stand_ins`), compiled at its first use in this
    process for `key` and the active time zone, and reused after."""
    full_key = (*key, timezone.get_current_timezone_name())
    found = _prepared.get(full_key)
    if found is None:
        found = PreparedQuery.compile(build(), stand_ins, optional=optional)
        _prepared[full_key] = found
    return found


def _slot_for(
    param: Any,
    stand_ins: Mapping[str, int | str],
    clock: Mapping[Any, tuple[Any, Callable[[], Any]]],
    connection: Any,
) -> tuple[str, Callable[[Mapping[str, Any]], Any]] | None:
    try:
        hit = clock.get(param)
    except TypeError:  # unhashable (a list of values): no stand-in in it
        hit = None
    if hit is not None:
        expression, read = hit
        field = expression.output_field
        return "clock", lambda values: field.get_db_prep_value(read(), connection)
    for name, stand_in in stand_ins.items():
        if type(param) is type(stand_in) and param == stand_in:
            return name, lambda values, name=name: values[name]
        if isinstance(stand_in, str) and isinstance(param, str) and stand_in in param:
            # A LIKE pattern around the value: escape the real one as Django does.
            return (
                name,
                lambda values, name=name, pattern=param, stand_in=stand_in: pattern.replace(
                    stand_in, connection.ops.prep_for_like_query(values[name])
                ),
            )
    return None


def _looks_like_a_date(value: str) -> bool:
    """SQLite gets dates and times as text: "1901-02-04" or "1901-02-03 00:00:00.000001"."""
    return len(value) >= 10 and value[4] == "-" and value[7] == "-" and value[:4].isdigit()

"""The WHERE clause of a :class:`~engramos.filters.Filters`, built once for both backends
behind a small :class:`Dialect` (placeholders, list membership, JSON access).

It pushes every field of the filters into SQL, metadata conditions included, with the
semantics of :meth:`Filters.matches` (the reference the contract suite checks against):
equality is type-aware, ordering compares numbers with numbers and strings with strings
(byte order), and ``ne`` / ``not_in`` also match a row without the key."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .._util import epoch
from ..filters import Filters, MetadataCondition, is_number
from ..records import time_span
from ..types import MemoryRecord, TimeRange


@dataclass(frozen=True)
class Dialect:
    name: str
    ph: str  # the driver's placeholder

    def any_of(self, col: str, values: list[Any]) -> tuple[str, list[Any]]:
        if self.name == "postgresql":
            return f"{col} = ANY({self.ph})", [values]
        return f"{col} IN ({', '.join(self.ph for _ in values)})", list(values)

    # ----------------------------------------------------------------- JSON
    def has_key(self, col: str, key: str) -> tuple[str, list[Any]]:
        if self.name == "postgresql":
            return f"jsonb_exists({col}, {self.ph})", [key]
        return f"json_type({col}, {self.ph}) IS NOT NULL", [_path(key)]

    def equals(self, col: str, key: str, value: Any) -> tuple[str, list[Any]]:
        """True where the key holds ``value`` (type-aware); never NULL."""
        if self.name == "postgresql":
            return f"COALESCE({col} -> {self.ph} = {self.ph}::jsonb, false)", [key, json.dumps(value)]
        path = _path(key)
        if isinstance(value, bool):
            return f"COALESCE(json_type({col}, {self.ph}) = {self.ph}, 0)", [path, "true" if value else "false"]
        kind = "text" if isinstance(value, str) else "number"
        return (f"COALESCE({self._typed(col, kind)} AND json_extract({col}, {self.ph}) = {self.ph}, 0)",
                [path, path, value])

    def ordered(self, col: str, key: str, op: str, bound: float | str) -> tuple[str, list[Any]]:
        sql_op = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
        kind = "number" if is_number(bound) else "text"
        if self.name == "postgresql":
            # CASE, not AND: PostgreSQL may evaluate AND's operands in any order, and the
            # cast fails on a string
            if kind == "number":
                return (f"CASE WHEN jsonb_typeof({col} -> {self.ph}) = 'number' "
                        f"THEN ({col} ->> {self.ph})::float8 {sql_op} {self.ph} ELSE false END",
                        [key, key, float(bound)])
            return (f"CASE WHEN jsonb_typeof({col} -> {self.ph}) = 'string' "
                    f"THEN ({col} ->> {self.ph}) COLLATE \"C\" {sql_op} {self.ph} ELSE false END", [key, key, bound])
        path = _path(key)
        return (f"COALESCE({self._typed(col, kind)} AND json_extract({col}, {self.ph}) {sql_op} {self.ph}, 0)",
                [path, path, bound])

    def _typed(self, col: str, kind: str) -> str:
        # SQLite: json_type names integer / real / text; the path is the first argument bound
        return f"json_type({col}, {self.ph}) " + ("= 'text'" if kind == "text" else "IN ('integer', 'real')")


SQLITE = Dialect("sqlite", "?")
POSTGRES = Dialect("postgresql", "%s")


def _path(key: str) -> str:
    return '$."' + key + '"'  # keys are validated: letters, digits, '_', '.', '-'


def filter_sql(dialect: Dialect, space: str, f: Filters, *, alias: str,
               with_status: bool = True) -> tuple[str, list[Any]]:
    """``(where, args)`` for rows of ``space`` that pass ``f``.  ``with_status``: leave
    out deleted rows unless ``f.include_inactive`` (listing semantics; search paths add
    their own status condition)."""
    ph = dialect.ph
    where, args = [f"{alias}space={ph}"], [space]
    for col in ("user_id", "agent_id", "conversation_id", "session_id", "speaker"):
        value = getattr(f, col)
        if value is not None:
            where.append(f"{alias}{col}={ph}")
            args.append(value)
    if f.kinds:
        sql, extra = dialect.any_of(f"{alias}kind", list(f.kinds))
        where.append(sql)
        args += extra
    if with_status and not f.include_inactive:
        where.append(f"{alias}status != 'deleted'")
    for key, cond in f.conditions():
        sql, extra = _condition(dialect, f"{alias}metadata", key, cond)
        where.append(sql)
        args += extra
    return " AND ".join(where), args


def _condition(d: Dialect, col: str, key: str, c: MetadataCondition) -> tuple[str, list[Any]]:
    parts: list[str] = []
    args: list[Any] = []

    def add(sql: str, extra: list[Any], negate: bool = False) -> None:
        parts.append(f"NOT ({sql})" if negate else f"({sql})")
        args.extend(extra)

    if c.exists is not None:
        add(*d.has_key(col, key), negate=not c.exists)
    if c.eq is not None:
        add(*d.equals(col, key, c.eq))
    if c.ne is not None:
        add(*d.equals(col, key, c.ne), negate=True)
    for values, negate in ((c.in_, False), (c.not_in, True)):
        if values is None:
            continue
        if not values:  # in []: nothing matches; not_in []: everything does
            parts.append("(1 = 0)" if not negate else "(1 = 1)")
            continue
        ors = [d.equals(col, key, v) for v in values]
        add(" OR ".join(s for s, _ in ors), [a for _, extra in ors for a in extra], negate=negate)
    for op in ("gt", "gte", "lt", "lte"):
        bound = getattr(c, op)
        if bound is not None:
            add(*d.ordered(col, key, op, bound))
    return " AND ".join(parts), args


def search_sql(dialect: Dialect, space: str, f: Filters, *, alias: str,
               time_range: TimeRange | None) -> tuple[str, list[Any]]:
    """``(where, args)`` of a search: the filters, active rows only unless
    ``f.include_inactive``, and rows whose time span overlaps ``time_range``."""
    where, args = filter_sql(dialect, space, f, alias=alias, with_status=False)
    if not f.include_inactive:
        where += f" AND {alias}status IN ('active', 'archived')" if f.include_archived \
            else f" AND {alias}status = 'active'"
    if time_range is not None:
        where += f" AND {alias}t_end >= {dialect.ph} AND {alias}t_start <= {dialect.ph}"
        args += [epoch(time_range.start), epoch(time_range.end)]
    return where, args


def time_bounds(rec: MemoryRecord) -> tuple[float, float]:
    """A memory's time span (:func:`engramos.records.time_span`) in epoch seconds
    (``t_start``, ``t_end``)."""
    start, end = time_span(rec)
    return epoch(start), epoch(end)

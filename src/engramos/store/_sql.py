"""SQL text helpers shared by the backends."""

from __future__ import annotations

import json

from .._util import from_iso
from ..errors import InvalidInputError


def qualified(cols: str, alias: str = "m") -> str:
    """A comma-separated column list with each name prefixed by a table alias (for joins)."""
    return ", ".join(f"{alias}.{c.strip()}" for c in cols.split(","))


def decode_cursor(cursor: str) -> tuple[str, str]:
    """A page cursor ``[observed_at ISO text, memory id]`` as both backends write it;
    anything else (not JSON, other types, a NUL no SQL text column can hold) is refused
    naming the field."""
    try:
        c_obs, c_id = json.loads(cursor)
    except (ValueError, TypeError) as exc:
        raise InvalidInputError("cursor", "not a cursor returned by a previous page") from exc
    if not (isinstance(c_obs, str) and isinstance(c_id, str)) or "\x00" in c_obs + c_id:
        raise InvalidInputError("cursor", "not a cursor returned by a previous page")
    try:
        from_iso(c_obs)
    except ValueError as exc:
        raise InvalidInputError("cursor", "not a cursor returned by a previous page") from exc
    return c_obs, c_id

"""SQL text helpers shared by the backends."""

from __future__ import annotations


def qualified(cols: str, alias: str = "m") -> str:
    """A comma-separated column list with each name prefixed by a table alias (for joins)."""
    return ", ".join(f"{alias}.{c.strip()}" for c in cols.split(","))

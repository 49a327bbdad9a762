"""Storage: one :class:`Store` protocol and its backends."""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from .base import Store
from .sqlite.store import SQLiteStore

__all__ = ["SQLiteStore", "Store", "open_store"]


def open_store(location: str | Path) -> Store:
    """Open a store from a path or URL: ``postgresql://...`` (PostgreSQL with pgvector),
    ``sqlite:///path/to/file.db``, a plain file path, or ``:memory:``."""
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        from .postgres.store import PostgresStore

        return PostgresStore(text)
    if text.startswith("sqlite:///"):
        text = text[len("sqlite:///") :]
    elif text.startswith("sqlite://"):
        raise ConfigError("a SQLite URL is sqlite:///PATH (three slashes)")
    return SQLiteStore(Path(text) if text != ":memory:" else text)

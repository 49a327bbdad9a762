"""Storage: one :class:`Store` protocol (made of role protocols) and its backends,
chosen by URL scheme from one registry."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..errors import ConfigError
from .base import Store


def _sqlite(location: str) -> Store:
    from .sqlite.store import SQLiteStore

    path = location.removeprefix("sqlite:///") if location.startswith("sqlite:///") else location
    if location.startswith("sqlite:") and not location.startswith("sqlite:///"):
        raise ConfigError("a SQLite URL is sqlite:///PATH (three slashes)")
    return SQLiteStore(path if path == ":memory:" else Path(path))


def _postgres(location: str) -> Store:
    from .postgres.store import PostgresStore

    return PostgresStore(location)


# URL scheme -> opener; a plain path (or ":memory:") is SQLite
BACKENDS: dict[str, Callable[[str], Store]] = {"sqlite": _sqlite, "postgresql": _postgres, "postgres": _postgres}
FILE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


def scheme(location: str) -> str | None:
    head, sep, _ = location.partition(":")
    return head.lower() if sep and head.lower() in BACKENDS else None


def is_store_location(text: str) -> bool:
    """Whether ``text`` names a store itself (a URL, a database file, ``:memory:``)
    rather than a data directory."""
    return scheme(text) is not None or text.endswith(FILE_SUFFIXES) or text == ":memory:"


def open_store(location: str | Path) -> Store:
    """Open a store from a URL (``postgresql://...``, ``sqlite:///path/to/file.db``), a
    plain file path, or ``:memory:``."""
    text = str(location)
    return BACKENDS[scheme(text) or "sqlite"](text)


__all__ = ["BACKENDS", "Store", "is_store_location", "open_store"]

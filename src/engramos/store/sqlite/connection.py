"""The SQLite backend's connection: one WAL-mode connection behind a re-entrant lock, nested
transactions, migrations on open; sqlite3 errors become StoreError."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..._util import iso, utcnow
from ...errors import StoreError
from .migrations import MIGRATIONS
from .rows import (
    _split_sql,
)
from .vectors import VectorCache


class SQLiteConnection:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            if str(path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                str(path), isolation_level=None, check_same_thread=False, timeout=30.0)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            # deleted rows are overwritten with zeros, so forgotten text leaves the file
            self._conn.execute("PRAGMA secure_delete=ON")
            self._conn.execute("PRAGMA busy_timeout=30000")
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open SQLite store at {path}: {exc}") from exc
        self._lock = threading.RLock()
        self._depth = 0
        self._vectors = VectorCache()
        self._migrate()

    def _migrate(self) -> None:
        with self.transaction():
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
        applied = {r[0] for r in self._q("SELECT name FROM schema_migrations")}
        for name, step in MIGRATIONS:
            if name in applied:
                continue
            with self.transaction():
                if callable(step):
                    step(self._conn)
                else:
                    for statement in _split_sql(step):
                        self._conn.execute(statement)
                self._conn.execute("INSERT INTO schema_migrations VALUES (?, ?)", (name, iso(utcnow())))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            outer = self._depth == 0
            try:
                if outer:
                    self._conn.execute("BEGIN IMMEDIATE")
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                if outer:
                    self._conn.execute("COMMIT")
            except BaseException as exc:
                if outer and self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise StoreError(f"SQLite: {exc}") from exc
                raise

    def _q(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        try:
            with self._lock:
                return self._conn.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite: {exc}") from exc

    def _x(self, sql: str, args: Sequence[Any] = ()) -> int:
        """Execute one write inside the current (or a new) transaction; rows changed."""
        with self.transaction():
            return self._conn.execute(sql, args).rowcount

    def close(self) -> None:
        # closing twice, or a dead handle: nothing left to release
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._conn.close()

"""Sets and maps of ids for exporting and importing cubes, kept in a temporary SQLite
file rather than in Python sets, so that a cube of millions of rows is checked and
remapped in bounded memory."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path


class IdIndex:
    """``(kind, id) -> value`` rows on disk; ``kind`` separates the id families
    (message, memory, cell, ...)."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="engram-cube-")
        self._db = sqlite3.connect(Path(self._dir.name) / "ids.db", isolation_level=None)
        self._db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; "
                               "CREATE TABLE ids (kind TEXT, id TEXT, value TEXT, PRIMARY KEY (kind, id)) "
                               "WITHOUT ROWID; BEGIN")

    def add(self, kind: str, ident: str, value: str | None = None) -> None:
        self._db.execute("INSERT OR REPLACE INTO ids VALUES (?, ?, ?)", (kind, ident, value))

    def has(self, kind: str, ident: str) -> bool:
        return self._db.execute("SELECT 1 FROM ids WHERE kind=? AND id=?", (kind, ident)).fetchone() is not None

    def get(self, kind: str, ident: str) -> str | None:
        row = self._db.execute("SELECT value FROM ids WHERE kind=? AND id=?", (kind, ident)).fetchone()
        return None if row is None else row[0]

    def count(self, kind: str) -> int:
        return int(self._db.execute("SELECT count(*) FROM ids WHERE kind=?", (kind,)).fetchone()[0])

    def values(self, kind: str) -> set[str]:
        """Every id of a kind (for the small families: scenes, conversations)."""
        return {r[0] for r in self._db.execute("SELECT id FROM ids WHERE kind=?", (kind,))}

    def missing(self, kind: str, wanted_kind: str) -> str | None:
        """One id recorded under ``kind`` that is absent from ``wanted_kind`` (a dangling
        reference), or None."""
        row = self._db.execute("SELECT id FROM ids r WHERE kind=? AND NOT EXISTS (SELECT 1 FROM ids WHERE "
                               "kind=? AND id=r.id) LIMIT 1", (kind, wanted_kind)).fetchone()
        return None if row is None else str(row[0])

    def close(self) -> None:
        self._db.close()
        self._dir.cleanup()

    def __enter__(self) -> IdIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

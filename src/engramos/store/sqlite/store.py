"""The embedded default backend: one SQLite file (WAL), FTS5 for BM25, exact k-NN per
tenant from :mod:`.vectors`."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from ...errors import StoreError
from ...types import Filters
from .._filters import SQLITE, filter_sql
from .cells import CellsMixin
from .export import ExportMixin
from .jobs import JobsMixin
from .keys import KeysMixin
from .memories import MemoriesMixin
from .messages import MessagesMixin
from .rows import (
    _chunks,
    _ph,
)
from .search import SearchMixin


class SQLiteStore(MessagesMixin, MemoriesMixin, SearchMixin, CellsMixin, KeysMixin, JobsMixin, ExportMixin):
    """See :class:`engramos.store.base.Store` for the contract."""

    backend = "sqlite"

    def health(self) -> dict[str, Any]:
        report: dict[str, Any] = {"backend": "sqlite", "path": str(self.path),
                                  "sqlite_version": sqlite3.sqlite_version}
        try:
            report["migrations"] = [r[0] for r in self._q("SELECT name FROM schema_migrations ORDER BY name")]
            report["integrity"] = self._q("PRAGMA quick_check")[0][0]
            report["journal_mode"] = self._q("PRAGMA journal_mode")[0][0]
            for table in ("messages", "memories", "vectors", "cells", "scenes", "history", "jobs"):
                report[f"rows_{table}"] = self._q(f"SELECT count(*) FROM {table}")[0][0]
            if str(self.path) != ":memory:" and self.path.exists():
                wal = Path(f"{self.path}-wal")  # committed pages not yet checkpointed live there
                report["size_bytes"] = self.path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
            report["index_bytes"] = self._index_bytes()
        except StoreError as exc:
            report["error"] = str(exc)
        return report

    def _index_bytes(self) -> int | None:
        """B-tree indexes and the full-text index (FTS5's shadow tables), from the dbstat
        table where this SQLite build has it."""
        try:
            return int(self._q(
                "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE aggregate = TRUE AND (name LIKE 'memories_fts_%' "
                "OR name IN (SELECT name FROM sqlite_master WHERE type = 'index'))")[0][0])
        except StoreError:
            return None  # built without SQLITE_ENABLE_DBSTAT_VTAB

    def get_meta(self, key: str) -> str | None:
        rows = self._q("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self._x("INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value))

    def forget(self, space: str, *, user_id: str | None = None,
               conversation_id: str | None = None) -> dict[str, int]:
        cond, args = filter_sql(SQLITE, space, Filters(user_id=user_id, conversation_id=conversation_id),
                                alias="", with_status=False)
        counts: dict[str, int] = {}
        with self.transaction():
            rows = self._conn.execute(f"SELECT pk, user_id, id FROM memories WHERE {cond}", args).fetchall()
            ids = [r[2] for r in rows]
            for chunk in _chunks(ids):
                self._conn.execute(f"DELETE FROM history WHERE space=? AND memory_id IN ({_ph(chunk)})",
                                   [space, *chunk])
            counts["memories"] = self._delete_pks(space, [(r[0], r[1]) for r in rows])
            counts["messages"] = self._conn.execute(f"DELETE FROM messages WHERE {cond}", args).rowcount
            counts["cells"] = self._conn.execute(f"DELETE FROM cells WHERE {cond}", args).rowcount
            if conversation_id is None:
                scond = "space=?" + (" AND user_id=?" if user_id is not None else "")
                sargs = [space] + ([user_id] if user_id is not None else [])
                counts["scenes"] = self._conn.execute(f"DELETE FROM scenes WHERE {scond}", sargs).rowcount
            counts["jobs"] = self._forget_jobs(space, user_id, conversation_id)
        return counts

    def _forget_jobs(self, space: str, user_id: str | None, conversation_id: str | None) -> int:
        removed = 0
        for jid, payload in self._conn.execute("SELECT id, payload FROM jobs WHERE space=?", (space,)).fetchall():
            p = json.loads(payload)
            if ((user_id is None or p.get("user_id") == user_id)
                    and (conversation_id is None or p.get("conversation_id") == conversation_id)):
                removed += self._conn.execute("DELETE FROM jobs WHERE id=?", (jid,)).rowcount
        return removed



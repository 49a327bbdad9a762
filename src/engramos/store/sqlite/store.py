"""The embedded default backend: one SQLite file (WAL), FTS5 for BM25, exact k-NN per
tenant from :mod:`.vectors`."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

from ..._util import from_iso, iso
from ...errors import StoreError
from ...types import Filters
from .._filters import SQLITE, filter_sql
from .._shares import SharesMixin
from .._vault import VaultMixin
from .cells import CellsMixin
from .entities import EntitiesMixin
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

log = logging.getLogger("engramos.store")


class SQLiteStore(MessagesMixin, MemoriesMixin, SearchMixin, CellsMixin, KeysMixin, JobsMixin, EntitiesMixin,
                  ExportMixin, VaultMixin, SharesMixin):
    """See :class:`engramos.store.base.Store` for the contract."""

    backend = "sqlite"
    _time = staticmethod(iso)
    _read_time = staticmethod(from_iso)

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

    def delete_meta(self, key: str) -> bool:
        return self._x("DELETE FROM meta WHERE key = ?", (key,)) > 0

    def meta_items(self, prefix: str, *, limit: int = 1000) -> list[tuple[str, str]]:
        rows = self._q("SELECT key, value FROM meta WHERE substr(key, 1, ?) = ? ORDER BY key LIMIT ?",
                       (len(prefix), prefix, limit))
        return [(k, v) for k, v in rows]

    def forget(self, space: str, *, user_id: str | None = None, conversation_id: str | None = None,
               message_id: str | None = None) -> dict[str, int]:
        if message_id is not None:
            return self._forget_message(space, message_id)
        cond, args = filter_sql(SQLITE, space, Filters(user_id=user_id, conversation_id=conversation_id),
                                alias="", with_status=False)
        counts: dict[str, int] = {}
        with self.transaction():
            c = self._conn
            convs = [r[0] for r in c.execute(f"SELECT DISTINCT conversation_id FROM messages WHERE {cond}", args)]
            rows = c.execute(f"SELECT pk, user_id FROM memories WHERE {cond}", args).fetchall()
            if conversation_id is not None:
                # memories of other conversations that drew on this one (a merged profile item)
                rows += c.execute(
                    "SELECT DISTINCT m.pk, m.user_id FROM messages g JOIN memory_sources s ON s.message_id = g.id "
                    "JOIN memories m ON m.pk = s.memory_pk WHERE g.space=? AND g.conversation_id=? "
                    "AND m.conversation_id <> ?", (space, conversation_id, conversation_id)).fetchall()
            counts["memories"] = self._delete_pks(space, rows)
            counts["messages"] = c.execute(f"DELETE FROM messages WHERE {cond}", args).rowcount
            scenes = [r[0] for r in c.execute(f"SELECT DISTINCT scene_id FROM cells WHERE {cond}", args)]
            counts["cells"] = c.execute(f"DELETE FROM cells WHERE {cond}", args).rowcount
            counts["scenes"] = self._forget_scenes(space, user_id, conversation_id, [s for s in scenes if s])
            counts["jobs"] = self._forget_jobs(space, user_id, conversation_id)
            counts["vault"] = c.execute(f"DELETE FROM pii_vault WHERE {cond}", args).rowcount
            if conversation_id is None:
                counts["shares"] = self._forget_shares(space, user_id)
            for conv in convs:
                suffix = f"/{space}/{conv}"  # a conversation's own state (see Store.forget)
                c.execute("DELETE FROM meta WHERE substr(key, -length(?)) = ?", (suffix, suffix))
            if conversation_id is None:  # the user's (or space's) vector partitions are empty now
                c.execute("DELETE FROM vector_partitions WHERE space=?" + (" AND user_id=?" if user_id else ""),
                          [space] + ([user_id] if user_id else []))
                self._vectors.drop(space, user_id)
        self.scrub()
        return counts

    def _forget_message(self, space: str, message_id: str) -> dict[str, int]:
        with self.transaction():
            c = self._conn
            found = c.execute("SELECT conversation_id FROM messages WHERE space=? AND id=?",
                              (space, message_id)).fetchone()
            if found is None:
                return {"memories": 0, "messages": 0}
            rows = c.execute("SELECT DISTINCT m.pk, m.user_id FROM memory_sources s JOIN memories m "
                             "ON m.pk = s.memory_pk WHERE s.message_id = ? AND m.space = ?",
                             (message_id, space)).fetchall()
            counts = {"memories": self._delete_pks(space, rows),
                      "messages": c.execute("DELETE FROM messages WHERE space=? AND id=?",
                                            (space, message_id)).rowcount}
            suffix = f"/{space}/{found[0]}"
            c.execute("DELETE FROM meta WHERE substr(key, -length(?)) = ?", (suffix, suffix))
        self.scrub()
        return counts

    def _forget_scenes(self, space: str, user_id: str | None, conversation_id: str | None,
                       touched: list[str]) -> int:
        """A user's (or space's) scenes go; a conversation's scenes go where no other cell
        is in them, and lose their label (made from forgotten text) where one is: the
        caller rebuilds those from the cells that remain."""
        if conversation_id is None:
            scond = "space=?" + (" AND user_id=?" if user_id is not None else "")
            return int(self._conn.execute(f"DELETE FROM scenes WHERE {scond}",
                                          [space] + ([user_id] if user_id is not None else [])).rowcount)
        removed = 0
        for chunk in _chunks(touched):
            removed += self._conn.execute(
                f"DELETE FROM scenes WHERE space=? AND id IN ({_ph(chunk)}) "
                "AND id NOT IN (SELECT scene_id FROM cells WHERE space=? AND scene_id IS NOT NULL)",
                [space, *chunk, space]).rowcount
            self._conn.execute(f"UPDATE scenes SET label='' WHERE space=? AND id IN ({_ph(chunk)})",
                               [space, *chunk])
        return removed

    def scrub(self) -> None:
        """Forgotten text must not survive in the full-text index's older segments (FTS5
        keeps a deleted row's terms until its segments are merged) nor in the WAL: merge
        the index into one segment, then checkpoint and truncate the WAL.  Freed pages are
        zeroed as they are freed (``secure_delete``).  A checkpoint blocked by a reader
        leaves the WAL to the next one."""
        with self.transaction():
            self._conn.execute("INSERT INTO memories_fts (memories_fts) VALUES ('optimize')")
        with self._lock:
            if self._depth > 0:  # inside a caller's transaction, which holds the WAL
                return
            try:
                busy = self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            except sqlite3.OperationalError as exc:  # locked by a statement of ours: the next checkpoint will do
                busy, detail = 1, str(exc)
            else:
                detail = "a reader holds an older snapshot"
            if busy:
                log.warning("WAL not truncated after a forget (%s); forgotten bytes stay in it until the next "
                            "checkpoint", detail)

    def _forget_jobs(self, space: str, user_id: str | None, conversation_id: str | None) -> int:
        removed = 0
        for jid, payload in self._conn.execute("SELECT id, payload FROM jobs WHERE space=?", (space,)).fetchall():
            p = json.loads(payload)
            if ((user_id is None or p.get("user_id") == user_id)
                    and (conversation_id is None or p.get("conversation_id") == conversation_id)):
                removed += self._conn.execute("DELETE FROM jobs WHERE id=?", (jid,)).rowcount
        return removed



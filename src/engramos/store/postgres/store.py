"""The PostgreSQL backend: psycopg 3 with a connection pool, pgvector for k-NN (HNSW
indexes per dimension, iterative scans so tenant filters keep recall), tsvector full text
(Chinese pre-segmented as for SQLite), jobs claimed with ``FOR UPDATE SKIP LOCKED``.
See :class:`engramos.store.base.Store` for the contract."""

from __future__ import annotations

from typing import Any

from ...errors import StoreError
from ...types import Filters
from .._filters import POSTGRES, filter_sql
from .cells import CellsMixin
from .export import ExportMixin
from .jobs import JobsMixin
from .keys import KeysMixin
from .memories import MemoriesMixin
from .messages import MessagesMixin
from .search import SearchMixin


class PostgresStore(MessagesMixin, MemoriesMixin, SearchMixin, CellsMixin, KeysMixin, JobsMixin, ExportMixin):
    backend = "postgresql"

    def health(self) -> dict[str, Any]:
        report: dict[str, Any] = {"backend": "postgresql", "path": self.url.split("@")[-1]}
        try:
            report["migrations"] = [r[0] for r in self._q("SELECT name FROM schema_migrations ORDER BY name")]
            report["server_version"] = self._q("SHOW server_version")[0][0]
            report["integrity"] = "ok"
            for table in ("messages", "memories", "vectors", "cells", "scenes", "history", "jobs"):
                report[f"rows_{table}"] = self._q(f"SELECT count(*) FROM {table}")[0][0]
            report["size_bytes"] = self._q("SELECT pg_database_size(current_database())")[0][0]
            report["index_bytes"] = int(self._q(
                "SELECT coalesce(sum(pg_relation_size(i.indexrelid)), 0) FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indrelid WHERE c.relnamespace = current_schema()::regnamespace")[0][0])
        except StoreError as exc:
            report["error"] = str(exc)
        return report

    def get_meta(self, key: str) -> str | None:
        rows = self._q("SELECT value FROM meta WHERE key=%s", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self._x("INSERT INTO meta VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value))

    def forget(self, space: str, *, user_id: str | None = None,
               conversation_id: str | None = None) -> dict[str, int]:
        cond, args = filter_sql(POSTGRES, space, Filters(user_id=user_id, conversation_id=conversation_id),
                                alias="", with_status=False)
        counts: dict[str, int] = {}
        with self.transaction():
            self._x(f"DELETE FROM history WHERE space=%s AND memory_id IN (SELECT id FROM memories WHERE {cond})",
                    [space, *args])
            counts["memories"] = self._delete_memories_where(cond, args)
            counts["messages"] = self._x(f"DELETE FROM messages WHERE {cond}", args)
            counts["cells"] = self._x(f"DELETE FROM cells WHERE {cond}", args)
            if conversation_id is None:
                scond = "space=%s" + (" AND user_id=%s" if user_id is not None else "")
                counts["scenes"] = self._x(f"DELETE FROM scenes WHERE {scond}",
                                           [space] + ([user_id] if user_id is not None else []))
            jcond, jargs = "space=%s", [space]
            if user_id is not None:
                jcond += " AND payload->>'user_id' = %s"
                jargs.append(user_id)
            if conversation_id is not None:
                jcond += " AND payload->>'conversation_id' = %s"
                jargs.append(conversation_id)
            counts["jobs"] = self._x(f"DELETE FROM jobs WHERE {jcond}", jargs)
        return counts



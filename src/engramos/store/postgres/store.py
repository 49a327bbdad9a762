"""The PostgreSQL backend: psycopg 3 with a connection pool, pgvector for k-NN (HNSW
indexes per dimension, iterative scans so tenant filters keep recall), tsvector full text
(Chinese pre-segmented as for SQLite), jobs claimed with ``FOR UPDATE SKIP LOCKED``.
See :class:`engramos.store.base.Store` for the contract."""

from __future__ import annotations

from typing import Any

from ...errors import StoreError
from ...types import Filters
from .._filters import POSTGRES, filter_sql
from .._shares import SharesMixin
from .._vault import VaultMixin
from .cells import CellsMixin
from .entities import EntitiesMixin
from .export import ExportMixin
from .jobs import JobsMixin
from .keys import KeysMixin
from .memories import MemoriesMixin
from .messages import MessagesMixin
from .search import SearchMixin


class PostgresStore(MessagesMixin, MemoriesMixin, SearchMixin, CellsMixin, KeysMixin, JobsMixin, EntitiesMixin,
                    ExportMixin, VaultMixin, SharesMixin):
    backend = "postgresql"
    _time = staticmethod(lambda at: at)
    _read_time = staticmethod(lambda at: at)

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

    def delete_meta(self, key: str) -> bool:
        return self._x("DELETE FROM meta WHERE key = %s", (key,)) > 0

    def meta_items(self, prefix: str, *, limit: int = 1000) -> list[tuple[str, str]]:
        rows = self._q("SELECT key, value FROM meta WHERE left(key, %s) = %s ORDER BY key COLLATE \"C\" LIMIT %s",
                       (len(prefix), prefix, limit))
        return [(k, v) for k, v in rows]

    def forget(self, space: str, *, user_id: str | None = None, conversation_id: str | None = None,
               message_id: str | None = None) -> dict[str, int]:
        if message_id is not None:
            return self._forget_message(space, message_id)
        cond, args = filter_sql(POSTGRES, space, Filters(user_id=user_id, conversation_id=conversation_id),
                                alias="", with_status=False)
        counts: dict[str, int] = {}
        with self.transaction():
            convs = [r[0] for r in self._q(f"SELECT DISTINCT conversation_id FROM messages WHERE {cond}", args)]
            mcond, margs = cond, list(args)
            if conversation_id is not None:
                # memories of other conversations that drew on this one (a merged profile item)
                mcond = (f"({cond}) OR (space=%s AND message_ids ?| (SELECT coalesce(array_agg(id), '{{}}') "
                         "FROM messages WHERE space=%s AND conversation_id=%s))")
                margs += [space, space, conversation_id]
            counts["memories"] = self._delete_memories_where(space, mcond, margs)
            counts["messages"] = self._x(f"DELETE FROM messages WHERE {cond}", args)
            scenes = [r[0] for r in self._q(f"SELECT DISTINCT scene_id FROM cells WHERE {cond}", args) if r[0]]
            counts["cells"] = self._x(f"DELETE FROM cells WHERE {cond}", args)
            counts["scenes"] = self._forget_scenes(space, user_id, conversation_id, scenes)
            jcond, jargs = "space=%s", [space]
            if user_id is not None:
                jcond += " AND payload->>'user_id' = %s"
                jargs.append(user_id)
            if conversation_id is not None:
                jcond += " AND payload->>'conversation_id' = %s"
                jargs.append(conversation_id)
            counts["jobs"] = self._x(f"DELETE FROM jobs WHERE {jcond}", jargs)
            counts["vault"] = self._x(f"DELETE FROM pii_vault WHERE {cond}", args)
            if conversation_id is None:
                counts["shares"] = self._forget_shares(space, user_id)
            for conv in convs:
                suffix = f"/{space}/{conv}"  # a conversation's own state (see Store.forget)
                self._x("DELETE FROM meta WHERE right(key, length(%s)) = %s", (suffix, suffix))
        return counts

    def _forget_message(self, space: str, message_id: str) -> dict[str, int]:
        with self.transaction():
            found = self._q("SELECT conversation_id FROM messages WHERE space=%s AND id=%s", (space, message_id))
            if not found:
                return {"memories": 0, "messages": 0}
            counts = {"memories": self._delete_memories_where(space, "space=%s AND message_ids ? %s",
                                                              [space, message_id]),
                      "messages": self._x("DELETE FROM messages WHERE space=%s AND id=%s", (space, message_id))}
            suffix = f"/{space}/{found[0][0]}"
            self._x("DELETE FROM meta WHERE right(key, length(%s)) = %s", (suffix, suffix))
        return counts

    def scrub(self) -> None:
        """Nothing to do: a term no row holds leaves ``text_terms`` with its last row, and
        dead tuples are PostgreSQL's own to reclaim (autovacuum; see docs/security.md)."""

    def _forget_scenes(self, space: str, user_id: str | None, conversation_id: str | None,
                       touched: list[str]) -> int:
        """As on SQLite: a conversation's scenes go where no other cell is in them and
        lose their label where one is (the caller rebuilds them)."""
        if conversation_id is None:
            return self._x("DELETE FROM scenes WHERE space=%s" + (" AND user_id=%s" if user_id is not None else ""),
                           [space] + ([user_id] if user_id is not None else []))
        removed = self._x("DELETE FROM scenes WHERE space=%s AND id = ANY(%s) AND id NOT IN "
                          "(SELECT scene_id FROM cells WHERE space=%s AND scene_id IS NOT NULL)",
                          (space, touched, space))
        self._x("UPDATE scenes SET label='' WHERE space=%s AND id = ANY(%s)", (space, touched))
        return removed

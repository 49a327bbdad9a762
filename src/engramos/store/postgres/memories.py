"""Memories, their vectors (HNSW upkeep, bulk loads) and history in the PostgreSQL backend (the Store's memory role)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import numpy as np

from ..._util import from_iso, iso, utcnow
from ...errors import NotFoundError, StoreError
from ...types import (
    Filters,
    HistoryEntry,
    MemoryRecord,
    Page,
)
from .._filters import time_bounds
from .._sql import decode_cursor
from . import fulltext, knn
from .connection import _LOCK_ID, PostgresConnection
from .rows import _MEM, _UPDATABLE, _filter_sql, _memory, _memory_row


class MemoriesMixin(PostgresConnection):
    def insert_memories(self, records: Sequence[MemoryRecord], vectors: np.ndarray | None = None,
                        model_id: str | None = None) -> None:
        if vectors is not None and len(vectors) != len(records):
            raise StoreError("insert_memories: one vector per record is required")
        if not records:
            return
        rows = []
        with self.transaction(), self._cursor() as cur:
            delta = self._text_delta()
            for rec in records:
                t0, t1 = time_bounds(rec)
                terms, tsv, length = fulltext.indexed(rec.text)
                delta.add(terms, length)
                rows.append((*_memory_row(rec), rec.observed_at, t0, t1, tsv, length))
            # executemany runs in pipeline mode: one round trip per batch, not per row
            cur.executemany(f"INSERT INTO memories ({_MEM}, observed_at, t_start, t_end, tsv, doc_len) VALUES "
                            f"({', '.join(['%s'] * 23)}, %s, %s, %s, %s::tsvector, %s)", rows)
            self._note_growth(len(rows))
            if vectors is None or model_id is None:
                return
            cur.execute("SELECT id, pk FROM memories WHERE id = ANY(%s)", ([r.id for r in records],))
            pk_of = dict(cur.fetchall())
            for dim in sorted({int(np.asarray(v).shape[0]) for v in vectors}):
                self._ensure_hnsw(dim)
            cur.executemany("INSERT INTO vectors VALUES (%s, %s, %s, %s, %s, %s, %s::vector) ON CONFLICT (memory_pk) "
                            "DO UPDATE SET model=excluded.model, dim=excluded.dim, vec=excluded.vec",
                            [(pk_of[r.id], r.space, r.user_id, r.conversation_id, model_id,
                              int(np.asarray(v).shape[0]), knn.vector_literal(v))
                             for r, v in zip(records, vectors, strict=True)])

    def _put_vector(self, pk: int, rec: MemoryRecord, vec: np.ndarray, model_id: str) -> None:
        dim = int(np.asarray(vec).shape[0])
        self._ensure_hnsw(dim)
        self._x("INSERT INTO vectors VALUES (%s, %s, %s, %s, %s, %s, %s::vector) ON CONFLICT (memory_pk) DO UPDATE "
                "SET model=excluded.model, dim=excluded.dim, vec=excluded.vec",
                (pk, rec.space, rec.user_id, rec.conversation_id, model_id, dim, knn.vector_literal(vec)))

    def _ensure_hnsw(self, dim: int) -> None:
        """Builds the HNSW index of a dimension before the caller's transaction writes its
        first vector of that dimension.  Done after a write, the index build's table
        lock would deadlock against a concurrent writer's; done first, concurrent
        builders queue on an advisory lock and the loser finds the index there."""
        if self._bulk_dims is not None:
            self._bulk_dims.add(dim)  # built when the bulk load ends
            return
        if dim in self._hnsw:
            return
        if self._q("SELECT 1 FROM pg_indexes WHERE indexname = %s", (knn.index_name(dim),)):
            self._hnsw = self._hnsw | {dim}  # only once committed and visible
            return
        with self.transaction():
            self._x("SELECT pg_advisory_xact_lock(%s, %s)", (_LOCK_ID, dim))
            self._x(knn.create_index_sql(dim))

    @contextmanager
    def bulk_load(self, rows: int) -> Iterator[None]:
        if getattr(self._local, "conn", None) is not None or self._bulk_dims is not None:
            raise StoreError("bulk_load: enter it outside any transaction, and once at a time")
        existing = int(self._q("SELECT count(*) FROM vectors")[0][0])
        if not knn.rebuild_pays(existing, rows):
            yield
            return
        self._bulk_dims, self._hnsw = set(), set()  # from here on, this process's writers build no index
        try:
            for dim in self._indexed_dims():
                self._bulk_dims.add(dim)
                with self.transaction():
                    self._x("SELECT pg_advisory_xact_lock(%s, %s)", (_LOCK_ID, dim))
                    self._x(f"DROP INDEX IF EXISTS {knn.index_name(dim)}")
            yield
        finally:
            dims, self._bulk_dims = self._bulk_dims, None
            for dim in sorted(dims):
                self._ensure_hnsw(dim)
            self._x("ANALYZE memories")  # the planner's row estimates follow the load
            self._x("ANALYZE vectors")

    def _indexed_dims(self) -> list[int]:
        with self._cursor() as cur:
            return knn.indexed_dims(cur)

    def set_vectors(self, space: str, ids: Sequence[str], vectors: np.ndarray, model_id: str) -> None:
        with self.transaction():
            for mid, vec in zip(ids, vectors, strict=True):
                rows = self._q(f"SELECT pk, {_MEM} FROM memories WHERE space=%s AND id=%s", (space, mid))
                if not rows:
                    raise NotFoundError("memory", mid)
                self._put_vector(rows[0][0], _memory(rows[0][1:]), vec, model_id)

    def lifecycle_due(self, space: str, *, kinds: Sequence[str], before: datetime, by: str = "observed",
                      cell_extracted: bool = False, limit: int = 1000) -> list[str]:
        if not kinds:
            return []
        col = {"observed": "observed_at", "valid_to": "valid_to"}[by]
        sql = (f"SELECT id FROM memories WHERE space=%s AND status='active' AND kind = ANY(%s) "
               f"AND {col} IS NOT NULL AND {col} < %s")
        args: list[Any] = [space, list(kinds), before]
        if cell_extracted:
            # a turn is filed before its cell exists: its cell is its message's
            sql += (" AND coalesce(cell_id, (SELECT g.cell_id FROM messages g WHERE g.id = "
                    "memories.message_ids->>0)) IN (SELECT id FROM cells WHERE space=%s AND status='extracted')")
            args.append(space)
        return [r[0] for r in self._q(sql + " ORDER BY pk LIMIT %s", [*args, limit])]

    def ids_without_vectors(self, space: str, limit: int = 1000) -> list[str]:
        return [r[0] for r in self._q(
            "SELECT m.id FROM memories m LEFT JOIN vectors v ON v.memory_pk = m.pk "
            "WHERE m.space=%s AND v.memory_pk IS NULL ORDER BY m.pk LIMIT %s", (space, limit))]

    def get_memories(self, space: str, ids: Sequence[str]) -> list[MemoryRecord]:
        if not ids:
            return []
        found = {r[0]: _memory(r) for r in self._q(
            f"SELECT {_MEM} FROM memories WHERE space=%s AND id = ANY(%s)", (space, list(ids)))}
        return [found[i] for i in ids if i in found]

    def get_vectors(self, space: str, ids: Sequence[str]) -> dict[str, np.ndarray]:
        rows = self._q("SELECT m.id, v.vec::text FROM memories m JOIN vectors v ON v.memory_pk = m.pk "
                       "WHERE m.space=%s AND m.id = ANY(%s)", (space, list(ids)))
        return {r[0]: np.array(json.loads(r[1]), dtype=np.float32) for r in rows}

    def list_memories(self, space: str, filters: Filters, *, limit: int = 50, cursor: str | None = None,
                      cell_ids: Sequence[str] | None = None, scene_id: str | None = None) -> Page:
        where, args = _filter_sql(space, filters, "")
        if cell_ids is not None:
            if not cell_ids:
                return Page(items=[])
            where += " AND cell_id = ANY(%s)"
            args.append(list(cell_ids))
        if scene_id is not None:
            where += " AND scene_id = %s"
            args.append(scene_id)
        if cursor:
            c_obs, c_id = decode_cursor(cursor)
            c_at = from_iso(c_obs)
            where += " AND (observed_at < %s OR (observed_at = %s AND id < %s))"
            args += [c_at, c_at, c_id]
        rows = self._q(f"SELECT {_MEM}, observed_at FROM memories WHERE {where} "
                       "ORDER BY observed_at DESC, id DESC LIMIT %s", [*args, limit + 1])
        items = [_memory(r[:-1]) for r in rows[:limit]]
        nxt = json.dumps([iso(rows[limit - 1][-1]), rows[limit - 1][0]]) if len(rows) > limit else None
        return Page(items=items, next_cursor=nxt)

    def update_memory(self, space: str, memory_id: str, changes: dict[str, Any]) -> MemoryRecord:
        bad = set(changes) - _UPDATABLE
        if bad:
            raise StoreError(f"update_memory: fields not updatable: {sorted(bad)}")
        with self.transaction():
            current = self.get_memories(space, [memory_id])
            if not current:
                raise NotFoundError("memory", memory_id)
            rec = current[0].model_copy(update={**changes, "updated_at": utcnow()})
            t0, t1 = time_bounds(rec)
            self._x("UPDATE memories SET text=%s, status=%s, valid_from=%s, valid_to=%s, event_start=%s, "
                    "event_end=%s, metadata=%s, supersedes=%s, scene_id=%s, speaker=%s, updated_at=%s, t_start=%s, "
                    "t_end=%s WHERE space=%s AND id=%s",
                    (rec.text, rec.status, rec.valid_from, rec.valid_to, rec.event_start, rec.event_end,
                     json.dumps(rec.metadata, default=str), rec.supersedes, rec.scene_id, rec.speaker, rec.updated_at,
                     t0, t1, space, memory_id))
            if "text" in changes and changes["text"] != current[0].text:
                self._reindex(space, memory_id, rec.text)
                self._x("DELETE FROM vectors WHERE memory_pk = (SELECT pk FROM memories WHERE space=%s AND id=%s)",
                        (space, memory_id))
        return rec

    def _reindex(self, space: str, memory_id: str, text: str) -> None:
        terms, tsv, length = fulltext.indexed(text)
        old = self._q("SELECT array(SELECT lexeme FROM unnest(tsv)), doc_len FROM memories WHERE space=%s AND id=%s",
                      (space, memory_id))
        delta = self._text_delta()
        delta.add(old[0][0], old[0][1], sign=-1)
        delta.add(terms, length)
        self._x("UPDATE memories SET tsv = %s::tsvector, doc_len = %s WHERE space=%s AND id=%s",
                (tsv, length, space, memory_id))

    def _delete_memories_where(self, space: str, cond: str, args: Sequence[Any]) -> int:
        """Deletes rows with their history (a hard delete leaves no old text behind) and
        takes them out of the full-text statistics."""
        with self.transaction():
            mentioned = [r[0] for r in self._q(f"SELECT DISTINCT l.entity_pk FROM memory_entities l JOIN memories m "
                                               f"ON m.pk = l.memory_pk WHERE m.pk IN (SELECT pk FROM memories "
                                               f"WHERE {cond})", args)]
            gone = self._q(f"DELETE FROM memories WHERE {cond} "
                           "RETURNING id, array(SELECT lexeme FROM unnest(tsv)), doc_len", args)
            if mentioned:  # entities no memory mentions any more go (their names are text of what went)
                self._x("DELETE FROM entities e WHERE e.pk = ANY(%s) AND NOT EXISTS "
                        "(SELECT 1 FROM memory_entities l WHERE l.entity_pk = e.pk)", (mentioned,))
            self._x("DELETE FROM history WHERE space=%s AND memory_id = ANY(%s)", (space, [g[0] for g in gone]))
            delta = self._text_delta()
            for _, terms, length in gone:
                delta.add(terms, length, sign=-1)
        return len(gone)

    def successors(self, space: str, ids: Sequence[str]) -> dict[str, str]:
        rows = self._q("SELECT supersedes, id FROM memories WHERE space=%s AND supersedes = ANY(%s) "
                       "ORDER BY observed_at, pk", (space, list(ids)))
        return {old: new for old, new in rows}  # the newest last, so it wins

    def superseded_citing(self, space: str, message_ids: Sequence[str]) -> dict[str, str]:
        if not message_ids:
            return {}
        wanted = set(message_ids)
        rows = self._q("SELECT id, message_ids FROM memories WHERE space=%s AND status='superseded' "
                       "AND kind NOT IN ('turn', 'episode') AND message_ids ?| %s ORDER BY observed_at, pk",
                       (space, list(wanted)))
        found: dict[str, str] = {}
        for memory_id, cited in rows:
            for message_id in cited:
                if message_id in wanted:
                    found[message_id] = memory_id  # the most recent last
        return found

    def delete_memories(self, space: str, ids: Sequence[str]) -> int:
        return self._delete_memories_where(space, "space=%s AND id = ANY(%s)", (space, list(ids)))

    def add_history(self, space: str, entries: Sequence[HistoryEntry]) -> None:
        with self.transaction():
            for e in entries:
                self._x("INSERT INTO history (id, space, memory_id, action, actor, at, before, after) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                        (e.id, space, e.memory_id, e.action, e.actor, e.at,
                         None if e.before is None else json.dumps(e.before, default=str),
                         None if e.after is None else json.dumps(e.after, default=str)))

    def history(self, space: str, memory_id: str) -> list[HistoryEntry]:
        rows = self._q("SELECT id, memory_id, action, actor, at, before, after FROM history "
                       "WHERE space=%s AND memory_id=%s ORDER BY at, seq", (space, memory_id))
        return [HistoryEntry(id=r[0], memory_id=r[1], action=r[2], actor=r[3], at=r[4], before=r[5], after=r[6])
                for r in rows]

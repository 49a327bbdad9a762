"""The PostgreSQL backend: psycopg 3 with a connection pool, pgvector for k-NN (HNSW
indexes per dimension, iterative scans so tenant filters keep recall), tsvector full text
(Chinese pre-segmented as for SQLite), jobs claimed with ``FOR UPDATE SKIP LOCKED``.
See :class:`engramos.store.base.Store` for the contract."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from ..._util import epoch, from_iso, iso, utcnow
from ...errors import InvalidInputError, NotFoundError, StoreError
from ...text import query_terms
from ...types import (
    ApiKey,
    AuditEntry,
    Cell,
    Filters,
    HistoryEntry,
    MemoryRecord,
    Message,
    Page,
    Scene,
    TimeRange,
)
from . import fulltext, knn
from .export import ExportMixin
from .jobs import JobsMixin
from .migrations import MIGRATIONS
from .rows import _MEM, _MSG, _UPDATABLE, _cell, _filter_sql, _key, _memory, _memory_row, _message

_LOCK_ID = 7_420_001  # advisory lock serialising migrations across processes
log = logging.getLogger(__name__)


def _warn_about_memory(diag: Any) -> None:
    # pgvector's notice that an HNSW build spilled out of maintenance_work_mem (it then
    # runs many times slower): worth a warning in the operator's log
    if "maintenance_work_mem" in (diag.message_primary or ""):
        log.warning("PostgreSQL: %s (%s)", diag.message_primary, diag.message_detail or "")


def _bounds(rec: MemoryRecord) -> tuple[float, float]:
    if rec.event_start is not None:
        return epoch(rec.event_start), epoch(rec.event_end or rec.event_start)
    return epoch(rec.observed_at), epoch(rec.observed_at)


class PostgresStore(ExportMixin, JobsMixin):
    backend = "postgresql"

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10) -> None:
        try:
            import psycopg
            from psycopg_pool import ConnectionPool
        except ImportError as exc:
            raise StoreError("the PostgreSQL backend needs engramos[postgres] (psycopg, psycopg_pool)") from exc
        self._psycopg = psycopg
        self.url = url
        try:
            self.pool = ConnectionPool(url, min_size=min_size, max_size=max_size, open=True, timeout=30,
                                       kwargs={"autocommit": True}, configure=self._configure)
            self.pool.wait(timeout=30)
        except Exception as exc:  # any driver or pool failure to connect is a StoreError
            raise StoreError(f"cannot connect to PostgreSQL: {exc}") from exc
        self._local = threading.local()
        self._hnsw: set[int] = set()  # dimensions whose index is known to exist
        self._bulk_dims: set[int] | None = None  # inside bulk_load: dimensions to index on exit
        self._migrate()

    @staticmethod
    def _configure(conn: Any) -> None:
        conn.execute("SET TIME ZONE 'UTC'")
        conn.add_notice_handler(_warn_about_memory)

    # ------------------------------------------------------------ plumbing
    @contextmanager
    def transaction(self) -> Iterator[None]:
        if getattr(self._local, "conn", None) is not None:
            yield  # joins the outer transaction
            return
        delta = self._text_delta()
        delta.clear()
        try:
            with self.pool.connection() as conn, conn.transaction():
                self._local.conn = conn
                try:
                    yield
                    with conn.cursor() as cur:
                        delta.flush(cur)  # last, so its row locks are held only for the commit
                finally:
                    self._local.conn = None
        except self._psycopg.Error as exc:
            raise StoreError(f"PostgreSQL: {exc}") from exc

    def _text_delta(self) -> fulltext.TextStatsDelta:
        delta: fulltext.TextStatsDelta | None = getattr(self._local, "text_delta", None)
        if delta is None:
            delta = self._local.text_delta = fulltext.TextStatsDelta()
        return delta

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        conn = getattr(self._local, "conn", None)
        try:
            if conn is not None:
                with conn.cursor() as cur:
                    yield cur
            else:
                with self.pool.connection() as c, c.cursor() as cur:
                    yield cur
        except self._psycopg.Error as exc:
            raise StoreError(f"PostgreSQL: {exc}") from exc

    def _q(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        with self._cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall() if cur.description else []

    def _x(self, sql: str, args: Sequence[Any] = ()) -> int:
        with self._cursor() as cur:
            cur.execute(sql, args)
            return int(cur.rowcount)

    def _migrate(self) -> None:
        with self.transaction():
            self._x("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
            self._x("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
            applied = {r[0] for r in self._q("SELECT name FROM schema_migrations")}
            for name, step in MIGRATIONS:
                if name in applied:
                    continue
                if callable(step):
                    with self._cursor() as cur:
                        step(cur)
                else:
                    self._x(step)
                self._x("INSERT INTO schema_migrations VALUES (%s, %s)", (name, iso(utcnow())))

    def close(self) -> None:
        self.pool.close()

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

    # ---------------------------------------------------------------- meta
    def get_meta(self, key: str) -> str | None:
        rows = self._q("SELECT value FROM meta WHERE key=%s", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self._x("INSERT INTO meta VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value))

    # ------------------------------------------------------------ messages
    def insert_messages(self, messages: Sequence[Message]) -> list[tuple[str, bool]]:
        out: list[tuple[str, bool]] = []
        with self.transaction():
            for m in messages:
                row = self._q("SELECT id FROM messages WHERE space=%s AND conversation_id=%s AND content_hash=%s",
                              (m.space, m.conversation_id, m.content_hash))
                if row:
                    out.append((row[0][0], False))
                    continue
                self._x(f"INSERT INTO messages ({_MSG}, ts) VALUES ({', '.join(['%s'] * 18)})",
                        (m.id, m.space, m.user_id, m.agent_id, m.conversation_id, m.session_id, m.seq, m.sender,
                         m.sender_name, m.role, m.content, iso(m.timestamp), m.external_id, json.dumps(m.metadata),
                         m.content_hash, m.cell_id, m.created_at, m.timestamp))
                out.append((m.id, True))
        return out

    def next_seq(self, space: str, conversation_id: str) -> int:
        return int(self._q("SELECT coalesce(max(seq), 0) + 1 FROM messages WHERE space=%s AND conversation_id=%s",
                           (space, conversation_id))[0][0])

    def get_messages(self, space: str, ids: Sequence[str]) -> list[Message]:
        if not ids:
            return []
        found = {r[0]: _message(r) for r in self._q(
            f"SELECT {_MSG} FROM messages WHERE space=%s AND id = ANY(%s)", (space, list(ids)))}
        return [found[i] for i in ids if i in found]

    def get_messages_by_seq(self, space: str, conversation_id: str, seqs: Sequence[int]) -> list[Message]:
        return [_message(r) for r in self._q(
            f"SELECT {_MSG} FROM messages WHERE space=%s AND conversation_id=%s AND seq = ANY(%s) ORDER BY seq",
            (space, conversation_id, sorted(set(seqs))))]

    def list_messages(self, space: str, conversation_id: str, *, unassigned: bool = False,
                      seq_from: int | None = None, seq_to: int | None = None, limit: int = 10_000) -> list[Message]:
        sql = f"SELECT {_MSG} FROM messages WHERE space=%s AND conversation_id=%s"
        args: list[Any] = [space, conversation_id]
        if unassigned:
            sql += " AND cell_id IS NULL"
        if seq_from is not None:
            sql += " AND seq >= %s"
            args.append(seq_from)
        if seq_to is not None:
            sql += " AND seq <= %s"
            args.append(seq_to)
        return [_message(r) for r in self._q(sql + " ORDER BY seq LIMIT %s", [*args, limit])]

    def conversations_with_unassigned(self, space: str) -> list[str]:
        return [r[0] for r in self._q(
            "SELECT DISTINCT conversation_id FROM messages WHERE space=%s AND cell_id IS NULL", (space,))]

    def assign_cell(self, space: str, message_ids: Sequence[str], cell_id: str) -> None:
        self._x("UPDATE messages SET cell_id=%s WHERE space=%s AND id = ANY(%s)", (cell_id, space, list(message_ids)))

    # ------------------------------------------------------------ memories
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
                t0, t1 = _bounds(rec)
                terms, tsv, length = fulltext.indexed(rec.text)
                delta.add(terms, length)
                rows.append((*_memory_row(rec), rec.observed_at, t0, t1, tsv, length))
            # executemany runs in pipeline mode: one round trip per batch, not per row
            cur.executemany(f"INSERT INTO memories ({_MEM}, observed_at, t_start, t_end, tsv, doc_len) VALUES "
                            f"({', '.join(['%s'] * 23)}, %s, %s, %s, %s::tsvector, %s)", rows)
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
            try:
                c_obs, c_id = json.loads(cursor)
                c_at = from_iso(c_obs)
            except (ValueError, TypeError) as exc:
                raise InvalidInputError("cursor", "not a cursor returned by a previous page") from exc
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
            t0, t1 = _bounds(rec)
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

    def _delete_memories_where(self, cond: str, args: Sequence[Any]) -> int:
        """Deletes rows and takes them out of the full-text statistics."""
        with self.transaction():
            gone = self._q(f"DELETE FROM memories WHERE {cond} "
                           "RETURNING array(SELECT lexeme FROM unnest(tsv)), doc_len", args)
            delta = self._text_delta()
            for terms, length in gone:
                delta.add(terms, length, sign=-1)
        return len(gone)

    def delete_memories(self, space: str, ids: Sequence[str]) -> int:
        return self._delete_memories_where("space=%s AND id = ANY(%s)", (space, list(ids)))

    # -------------------------------------------------------------- search
    def search_text(self, space: str, words: Sequence[str], filters: Filters, *, limit: int,
                    time_range: TimeRange | None = None) -> list[tuple[str, float]]:
        terms = query_terms(words)
        if not terms:
            return []
        where, args = _filter_sql(space, filters, "m.", with_status=False)
        if not filters.include_inactive:
            where += " AND m.status = 'active'"
        if time_range is not None:
            where += " AND m.t_end >= %s AND m.t_start <= %s"
            args += [epoch(time_range.start), epoch(time_range.end)]
        with self._cursor() as cur:
            return fulltext.search(cur, terms, where, args, limit)

    def search_vectors(self, space: str, vector: np.ndarray, filters: Filters, *, limit: int,
                       time_range: TimeRange | None = None) -> list[tuple[str, float]]:
        where, args = _filter_sql(space, filters, "m.", with_status=False)
        if not filters.include_inactive:
            where += " AND m.status = 'active'"
        if time_range is not None:
            where += " AND m.t_end >= %s AND m.t_start <= %s"
            args += [epoch(time_range.start), epoch(time_range.end)]
        with self.transaction(), self._cursor() as cur:  # SET LOCAL inside: safe behind PgBouncer
            return knn.search(cur, space, filters.user_id, np.asarray(vector), where, args, limit)

    # ------------------------------------------------------- cells / scenes
    def upsert_cell(self, cell: Cell) -> None:
        self._x("INSERT INTO cells VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO "
                "UPDATE SET first_seq=excluded.first_seq, last_seq=excluded.last_seq, start_at=excluded.start_at, "
                "end_at=excluded.end_at, start_text=excluded.start_text, end_text=excluded.end_text, "
                "scene_id=excluded.scene_id, status=excluded.status, boundary=excluded.boundary",
                (cell.id, cell.space, cell.user_id, cell.conversation_id, cell.first_seq, cell.last_seq, cell.start_at,
                 cell.end_at, iso(cell.start_at), iso(cell.end_at), cell.scene_id, cell.status, cell.boundary))

    def get_cell(self, space: str, cell_id: str) -> Cell | None:
        rows = self._q("SELECT * FROM cells WHERE space=%s AND id=%s", (space, cell_id))
        return _cell(rows[0]) if rows else None

    def list_cells(self, space: str, conversation_id: str) -> list[Cell]:
        return [_cell(r) for r in self._q("SELECT * FROM cells WHERE space=%s AND conversation_id=%s "
                                          "ORDER BY first_seq", (space, conversation_id))]

    def upsert_scene(self, scene: Scene, centroid: np.ndarray) -> None:
        self._x("INSERT INTO scenes VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET "
                "label=excluded.label, size=excluded.size, first_at=excluded.first_at, last_at=excluded.last_at, "
                "centroid=excluded.centroid",
                (scene.id, scene.space, scene.user_id, scene.label, scene.size, scene.first_at, scene.last_at,
                 np.asarray(centroid, dtype=np.float32).tobytes()))

    def list_scenes(self, space: str, user_id: str) -> list[tuple[Scene, np.ndarray]]:
        rows = self._q("SELECT * FROM scenes WHERE space=%s AND user_id=%s ORDER BY last_at DESC", (space, user_id))
        return [(Scene(id=r[0], space=r[1], user_id=r[2], label=r[3], size=r[4], first_at=r[5], last_at=r[6]),
                 np.frombuffer(bytes(r[7]), dtype=np.float32)) for r in rows]

    # ------------------------------------------------------------- history
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

    # -------------------------------------------------------------- forget
    def forget(self, space: str, *, user_id: str | None = None,
               conversation_id: str | None = None) -> dict[str, int]:
        cond, args = "space=%s", [space]
        if user_id is not None:
            cond += " AND user_id=%s"
            args.append(user_id)
        if conversation_id is not None:
            cond += " AND conversation_id=%s"
            args.append(conversation_id)
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

    # ---------------------------------------------------------- keys / audit
    def create_key(self, key: ApiKey, key_hash: str) -> None:
        self._x("INSERT INTO api_keys VALUES (%s, %s, %s, %s, %s, %s, %s, %s, NULL)",
                (key.id, key.space, key.name, key_hash, key.role,
                 None if key.users is None else json.dumps(key.users),
                 None if key.agents is None else json.dumps(key.agents), key.created_at))

    def key_by_hash(self, key_hash: str) -> ApiKey | None:
        rows = self._q("SELECT id, space, name, role, users, agents, created_at, revoked_at FROM api_keys "
                       "WHERE key_hash=%s", (key_hash,))
        return _key(rows[0]) if rows else None

    def list_keys(self, space: str | None = None) -> list[ApiKey]:
        sql = "SELECT id, space, name, role, users, agents, created_at, revoked_at FROM api_keys"
        rows = self._q(sql + " WHERE space=%s ORDER BY created_at, id", (space,)) if space is not None \
            else self._q(sql + " ORDER BY created_at, id")
        return [_key(r) for r in rows]

    def revoke_key(self, key_id: str) -> bool:
        return self._x("UPDATE api_keys SET revoked_at=%s WHERE id=%s AND revoked_at IS NULL", (utcnow(), key_id)) > 0

    def add_audit(self, entry: AuditEntry) -> None:
        self._x("INSERT INTO audit VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (entry.id, entry.space, entry.actor, entry.action, entry.target, entry.at,
                 json.dumps(entry.detail, default=str)))

    def list_audit(self, space: str, *, limit: int = 100, before: str | None = None) -> list[AuditEntry]:
        sql, args = "SELECT * FROM audit WHERE space=%s", [space]
        if before is not None:
            sql += " AND id < %s"
            args.append(before)
        rows = self._q(sql + " ORDER BY id DESC LIMIT %s", [*args, limit])
        return [AuditEntry(id=r[0], space=r[1], actor=r[2], action=r[3], target=r[4], at=r[5], detail=r[6])
                for r in rows]

    def iter_tenants(self, space: str) -> Iterator[tuple[str, str]]:
        yield from self._q("SELECT DISTINCT user_id, conversation_id FROM messages WHERE space=%s "
                           "ORDER BY user_id, conversation_id", (space,))



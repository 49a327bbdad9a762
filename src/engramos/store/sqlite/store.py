"""The embedded default backend: one SQLite file (WAL), FTS5 for BM25, exact k-NN per
tenant from :mod:`.vectors`."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ..._util import epoch, from_iso, iso, utcnow
from ...errors import NotFoundError, StoreError
from ...text import query_terms
from ...types import (
    Cell,
    Filters,
    HistoryEntry,
    MemoryRecord,
    Message,
    Page,
    Scene,
    TimeRange,
)
from .._ranking import BM25_DECIMALS
from .export import ExportMixin
from .jobs import JobsMixin
from .keys import KeysMixin
from .migrations import MIGRATIONS
from .rows import (
    _MEM_COLS,
    _MSG_COLS,
    _UPDATABLE,
    _cell,
    _chunks,
    _filter_sql,
    _index_text,
    _memory,
    _memory_row,
    _message,
    _ph,
    _scope,
    _split_sql,
    scope_token,
)
from .vectors import VectorCache


def _fts_phrase(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def _time_bounds(rec: MemoryRecord) -> tuple[float, float]:
    if rec.event_start is not None:
        return epoch(rec.event_start), epoch(rec.event_end or rec.event_start)
    return epoch(rec.observed_at), epoch(rec.observed_at)


class SQLiteStore(ExportMixin, KeysMixin, JobsMixin):
    """See :class:`engramos.store.base.Store` for the contract."""

    backend = "sqlite"

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
            self._conn.execute("PRAGMA busy_timeout=30000")
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open SQLite store at {path}: {exc}") from exc
        self._lock = threading.RLock()
        self._depth = 0
        self._vectors = VectorCache()
        self._migrate()

    # ------------------------------------------------------------ plumbing
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
    def bulk_load(self, rows: int) -> Iterator[None]:
        with self._lock:  # re-entrant: held here only if this thread is in a transaction
            if self._depth:
                raise StoreError("bulk_load: enter it outside any transaction")
        yield  # k-NN is an exact scan here: no index to suspend

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

    # ---------------------------------------------------------------- meta
    def get_meta(self, key: str) -> str | None:
        rows = self._q("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self._x("INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value))

    # ------------------------------------------------------------ messages
    def insert_messages(self, messages: Sequence[Message]) -> list[tuple[str, bool]]:
        out: list[tuple[str, bool]] = []
        with self.transaction():
            for m in messages:
                row = self._conn.execute(
                    "SELECT id FROM messages WHERE space=? AND conversation_id=? AND content_hash=?",
                    (m.space, m.conversation_id, m.content_hash)).fetchone()
                if row:
                    out.append((row[0], False))
                    continue
                self._conn.execute(
                    f"INSERT INTO messages ({_MSG_COLS}, ts_epoch) VALUES ({', '.join('?' * 18)})",
                    (m.id, m.space, m.user_id, m.agent_id, m.conversation_id, m.session_id, m.seq,
                     m.sender, m.sender_name, m.role, m.content, iso(m.timestamp), m.external_id,
                     json.dumps(m.metadata, ensure_ascii=False), m.content_hash, m.cell_id,
                     iso(m.created_at), epoch(m.timestamp)))
                out.append((m.id, True))
        return out

    def next_seq(self, space: str, conversation_id: str) -> int:
        rows = self._q("SELECT max(seq) FROM messages WHERE space=? AND conversation_id=?",
                       (space, conversation_id))
        return (rows[0][0] or 0) + 1

    def get_messages(self, space: str, ids: Sequence[str]) -> list[Message]:
        if not ids:
            return []
        found: dict[str, Message] = {}
        for chunk in _chunks(list(ids)):
            rows = self._q(f"SELECT {_MSG_COLS} FROM messages WHERE +space=? AND id IN ({_ph(chunk)})",
                           [space, *chunk])
            found.update((r[0], _message(r)) for r in rows)
        return [found[i] for i in ids if i in found]

    def list_messages(self, space: str, conversation_id: str, *, unassigned: bool = False,
                      seq_from: int | None = None, seq_to: int | None = None,
                      limit: int = 10_000) -> list[Message]:
        sql = f"SELECT {_MSG_COLS} FROM messages WHERE space=? AND conversation_id=?"
        args: list[Any] = [space, conversation_id]
        if unassigned:
            sql += " AND cell_id IS NULL"
        if seq_from is not None:
            sql += " AND seq >= ?"
            args.append(seq_from)
        if seq_to is not None:
            sql += " AND seq <= ?"
            args.append(seq_to)
        sql += " ORDER BY seq LIMIT ?"
        args.append(limit)
        return [_message(r) for r in self._q(sql, args)]

    def get_messages_by_seq(self, space: str, conversation_id: str, seqs: Sequence[int]) -> list[Message]:
        out: list[Message] = []
        for chunk in _chunks(sorted(set(seqs))):
            out += [_message(r) for r in self._q(
                f"SELECT {_MSG_COLS} FROM messages WHERE space=? AND conversation_id=? AND seq IN ({_ph(chunk)}) "
                "ORDER BY seq", [space, conversation_id, *chunk])]
        return out

    def conversations_with_unassigned(self, space: str) -> list[str]:
        return [r[0] for r in self._q(
            "SELECT DISTINCT conversation_id FROM messages WHERE space=? AND cell_id IS NULL", (space,))]

    def assign_cell(self, space: str, message_ids: Sequence[str], cell_id: str) -> None:
        with self.transaction():
            for chunk in _chunks(list(message_ids)):
                self._conn.execute(f"UPDATE messages SET cell_id=? WHERE space=? AND id IN ({_ph(chunk)})",
                                   [cell_id, space, *chunk])

    # ------------------------------------------------------------ memories
    def insert_memories(self, records: Sequence[MemoryRecord], vectors: np.ndarray | None = None,
                        model_id: str | None = None) -> None:
        if vectors is not None and len(vectors) != len(records):
            raise StoreError("insert_memories: one vector per record is required")
        with self.transaction():
            for i, rec in enumerate(records):
                t0, t1 = _time_bounds(rec)
                cur = self._conn.execute(
                    f"INSERT INTO memories ({_MEM_COLS}, t_start, t_end) VALUES ({', '.join('?' * 25)})",
                    (*_memory_row(rec), t0, t1))
                pk = int(cur.lastrowid or 0)
                self._conn.executemany("INSERT INTO memory_sources VALUES (?, ?)",
                                       [(pk, mid) for mid in dict.fromkeys(rec.message_ids)])
                self._conn.execute("INSERT INTO memories_fts (rowid, scope, body) VALUES (?, ?, ?)",
                                   (pk, _scope(rec), _index_text(rec)))
                if vectors is not None and model_id is not None:
                    self._put_vector(pk, rec.space, rec.user_id, rec.conversation_id, vectors[i], model_id)

    def _put_vector(self, pk: int, space: str, user_id: str, conv: str, vec: np.ndarray, model_id: str) -> None:
        arr = np.asarray(vec, dtype=np.float32)
        self._conn.execute(
            "INSERT INTO vectors VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (memory_pk) DO UPDATE SET "
            "model=excluded.model, dim=excluded.dim, vec=excluded.vec",
            (pk, space, user_id, conv, model_id, arr.shape[0], arr.tobytes()))
        self._conn.execute("INSERT OR IGNORE INTO vector_partitions VALUES (?, ?, 0)", (space, user_id))

    def _bump(self, space: str, user_id: str) -> None:
        self._conn.execute("UPDATE vector_partitions SET generation = generation + 1 "
                           "WHERE space=? AND user_id=?", (space, user_id))

    def set_vectors(self, space: str, ids: Sequence[str], vectors: np.ndarray, model_id: str) -> None:
        with self.transaction():
            for mid, vec in zip(ids, vectors, strict=True):
                row = self._conn.execute("SELECT pk, user_id, conversation_id FROM memories "
                                         "WHERE +space=? AND id=?", (space, mid)).fetchone()
                if row is None:
                    raise NotFoundError("memory", mid)
                replacing = self._conn.execute("SELECT 1 FROM vectors WHERE memory_pk=?", (row[0],)).fetchone()
                self._put_vector(row[0], space, row[1], row[2], vec, model_id)
                if replacing:
                    self._bump(space, row[1])

    def ids_without_vectors(self, space: str, limit: int = 1000) -> list[str]:
        return [r[0] for r in self._q(
            "SELECT m.id FROM memories m LEFT JOIN vectors v ON v.memory_pk = m.pk "
            "WHERE m.space=? AND v.memory_pk IS NULL ORDER BY m.pk LIMIT ?", (space, limit))]

    def get_memories(self, space: str, ids: Sequence[str]) -> list[MemoryRecord]:
        found: dict[str, MemoryRecord] = {}
        for chunk in _chunks(list(ids)):
            rows = self._q(f"SELECT {_MEM_COLS} FROM memories WHERE +space=? AND id IN ({_ph(chunk)})",
                           [space, *chunk])
            found.update((r[0], _memory(r)) for r in rows)
        return [found[i] for i in ids if i in found]

    def get_vectors(self, space: str, ids: Sequence[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for chunk in _chunks(list(ids)):
            for mid, blob in self._q(
                    f"SELECT m.id, v.vec FROM memories m JOIN vectors v ON v.memory_pk = m.pk "
                    f"WHERE +m.space=? AND m.id IN ({_ph(chunk)})", [space, *chunk]):
                out[mid] = np.frombuffer(blob, dtype=np.float32)
        return out

    def list_memories(self, space: str, filters: Filters, *, limit: int = 50,
                      cursor: str | None = None, cell_ids: Sequence[str] | None = None,
                      scene_id: str | None = None) -> Page:
        where, args = _filter_sql(space, filters, alias="")
        if cell_ids is not None:
            if not cell_ids:
                return Page(items=[])
            where += f" AND cell_id IN ({_ph(cell_ids)})"
            args += list(cell_ids)
        if scene_id is not None:
            where += " AND scene_id = ?"
            args.append(scene_id)
        if cursor:
            try:
                c_obs, c_id = json.loads(cursor)
            except (ValueError, TypeError) as exc:
                from ...errors import InvalidInputError

                raise InvalidInputError("cursor", "not a cursor returned by a previous page") from exc
            where += " AND (observed_at < ? OR (observed_at = ? AND id < ?))"
            args += [c_obs, c_obs, c_id]
        rows = self._q(f"SELECT {_MEM_COLS} FROM memories WHERE {where} "
                       "ORDER BY observed_at DESC, id DESC LIMIT ?", [*args, limit + 1])
        items = [_memory(r) for r in rows[:limit]]
        nxt = json.dumps([rows[limit - 1][9], rows[limit - 1][0]]) if len(rows) > limit else None
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
            t0, t1 = _time_bounds(rec)
            row = _memory_row(rec)
            cols = [c.strip() for c in _MEM_COLS.split(",")]
            sets = ", ".join(f"{c}=?" for c in cols[1:])
            self._conn.execute(f"UPDATE memories SET {sets}, t_start=?, t_end=? WHERE +space=? AND id=?",
                               (*row[1:], t0, t1, space, memory_id))
            pk = self._conn.execute("SELECT pk FROM memories WHERE +space=? AND id=?", (space, memory_id)).fetchone()[0]
            self._conn.execute("DELETE FROM memories_fts WHERE rowid=?", (pk,))
            self._conn.execute("INSERT INTO memories_fts (rowid, scope, body) VALUES (?, ?, ?)",
                               (pk, _scope(rec), _index_text(rec)))
            if "text" in changes and changes["text"] != current[0].text:
                self._conn.execute("DELETE FROM vectors WHERE memory_pk=?", (pk,))
            self._bump(space, rec.user_id)
        return rec

    def delete_memories(self, space: str, ids: Sequence[str]) -> int:
        removed = 0
        with self.transaction():
            for chunk in _chunks(list(ids)):
                rows = self._conn.execute(
                    f"SELECT pk, user_id FROM memories WHERE +space=? AND id IN ({_ph(chunk)})",
                    [space, *chunk]).fetchall()
                removed += self._delete_pks(space, rows)
        return removed

    def _delete_pks(self, space: str, rows: Sequence[tuple[int, str]]) -> int:
        pks = [r[0] for r in rows]
        for chunk in _chunks(pks):
            self._conn.execute(f"DELETE FROM memories_fts WHERE rowid IN ({_ph(chunk)})", chunk)
            self._conn.execute(f"DELETE FROM memories WHERE pk IN ({_ph(chunk)})", chunk)
        for user in {r[1] for r in rows}:
            self._bump(space, user)
        return len(pks)

    # -------------------------------------------------------------- search
    def search_text(self, space: str, words: Sequence[str], filters: Filters, *, limit: int,
                    time_range: TimeRange | None = None) -> list[tuple[str, float]]:
        terms = query_terms(words)
        if not terms:
            return []
        # Only the most selective tenant token goes into the MATCH: a token that every
        # row carries (the space, "active") makes FTS5 walk a doclist as long as the table.
        if filters.conversation_id is not None:
            scope = scope_token("cv", filters.conversation_id)
        elif filters.user_id is not None:
            scope = scope_token("us", filters.user_id)
        else:
            scope = scope_token("sp", space)
        match = f"scope:{scope} AND body:(" + " OR ".join(_fts_phrase(t) for t in terms) + ")"
        where, args = _filter_sql(space, filters, alias="m.", with_status=False)
        if not filters.include_inactive:
            where += " AND m.status = 'active'"
        if time_range is not None:
            where += " AND m.t_end >= ? AND m.t_start <= ?"
            args += [epoch(time_range.start), epoch(time_range.end)]
        # FTS5's bm25() is the BM25 of store/_ranking.py (the scope column weighs 0); ties
        # go by row order, as on PostgreSQL.
        rows = self._q(
            f"SELECT m.id, round(bm25(memories_fts, 0.0, 1.0), {BM25_DECIMALS}) AS s FROM memories_fts "
            "JOIN memories m ON m.pk = memories_fts.rowid "
            f"WHERE memories_fts MATCH ? AND {where} ORDER BY s, m.pk LIMIT ?",
            [match, *args, limit])
        return [(r[0], -float(r[1])) for r in rows]

    def search_vectors(self, space: str, vector: np.ndarray, filters: Filters, *, limit: int,
                       time_range: TimeRange | None = None) -> list[tuple[str, float]]:
        window = (epoch(time_range.start), epoch(time_range.end)) if time_range else None
        # the cache scans by user, conversation, kind, status and time; other filters are
        # applied by the SQL below, so fetch more when they may discard rows
        extra = filters.beyond({"user_id", "conversation_id", "kinds"})
        with self._lock:
            try:
                hits = self._vectors.search(
                    self._conn, space, filters.user_id, np.asarray(vector, dtype=np.float32),
                    limit=limit * 4 if extra else limit, conversation_id=filters.conversation_id,
                    kinds=list(filters.kinds) if filters.kinds else None,
                    include_inactive=filters.include_inactive, time_window=window)
            except sqlite3.Error as exc:
                raise StoreError(f"SQLite: {exc}") from exc
        if not hits:
            return []
        score = dict(hits)
        where, args = _filter_sql(space, filters, alias="", with_status=False)
        where = "+" + where  # look rows up by primary key, not through a (space, ...) index
        keep: dict[int, str] = {}
        for chunk in _chunks(list(score)):
            keep.update(self._q(f"SELECT pk, id FROM memories WHERE {where} AND pk IN ({_ph(chunk)})",
                                [*args, *chunk]))
        return [(keep[pk], s) for pk, s in hits if pk in keep][:limit]

    # ------------------------------------------------------- cells / scenes
    def upsert_cell(self, cell: Cell) -> None:
        self._x("INSERT OR REPLACE INTO cells VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (cell.id, cell.space, cell.user_id, cell.conversation_id, cell.first_seq,
                 cell.last_seq, iso(cell.start_at), iso(cell.end_at), cell.scene_id, cell.status,
                 cell.boundary))

    def get_cell(self, space: str, cell_id: str) -> Cell | None:
        rows = self._q("SELECT * FROM cells WHERE space=? AND id=?", (space, cell_id))
        return _cell(rows[0]) if rows else None

    def list_cells(self, space: str, conversation_id: str) -> list[Cell]:
        return [_cell(r) for r in self._q(
            "SELECT * FROM cells WHERE space=? AND conversation_id=? ORDER BY first_seq",
            (space, conversation_id))]

    def upsert_scene(self, scene: Scene, centroid: np.ndarray) -> None:
        self._x("INSERT OR REPLACE INTO scenes VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (scene.id, scene.space, scene.user_id, scene.label, scene.size,
                 iso(scene.first_at), iso(scene.last_at),
                 np.asarray(centroid, dtype=np.float32).tobytes()))

    def list_scenes(self, space: str, user_id: str) -> list[tuple[Scene, np.ndarray]]:
        rows = self._q("SELECT * FROM scenes WHERE space=? AND user_id=? ORDER BY last_at DESC",
                       (space, user_id))
        return [(Scene(id=r[0], space=r[1], user_id=r[2], label=r[3], size=r[4],
                       first_at=from_iso(r[5]), last_at=from_iso(r[6])),
                 np.frombuffer(r[7], dtype=np.float32)) for r in rows]

    # ------------------------------------------------------------- history
    def add_history(self, space: str, entries: Sequence[HistoryEntry]) -> None:
        with self.transaction():
            self._conn.executemany(
                "INSERT INTO history VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(e.id, space, e.memory_id, e.action, e.actor, iso(e.at),
                  json.dumps(e.before, ensure_ascii=False, default=str) if e.before is not None else None,
                  json.dumps(e.after, ensure_ascii=False, default=str) if e.after is not None else None)
                 for e in entries])

    def history(self, space: str, memory_id: str) -> list[HistoryEntry]:
        rows = self._q("SELECT id, memory_id, action, actor, at, before, after FROM history "
                       "WHERE space=? AND memory_id=? ORDER BY at, rowid", (space, memory_id))
        return [HistoryEntry(id=r[0], memory_id=r[1], action=r[2], actor=r[3], at=from_iso(r[4]),
                             before=json.loads(r[5]) if r[5] else None,
                             after=json.loads(r[6]) if r[6] else None) for r in rows]

    # -------------------------------------------------------------- forget
    def forget(self, space: str, *, user_id: str | None = None,
               conversation_id: str | None = None) -> dict[str, int]:
        cond, args = "space=?", [space]
        if user_id is not None:
            cond += " AND user_id=?"
            args.append(user_id)
        if conversation_id is not None:
            cond += " AND conversation_id=?"
            args.append(conversation_id)
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

    def iter_tenants(self, space: str) -> Iterator[tuple[str, str]]:
        yield from self._q("SELECT DISTINCT user_id, conversation_id FROM messages WHERE space=? "
                           "ORDER BY user_id, conversation_id", (space,))


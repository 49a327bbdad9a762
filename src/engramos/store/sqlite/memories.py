"""Memories, their vectors and history in the SQLite backend (the Store's memory role)."""

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
from .connection import SQLiteConnection
from .rows import (
    _MEM_COLS,
    _UPDATABLE,
    _chunks,
    _filter_sql,
    _index_text,
    _memory,
    _memory_row,
    _ph,
    _scope,
)


class MemoriesMixin(SQLiteConnection):
    def insert_memories(self, records: Sequence[MemoryRecord], vectors: np.ndarray | None = None,
                        model_id: str | None = None) -> None:
        if vectors is not None and len(vectors) != len(records):
            raise StoreError("insert_memories: one vector per record is required")
        with self.transaction():
            for i, rec in enumerate(records):
                t0, t1 = time_bounds(rec)
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
            "INSERT INTO vectors (memory_pk, space, user_id, conversation_id, model, dim, vec, seq) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, (SELECT coalesce(max(seq), 0) + 1 FROM vectors)) "
            "ON CONFLICT (memory_pk) DO UPDATE SET model=excluded.model, dim=excluded.dim, vec=excluded.vec, "
            "seq=excluded.seq",
            (pk, space, user_id, conv, model_id, arr.shape[0], arr.tobytes()))
        # A partition forgotten and made again must not meet a process's cache of the old
        # one at the same generation: a new partition starts at a random one.
        self._conn.execute("INSERT OR IGNORE INTO vector_partitions VALUES (?, ?, abs(random() % 1000000000))",
                           (space, user_id))

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

    def successors(self, space: str, ids: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for chunk in _chunks(list(ids)):
            for old, new in self._q(f"SELECT supersedes, id FROM memories WHERE space=? AND supersedes IN "
                                    f"({_ph(chunk)}) ORDER BY observed_at, pk", [space, *chunk]):
                found[old] = new  # the newest last
        return found

    def superseded_citing(self, space: str, message_ids: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for chunk in _chunks(list(message_ids)):
            for message_id, memory_id in self._q(
                    f"SELECT s.message_id, m.id FROM memory_sources s JOIN memories m ON m.pk = s.memory_pk "
                    f"WHERE s.message_id IN ({_ph(chunk)}) AND m.space=? AND m.status='superseded' "
                    f"AND m.kind NOT IN ('turn', 'episode') ORDER BY m.observed_at, m.pk", [*chunk, space]):
                found[message_id] = memory_id  # the most recent last
        return found

    def lifecycle_due(self, space: str, *, kinds: Sequence[str], before: datetime, by: str = "observed",
                      cell_extracted: bool = False, limit: int = 1000) -> list[str]:
        col = {"observed": "observed_at", "valid_to": "valid_to"}[by]
        sql = (f"SELECT id FROM memories WHERE space=? AND status='active' AND kind IN ({_ph(kinds)}) "
               f"AND {col} IS NOT NULL AND julianday({col}) < julianday(?)")
        args: list[Any] = [space, *kinds, iso(before)]
        if cell_extracted:
            # a turn is filed before its cell exists: its cell is its message's
            sql += (" AND coalesce(cell_id, (SELECT g.cell_id FROM messages g WHERE g.id = "
                    "json_extract(memories.message_ids, '$[0]'))) IN "
                    "(SELECT id FROM cells WHERE space=? AND status='extracted')")
            args.append(space)
        return [r[0] for r in self._q(sql + " ORDER BY pk LIMIT ?", [*args, limit])] if kinds else []

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
            c_obs, c_id = decode_cursor(cursor)
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
            t0, t1 = time_bounds(rec)
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
        mentioned: list[int] = []
        for chunk in _chunks(pks):
            mentioned += [r[0] for r in self._conn.execute(
                f"SELECT DISTINCT entity_pk FROM memory_entities WHERE memory_pk IN ({_ph(chunk)})", chunk)]
        for chunk in _chunks(pks):
            # a hard delete leaves no trace: the memory's history (old texts) goes with it
            self._conn.execute(f"DELETE FROM history WHERE space=? AND memory_id IN "
                               f"(SELECT id FROM memories WHERE pk IN ({_ph(chunk)}))", [space, *chunk])
            self._conn.execute(f"DELETE FROM memories_fts WHERE rowid IN ({_ph(chunk)})", chunk)
            self._conn.execute(f"DELETE FROM memories WHERE pk IN ({_ph(chunk)})", chunk)
        self._drop_orphan_entities(mentioned)
        for user in {r[1] for r in rows}:
            self._bump(space, user)
        return len(pks)

    def _drop_orphan_entities(self, entity_pks: Sequence[int]) -> None:
        """Entities no memory mentions any more go (their names are text of what was deleted)."""
        for chunk in _chunks(list(entity_pks)):
            self._conn.execute(f"DELETE FROM entities WHERE pk IN ({_ph(chunk)}) AND NOT EXISTS "
                               "(SELECT 1 FROM memory_entities l WHERE l.entity_pk = entities.pk)", chunk)

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

    @contextmanager
    def bulk_load(self, rows: int) -> Iterator[None]:
        with self._lock:  # re-entrant: held here only if this thread is in a transaction
            if self._depth:
                raise StoreError("bulk_load: enter it outside any transaction")
        yield  # k-NN is an exact scan here: no index to suspend

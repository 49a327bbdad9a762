"""Copy a whole store to another backend (``engram migrate``) and verify it: row counts
and an order-independent checksum per table, computed the same way on both sides from
:meth:`Store.export`, with datetimes normalised to UTC and vectors to 6 decimals."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np

from ..errors import StoreError
from ..types import MemoryRecord
from .base import Store

TABLES = ("meta", "message", "memory", "cell", "scene", "history", "job", "key", "audit")


def _canon(obj: Any) -> Any:
    if isinstance(obj, datetime):
        return obj.astimezone(UTC).isoformat()
    if isinstance(obj, np.ndarray):
        return [round(float(x), 6) for x in obj]
    if hasattr(obj, "model_dump"):
        return _canon(obj.model_dump())
    if isinstance(obj, dict):
        return {str(k): _canon(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_canon(v) for v in obj]
    if isinstance(obj, float):
        return round(obj, 6)
    return obj


def _item_digest(table: str, item: Any) -> str:
    if table == "job":  # leases, workers and usage are runtime state, not content
        job, dedupe = item
        item = (job.model_dump(exclude={"lease_until", "worker", "usage", "updated_at"}), dedupe)
    data = json.dumps(_canon(item), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(data.encode()).hexdigest()


def checksums(store: Store) -> dict[str, dict[str, Any]]:
    digests: dict[str, list[str]] = defaultdict(list)
    for table, item in store.export():
        digests[table].append(_item_digest(table, item))
    out = {}
    for table in TABLES:
        h = hashlib.sha256()
        for d in sorted(digests.get(table, [])):
            h.update(d.encode())
        out[table] = {"rows": len(digests.get(table, [])), "sha256": h.hexdigest()}
    return out


def copy_store(src: Store, dst: Store, *, progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Copy every row of ``src`` into the empty store ``dst``, in one transaction inside a
    bulk load (an ANN index is built once at the end rather than row by row)."""
    health = dst.health()
    if health.get("rows_messages") or health.get("rows_memories"):
        raise StoreError("the destination store is not empty; migrate into a new database")
    counts: dict[str, int] = defaultdict(int)
    jobs: list[Any] = []
    memories = _MemoryBatch(dst)
    with dst.bulk_load(int(src.health().get("rows_vectors") or 0)), dst.transaction():
        for table, item in src.export():
            if table == "memory":
                memories.add(*item)
            else:
                memories.flush()  # rows keep the source's order across tables
                if table == "job":
                    jobs.append(item)  # written last: finished jobs before live ones (see below)
                else:
                    _write(dst, table, item)
            counts[table] += 1
            if progress and counts[table] % 1000 == 0:
                progress(table, counts[table])
        memories.flush()
        # A live (pending/running) job blocks enqueueing another with its dedupe key, so
        # finished jobs go first; then every job lands with its key.
        for job, dedupe in sorted(jobs, key=lambda j: j[0].status in ("pending", "running")):
            if not dst.enqueue(job, dedupe_key=dedupe):
                raise StoreError(f"job {job.id} could not be copied (duplicate live dedupe key {dedupe!r})")
    return dict(counts)


class _MemoryBatch:
    """Consecutive memories with the same kind of vector (none, or one model and
    dimension) go in one insert."""

    SIZE = 1000

    def __init__(self, dst: Store) -> None:
        self.dst = dst
        self.records: list[MemoryRecord] = []
        self.vectors: list[np.ndarray] = []
        self.key: tuple[str, int] | None = None

    def add(self, rec: MemoryRecord, vec: np.ndarray | None, model: str | None) -> None:
        key = None if vec is None else (str(model), len(vec))
        if self.records and (key != self.key or len(self.records) >= self.SIZE):
            self.flush()
        self.records.append(rec)
        self.key = key
        if vec is not None:
            self.vectors.append(vec)

    def flush(self) -> None:
        if self.records:
            if self.key is None:
                self.dst.insert_memories(self.records)
            else:
                self.dst.insert_memories(self.records, np.stack(self.vectors), self.key[0])
        self.records, self.vectors, self.key = [], [], None


def _write(dst: Store, table: str, item: Any) -> None:
    if table == "meta":
        dst.set_meta(*item)
    elif table == "message":
        dst.insert_messages([item])
    elif table == "cell":
        dst.upsert_cell(item)
    elif table == "scene":
        dst.upsert_scene(*item)
    elif table == "history":
        space, entry = item
        dst.add_history(space, [entry])
    elif table == "key":
        dst.create_key(*item)
    elif table == "audit":
        dst.add_audit(item)
    else:
        raise StoreError(f"unknown table in export: {table}")

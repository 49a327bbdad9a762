"""``engram bench scale``: store size, ingest rate and search latency as the store grows.

Synthetic memories (fixed seed): texts of 10-20 words drawn Zipf-like from a made-up
vocabulary of 20,000 words, and random unit vectors of the embedder's dimension, so
that a million memories can be written without embedding a million texts (e5 embeds
~30 texts/s here: that would take nine hours).  Two layouts: all memories in one user,
and spread over 1,000 users (queries then search one user's share, as an application
does).  Queries are built from stored memories (a few of their words, their vector
plus noise) and go through the full recall function (BM25 + k-NN + fusion + expansion
+ citations) with the query vector given, so the figures exclude the query embedding;
the e5 query embedding time is reported separately.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from .._util import utcnow
from ..config import Config
from ..memory import Memory
from ..providers.embeddings import Embedder
from ..requests import SearchRequest
from ..types import Filters, MemoryRecord
from .metrics import percentiles

T0 = datetime(2024, 1, 1, tzinfo=UTC)
BATCH = 2000
LIVE_TAIL = 4000  # the last memories of each size, always written live, give the live ingest rate


def _vocabulary(rng: np.random.Generator, size: int = 20_000) -> list[str]:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    words: set[str] = set()
    while len(words) < size:
        n = int(rng.integers(3, 9))
        words.add("".join(rng.choice(letters, n)))
    return sorted(words)


class SyntheticCorpus:
    def __init__(self, dim: int, seed: int = 7) -> None:
        self.rng = np.random.default_rng(seed)
        self.vocab = _vocabulary(self.rng)
        ranks = np.arange(1, len(self.vocab) + 1)
        self.p = (1 / ranks) / (1 / ranks).sum()
        self.dim = dim
        self.common = set(self.vocab[:200])

    def batch(self, start: int, n: int, users: int, space: str) -> tuple[list[MemoryRecord], np.ndarray]:
        """Memories ``start`` .. ``start + n``; ids are unique per space (one database may
        hold both layouts)."""
        lengths = self.rng.integers(10, 21, n)
        idx = self.rng.choice(len(self.vocab), size=int(lengths.sum()), p=self.p)
        vecs = self.rng.standard_normal((n, self.dim)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        now = utcnow()
        recs, pos = [], 0
        for i in range(n):
            k = start + i
            words = [self.vocab[j] for j in idx[pos : pos + lengths[i]]]
            pos += lengths[i]
            user = f"user{k % users}"
            recs.append(MemoryRecord(
                id=f"mem_{space}_{k:09d}", space=space, kind="fact", user_id=user, conversation_id=f"{user}-c{k % 7}",
                speaker="synthetic", text=" ".join(words), observed_at=T0 + timedelta(minutes=k),
                message_ids=[], produced_by="synthetic", created_at=now, updated_at=now))
        return recs, vecs


def run_layout(home: Path, embedder: Embedder, sizes: list[int], users: int, queries: int,
               label: str, db: str | None = None, writers: int = 1, bulk: bool = False,
               progress: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    cfg = Config(home=home / label, space=f"scale-{label}", db=db)
    mem = Memory(config=cfg, embedder=embedder)
    base = mem.health()  # a database server may hold other data: count what this layout adds
    corpus = SyntheticCorpus(embedder.dim)
    rows, stored, ingest_s = [], 0, 0.0
    for size in sorted(sizes):
        t0 = time.perf_counter()
        live_per_s = _ingest(mem, corpus, stored, size, users, writers, bulk)
        stored = size
        ingest_s += time.perf_counter() - t0
        row = _measure(mem, corpus, size, users, queries, base)
        row.update(ingest_per_s=round(size / ingest_s), live_ingest_per_s=round(live_per_s), writers=writers,
                   bulk=bulk)
        rows.append(row)
        if progress:
            progress(f"{label}: {row}")
    mem.close()
    return rows


def _ingest(mem: Memory, corpus: SyntheticCorpus, stored: int, size: int, users: int, writers: int,
            bulk: bool) -> float:
    """Fills the store from ``stored`` to ``size`` memories; with ``bulk``, all but the
    last :data:`LIVE_TAIL` go through the store's bulk load.  The last ones are always
    written live, one transaction per batch, into a store of (nearly) that size: their
    rate, in memories/s, is returned."""
    head = max(stored, size - LIVE_TAIL)
    with mem.admin.bulk_load(head - stored) if bulk else nullcontext():
        _write(mem, corpus, stored, head, users, writers)
    t0 = time.perf_counter()
    _write(mem, corpus, head, size, users, writers)
    return (size - head) / (time.perf_counter() - t0)


def _write(mem: Memory, corpus: SyntheticCorpus, start: int, end: int, users: int, writers: int) -> None:
    """Memories ``start`` .. ``end`` in batches, one transaction each, from ``writers``
    threads (a database server takes concurrent writers; SQLite serialises them).  The
    time includes generating the synthetic batches."""

    def write(recs: list[MemoryRecord], vecs: np.ndarray) -> None:
        mem.admin.load_memories(recs, vecs)

    with ThreadPoolExecutor(max_workers=writers) as pool:
        pending: list[Future[None]] = []
        while start < end:
            n = min(BATCH, end - start)
            pending.append(pool.submit(write, *corpus.batch(start, n, users, mem.space)))
            start += n
            if len(pending) >= 2 * writers:  # bounded: a million memories are never all in memory
                pending.pop(0).result()
        for f in pending:
            f.result()


def _measure(mem: Memory, corpus: SyntheticCorpus, size: int, users: int, queries: int,
             base: dict[str, Any]) -> dict[str, Any]:
    rng = np.random.default_rng(size)
    picks = rng.integers(0, size, queries)
    targets = [mem.get(f"mem_{mem.space}_{int(k):09d}") for k in picks]
    vectors = mem.admin.vectors([t.id for t in targets])
    lat, found = [], 0
    for i, t in enumerate(targets):
        # Like real queries after stopword removal: the vocabulary's 200 most frequent
        # words (the synthetic stopwords) are left out of the query.
        words = [w for w in t.text.split() if w not in corpus.common] or t.text.split()
        q = " ".join(words[j] for j in rng.choice(len(words), min(4, len(words)), replace=False))
        qv = vectors[t.id] + 0.5 * rng.standard_normal(corpus.dim).astype(np.float32) / np.sqrt(corpus.dim)
        qv /= np.linalg.norm(qv)
        t0 = time.perf_counter()
        res = mem.admin.recall_with_vector(
            SearchRequest(query=q, filters=Filters(user_id=t.user_id), top_k=10, reference_time=utcnow()), qv)
        if i >= 3:  # the first searches fill the per-process vector cache
            lat.append((time.perf_counter() - t0) * 1000)
        found += any(h.memory.id == t.id for h in res.hits)
    health = mem.health()

    def added_mb(key: str) -> float | None:
        if health.get(key) is None:
            return None
        return round((int(health[key]) - int(base.get(key) or 0)) / 2**20, 1)

    return {"size": size, "users": users, "backend": health.get("backend"), "store_mb": added_mb("size_bytes"),
            "index_mb": added_mb("index_bytes"),
            "search_ms": percentiles(lat), "target_in_top10": round(found / len(targets), 3)}


def benchmark_scale(home: Path, embedder: Embedder, sizes: list[int], *, users: int = 1000,
                    queries: int = 200, db: str | None = None, writers: int = 1, bulk: bool = False,
                    progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    from .runner import machine

    t0 = time.perf_counter()
    q_ms = []
    for q in ("When did Caroline go to the support group?", "What does Maya do for work?") * 5:
        t0 = time.perf_counter()
        embedder.embed_query(q)
        q_ms.append((time.perf_counter() - t0) * 1000)
    layouts = {
        "one user": run_layout(home, embedder, sizes, 1, queries, "one-user", db, writers, bulk, progress),
        f"{users} users": run_layout(home, embedder, sizes, users, queries, "many-users", db, writers, bulk,
                                     progress),
    }
    first = next((rows[0] for rows in layouts.values() if rows), {})
    return {"machine": machine(), "embedder": embedder.model_id, "dim": embedder.dim,
            "backend": first.get("backend"), "query_embedding_ms": percentiles(q_ms), "layouts": layouts}

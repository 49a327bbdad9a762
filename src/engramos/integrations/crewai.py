"""CrewAI: a storage backend of CrewAI's unified ``Memory`` over EngramOS (``engramos[crewai]``).

CrewAI's ``StorageBackend.search`` is given an embedding, not the query.  EngramOS's
recall needs the text (its BM25 half, its time parsing, its own embedder), so this
storage brings its own embedder for CrewAI to use (``Memory(storage=s, embedder=
s.embedder)``): a light hashed bag-of-words vector that also remembers which text each
vector came from, so that ``search`` runs EngramOS's full hybrid recall on the query text.
What is lost, said plainly: with another embedder, ``search`` cannot know the query and
refuses with a clear error; and the vectors CrewAI sees are lexical, so its in-batch
de-duplication only catches near-identical texts.

Scores: results come in EngramOS's order; the score CrewAI reads is the lexical cosine
for a near-duplicate (at or above 0.85, CrewAI's consolidation threshold) and otherwise
the hit's share of the top hit's score, kept below that threshold, so that consolidation
(an LLM call in CrewAI) is asked for near-duplicates only.

Records are memories written with :meth:`Memory.put` for one user (``user_id``), keyed
by the CrewAI record id; scope, categories, importance, source and privacy travel in the
metadata."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import numpy as np
from crewai.memory.types import MemoryRecord as CrewRecord
from crewai.memory.types import ScopeInfo

from ..types import MemoryRecord
from ._common import Backend, every_memory, in_thread

SCOPE = "crewai.scope"
_DIM = 256
_WORD = re.compile(r"\w+", re.UNICODE)
_NEAR_DUPLICATE = 0.85


def _parts(scope: str | None) -> list[str]:
    return [p for p in (scope or "/").strip("/").split("/") if p]


def _scope_key(depth: int) -> str:
    return f"{SCOPE}.{depth}"


class QueryTextEmbedder:
    """Hashed bag-of-words vectors (L2-normalised), remembering the text of the most
    recent vectors so that a search given one of them can use the words."""

    def __init__(self, keep: int = 4096) -> None:
        self._texts: OrderedDict[bytes, str] = OrderedDict()
        self._keep, self._lock = keep, threading.Lock()

    @staticmethod
    def vector(text: str) -> np.ndarray:
        v = np.zeros(_DIM, dtype=np.float32)
        for word in _WORD.findall(text.lower()):
            h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little")
            v[h % _DIM] += 1.0 if h & 1 << 31 else -1.0
        norm = float(np.linalg.norm(v))
        if norm == 0.0:
            v[0] = 1.0  # a text without words still needs a vector of its own
            norm = 1.0
        return v / norm

    def __call__(self, input: list[str]) -> list[list[float]]:  # CrewAI calls it with a list of texts
        out = []
        for text in input:
            vec = self.vector(text)
            with self._lock:
                self._texts[_digest(vec)] = text
                self._texts.move_to_end(_digest(vec))
                while len(self._texts) > self._keep:
                    self._texts.popitem(last=False)
            out.append(vec.tolist())
        return out

    def text_of(self, embedding: list[float]) -> str | None:
        with self._lock:
            return self._texts.get(_digest(np.asarray(embedding, dtype=np.float32)))


def _digest(vec: np.ndarray) -> bytes:
    return hashlib.blake2b(np.round(vec, 5).astype(np.float32).tobytes(), digest_size=16).digest()


class EngramStorage:
    """``crewai.memory.storage.backend.StorageBackend`` over an EngramOS memory or client."""

    def __init__(self, memory: Backend, *, user_id: str = "crew", agent_id: str | None = None) -> None:
        self.memory, self.user_id, self.agent_id = memory, user_id, agent_id
        self.embedder = QueryTextEmbedder()

    # ----------------------------------------------------------------- writes
    def save(self, records: list[CrewRecord]) -> None:
        for r in records:
            parts = _parts(r.scope)
            meta: dict[str, Any] = {SCOPE: "/" + "/".join(parts), "crewai.categories": list(r.categories),
                                    "crewai.importance": float(r.importance), "crewai.private": bool(r.private),
                                    "crewai.metadata": json.dumps(r.metadata, default=str),
                                    "crewai.last_accessed": r.last_accessed.isoformat()}
            if r.source is not None:
                meta["crewai.source"] = r.source
            for depth in range(1, len(parts) + 1):
                meta[_scope_key(depth)] = "/".join(parts[:depth])
            self.memory.put(r.content, user_id=self.user_id, agent_id=self.agent_id, key=r.id, metadata=meta,
                            timestamp=_aware(r.created_at).isoformat())

    def update(self, record: CrewRecord) -> None:
        self.save([record])

    def delete(self, scope_prefix: str | None = None, categories: list[str] | None = None,
               record_ids: list[str] | None = None, older_than: datetime | None = None,
               metadata_filter: dict[str, Any] | None = None) -> int:
        chosen = [rec for rec in self._records(scope_prefix)
                  if (record_ids is None or rec.metadata.get("key") in record_ids)
                  and _keeps(_crew(rec), categories, metadata_filter)
                  and (older_than is None or rec.observed_at < _aware(older_than))]
        for rec in chosen:
            self.memory.forget(memory_id=rec.id)
        return len(chosen)

    def reset(self, scope_prefix: str | None = None) -> None:
        self.delete(scope_prefix=scope_prefix)

    # ------------------------------------------------------------------ reads
    def search(self, query_embedding: list[float], scope_prefix: str | None = None,
               categories: list[str] | None = None, metadata_filter: dict[str, Any] | None = None,
               limit: int = 10, min_score: float = 0.0) -> list[tuple[CrewRecord, float]]:
        query = self.embedder.text_of(query_embedding)
        if query is None:
            raise ValueError("EngramStorage.search was given a vector it did not make: EngramOS recalls from the "
                             "query's text, so give CrewAI this storage's embedder: "
                             "Memory(storage=storage, embedder=storage.embedder)")
        parts = _parts(scope_prefix)
        meta = {_scope_key(len(parts)): "/".join(parts)} if parts else {SCOPE: {"exists": True}}
        res = self.memory.search(query[:2000], filters={"user_id": self.user_id, "metadata": meta,
                                                         **({"agent_id": self.agent_id} if self.agent_id else {})},
                                 top_k=min(1000, max(limit * 3, 10)))
        hits = [(h.memory, h.score) for h in res.hits if h.memory.metadata.get(SCOPE) is not None]
        top = max((s for _, s in hits), default=0.0) or 1.0
        qvec = QueryTextEmbedder.vector(query)
        out = []
        for rec, score in hits:
            crew = _crew(rec)
            if not _keeps(crew, categories, metadata_filter):
                continue
            lexical = float(qvec @ QueryTextEmbedder.vector(rec.text))
            similarity = lexical if lexical >= _NEAR_DUPLICATE else min(_NEAR_DUPLICATE - 0.01, score / top * 0.84)
            if similarity >= min_score:
                out.append((crew, similarity))
        return out[:limit]

    def get_record(self, record_id: str) -> CrewRecord | None:
        page = self.memory.list(user_id=self.user_id, agent_id=self.agent_id, metadata={"key": record_id}, limit=5)
        found = next((r for r in page.items if r.metadata.get(SCOPE) is not None), None)
        return None if found is None else _crew(found)

    def list_records(self, scope_prefix: str | None = None, limit: int = 200, offset: int = 0) -> list[CrewRecord]:
        out: list[CrewRecord] = []
        for rec in self._records(scope_prefix):
            out.append(_crew(rec))
            if len(out) >= offset + limit:
                break
        return out[offset:]

    def get_scope_info(self, scope: str) -> ScopeInfo:
        records = [_crew(r) for r in self._records(scope)]
        depth = len(_parts(scope))
        children = sorted({"/" + "/".join(_parts(r.scope)[:depth + 1]) for r in records
                           if len(_parts(r.scope)) > depth})
        times = [r.created_at for r in records]
        return ScopeInfo(path=scope, record_count=len(records),
                         categories=sorted({c for r in records for c in r.categories}),
                         oldest_record=min(times, default=None), newest_record=max(times, default=None),
                         child_scopes=children)

    def list_scopes(self, parent: str = "/") -> list[str]:
        return self.get_scope_info(parent).child_scopes

    def list_categories(self, scope_prefix: str | None = None) -> dict[str, int]:
        counts: dict[str, int] = {}
        for rec in self._records(scope_prefix):
            for c in _crew(rec).categories:
                counts[c] = counts.get(c, 0) + 1
        return counts

    def count(self, scope_prefix: str | None = None) -> int:
        return sum(1 for _ in self._records(scope_prefix))

    def _records(self, scope_prefix: str | None) -> Iterator[MemoryRecord]:
        parts = _parts(scope_prefix)
        meta = {_scope_key(len(parts)): "/".join(parts)} if parts else {SCOPE: {"exists": True}}
        return every_memory(self.memory, metadata=meta, user_id=self.user_id, agent_id=self.agent_id)

    # ------------------------------------------------------------------ async
    async def asave(self, records: list[CrewRecord]) -> None:
        await in_thread(self.save, records)

    async def asearch(self, query_embedding: list[float], scope_prefix: str | None = None,
                      categories: list[str] | None = None, metadata_filter: dict[str, Any] | None = None,
                      limit: int = 10, min_score: float = 0.0) -> list[tuple[CrewRecord, float]]:
        return await in_thread(self.search, query_embedding, scope_prefix, categories, metadata_filter, limit,
                               min_score)

    async def adelete(self, scope_prefix: str | None = None, categories: list[str] | None = None,
                      record_ids: list[str] | None = None, older_than: datetime | None = None,
                      metadata_filter: dict[str, Any] | None = None) -> int:
        return await in_thread(self.delete, scope_prefix, categories, record_ids, older_than, metadata_filter)


def _crew(rec: MemoryRecord) -> CrewRecord:
    m = rec.metadata
    return CrewRecord(id=str(m.get("key", rec.id)), content=rec.text, scope=str(m.get(SCOPE, "/")),
                      categories=list(m.get("crewai.categories", [])),
                      metadata=json.loads(m.get("crewai.metadata", "{}")),
                      importance=float(m.get("crewai.importance", 0.5)),
                      created_at=rec.observed_at.replace(tzinfo=None),
                      last_accessed=datetime.fromisoformat(m["crewai.last_accessed"])
                      if "crewai.last_accessed" in m else rec.updated_at.replace(tzinfo=None),
                      source=m.get("crewai.source"), private=bool(m.get("crewai.private", False)))


def _keeps(r: CrewRecord, categories: list[str] | None, metadata_filter: dict[str, Any] | None) -> bool:
    if categories and not set(categories) & set(r.categories):
        return False
    return all(r.metadata.get(k) == v for k, v in (metadata_filter or {}).items())


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)  # CrewAI's times are naive UTC


__all__ = ["EngramStorage", "QueryTextEmbedder"]

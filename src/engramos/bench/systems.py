"""The systems a benchmark run compares, behind one small interface.

* ``engramos``: the shipped engine through :class:`engramos.Memory` (the same recall
  function the library, CLI and server call), one fresh space per conversation.
* ``bm25``: BM25 over turns (bm25s, English stopwords), turns rendered as LoCoMo's RAG
  code does (``speaker: text [shared caption]``).
* ``dense``: cosine k-NN over the same turns with the same embedding model as EngramOS.
* ``bm25+dense``: the two fused by reciprocal rank (k = 60, as EngramOS fuses): hybrid
  search over turns without any memory layer, the bar the layers must clear.
* ``mem0``: mem0 OSS (``mem0ai``) as a peer, offline: ``add(..., infer=False)``, a local
  Qdrant path, the same embedding model through a LangChain ``Embeddings`` adapter,
  ``search(..., threshold=0.0)``.  Only with ``--peers mem0`` and the package installed.

Baselines fill a context budget the same way EngramOS does: units in rank order, each
line ``[date] text``, skipping a unit that does not fit.
"""

from __future__ import annotations

import inspect
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..config import Config, RecallConfig
from ..errors import ConfigError
from ..memory import Memory
from ..providers.embeddings import Embedder
from ..recall.context import assemble
from ..recall.distinct import collapse_hits
from ..text import count_tokens, has_cjk, words
from .datasets import Conversation, Question, Turn


@dataclass
class Retrieval:
    units: list[set[str]]  # per ranked unit, the turn ids it cites
    contexts: dict[int, tuple[set[str], str, int]] = field(default_factory=dict)  # budget -> (ids, text, tokens)
    search_ms: float = 0.0  # the search alone (query embedding included), not context packing
    # budget -> ids cited by context lines that carry no "not true any more" flag (a system
    # without flags: every id in the context)
    unflagged: dict[int, set[str]] = field(default_factory=dict)


class System(Protocol):
    name: str

    def ingest(self, conv: Conversation) -> None: ...

    def retrieve(self, question: Question, k: int, budgets: tuple[int, ...]) -> Retrieval: ...

    def close(self) -> None: ...


def pack_turns(turns: list[Turn], budget: int) -> tuple[set[str], str, int]:
    used, ids, lines = 0, set(), []
    for t in turns:
        line = f"[{t.timestamp:%-d %B %Y}] {t.render()}"
        cost = count_tokens(line) + 1
        if used + cost > budget:
            continue
        used += cost
        ids.add(t.id)
        lines.append(line)
    text = "\n".join(lines)
    return ids, text, count_tokens(text) if text else 0


class EngramSystem:
    name = "engramos"

    def __init__(self, embedder: Embedder, home: Path | None = None, config: Config | None = None) -> None:
        self.embedder = embedder
        self.home = home or Path(tempfile.mkdtemp(prefix="engram-bench-"))
        self.base = config or Config()
        self.memories: dict[str, Memory] = {}

    def _memory(self, conv_id: str) -> Memory:
        if conv_id not in self.memories:
            cfg = self.base.model_copy(update={"home": self.home, "space": f"bench-{conv_id}"})
            self.memories[conv_id] = Memory(config=cfg, embedder=self.embedder)
        return self.memories[conv_id]

    def ingest(self, conv: Conversation) -> None:
        mem = self._memory(conv.id)
        for sid, _, turns in conv.sessions:
            mem.add([t.message() for t in turns], conversation_id=conv.id, session_id=sid)
        mem.flush()
        self._current = conv.id

    def retrieve(self, question: Question, k: int, budgets: tuple[int, ...]) -> Retrieval:
        mem = self._memory(self._current)
        t0 = time.perf_counter()
        # one search serves both views: the context packs from every representation (as
        # Memory.context does); the ranked units are the distinct hits a search returns
        res = mem.search(question.text, top_k=max(k, 50), reference_time=question.reference_time,
                         as_of=question.as_of, collapse=False)
        took = (time.perf_counter() - t0) * 1000
        units = [{c.external_id or c.message_id for c in h.citations} for h in collapse_hits(res.hits, k)]
        contexts, unflagged = {}, {}
        for b in budgets:
            block = assemble(res.query, res.hits, b)
            ids = {c.external_id or c.message_id for h in block.hits for c in h.citations}
            contexts[b] = (ids, block.text, block.tokens)
            unflagged[b] = {c.external_id or c.message_id for h in block.hits if h.validity == "current"
                            for c in h.citations}
        return Retrieval(units, contexts, took, unflagged)

    def llm_usage(self) -> dict[str, Any] | None:
        """LLM calls and tokens spent building memories (ingestion), over all conversations."""
        spent = [u for m in self.memories.values() if (u := m.llm_usage()) is not None]
        if not spent:
            return None
        return {"model": spent[0]["model"], **{k: sum(u[k] for u in spent)
                                              for k in ("llm_calls", "prompt_tokens", "completion_tokens")}}

    def close(self) -> None:
        for mem in self.memories.values():
            mem.close()


class _TurnBaseline:
    name = "baseline"

    def __init__(self, user_turns_only: bool = False) -> None:
        self.user_turns_only = user_turns_only
        self.turns: list[Turn] = []

    def _keys(self, conv: Conversation) -> list[Turn]:
        return [t for t in conv.turns if t.role == "user"] if self.user_turns_only else conv.turns

    def _rank(self, question: Question, k: int) -> list[int]:
        raise NotImplementedError

    def retrieve(self, question: Question, k: int, budgets: tuple[int, ...]) -> Retrieval:
        t0 = time.perf_counter()
        order = self._rank(question, max(k, 50))
        took = (time.perf_counter() - t0) * 1000
        ranked = [self.turns[i] for i in order]
        return Retrieval([{t.id} for t in ranked], {b: pack_turns(ranked, b) for b in budgets}, took)

    def close(self) -> None:
        self.turns = []


class BM25Turns(_TurnBaseline):
    name = "bm25"

    def ingest(self, conv: Conversation) -> None:
        import bm25s

        self.turns = self._keys(conv)
        self.index = bm25s.BM25()
        self.index.index(bm25s.tokenize([_segmented(t.render()) for t in self.turns], stopwords="en",
                                        show_progress=False), show_progress=False)

    def _rank(self, question: Question, k: int) -> list[int]:
        import bm25s

        tokens = bm25s.tokenize([_segmented(question.text)], stopwords="en", show_progress=False)
        if not tokens.vocab:
            return []
        docs, _ = self.index.retrieve(tokens, k=min(k, len(self.turns)), show_progress=False)
        return [int(i) for i in docs[0]]


def _segmented(text: str) -> str:
    """Chinese split into words (as EngramOS does), so that BM25 sees words, not runs of
    characters; other text as it is."""
    return " ".join(words(text)) if has_cjk(text) else text


class BM25Recency(BM25Turns):
    """BM25 over turns with a recency bonus: the top candidates re-scored by
    ``bm25 * (1 + RECENCY_BONUS * age rank)``, the newest turn getting the full bonus (the
    simple baseline a memory engine's handling of change must beat)."""

    name = "bm25+recency"
    RECENCY_BONUS = 0.5

    def _rank(self, question: Question, k: int) -> list[int]:
        import bm25s

        tokens = bm25s.tokenize([_segmented(question.text)], stopwords="en", show_progress=False)
        if not tokens.vocab:
            return []
        docs, scores = self.index.retrieve(tokens, k=min(max(k, 50), len(self.turns)), show_progress=False)
        times = [t.timestamp.timestamp() for t in self.turns]
        lo, hi = min(times), max(times)
        span = (hi - lo) or 1.0

        def boosted(j: int) -> float:
            i = int(docs[0][j])
            return float(scores[0][j]) * (1 + self.RECENCY_BONUS * (times[i] - lo) / span)

        order = sorted(range(len(docs[0])), key=lambda j: -boosted(j))
        return [int(docs[0][j]) for j in order if scores[0][j] > 0][:k]


class DenseTurns(_TurnBaseline):
    name = "dense"

    def __init__(self, embedder: Embedder, user_turns_only: bool = False) -> None:
        super().__init__(user_turns_only)
        self.embedder = embedder

    def ingest(self, conv: Conversation) -> None:
        self.turns = self._keys(conv)
        self.matrix = self.embedder.embed([t.render() for t in self.turns], "passage")

    def _rank(self, question: Question, k: int) -> list[int]:
        scores = self.matrix @ self.embedder.embed_query(question.text)
        return [int(i) for i in np.argsort(-scores)[:k]]


class BM25DenseTurns(_TurnBaseline):
    """BM25 and dense retrieval over turns, fused by reciprocal rank (the same fusion and
    k as EngramOS): what hybrid search alone gives, without memories."""

    name = "bm25+dense"

    def __init__(self, embedder: Embedder, user_turns_only: bool = False) -> None:
        super().__init__(user_turns_only)
        self.bm25 = BM25Turns(user_turns_only)
        self.dense = DenseTurns(embedder, user_turns_only)

    def ingest(self, conv: Conversation) -> None:
        self.bm25.ingest(conv)
        self.dense.ingest(conv)
        self.turns = self.bm25.turns

    def _rank(self, question: Question, k: int) -> list[int]:
        from ..recall.fusion import rrf

        n = max(k, 60)
        lists = [([(str(i), 1.0) for i in self.bm25._rank(question, n)], 1.0),
                 ([(str(i), 1.0) for i in self.dense._rank(question, n)], 1.0)]
        fused = rrf(lists, RecallConfig().rrf_k)
        return [int(i) for i in sorted(fused, key=lambda i: -fused[i])[:k]]


class Mem0Peer(_TurnBaseline):
    """mem0 OSS, offline: no LLM is called (``infer=False``); effectively dense search
    over the added messages in mem0's own store and pipeline."""

    name = "mem0"

    def __init__(self, embedder: Embedder) -> None:
        super().__init__()
        try:
            from mem0 import Memory as Mem0Memory  # noqa: F401
        except ImportError as exc:
            raise ConfigError("the mem0 peer needs the 'mem0ai' package (pip install mem0ai)") from exc
        self.embedder = embedder
        self.dir = Path(tempfile.mkdtemp(prefix="mem0-bench-"))
        self.client: Any = None

    def _make_client(self) -> Any:
        import os

        from langchain_core.embeddings import Embeddings
        from mem0 import Memory as Mem0Memory

        os.environ.setdefault("MEM0_TELEMETRY", "False")
        outer = self.embedder

        class Adapter(Embeddings):
            def embed_documents(self, texts: list[str]) -> list[list[float]]:
                return outer.embed(texts, "passage").tolist()

            def embed_query(self, text: str) -> list[float]:
                return outer.embed_query(text).tolist()

        config = {
            "vector_store": {"provider": "qdrant", "config": {
                "collection_name": "bench", "path": str(self.dir / "qdrant"),
                "embedding_model_dims": outer.dim, "on_disk": True}},
            "embedder": {"provider": "langchain", "config": {"model": Adapter()}},
            "llm": {"provider": "openai", "config": {"api_key": "not-used-offline", "model": "gpt-4o-mini"}},
            "history_db_path": str(self.dir / "history.db"),
        }
        return Mem0Memory.from_config(config)

    def ingest(self, conv: Conversation) -> None:
        # One client for the whole run, conversations kept apart by user_id: a second
        # client would find mem0's local stores still locked by the first.
        if self.client is None:
            self.client = self._make_client()
        self.turns = self._keys(conv)
        self.by_id = {t.id: i for i, t in enumerate(self.turns)}
        for t in self.turns:
            self.client.add([{"role": "user", "content": t.render()}], user_id=conv.id, infer=False,
                            metadata={"turn_id": t.id, "created_at": t.timestamp.isoformat()})
        self.conv_id = conv.id

    def close(self) -> None:
        super().close()
        store = getattr(getattr(self.client, "vector_store", None), "client", None)
        if store is not None and hasattr(store, "close"):
            store.close()  # releases Qdrant's local lock
        self.client = None

    def _rank(self, question: Question, k: int) -> list[int]:
        # mem0 >= 2.2 takes entity ids in filters and the count as top_k (an unknown
        # `limit` keyword is swallowed, leaving its default of 20); older releases take
        # both as keywords
        params = inspect.signature(self.client.search).parameters
        if "top_k" in params:
            found = self.client.search(question.text, filters={"user_id": self.conv_id}, top_k=k, threshold=0.0)
        else:
            found = self.client.search(question.text, user_id=self.conv_id, limit=k, threshold=0.0)
        results = found.get("results", found) if isinstance(found, dict) else found
        order = []
        for r in results:
            tid = (r.get("metadata") or {}).get("turn_id")
            if tid in self.by_id:
                order.append(self.by_id[tid])
        return order

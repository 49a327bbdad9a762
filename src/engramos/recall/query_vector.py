"""The query's embedding, bounded in cost.

The embedder's cost grows with the text (~0.3 ms a character for e5-small on this
2-core machine: a 1,000-character dialogue takes ~300 ms, ten times the rest of a
search).  A question is embedded whole.  A dialogue passed as the query (see
:func:`.query.is_dialogue`) is embedded by its latest lines: the lines that fit in
``DIALOGUE_VECTOR_CHARS`` counting back from the last (the last line's tail when it is
longer), each embedded on its own and the vectors averaged with the newest weighing
most.  The dialogue's earlier lines still reach full-text search through their words.

Line vectors are kept in a small LRU cache, so an agent that searches with a sliding
window of its conversation pays for the newest line only.  The result depends on the
query text alone, never on what the cache holds.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from ..providers.embeddings import Embedder
from ..text import split_sentences
from .query import is_dialogue

DIALOGUE_VECTOR_CHARS = 200
RECENCY_DECAY = 0.7  # a line's weight against the one after it
CACHE_SIZE = 4096


class QueryEmbedder:
    def __init__(self, embedder: Embedder, cache_size: int = CACHE_SIZE) -> None:
        self.embedder = embedder
        self.cache_size = cache_size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def vector(self, query: str) -> np.ndarray:
        pieces = latest_lines(query) if is_dialogue(query) else [query]
        vectors = self._vectors(pieces)
        if len(vectors) == 1:
            return vectors[0]
        weights = np.array([RECENCY_DECAY ** (len(vectors) - 1 - i) for i in range(len(vectors))],
                           dtype=np.float32)
        mean = (np.vstack(vectors) * weights[:, None]).sum(axis=0)
        return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)

    def _vectors(self, pieces: list[str]) -> list[np.ndarray]:
        with self._lock:
            found = {p: self._cache[p] for p in pieces if p in self._cache}
            for p in found:
                self._cache.move_to_end(p)
        missing = list(dict.fromkeys(p for p in pieces if p not in found))
        if missing:
            fresh = self.embedder.embed(missing, "query")
            with self._lock:
                for p, v in zip(missing, fresh, strict=True):
                    found[p] = v
                    self._cache[p] = v
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return [found[p] for p in pieces]


def latest_lines(dialogue: str, budget: int = DIALOGUE_VECTOR_CHARS) -> list[str]:
    """The dialogue's last lines (or sentences, for one long line) within ``budget``
    characters, oldest first; at least the tail of the last one."""
    lines = [ln.strip() for ln in dialogue.splitlines() if ln.strip()]
    if len(lines) < 2:
        lines = split_sentences(dialogue) or [dialogue]
    out: list[str] = []
    used = 0
    for line in reversed(lines):
        if out and used + len(line) > budget:
            break
        out.append(line if len(line) <= budget else line[-budget:])
        used += len(out[-1])
    return out[::-1]

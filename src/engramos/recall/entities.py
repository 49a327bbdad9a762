"""Recall through the entity graph: the memories linked to the people, places and
things a question names, wherever they were said ("What did Mel paint in Boston?" reaches
every memory that mentions Boston, in any session, whatever its words).

The linked memories (statements, not whole episodes) form one more ranked list for
fusion, ordered by their similarity to the question.  An entity mentioned almost
everywhere (a speaker of every message) is left out, so a frequent entity does not flood
the candidates; a per-speaker timeline ("What activities does Melanie do?") is not
served by this list yet: on LoCoMo it cost more at small budgets than it gained."""

from __future__ import annotations

import re

import numpy as np

from ..store.base import Store
from ..text import has_cjk

MAX_LINKED = 2000  # memories read per entity (the newest)
SPECIFIC = 150  # an entity in more memories than this selects nothing
SHARED_BONUS = 0.05  # a memory linked to two of the question's entities, ahead of one linked to one
_NAME = re.compile(r"\b([A-Z][\w'’-]*(?:\s+(?:of\s+)?[A-Z][\w'’-]*)*)")
_NOT_NAMES = frozenset({"what", "when", "where", "who", "whom", "whose", "why", "how", "which", "did", "does",
                        "do", "is", "are", "was", "were", "would", "could", "can", "has", "have", "had", "will",
                        "should", "i", "in", "on", "at", "the", "a", "an", "and", "or", "if", "after", "before"})


def query_names(query: str) -> list[str]:
    """The names a question may mean: runs of capitalised words ("Melanie", "Lake
    Tahoe", "Mel's") and single ones inside them; in Chinese, jieba's person, place and
    organisation words."""
    if has_cjk(query):
        from ..text import _jieba

        return [w for w, tag in _jieba().tag(query) if tag in ("nr", "ns", "nt", "nz") and len(w) >= 2]  # type: ignore[attr-defined]
    found: list[str] = []
    for m in _NAME.finditer(query):
        words = [w for w in m.group(1).split() if w.lower().strip("'’s") not in _NOT_NAMES]
        if words:
            found.append(" ".join(words))
            found += words if len(words) > 1 else []
    return list(dict.fromkeys(found))


def entity_list(store: Store, space: str, query: str, qvec: np.ndarray, user_id: str | None,
                limit: int) -> tuple[list[tuple[str, float]], float]:
    """Memories linked to the question's specific entities (named in at most
    ``SPECIFIC`` memories), most similar to the question first (one linked to several of
    them ahead), and the list's share in fusion."""
    names = query_names(query)
    if not names:
        return [], 0.0
    # an entity named in most memories (a speaker of every message) selects nothing: on
    # LoCoMo its list cost 5 points within 256 tokens for +2 within 2048 (docs/benchmarks.md)
    entities = [e for e in store.find_entities(space, names, user_id=user_id) if e.mentions <= SPECIFIC]
    if not entities:
        return [], 0.0
    linked = store.entity_memories(space, [e.id for e in entities], limit=MAX_LINKED)
    count: dict[str, int] = {}
    for ms in linked.values():
        for m in ms:
            count[m] = count.get(m, 0) + 1
    # statements, not whole episodes: an episode holds every entity of its cell, and a long
    # one would take a context's budget for the one line that names the entity
    kinds = {r.id: r.kind for r in store.get_memories(space, list(count))}
    vectors = store.get_vectors(space, [m for m in count if kinds.get(m) not in (None, "episode")])
    scored = [(mid, float(vec @ qvec) + SHARED_BONUS * (count[mid] - 1)) for mid, vec in vectors.items()]
    return sorted(scored, key=lambda x: -x[1])[:limit], 1.0

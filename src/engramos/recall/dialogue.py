"""What a dialogue query already holds.

An agent that searches with its recent turns has those turns in its prompt already; the
stored messages they are (and the facts and episodes made of them) match the query
best of all and would fill the context with what the caller sent.  A memory's share of
cited messages that are lines of the query is that share of it that is no news: it
keeps the rest of its score (a turn the query repeats keeps none, an episode of ten
lines of which two are in the query keeps 80%).

LoCoMo with each question asked after the last lines of the final session (`engram bench
locomo --variant dialogue`) is the measure (docs/benchmarks.md).
"""

from __future__ import annotations

import re

from ..store.base import Store
from ..types import MemoryRecord

_SPACE = re.compile(r"\s+")


def _norm(text: str) -> str:
    return _SPACE.sub(" ", text).strip().casefold()


def query_lines(query: str) -> set[str]:
    """The query's lines, and each without a ``Speaker:`` prefix."""
    lines = {_norm(ln) for ln in query.splitlines() if ln.strip()}
    return lines | {ln.split(":", 1)[1].strip() for ln in lines if ":" in ln}


def _said(text: str, lines: set[str]) -> bool:
    return bool(text) and (text in lines or any(line.startswith(text) for line in lines))


def news_share(store: Store, space: str, query: str, records: dict[str, MemoryRecord]) -> dict[str, float]:
    """memory id -> the share of its score it keeps, for the memories some of whose
    messages are lines of the query (the others keep all of it)."""
    lines = query_lines(query)
    if len(lines) < 2:
        return {}
    wanted = list(dict.fromkeys(m for r in records.values() for m in r.message_ids))
    # a line may carry more than the message's text (an image caption the caller shows)
    said = {m.id for m in store.get_messages(space, wanted)
            if _said(_norm(m.content), lines) or _said(_norm(f"{m.sender_name}: {m.content}"), lines)}
    if not said:
        return {}
    out = {}
    for mid, rec in records.items():
        cited = rec.message_ids
        known = sum(1 for m in cited if m in said)
        if known:
            out[mid] = 1.0 - known / len(cited)
    return out

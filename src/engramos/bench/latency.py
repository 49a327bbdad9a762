"""``engram bench latency``: search time as a caller sees it, query embedding included.

Two stores per backend, filled through :class:`~engramos.Memory` as an application would:

* **LoCoMo**: the first conversations (each its own space), asked their questions;
* **one long conversation**: the informal variant of LoCoMo conversations (short chat
  messages seconds apart) chained into one conversation of at least 1,500 messages,
  each later conversation moved in time to follow the one before.  It is asked its
  questions and dialogues: the messages before a point of the conversation (up to
  ``DIALOGUE_CHARS`` characters, one line each) as the query, the way an agent passes
  its recent turns.  *Sliding* dialogues are taken at consecutive points (an agent
  searching at every turn: each shares all but its newest line with the one before);
  *cold* ones at points far apart.

Beside the shipped search, the same cold dialogues are also run with the whole text
embedded (the query embedding before it was bounded), so the cost of that bound and
what it saves are read side by side.  SQLite always; PostgreSQL too when a database is
given.  The first searches of each store are warm-up and are not counted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from ..config import Config
from ..memory import Memory
from ..providers.embeddings import Embedder
from ..requests import SearchRequest
from .datasets import Conversation, Turn
from .metrics import percentiles
from .variants import informal

LONG_MESSAGES = 1_500
DIALOGUE_CHARS = 1_000
WARMUP = 3


@dataclass
class Query:
    text: str
    reference_time: Any
    whole: bool = False  # embed the whole text (the unbounded baseline)


def long_conversation(conversations: Sequence[Conversation], minimum: int = LONG_MESSAGES) -> Conversation:
    """The informal variants chained into one conversation of at least ``minimum`` messages."""
    sessions: list[tuple[str, Any, list[Turn]]] = []
    questions = []
    shift = timedelta(0)
    for conv in informal(conversations):
        if sessions and sum(len(t) for _, _, t in sessions) >= minimum:
            break
        if sessions:  # start a day after the conversation before ends
            end = sessions[-1][2][-1].timestamp
            shift = (end + timedelta(days=1)) - conv.sessions[0][1]
        for sid, start, turns in conv.sessions:
            moved = [replace(t, id=f"{conv.id}:{t.id}", session_id=f"{conv.id}:{sid}",
                             timestamp=t.timestamp + shift) for t in turns]
            sessions.append((f"{conv.id}:{sid}", start + shift, moved))
        questions += [replace(q, id=f"{conv.id}:{q.id}", reference_time=q.reference_time + shift)
                      for q in conv.questions]
    return Conversation("long", sessions, questions)


def dialogues(conv: Conversation, points: Sequence[int]) -> list[Query]:
    turns = conv.turns
    out = []
    for p in points:
        lines: list[str] = []
        for t in reversed(turns[max(0, p - 40):p + 1]):
            line = f"{t.speaker}: {t.text}"
            if lines and sum(map(len, lines)) + len(line) > DIALOGUE_CHARS:
                break
            lines.append(line)
        out.append(Query("\n".join(reversed(lines)), turns[p].timestamp + timedelta(seconds=30)))
    return out


def workloads(conversations: Sequence[Conversation], n_locomo: int, n_dialogues: int
              ) -> tuple[list[Conversation], Conversation, dict[str, list[Query]]]:
    locomo = list(conversations[:n_locomo])
    long = long_conversation(conversations)
    n = len(long.turns)
    middle = n // 2
    sliding = dialogues(long, range(middle, min(n, middle + n_dialogues)))
    first = min(50, n // 4)  # a dialogue needs messages before it
    stride = max(1, (n - first) // n_dialogues)
    cold_points = list(range(first, n, stride))[:n_dialogues]
    cold = dialogues(long, cold_points)
    queries = {
        "questions": [Query(q.text, q.reference_time) for q in long.questions],
        "dialogue, sliding": sliding,
        "dialogue, cold": cold,
        "dialogue, cold, whole text embedded": [replace(q, whole=True) for q in cold],
    }
    return locomo, long, queries


def _memory(home: Path, embedder: Embedder, space: str, db: str | None) -> Memory:
    cfg = Config(home=home, space=space, db=db)
    return Memory(config=cfg, embedder=embedder)


def _ingest(mem: Memory, conv: Conversation) -> float:
    t0 = time.perf_counter()
    for sid, _, turns in conv.sessions:
        mem.add([t.message() for t in turns], conversation_id=conv.id, session_id=sid)
    mem.flush()
    return time.perf_counter() - t0


def _timed(mem: Memory, embedder: Embedder, queries: Sequence[Query]) -> list[float]:
    out = []
    for q in queries:
        req = SearchRequest(query=q.text, top_k=10, reference_time=q.reference_time)
        t0 = time.perf_counter()
        if q.whole:
            mem.admin.recall_with_vector(req, embedder.embed_query(q.text))
        else:
            mem.search(req)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def run_backend(home: Path, embedder: Embedder, db: str | None, locomo: Sequence[Conversation],
                long: Conversation, queries: dict[str, list[Query]],
                progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    say = progress or (lambda _m: None)
    rows: dict[str, Any] = {}
    lat: list[float] = []
    messages = 0
    for conv in locomo:
        with _memory(home, embedder, f"lat-{conv.id}", db) as mem:
            say(f"ingesting {conv.id}")
            _ingest(mem, conv)
            messages += len(conv.turns)
            asked = [Query(q.text, q.reference_time) for q in conv.questions]
            lat += _timed(mem, embedder, asked)[WARMUP:]
    rows[f"LoCoMo ({len(locomo)} conversations, {messages} messages), questions"] = {
        "n": len(lat), **percentiles(lat)}
    with _memory(home, embedder, "lat-long", db) as mem:
        say(f"ingesting one conversation of {len(long.turns)} messages")
        took = _ingest(mem, long)
        for name, qs in queries.items():
            say(f"long conversation: {name}")
            got = _timed(mem, embedder, qs)[WARMUP:]
            rows[f"one conversation ({len(long.turns)} messages), {name}"] = {"n": len(got), **percentiles(got)}
        health = mem.health()
    return {"backend": health.get("backend"), "ingest_s_long": round(took, 1), "rows": rows}


def benchmark_latency(home: Path, embedder: Embedder, conversations: Sequence[Conversation], *,
                      postgres: str | None = None, n_locomo: int = 2, n_dialogues: int = 150,
                      progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    from .runner import machine

    locomo, long, queries = workloads(conversations, n_locomo, n_dialogues)
    backends = {"SQLite": run_backend(home / "sqlite", embedder, None, locomo, long, queries, progress)}
    if postgres:
        backends["PostgreSQL"] = run_backend(home / "pg", embedder, postgres, locomo, long, queries, progress)
    chars = [len(q.text) for q in queries["dialogue, cold"]]
    return {"machine": machine(), "embedder": embedder.model_id, "long_messages": len(long.turns),
            "dialogue_chars_mean": round(sum(chars) / max(1, len(chars))), "backends": backends}

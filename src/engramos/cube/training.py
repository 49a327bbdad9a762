"""Parametric memory, the export side: a user's memory as a training set in the chat
JSONL shape common fine-tuning tools read.

- ``sft``: one conversation per active fact or profile item: a question about it (from
  its slot, "Where does Ana live?", or else about what its speaker said that day) and
  the memory as the answer, with its date and the ids of the messages it cites;
  ``{"messages": [system, user, assistant], "metadata": {...}}``.
- ``preference``: one pair per knowledge update: the same question, the current value
  chosen over the superseded one; ``{"prompt": [...], "chosen": [...], "rejected":
  [...]}`` (the conversational preference shape of TRL's DPO trainer).

Both are written a page at a time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal

from ..store.base import Store
from ..types import Filters, MemoryRecord

TrainingFormat = Literal["sft", "preference"]
PAGE = 500
QUESTIONS = {
    "home": "Where does {s} live?", "hometown": "Where is {s} from?", "job": "What does {s} do for work?",
    "employer": "Where does {s} work?", "partner": "Who is {s}'s partner?", "family": "Who is {s}'s {key}?",
    "pet": "What pet does {s} have?", "diet": "What diet does {s} follow?", "school": "Where does {s} study?",
    "car": "What car does {s} drive?", "phone": "What phone does {s} use?", "hobby": "What are {s}'s hobbies?",
    "likes": "What does {s} like?",
}
SYSTEM = "You are {user}'s assistant. Answer from what you remember of them, with the date it was said."


def question(m: MemoryRecord) -> str:
    subject = str(m.metadata.get("subject") or m.speaker or m.user_id)
    template = QUESTIONS.get(str(m.metadata.get("attribute", "")))
    if template:
        return template.format(s=subject, key=m.metadata.get("key") or "relative")
    return f"What did {subject} tell you on {m.observed_at:%-d %B %Y}?"


def _answer(m: MemoryRecord, labels: dict[str, str]) -> str:
    cites = ", ".join(labels.get(i, i) for i in m.message_ids[:6])
    return f"{m.text} (said {m.observed_at:%-d %B %Y}" + (f"; messages {cites})" if cites else ")")


def _pages(store: Store, space: str, user_id: str, inactive: bool) -> Iterator[list[MemoryRecord]]:
    cursor = None
    while True:
        page = store.list_memories(space, Filters(user_id=user_id, kinds=["fact", "profile"],
                                                  include_inactive=inactive), limit=PAGE, cursor=cursor)
        yield page.items
        cursor = page.next_cursor
        if cursor is None:
            return


def _labels(store: Store, space: str, memories: list[MemoryRecord]) -> dict[str, str]:
    ids = list(dict.fromkeys(i for m in memories for i in m.message_ids[:6]))
    return {m.id: m.external_id or m.id for m in store.get_messages(space, ids)}


def rows(store: Store, space: str, user_id: str, fmt: TrainingFormat) -> Iterator[dict[str, Any]]:
    system = {"role": "system", "content": SYSTEM.format(user=user_id)}
    for page in _pages(store, space, user_id, inactive=fmt == "preference"):
        if fmt == "sft":
            active = [m for m in page if m.status == "active"]
            labels = _labels(store, space, active)
            for m in active:
                yield {"messages": [system, {"role": "user", "content": question(m)},
                                    {"role": "assistant", "content": _answer(m, labels)}],
                       "metadata": {"memory_id": m.id, "kind": m.kind, "message_ids": m.message_ids}}
            continue
        stale = [m for m in page if m.status == "superseded"]
        newer = store.successors(space, [m.id for m in stale])
        current = {m.id: m for m in store.get_memories(space, list(set(newer.values())))}
        labels = _labels(store, space, stale + list(current.values()))
        for m in stale:
            now = current.get(newer.get(m.id, ""))
            if now is None or now.text == m.text:
                continue
            yield {"prompt": [system, {"role": "user", "content": question(now)}],
                   "chosen": [{"role": "assistant", "content": _answer(now, labels)}],
                   "rejected": [{"role": "assistant", "content": _answer(m, labels)}],
                   "metadata": {"chosen_id": now.id, "rejected_id": m.id}}


def write(store: Store, space: str, user_id: str, fmt: TrainingFormat, out: str | Path | IO[bytes]) -> int:
    """Write the training set; the number of rows."""
    n = 0
    f = open(out, "wb") if isinstance(out, str | Path) else out  # noqa: SIM115 (closed below when opened here)
    try:
        for row in rows(store, space, user_id, fmt):
            f.write(json.dumps(row, ensure_ascii=False).encode() + b"\n")
            n += 1
    finally:
        if f is not out:
            f.close()
    return n

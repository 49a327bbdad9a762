"""Expansion of direct hits: the neighbouring turns of a hit's message and the episode of
its MemCell.  An expansion inherits a fraction of its parent's score and says how it was
reached (``via``).  Lookups are batched: one query per conversation for neighbours, one
for all cell episodes.

Episodes of the hit's MemScene were reached too, until measured: switched off, LoCoMo's
results were the same to the decimal at every budget, on the tune half, the test half
and the informal variant, while the lookup cost 3-9 ms a search on SQLite and ~11 ms on
PostgreSQL (docs/benchmarks.md); it was removed."""

from __future__ import annotations

from collections import defaultdict

from ..config import RecallConfig
from ..records import turn_id
from ..store.base import Store
from ..types import Filters, MemoryRecord

NEIGHBOUR_FACTOR = 0.6
CELL_FACTOR = 0.5


def expansions(
    store: Store, space: str, seeds: list[tuple[MemoryRecord, float]], cfg: RecallConfig,
) -> list[tuple[str, float, str]]:
    """``(memory_id, score, via)`` for memories reached from the seeds."""
    out: list[tuple[str, float, str]] = []
    single = [r for r, _ in seeds if r.kind != "episode" and len(r.message_ids) == 1]
    messages = {m.id: m for m in store.get_messages(space, [r.message_ids[0] for r in single])}
    wanted: dict[str, dict[int, float]] = defaultdict(dict)  # conversation -> seq -> best parent score
    cells: dict[str, float] = {}
    for rec, score in seeds:
        msg = messages.get(rec.message_ids[0]) if rec.message_ids and rec.kind != "episode" else None
        cell_id = rec.cell_id or (msg.cell_id if msg else None)
        if msg is not None:
            for seq in range(msg.seq - cfg.neighbours, msg.seq + cfg.neighbours + 1):
                if seq != msg.seq:
                    wanted[msg.conversation_id][seq] = max(wanted[msg.conversation_id].get(seq, 0.0), score)
        if cell_id and rec.kind != "episode":
            cells[cell_id] = max(cells.get(cell_id, 0.0), score)
    for conv, seqs in wanted.items():
        for n in store.get_messages_by_seq(space, conv, list(seqs)):
            out.append((turn_id(n.id), seqs[n.seq] * NEIGHBOUR_FACTOR, "neighbour"))
    if cfg.expand_cell and cells:
        episodes = store.list_memories(space, Filters(kinds=["episode"]), cell_ids=list(cells), limit=len(cells))
        for ep in episodes.items:
            out.append((ep.id, cells[ep.cell_id or ""] * CELL_FACTOR, "cell"))
    return out

"""Expansion of direct hits: the neighbouring turns of a hit's message, the episode of
its MemCell, and related episodes of its MemScene.  An expansion inherits a fraction of
its parent's score and says how it was reached (``via``)."""

from __future__ import annotations

import numpy as np

from ..config import RecallConfig
from ..ingest.pipeline import turn_id
from ..store.base import Store
from ..types import Filters, MemoryRecord

NEIGHBOUR_FACTOR = 0.6
CELL_FACTOR = 0.5
SCENE_FACTOR = 0.3


def expansions(
    store: Store, space: str, seeds: list[tuple[MemoryRecord, float]], query_vec: np.ndarray,
    cfg: RecallConfig,
) -> list[tuple[str, float, str]]:
    """``(memory_id, score, via)`` for memories reached from the seeds."""
    out: list[tuple[str, float, str]] = []
    single = [(r, s) for r, s in seeds if r.kind != "episode" and len(r.message_ids) == 1]
    messages = {m.id: m for m in store.get_messages(space, [r.message_ids[0] for r, _ in single])}
    cells: dict[str, float] = {}
    for rec, score in seeds:
        cell_id = rec.cell_id
        msg = messages.get(rec.message_ids[0]) if rec.message_ids else None
        if msg is not None:
            cell_id = cell_id or msg.cell_id
            if cfg.neighbours:
                for n in store.list_messages(space, msg.conversation_id, seq_from=msg.seq - cfg.neighbours,
                                             seq_to=msg.seq + cfg.neighbours):
                    if n.id != msg.id:
                        out.append((turn_id(n.id), score * NEIGHBOUR_FACTOR, "neighbour"))
        if cell_id and rec.kind != "episode":
            cells[cell_id] = max(cells.get(cell_id, 0.0), score)
    scenes: dict[str, float] = {}
    for cell_id, score in cells.items():
        if cfg.expand_cell:
            for ep in store.list_memories(space, Filters(kinds=["episode"]), cell_id=cell_id, limit=1).items:
                out.append((ep.id, score * CELL_FACTOR, "cell"))
                if ep.scene_id:
                    scenes[ep.scene_id] = max(scenes.get(ep.scene_id, 0.0), score)
    if cfg.expand_scene:
        for scene_id, score in scenes.items():
            out.extend(_scene_episodes(store, space, scene_id, score, query_vec))
    return out


def _scene_episodes(store: Store, space: str, scene_id: str, score: float,
                    query_vec: np.ndarray, limit: int = 2) -> list[tuple[str, float, str]]:
    episodes = store.list_memories(space, Filters(kinds=["episode"]), scene_id=scene_id, limit=200).items
    vecs = store.get_vectors(space, [e.id for e in episodes])
    ranked = sorted(vecs.items(), key=lambda kv: -float(kv[1] @ query_vec))[:limit]
    return [(mid, score * SCENE_FACTOR, "scene") for mid, _ in ranked]

"""MemScenes: online centroid clustering of MemCells, gated by time.

A closed cell joins the most similar scene of the same user whose activity lies within
``time_gate_days`` of the cell, if the cosine similarity of the cell's vector (the mean
of its turn vectors) to the scene centroid reaches ``similarity``; otherwise it starts a
new scene.  Centroids are running means, so assignment is O(scenes) per cell and never
revisits old cells.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import numpy as np

from .._util import new_id
from ..config import SceneConfig
from ..text import words
from ..types import Cell, Message, Scene


def scene_label(texts: list[str], exclude: set[str], size: int = 4) -> str:
    counts = Counter(w for t in texts for w in words(t) if len(w) > 2 and w not in exclude)
    return ", ".join(w for w, _ in counts.most_common(size)) or "misc"


def choose_scene(
    scenes: list[tuple[Scene, np.ndarray]], vector: np.ndarray, start: datetime, end: datetime,
    cfg: SceneConfig, default_similarity: float,
) -> tuple[Scene, np.ndarray] | None:
    """The scene a cell should join, or None for a new one."""
    threshold = cfg.similarity if cfg.similarity is not None else default_similarity
    best: tuple[float, tuple[Scene, np.ndarray]] | None = None
    for scene, centroid in scenes:
        gap_days = max((start - scene.last_at).total_seconds(), (scene.first_at - end).total_seconds(), 0) / 86400
        if gap_days > cfg.time_gate_days or centroid.shape != vector.shape:
            continue
        sim = float(centroid @ vector) / (float(np.linalg.norm(centroid)) or 1.0)
        if sim >= threshold and (best is None or sim > best[0]):
            best = (sim, (scene, centroid))
    return best[1] if best else None


def join_scene(
    chosen: tuple[Scene, np.ndarray] | None, vector: np.ndarray, *, space: str, user_id: str,
    start: datetime, end: datetime, label: str,
) -> tuple[Scene, np.ndarray]:
    """The scene (new or updated) after adding a cell, with its new centroid."""
    if chosen is None:
        scene = Scene(id=new_id("scn"), space=space, user_id=user_id, label=label, size=1,
                      first_at=start, last_at=end)
        return scene, vector.astype(np.float32)
    scene, centroid = chosen
    centroid = (centroid * scene.size + vector) / (scene.size + 1)
    updated = scene.model_copy(update={
        "size": scene.size + 1, "first_at": min(scene.first_at, start),
        "last_at": max(scene.last_at, end)})
    return updated, centroid.astype(np.float32)


def rebuild_scene(
    scene: Scene, parts: list[tuple[Cell, list[Message], np.ndarray]],
) -> tuple[Scene, np.ndarray]:
    """A scene made again from the cells it still holds (each with its messages and
    vector), after some of its cells were forgotten: label, size, time span and centroid
    from those alone (``parts`` is not empty)."""
    names = {w.lower() for _, messages, _ in parts for m in messages for w in m.sender_name.split()}
    label = scene_label([m.content for _, messages, _ in parts for m in messages], names)
    centroid = np.mean(np.vstack([v for _, _, v in parts]), axis=0).astype(np.float32)
    return scene.model_copy(update={
        "label": label, "size": len(parts), "first_at": min(c.start_at for c, _, _ in parts),
        "last_at": max(c.end_at for c, _, _ in parts)}), centroid

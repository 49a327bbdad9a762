"""Offline MemCell segmentation.

A conversation's pending messages are cut where (in this order of precedence) the
calendar day changes, the time gap exceeds ``max_gap_minutes``, the cell reaches
``max_messages``, or the topic shifts: the cosine similarity between the mean vectors of
the ``topic_window`` messages before and after a point is a local minimum and falls
``topic_depth`` standard deviations below the mean of the pending stretch.

A topic cut needs ``topic_window`` messages of look-ahead, so the tail of the stream
stays open (its messages are still searchable as raw turns) until later messages
confirm a boundary, or the caller flushes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import SegmentationConfig
from ..types import Message


@dataclass
class Segment:
    messages: list[Message]
    boundary: str  # why the segment ended: day, gap, size, topic, flush


def window_similarities(vectors: np.ndarray, window: int) -> np.ndarray:
    """``sims[i]`` (i >= 1): similarity of the windows before and after message i;
    NaN where the look-ahead is incomplete."""
    n = len(vectors)
    sims = np.full(n, np.nan)
    for i in range(1, n):
        if i + window > n:
            break
        left = vectors[max(0, i - window) : i].mean(axis=0)
        right = vectors[i : i + window].mean(axis=0)
        denom = float(np.linalg.norm(left) * np.linalg.norm(right)) or 1.0
        sims[i] = float(left @ right) / denom
    return sims


def _topic_cuts(sims: np.ndarray, cfg: SegmentationConfig) -> set[int]:
    valid = sims[~np.isnan(sims)]
    if len(valid) < 6:
        return set()
    threshold = float(valid.mean() - cfg.topic_depth * valid.std())
    cuts = set()
    for i in range(1, len(sims)):
        s = sims[i]
        if np.isnan(s) or s >= threshold:
            continue
        prev_s = sims[i - 1] if i > 1 else np.inf
        next_s = sims[i + 1] if i + 1 < len(sims) else np.inf
        if s <= np.nan_to_num(prev_s, nan=np.inf) and s <= np.nan_to_num(next_s, nan=np.inf):
            cuts.add(i)
    return cuts


def segment(
    messages: list[Message], vectors: np.ndarray, cfg: SegmentationConfig, *, flush: bool
) -> tuple[list[Segment], list[Message]]:
    """Split pending ``messages`` (ascending seq) into closed segments and an open tail."""
    if not messages:
        return [], []
    topic = _topic_cuts(window_similarities(vectors, cfg.topic_window), cfg) if len(vectors) else set()
    segments: list[Segment] = []
    start = 0
    for i in range(1, len(messages)):
        prev, cur = messages[i - 1], messages[i]
        reason = ""
        if cur.timestamp.date() != prev.timestamp.date():
            reason = "day"
        elif (cur.timestamp - prev.timestamp).total_seconds() > cfg.max_gap_minutes * 60:
            reason = "gap"
        elif i - start >= cfg.max_messages:
            reason = "size"
        elif i in topic and i - start >= cfg.min_messages and len(messages) - i >= cfg.min_messages:
            reason = "topic"
        if reason:
            segments.append(Segment(messages[start:i], reason))
            start = i
    tail = messages[start:]
    if flush and tail:
        segments.append(Segment(tail, "flush"))
        tail = []
    return segments, tail

"""Reciprocal rank fusion (Cormack et al., 2009): score(d) = sum over lists of
weight / (k + rank(d)), ranks from 1."""

from __future__ import annotations

from collections.abc import Sequence


def rrf(lists: Sequence[tuple[Sequence[tuple[str, float]], float]], k: int = 60) -> dict[str, float]:
    fused: dict[str, float] = {}
    for ranked, weight in lists:
        for rank, (doc, _score) in enumerate(ranked, start=1):
            fused[doc] = fused.get(doc, 0.0) + weight / (k + rank)
    return fused

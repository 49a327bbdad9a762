"""Retrieval metrics, all LLM-free.  Every function here is unit-tested on hand-made
cases (tests/test_bench_metrics.py)."""

from __future__ import annotations

import math
import re
import string
from collections.abc import Iterable, Sequence

import numpy as np

_ARTICLES = re.compile(r"\b(a|an|the|and)\b")
_PUNCT = str.maketrans("", "", string.punctuation + "，。！？；：“”‘’（）")
_ANSWER_STOP = frozenset("a an the of in on at to and or for with by is was were be it its this that".split())  # noqa: SIM905


def evidence_recall(gold: set[str], cited: Iterable[str]) -> float | None:
    """Fraction of the gold evidence ids found among ``cited``; None when there is no
    gold (such questions are left out of the average, not counted as 0 or 1)."""
    if not gold:
        return None
    return len(gold & set(cited)) / len(gold)


def recall_at_k(gold: set[str], units: Sequence[Iterable[str]], k: int) -> float | None:
    """Evidence recall over the provenance of the top-k units (duplicates count once)."""
    covered: set[str] = set()
    for unit in units[:k]:
        covered |= set(unit)
    return evidence_recall(gold, covered)


def ranked_keys(units: Sequence[Iterable[str]], key_of: dict[str, str] | None = None) -> list[str]:
    """Distinct keys in order of first appearance (``key_of`` maps a turn id to its
    session id, for session-level metrics)."""
    seen: dict[str, None] = {}
    for unit in units:
        for item in unit:
            seen.setdefault(key_of.get(item, item) if key_of else item, None)
    return list(seen)


def recall_any(gold: set[str], keys: Sequence[str], k: int) -> float | None:
    if not gold:
        return None
    return 1.0 if gold & set(keys[:k]) else 0.0


def recall_all(gold: set[str], keys: Sequence[str], k: int) -> float | None:
    if not gold:
        return None
    return 1.0 if gold <= set(keys[:k]) else 0.0


def ndcg(gold: set[str], keys: Sequence[str], k: int) -> float | None:
    """Binary-relevance NDCG@k over distinct ranked keys."""
    if not gold:
        return None
    dcg = sum(1.0 / math.log2(i + 2) for i, key in enumerate(keys[:k]) if key in gold)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(gold), k)))
    return dcg / ideal


def normalise_answer(text: str) -> str:
    text = text.lower().translate(_PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def answer_in_context(answer: str, context: str) -> bool:
    """The normalised gold answer appears in the context, or all its content words do."""
    gold = normalise_answer(answer)
    if not gold:
        return False
    ctx = normalise_answer(context)
    if gold in ctx:
        return True
    words = [w for w in gold.split() if w not in _ANSWER_STOP]
    ctx_words = set(ctx.split())
    return bool(words) and all(w in ctx_words for w in words)


def is_short_answer(answer: str | None, max_words: int = 6) -> bool:
    return answer is not None and 0 < len(normalise_answer(answer).split()) <= max_words


def percentiles(values: Sequence[float], ps: Sequence[int] = (50, 95, 99)) -> dict[str, float]:
    if not values:
        return {f"p{p}": float("nan") for p in ps}
    arr = np.asarray(values, dtype=float)
    return {f"p{p}": round(float(np.percentile(arr, p)), 2) for p in ps}


def mean(values: Iterable[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None

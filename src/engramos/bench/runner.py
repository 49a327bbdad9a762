"""Run systems over a data set and aggregate the metrics per category and overall."""

from __future__ import annotations

import platform
import resource
import sqlite3
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .. import __version__
from ..text import tokenizer_name
from . import metrics as M
from .datasets import Conversation, Question
from .qa import QASettings, qa_scores
from .systems import Retrieval, System

KS = (1, 5, 10, 25, 50)
# LoCoMo's halves (issue 14): tune on the first five conversations, report the last five apart
TUNE_HALF = frozenset({"conv-26", "conv-30", "conv-41", "conv-42", "conv-43"})
BUDGETS = (256, 512, 1024, 2048)
PUBLISHED_LOCOMO = {
    "DRAGON (LoCoMo paper, dialog turns as units; published, not measured)":
        {"recall@5": 56.7, "recall@10": 66.2, "recall@25": 76.7, "recall@50": 82.7},
}


@dataclass
class QuestionResult:
    question: Question
    latency_ms: float
    scores: dict[str, float | None]
    context_tokens: dict[int, int]


def score_question(q: Question, r: Retrieval, key_of: dict[str, str], longmemeval: bool) -> dict[str, float | None]:
    s: dict[str, float | None] = {}
    for k in KS:
        s[f"recall@{k}"] = M.recall_at_k(q.evidence_turns, r.units, k)
    for b, (ids, text, _) in r.contexts.items():
        s[f"recall@{b}tok"] = M.evidence_recall(q.evidence_turns, ids)
        if M.is_short_answer(q.answer) and not q.abstention:
            s[f"answer@{b}tok"] = 1.0 if M.answer_in_context(q.answer or "", text) else 0.0
    if q.evidence_sessions and not longmemeval:
        # a gold session among the sessions of the top 5 hits (the published LLM-free figures' metric)
        top = M.ranked_keys(r.units[:5], key_of)
        s["session@5"] = M.recall_any(q.evidence_sessions, top, len(top))
    if longmemeval:
        sessions = M.ranked_keys(r.units, key_of)
        turns = M.ranked_keys(r.units)
        for k in (5, 10, 50):
            s[f"session_any@{k}"] = M.recall_any(q.evidence_sessions, sessions, k)
            s[f"session_all@{k}"] = M.recall_all(q.evidence_sessions, sessions, k)
            s[f"session_ndcg@{k}"] = M.ndcg(q.evidence_sessions, sessions, k)
            s[f"turn_any@{k}"] = M.recall_any(q.evidence_turns, turns, k)
            s[f"turn_all@{k}"] = M.recall_all(q.evidence_turns, turns, k)
            s[f"turn_ndcg@{k}"] = M.ndcg(q.evidence_turns, turns, k)
    return s


_RAW = ("qa_answer_calls", "qa_answer_prompt_tokens", "qa_judge_calls", "qa_judge_prompt_tokens")


def aggregate(results: Sequence[QuestionResult]) -> dict[str, Any]:
    keys = sorted({k for r in results for k in r.scores})
    out: dict[str, Any] = {"n": len(results)}
    for key in keys:
        vals = [r.scores.get(key) for r in results]
        m = M.mean(vals)
        # per-question means for costs, percentages for everything else
        out[key] = None if m is None else round(m, 1) if key in _RAW else round(100 * m, 1)
        if key == "recall@1":
            out["n_with_evidence"] = sum(v is not None for v in vals)
    for b in BUDGETS:
        toks = [r.context_tokens[b] for r in results if b in r.context_tokens]
        if toks:
            out[f"tokens@{b}tok"] = round(sum(toks) / len(toks), 1)
    return out


def run_system(system: System, conversations: Sequence[Conversation], *, longmemeval: bool = False,
               progress: Callable[[str], None] | None = None, qa: QASettings | None = None) -> dict[str, Any]:
    per_question: list[QuestionResult] = []
    ingest_s, messages, peak = 0.0, 0, 0
    latencies: list[float] = []
    for conv in conversations:
        tracemalloc.start()
        started = time.perf_counter()
        system.ingest(conv)
        ingest_s += time.perf_counter() - started
        peak = max(peak, tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        messages += len(conv.turns)
        key_of = {conv.parent.get(t.id, t.id): t.session_id for t in conv.turns}
        for q in conv.questions:
            if q.abstention and longmemeval:
                continue  # abstention questions have no evidence to retrieve
            r = _as_turns(system.retrieve(q, max(KS), BUDGETS), conv.parent)
            latencies.append(r.search_ms)
            scores = score_question(q, r, key_of, longmemeval)
            if qa is not None and system.name in qa.systems and q.answer and not q.abstention:
                scores.update(qa_scores(qa, q.text, q.answer, _context_for(r, qa.budget)))
            per_question.append(QuestionResult(q, r.search_ms, scores, {b: c[2] for b, c in r.contexts.items()}))
        if progress:
            progress(f"{system.name}: {conv.id} done")
    llm_usage = system.llm_usage() if hasattr(system, "llm_usage") else None
    system.close()
    out = {
        **_summary(per_question),
        "latency_ms": M.percentiles(latencies),
        "ingest": {"messages": messages, "seconds": round(ingest_s, 2),
                   "messages_per_s": round(messages / ingest_s, 1) if ingest_s else None,
                   "peak_python_heap_mb": round(peak / 2**20, 1),
                   # whole process, so far in the run (includes model weights and C allocations)
                   "process_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                   **_per_message(llm_usage, messages)},
    }
    halves = {name: [qr for qr in per_question if (qr.question.id.split(":")[0] in TUNE_HALF) == (name == "tune")]
              for name in ("tune", "test")}
    if halves["tune"] and halves["test"]:  # LoCoMo's ten conversations (or some of each half)
        out["halves"] = {name: _summary(rs) for name, rs in halves.items()}
    return out


def _summary(results: list[QuestionResult]) -> dict[str, Any]:
    by_cat: dict[str, list[QuestionResult]] = defaultdict(list)
    for qr in results:
        by_cat[qr.question.category].append(qr)
    return {"overall": aggregate(results),
            "overall_without_adversarial": aggregate([q for q in results if q.question.category != "adversarial"]),
            "by_category": {c: aggregate(rs) for c, rs in sorted(by_cat.items())}}


def _as_turns(r: Retrieval, parent: dict[str, str]) -> Retrieval:
    """A variant's pieces counted as the turns they are part of."""
    if not parent:
        return r
    units = [{parent.get(i, i) for i in u} for u in r.units]
    contexts = {b: ({parent.get(i, i) for i in ids}, text, tokens) for b, (ids, text, tokens) in r.contexts.items()}
    unflagged = {b: {parent.get(i, i) for i in ids} for b, ids in r.unflagged.items()}
    return Retrieval(units, contexts, r.search_ms, unflagged)


def _per_message(usage: dict[str, Any] | None, messages: int) -> dict[str, Any]:
    if not usage or not messages:
        return {}
    return {"llm": usage["model"], "llm_calls": usage["llm_calls"],
            "llm_calls_per_message": round(usage["llm_calls"] / messages, 3),
            "prompt_tokens_per_message": round(usage["prompt_tokens"] / messages, 1),
            "completion_tokens_per_message": round(usage["completion_tokens"] / messages, 1)}


def _context_for(r: Retrieval, budget: int) -> str:
    if budget in r.contexts:
        return r.contexts[budget][1]
    nearest = min(r.contexts, key=lambda b: abs(b - budget))
    return r.contexts[nearest][1]


def machine() -> dict[str, Any]:
    import os

    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "sqlite": sqlite3.sqlite_version, "engramos": __version__, "tokenizer": tokenizer_name(),
            "date": datetime.now(UTC).isoformat(timespec="seconds")}

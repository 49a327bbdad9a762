"""``engram bench working-memory``: what a conversation's working memory buys and costs.

Each LoCoMo conversation is ingested, then its questions are asked in order, each at
two budgets, as a plain context and as a working context (the conversation's working
memory as a stable prefix, then the question's evidence, in the same total budget).
Reported side by side, per budget:

- prefix reuse: the share of a prompt's tokens that are a byte-identical prefix of the
  previous question's prompt (what a serving engine's prefix cache can skip);
- evidence recall: the share of a question's gold evidence turns cited in the context;
- the working block's size, and the time to build a context.

The scheduler's pace is measured too: a conversation added message by message with
prefetch on and no worker, then a worker started; the time from the last message until
no refresh is due.

With the local runtime installed (``engramos[kv]``), time to first token on the first
conversation: its working memory at 1,024 tokens as the prefix, each question after
it, evaluated cold and from the prefix's restored KV state (``working/activation.py``)."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..config import Config, WorkingConfig
from ..memory import Memory
from ..providers.embeddings import Embedder
from ..text import count_tokens
from .datasets import Conversation
from .metrics import evidence_recall, mean, percentiles

BUDGETS = (1024, 2048)


def _common_prefix_tokens(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    # count whole lines only: a token cut in the middle is not reused
    return count_tokens(b[: b.rfind("\n", 0, n) + 1]) if n else 0


def run(conversations: Sequence[Conversation], embedder: Embedder, *, budgets: Sequence[int] = BUDGETS,
        progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    rows: dict[str, dict[str, list[float]]] = {}
    block_tokens: list[int] = []
    ttft: dict[str, Any] | None = None
    for conv in conversations:
        if progress:
            progress(f"{conv.id}: ingesting {sum(len(t) for _, _, t in conv.sessions)} messages")
        with tempfile.TemporaryDirectory(prefix="engram-bench-wm-") as home, \
                Memory(config=Config(home=Path(home)), embedder=embedder) as mem:
            for sid, _, turns in conv.sessions:
                mem.add([t.message() for t in turns], conversation_id=conv.id, session_id=sid)
            mem.flush()
            ext = {m.id: m.external_id or m.id for m in mem.messages(conv.id, limit=10_000)}
            if conv is conversations[0]:
                ttft = _time_to_first_token(mem, conv, progress)
            last: dict[tuple[str, int], str | None] = {}
            for q in conv.questions:
                gold = set(q.evidence_turns)
                for b in budgets:
                    for mode in ("plain", "working"):
                        t0 = time.perf_counter()
                        block = mem.context(q.text, conversation_id=conv.id, budget_tokens=b,
                                            reference_time=q.reference_time, working=mode == "working")
                        ms = (time.perf_counter() - t0) * 1000
                        row = rows.setdefault(f"{mode} {b}", {"reuse": [], "recall": [], "ms": [], "tokens": []})
                        previous = last.get((mode, b))
                        last[(mode, b)] = block.text
                        if previous is not None:  # the first question of a conversation has none
                            row["reuse"].append(_common_prefix_tokens(previous, block.text) / max(block.tokens, 1))
                        r = evidence_recall(gold, {ext.get(m, m) for m in block.message_ids})
                        if r is not None:
                            row["recall"].append(r)
                        row["ms"].append(ms)
                        row["tokens"].append(block.tokens)
                        if mode == "working":
                            block_tokens.append(block.prefix_tokens)
    table = {name: {"prefix_reuse": round(100 * (mean(v["reuse"]) or 0), 1),
                    "evidence_recall": round(100 * (mean(v["recall"]) or 0), 1),
                    "tokens": round(mean(v["tokens"]) or 0), "ms": percentiles(v["ms"], (50, 95)),
                    "questions": len(v["recall"])} for name, v in rows.items()}
    return {"bench": "working-memory", "conversations": [c.id for c in conversations], "rows": table,
            "working_prefix_tokens": round(mean(block_tokens) or 0), "ttft": ttft, "scheduler": _scheduler_pace(
                conversations[0], embedder, progress) if conversations else None}


def _time_to_first_token(mem: Memory, conv: Conversation, progress: Callable[[str], None] | None,
                         questions: int = 40) -> dict[str, Any] | None:
    try:
        import llama_cpp  # noqa: F401 - only to know whether the runtime is installed

        from ..working.activation import ActivationCache, KVRuntime, default_model_path
    except ImportError:
        return None
    if progress:
        progress(f"{conv.id}: time to first token, cold and restored")
    prefix = mem.working_memory(conv.id, budget_tokens=1024).text
    with tempfile.TemporaryDirectory(prefix="engram-kv-") as kv:
        rt = KVRuntime(default_model_path(Path.home() / ".cache" / "engramos" / "models"), ActivationCache(Path(kv)))
        try:
            t0 = time.perf_counter()
            rt.prefill(prefix)
            prefill_s = time.perf_counter() - t0
            cold, warm, same = [], [], 0
            for q in conv.questions[:questions]:
                suffix = f"\n# Question\n{q.text}\nAnswer:"
                a = rt.first_token(prefix, suffix, restore=False)
                b = rt.first_token(prefix, suffix, restore=True)
                cold.append(a.seconds * 1000)
                warm.append(b.seconds * 1000)
                same += int(a.token == b.token)
            state_mb = rt.cache.path(rt.model_id, prefix).stat().st_size / 1e6
            n_prefix = len(rt.tokens(prefix, bos=True))
        finally:
            rt.close()
    return {"model": rt.model_id, "prefix_tokens": n_prefix, "questions": len(cold),
            "cold_ms": percentiles(cold, (50, 95)), "restored_ms": percentiles(warm, (50, 95)),
            "prefill_s": round(prefill_s, 2), "state_mb": round(state_mb, 1), "same_first_token": same}


def _scheduler_pace(conv: Conversation, embedder: Embedder, progress: Callable[[str], None] | None) -> dict[str, Any]:
    """Messages added one by one as fast as the library takes them, prefetch on, jobs left
    to a worker; then the worker runs: seconds until no working refresh is due."""
    if progress:
        progress(f"{conv.id}: scheduler pace")
    cfg = WorkingConfig(prefetch=True)
    with tempfile.TemporaryDirectory(prefix="engram-bench-wm-") as home, \
            Memory(config=Config(home=Path(home), working=cfg, process_inline=False), embedder=embedder) as mem:
        sid, _, turns = conv.sessions[0]
        for t in turns:
            mem.add([t.message()], conversation_id=conv.id, session_id=sid)
        queued = [j for j in mem.jobs(["pending"]) if j.kind == "working" and j.payload["event"] != "idle"]
        t0 = time.perf_counter()
        mem.run_jobs()  # segmentation, extraction and the coalesced refreshes, as a worker would
        drained = time.perf_counter() - t0
        left = [j for j in mem.jobs(["pending"]) if j.kind == "working" and j.payload["event"] != "idle"]
        return {"messages": len(turns), "refresh_jobs_queued": len(queued), "drain_s": round(drained, 2),
                "refresh_jobs_left": len(left)}


def markdown(result: dict[str, Any]) -> str:
    lines = [f"conversations: {', '.join(result['conversations'])}; working block: "
             f"{result['working_prefix_tokens']} tokens on average", "",
             "| context | budget | prefix reuse % | evidence recall % | tokens | p50 ms | p95 ms | questions |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in sorted(result["rows"].items(), key=lambda kv: (int(kv[0].split()[1]), kv[0])):
        mode, budget = name.split()
        lines.append(f"| {mode} | {budget} | {r['prefix_reuse']} | {r['evidence_recall']} | {r['tokens']} | "
                     f"{r['ms']['p50']:.0f} | {r['ms']['p95']:.0f} | {r['questions']} |")
    t = result.get("ttft")
    if t:
        ratio = t["restored_ms"]["p50"] / t["cold_ms"]["p50"] if t["cold_ms"]["p50"] else 0
        lines += ["", "| time to first token | prefix tokens | p50 ms | p95 ms |", "|---|---:|---:|---:|",
                  f"| cold | {t['prefix_tokens']} | {t['cold_ms']['p50']:.0f} | {t['cold_ms']['p95']:.0f} |",
                  f"| restored KV state | {t['prefix_tokens']} | {t['restored_ms']['p50']:.0f} | "
                  f"{t['restored_ms']['p95']:.0f} |", "",
                  f"{t['questions']} questions, model {t['model']}; restored/cold at p50: {ratio:.2f}; the "
                  f"state is {t['state_mb']} MB and took {t['prefill_s']} s to compute once; same first token "
                  f"in {t['same_first_token']} of {t['questions']}"]
    s = result.get("scheduler")
    if s:
        lines += ["", f"scheduler: {s['messages']} messages added one by one queued {s['refresh_jobs_queued']} "
                      f"refresh job(s); a worker drained every job in {s['drain_s']} s; refreshes left due: "
                      f"{s['refresh_jobs_left']}"]
    return "\n".join(lines)

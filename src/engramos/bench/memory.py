"""``engram bench memory``: does recall know when something changed?

The scenarios are the project's own writing (``data/memory_bench.json``, English and
Chinese): one person's sessions with small talk around the facts, and probes with a
reference time, ``current`` turns (what is true at the time asked about) and ``stale``
turns (what no longer is, or not yet).  Scenarios marked ``test`` are kept out of tuning.

Per probe, over the ranked units (each unit: the turn ids it cites):

* ``current@1``: the first unit cites a current turn;
* ``current>stale``: the best unit citing a current turn ranks above every unit citing
  only stale ones (and there is one);
* ``current in 256``: a current turn is cited in the 256-token context;
* ``stale unflagged``: a stale turn is cited by a context line (256 tokens) that does not
  say it no longer holds (a baseline has no flags: every stale turn shown counts).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .._util import from_iso
from ..config import Config
from ..providers.embeddings import Embedder
from .datasets import Conversation, Question, Turn
from .systems import BM25Recency, BM25Turns, EngramSystem, Retrieval, System

DATA = Path(__file__).resolve().parents[1] / "data" / "memory_bench.json"
BUDGET = 256
METRICS = ("current@1", "current>stale", "current in 256", "stale unflagged")


@dataclass
class Scenario:
    conversation: Conversation
    lang: str
    split: str
    category: str


def load_scenarios(path: Path = DATA, split: str = "all") -> list[Scenario]:
    data = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for sc in data["scenarios"]:
        if split != "all" and sc["split"] != split:
            continue
        sessions = []
        for n, session in enumerate(sc["sessions"], 1):
            start = from_iso(session["time"])
            turns = [Turn(id=f"s{n}t{i}", session_id=f"s{n}", speaker=speaker, role="user", text=text,
                          timestamp=start + timedelta(minutes=i - 1))
                     for i, (speaker, text) in enumerate(session["turns"], 1)]
            sessions.append((f"s{n}", start, turns))
        conv = Conversation(sc["id"], sessions)
        for j, probe in enumerate(sc["probes"]):
            conv.questions.append(Question(
                id=f"{sc['id']}:p{j}", text=probe["q"], answer=None, category=sc["category"],
                evidence_turns=set(probe["current"]), evidence_sessions=set(),
                reference_time=from_iso(probe["at"]), stale_turns=set(probe["stale"]),
                as_of=from_iso(probe["as_of"]) if probe.get("as_of") else None))
        out.append(Scenario(conv, sc["lang"], sc["split"], sc["category"]))
    return out


def score_probe(question: Question, got: Retrieval) -> dict[str, float]:
    current, stale = question.evidence_turns, question.stale_turns
    best_current = next((i for i, u in enumerate(got.units) if u & current), None)
    stale_only = [i for i, u in enumerate(got.units) if u & stale and not u & current]
    shown = got.contexts[BUDGET][0]
    unflagged = got.unflagged.get(BUDGET, shown)
    return {
        "current@1": float(bool(got.units) and bool(got.units[0] & current)),
        "current>stale": float(best_current is not None and all(best_current < i for i in stale_only)),
        "current in 256": float(bool(shown & current)),
        "stale unflagged": float(bool(unflagged & (stale - current))),
    }


def run(systems: Sequence[System], scenarios: Sequence[Scenario],
        progress: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """One row per (system, scenario, probe) with the four metrics."""
    rows = []
    for system in systems:
        for sc in scenarios:
            system.ingest(sc.conversation)
            for q in sc.conversation.questions:
                got = system.retrieve(q, 10, (BUDGET,))
                rows.append({"system": system.name, "scenario": sc.conversation.id, "probe": q.id,
                             "lang": sc.lang, "split": sc.split, "category": sc.category,
                             **score_probe(q, got)})
        system.close()
        if progress:
            progress(f"{system.name}: done")
    return rows


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean of each metric (in %) per system, split, language and category, and overall."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for r in rows:
        for key in ((r["system"], r["split"], "all", "all"), (r["system"], r["split"], r["lang"], "all"),
                    (r["system"], r["split"], "all", r["category"])):
            groups.setdefault(key, []).append(r)
    return [{"system": k[0], "split": k[1], "lang": k[2], "category": k[3], "probes": len(v),
             **{m: round(100 * sum(r[m] for r in v) / len(v), 1) for m in METRICS}}
            for k, v in sorted(groups.items())]


def table(summary: list[dict[str, Any]]) -> str:
    head = "| system | split | lang | category | probes | " + " | ".join(METRICS) + " |"
    lines = [head, "|" + "---|" * (5 + len(METRICS))]
    lines += ["| " + " | ".join(str(s[c]) for c in ("system", "split", "lang", "category", "probes", *METRICS))
              + " |" for s in summary]
    return "\n".join(lines)


def benchmark_memory(embedder: Embedder, *, split: str = "all", config: Config | None = None,
                     progress: Callable[[str], None] | None = None, path: Path = DATA) -> dict[str, Any]:
    scenarios = load_scenarios(path, split=split)
    systems: list[System] = [EngramSystem(embedder, config=config), BM25Turns(), BM25Recency()]
    rows = run(systems, scenarios, progress)
    summary = summarise(rows)
    return {"benchmark": "memory", "when": datetime.now().astimezone().isoformat(timespec="seconds"),
            "scenarios": len(scenarios), "probes": sum(len(s.conversation.questions) for s in scenarios),
            "summary": summary, "rows": rows, "table": table(summary)}

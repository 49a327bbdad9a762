"""Evidence recall of EngramOS's recall path on LoCoMo, for choosing the embedder.

Usage: python scripts/locomo_recall.py [--convs 2] [--embedder e5-small|use-multilingual]

Reads ../shared/data/locomo/locomo10.json (never copied).  Each conversation goes into
its own space with its real session dates; each question is asked with the last
session's date as reference time.  Evidence recall@k = the fraction of a question's
evidence turns (dia_ids) cited by the top-k hits; recall@budget = the same over the
context block assembled within that many tokens.  The full benchmark harness with
baselines is ``engram bench`` (a later issue); this is the measurement behind the
default embedder in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

from engramos import Config, EmbedderConfig, Memory
from engramos.ingest.formats import locomo_batches, locomo_sessions
from engramos.recall.context import assemble

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "locomo" / "locomo10.json"
KS = (1, 5, 10, 25, 50)
BUDGETS = (256, 512, 1024, 2048)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--convs", type=int, default=2)
    ap.add_argument("--embedder", default="e5-small")
    ap.add_argument("--data", default=str(DATA))
    args = ap.parse_args()
    samples = json.loads(Path(args.data).read_text())[: args.convs]
    home = Path(tempfile.mkdtemp())
    totals = {f"@{k}": 0.0 for k in KS} | {f"{b}tok": 0.0 for b in BUDGETS}
    n = 0
    ingest_s = search_ms = 0.0
    msgs = 0
    for sample in samples:
        cfg = Config(home=home, space=sample["sample_id"], embedder=EmbedderConfig(provider=args.embedder))
        mem = Memory(config=cfg)
        t = time.perf_counter()
        for b in locomo_batches(sample):
            mem.add(b.messages, conversation_id=b.conversation_id, session_id=b.session_id)
            msgs += len(b.messages)
        mem.flush()
        ingest_s += time.perf_counter() - t
        ids = {m["id"] for b in locomo_batches(sample) for m in b.messages}
        ref = locomo_sessions(sample)[-1][1]
        for qa in sample["qa"]:
            gold = {e for e in re.findall(r"D\d+:\d+", " ".join(map(str, qa.get("evidence", [])))) if e in ids}
            if not gold:
                continue
            t = time.perf_counter()
            res = mem.search(qa["question"], top_k=max(KS), reference_time=ref)
            search_ms += (time.perf_counter() - t) * 1000
            n += 1
            for k in KS:
                cited = {c.external_id for h in res.hits[:k] for c in h.citations}
                totals[f"@{k}"] += len(gold & cited) / len(gold)
            for budget in BUDGETS:
                block = assemble(res.query, res.hits, budget)
                cited = {c.external_id for h in block.hits for c in h.citations}
                totals[f"{budget}tok"] += len(gold & cited) / len(gold)
        mem.close()
    row = {k: round(100 * v / n, 1) for k, v in totals.items()}
    print(json.dumps({"embedder": args.embedder, "conversations": len(samples), "questions": n,
                      "messages": msgs, "ingest_msgs_per_s": round(msgs / ingest_s, 1),
                      "search_ms_mean": round(search_ms / n, 1), "recall": row}, indent=1))


if __name__ == "__main__":
    sys.exit(main())

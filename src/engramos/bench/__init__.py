"""The benchmark harness (``engram bench``): retrieval quality, latency, cost and scale,
EngramOS side by side with baselines and peers in the same run, without any LLM."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..config import Config, EmbedderConfig
from ..providers.embeddings import Embedder, make_embedder
from .datasets import Conversation, load_locomo, load_longmemeval
from .qa import QASettings
from .runner import PUBLISHED_LOCOMO, machine, run_system
from .systems import BM25DenseTurns, BM25Turns, DenseTurns, EngramSystem, Mem0Peer, System

__all__ = ["benchmark", "load_locomo", "load_longmemeval"]


def build_systems(embedder: Embedder, peers: Sequence[str], *, user_turns_only: bool = False,
                  config: Config | None = None) -> list[System]:
    systems: list[System] = [EngramSystem(embedder, config=config), BM25Turns(user_turns_only),
                             DenseTurns(embedder, user_turns_only), BM25DenseTurns(embedder, user_turns_only)]
    if "mem0" in peers:
        systems.append(Mem0Peer(embedder))
    return systems


def benchmark(dataset: str, conversations: Sequence[Conversation], *, peers: Sequence[str] = (),
              embedder: Embedder | None = None, progress: Callable[[str], None] | None = None,
              data_path: str = "", config: Config | None = None, qa: QASettings | None = None) -> dict[str, Any]:
    """Run EngramOS and the baselines (and peers) over the conversations.  ``config``
    configures EngramOS (e.g. an LLM for memory construction); ``qa`` adds LLM answering
    and judging."""
    emb = embedder or make_embedder(EmbedderConfig())
    longmemeval = dataset == "longmemeval"
    results: dict[str, Any] = {
        "dataset": dataset, "data": data_path, "conversations": len(conversations),
        "questions": sum(len(c.questions) for c in conversations), "embedder": emb.model_id,
        "machine": machine(), "systems": {},
        "conventions": {
            "evidence": "gold turn ids; questions without gold evidence are left out of recall averages",
            "units": "engramos: its memories (an episode cites all turns of its cell); baselines: turns",
            "budgets": "items packed in rank order, skipping one that does not fit; cl100k_base tokens",
            "latency": "search call only (query embedding included), not context packing",
            "longmemeval_keys": "baselines index user turns only; abstention questions excluded",
        },
    }
    if dataset == "locomo":
        results["published"] = PUBLISHED_LOCOMO
    if qa is not None:
        results["qa"] = {"llm": qa.llm.model_id, "budget_tokens": qa.budget, "judge_runs": qa.judge_runs,
                         "systems": list(qa.systems)}
    for system in build_systems(emb, peers, user_turns_only=longmemeval, config=config):
        results["systems"][system.name] = run_system(system, conversations, longmemeval=longmemeval,
                                                     progress=progress, qa=qa)
    return results

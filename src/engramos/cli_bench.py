"""``engram bench ...``: the benchmark commands (part of the ``engram`` CLI)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .cli_common import State, _errors, pass_state
from .errors import InvalidInputError


# ------------------------------------------------------------------- bench
@click.group()
def bench() -> None:
    """Benchmarks: retrieval quality, latency, cost and scale, side by side with baselines."""


def _bench_output(state: State, results: dict[str, Any], stem: str, json_out: str | None, folder: str) -> None:
    from .bench.report import render, write

    paths = write(results, Path(folder), stem, Path(json_out) if json_out else None)
    if state.as_json:
        click.echo(json.dumps(results, indent=2, default=str))
        return
    click.echo(render(results))
    click.echo(click.style("written: " + ", ".join(str(p) for p in paths.values()), dim=True))


def _progress(state: State) -> Callable[[str], None]:
    return (lambda msg: None) if state.as_json else (lambda msg: click.echo(msg, err=True))


def _qa_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    for opt in reversed([
        click.option("--qa", is_flag=True, help="Also answer with the configured LLM and judge (ENGRAM_LLM_*)."),
        click.option("--qa-budget", default=1024, show_default=True, help="Context tokens given to the answerer."),
        click.option("--judge-runs", default=3, show_default=True, help="Judge runs averaged per question."),
        click.option("--qa-systems", default="engramos", show_default=True, help="Comma-separated systems to answer."),
    ]):
        fn = opt(fn)
    return fn


def _qa_settings(state: State, qa: bool, budget: int, runs: int, systems: str) -> Any:
    if not qa:
        return None
    from .bench.qa import QASettings
    from .providers.llm import make_chat_model

    llm = make_chat_model(state.config.llm)
    if llm is None:
        raise InvalidInputError("--qa", "needs an LLM: set ENGRAM_LLM_BASE_URL and ENGRAM_LLM_MODEL")
    if runs < 1:
        raise InvalidInputError("--judge-runs", "must be at least 1")
    return QASettings(llm=llm, budget=budget, judge_runs=runs, systems=tuple(x for x in systems.split(",") if x))


# LoCoMo is evaluation data (CC BY-NC): read where it lies, never copied into the project
DEFAULT_LOCOMO = "../shared/data/locomo/locomo10.json"


@bench.command(name="locomo")
@click.option("--data", "data", envvar="ENGRAM_LOCOMO", default=DEFAULT_LOCOMO, show_default=True,
              help="LoCoMo-shaped file (or ENGRAM_LOCOMO).")
@click.option("--quick", is_flag=True, help="The first two conversations only.")
@click.option("--limit", type=int, default=None, help="The first N conversations.")
@click.option("--peers", default="", help="Comma-separated peers to run too: mem0.")
@click.option("--variant", type=click.Choice(["original", "informal", "dialogue"]), default="original",
              show_default=True, help="informal: each turn split into short chat messages, some lower-cased "
              "without punctuation; dialogue: each question asked after the last lines of the final session.")
@click.option("--json", "json_out", default=None, help="Also write the JSON results to this file.")
@click.option("--results", "folder", default="results", show_default=True, help="Folder for JSON, markdown, PNG.")
@_qa_options
@pass_state
def bench_locomo(state: State, data: str, quick: bool, limit: int | None, peers: str, variant: str,
                 json_out: str | None, folder: str, qa: bool, qa_budget: int, judge_runs: int,
                 qa_systems: str) -> None:
    """Evidence recall, answer-in-context, latency and ingest on LoCoMo (no LLM needed;
    with ENGRAM_LLM_* set, EngramOS builds memories with the LLM and reports its cost)."""
    from .bench import benchmark, load_locomo

    with _errors(state):
        path = Path(data)
        if not path.is_file():
            raise InvalidInputError("--data", f"{path} not found; pass the LoCoMo file with --data")
        settings = _qa_settings(state, qa, qa_budget, judge_runs, qa_systems)
        convs = load_locomo(path, limit=2 if quick else limit)
        if variant != "original":
            from .bench import variants

            convs = variants.informal(convs) if variant == "informal" else variants.dialogue(convs)
        results = benchmark("locomo", convs, peers=[p for p in peers.split(",") if p],
                            progress=_progress(state), data_path=str(path), config=state.config, qa=settings)
        results["variant"] = variant
        name = ("locomo-quick" if quick else "locomo") + ("" if variant == "original" else f"-{variant}")
        _bench_output(state, results, name, json_out, folder)


@bench.command(name="longmemeval")
@click.option("--data", "data", required=True, help="longmemeval_s / _m / _oracle JSON file.")
@click.option("--limit", type=int, default=None, help="The first N questions.")
@click.option("--json", "json_out", default=None)
@click.option("--results", "folder", default="results", show_default=True)
@_qa_options
@pass_state
def bench_longmemeval(state: State, data: str, limit: int | None, json_out: str | None, folder: str,
                      qa: bool, qa_budget: int, judge_runs: int, qa_systems: str) -> None:
    """Session- and turn-level recall_any / recall_all / NDCG on LongMemEval (no LLM)."""
    from .bench import benchmark, load_longmemeval

    with _errors(state):
        if not Path(data).is_file():
            raise InvalidInputError("--data", f"{data} not found")
        settings = _qa_settings(state, qa, qa_budget, judge_runs, qa_systems)
        convs = load_longmemeval(data, limit=limit)
        results = benchmark("longmemeval", convs, progress=_progress(state), data_path=data,
                            config=state.config, qa=settings)
        _bench_output(state, results, "longmemeval", json_out, folder)


@bench.command(name="memory")
@click.option("--split", type=click.Choice(["dev", "test", "all"]), default="all", show_default=True,
              help="The scenarios to run: dev (tuned on), test (kept out of tuning), or all.")
@click.option("--data", default=None,
              help="Scenarios in the same JSON format from elsewhere (default: the bundled ones).")
@click.option("--json", "json_out", default=None, help="Also write the full results (every probe) here.")
@pass_state
def bench_memory(state: State, split: str, data: str | None, json_out: str | None) -> None:
    """Knowledge updates, plans, point-in-time and profile questions (the project's own
    English and Chinese scenarios): EngramOS, BM25 over turns and BM25 with a recency bonus."""
    from .bench.memory import DATA, benchmark_memory
    from .providers.embeddings import make_embedder

    with _errors(state):
        if data is not None and not Path(data).is_file():
            raise InvalidInputError("--data", f"{data} not found")
        results = benchmark_memory(make_embedder(state.config.embedder), split=split, config=state.config,
                                   progress=_progress(state), path=Path(data) if data else DATA)
        if json_out:
            Path(json_out).write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
        if state.as_json:
            click.echo(json.dumps(results, indent=2, default=str))
            return
        click.echo(f"{results['scenarios']} scenarios, {results['probes']} probes, {results['when']}")
        click.echo(results["table"])


def _sizes(text: str) -> list[int]:
    out = []
    for part in text.split(","):
        part = part.strip().lower()
        mult = {"k": 1_000, "m": 1_000_000}.get(part[-1:], 1)
        try:
            out.append(int(float(part.rstrip("km")) * mult))
        except ValueError:
            raise InvalidInputError("--sizes", f"{part!r} is not a size like 10k or 1m") from None
    return out


@bench.command(name="scale")
@click.option("--sizes", default="10k,100k", show_default=True, help="Store sizes, e.g. 10k,100k,1m.")
@click.option("--users", default=1000, show_default=True, help="Users for the spread-out layout.")
@click.option("--queries", default=200, show_default=True)
@click.option("--db", "db", default=None, help="Measure on this database (postgresql://..., an empty one).")
@click.option("--writers", default=1, show_default=True, help="Concurrent writer threads while ingesting.")
@click.option("--bulk", is_flag=True, help="Fill each size through the store's bulk load (PostgreSQL: HNSW index "
              "built after the load); the last 4,000 memories are still written live.")
@click.option("--json", "json_out", default=None)
@click.option("--results", "folder", default="results", show_default=True)
@pass_state
def bench_scale(state: State, sizes: str, users: int, queries: int, db: str | None, writers: int, bulk: bool,
                json_out: str | None, folder: str) -> None:
    """Ingest rate, store size and search latency from 10k to 1M synthetic memories."""
    import tempfile

    from .bench.scale import benchmark_scale
    from .providers.embeddings import make_embedder

    with _errors(state):
        if not 1 <= writers <= 64:
            raise InvalidInputError("--writers", "must be between 1 and 64")
        with tempfile.TemporaryDirectory(prefix="engram-scale-") as home:
            results = benchmark_scale(Path(home), make_embedder(state.config.embedder), _sizes(sizes),
                                      users=users, queries=queries, db=db or state.config.db,
                                      writers=writers, bulk=bulk, progress=_progress(state))
        _bench_output(state, results, "scale", json_out, folder)


@bench.command(name="latency")
@click.option("--data", "data", envvar="ENGRAM_LOCOMO", default=DEFAULT_LOCOMO, show_default=True,
              help="LoCoMo-shaped file (or ENGRAM_LOCOMO).")
@click.option("--postgres", default=None, metavar="URL",
              help="Also measure on this PostgreSQL database (postgresql://..., an empty one).")
@click.option("--conversations", "n_locomo", default=2, show_default=True, help="LoCoMo conversations asked.")
@click.option("--dialogues", "n_dialogues", default=150, show_default=True,
              help="Dialogue queries of each kind on the long conversation.")
@click.option("--json", "json_out", default=None, help="Also write the JSON results to this file.")
@click.option("--results", "folder", default="results", show_default=True, help="Folder for JSON and markdown.")
@pass_state
def bench_latency(state: State, data: str, postgres: str | None, n_locomo: int, n_dialogues: int,
                  json_out: str | None, folder: str) -> None:
    """Search latency with the query embedding, on LoCoMo and on one conversation of
    1,500+ short messages (questions and dialogue queries), SQLite beside PostgreSQL."""
    import tempfile

    from .bench import load_locomo
    from .bench.latency import benchmark_latency
    from .providers.embeddings import make_embedder

    with _errors(state):
        path = Path(data)
        if not path.is_file():
            raise InvalidInputError("--data", f"{path} not found; pass the LoCoMo file with --data")
        if not 1 <= n_locomo <= 10:
            raise InvalidInputError("--conversations", "must be between 1 and 10")
        if not 10 <= n_dialogues <= 2000:
            raise InvalidInputError("--dialogues", "must be between 10 and 2000")
        with tempfile.TemporaryDirectory(prefix="engram-latency-") as home:
            results = benchmark_latency(Path(home), make_embedder(state.config.embedder), load_locomo(path),
                                        postgres=postgres, n_locomo=n_locomo, n_dialogues=n_dialogues,
                                        progress=_progress(state))
        _bench_output(state, results, "latency", json_out, folder)


@bench.command(name="working-memory")
@click.option("--data", "data", envvar="ENGRAM_LOCOMO", default=DEFAULT_LOCOMO, show_default=True,
              help="LoCoMo-shaped file (or ENGRAM_LOCOMO).")
@click.option("--limit", type=int, default=2, show_default=True, help="The first N conversations.")
@click.option("--json", "json_out", default=None, help="Also write the JSON results to this file.")
@click.option("--results", "folder", default="results", show_default=True, help="Folder for JSON and markdown.")
@pass_state
def bench_working(state: State, data: str, limit: int, json_out: str | None, folder: str) -> None:
    """Prefix reuse and evidence recall of working-memory contexts beside plain ones, at
    1024 and 2048 tokens, on LoCoMo questions asked in order; and the scheduler's pace."""
    from .bench import load_locomo
    from .bench.working import run
    from .providers.embeddings import make_embedder

    with _errors(state):
        path = Path(data)
        if not path.is_file():
            raise InvalidInputError("--data", f"{path} not found; pass the LoCoMo file with --data")
        convs = load_locomo(path, limit=limit)
        results = run(convs, make_embedder(state.config.embedder), progress=_progress(state))
        _bench_output(state, results, "working-memory", json_out, folder)


@bench.command(name="cube")
@click.option("--sizes", default="10k,100k", show_default=True, help="Space sizes in memories, e.g. 10k,100k.")
@click.option("--json", "json_out", default=None, help="Also write the JSON results to this file.")
@click.option("--results", "folder", default="results", show_default=True, help="Folder for JSON and markdown.")
@pass_state
def bench_cube(state: State, sizes: str, json_out: str | None, folder: str) -> None:
    """Export, verify and import a space as a MemCube beside `engram migrate`: seconds
    and peak memory of each step, in a process of its own, as the space grows."""
    from .bench.cube import run

    with _errors(state):
        _bench_output(state, run(_sizes(sizes), progress=_progress(state)), "cube", json_out, folder)


@bench.command(name="load")
@click.option("--clients", default=32, show_default=True)
@click.option("--seconds", default=30.0, show_default=True)
@click.option("--url", default=None, help="Load this server (loopback or your own) instead of a local one.")
@click.option("--key", default=None, help="API key for --url.")
@click.option("--json", "json_out", default=None)
@pass_state
def bench_load(state: State, clients: int, seconds: float, url: str | None, key: str | None,
               json_out: str | None) -> None:
    """Concurrent clients adding and searching for a bounded time: throughput, p50/p95/p99."""
    from .bench.load import benchmark_load, run_load

    with _errors(state):
        if not 1 <= clients <= 512 or not 0 < seconds <= 600:
            raise InvalidInputError("--clients/--seconds", "1-512 clients for at most 600 seconds")
        if url and not key:
            raise InvalidInputError("--key", "is required with --url")
        result = run_load(url, key or "", clients=clients, seconds=seconds) if url else \
            benchmark_load(state.config, clients=clients, seconds=seconds)
        if json_out:
            Path(json_out).write_text(json.dumps(result, indent=2))
        state.emit(result, lambda: click.echo(
            f"{result['clients']} clients, {result['seconds']} s: {result['requests']} requests "
            f"({result['requests_per_s']}/s), errors {result['errors']}; add ms {result['add_ms']}, "
            f"search ms {result['search_ms']}"))



"""Reports: JSON results, a markdown summary, and PNG plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .runner import BUDGETS, KS


def _fmt(v: Any) -> str:
    return "–" if v is None else f"{v}"


def markdown(results: dict[str, Any]) -> str:
    systems = results["systems"]
    variant = f" ({results['variant']} variant)" if results.get("variant", "original") != "original" else ""
    lines = [f"### {results['dataset']}{variant}: {results['conversations']} conversations, "
             f"{results['questions']} questions ({results['machine']['date']})", ""]
    head = ["system", *[f"@{k}" for k in KS], *[f"{b} tok" for b in BUDGETS],
            *[f"ans {b}" for b in BUDGETS], "search p50/p95/p99 ms", "ingest msg/s"]
    lines += ["Evidence recall (%) over all categories; `ans` = answer-in-context (%) for short answers.", "",
              "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, r in systems.items():
        o = r["overall"]
        lat = r["latency_ms"]
        row = [name, *[_fmt(o.get(f"recall@{k}")) for k in KS], *[_fmt(o.get(f"recall@{b}tok")) for b in BUDGETS],
               *[_fmt(o.get(f"answer@{b}tok")) for b in BUDGETS],
               f"{lat['p50']}/{lat['p95']}/{lat['p99']}", _fmt(r["ingest"]["messages_per_s"])]
        lines.append("| " + " | ".join(row) + " |")
    for name, ref in results.get("published", {}).items():
        row = [name, "–", *[_fmt(ref.get(f"recall@{k}")) for k in KS[1:]], *["–"] * (2 * len(BUDGETS) + 2)]
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "Without adversarial questions:", "",
              "| system | @10 | " + " | ".join(f"{b} tok" for b in BUDGETS) + " |",
              "|---|---|" + "---|" * len(BUDGETS)]
    for name, r in systems.items():
        o = r["overall_without_adversarial"]
        lines.append(f"| {name} | {_fmt(o.get('recall@10'))} | "
                     + " | ".join(_fmt(o.get(f"recall@{b}tok")) for b in BUDGETS) + " |")
    cats = sorted({c for r in systems.values() for c in r["by_category"]})
    lines += ["", "Per category, evidence recall within 512 / 2048 tokens:", "",
              "| system | " + " | ".join(f"{c} (n={_cat_n(systems, c)})" for c in cats) + " |",
              "|---|" + "---|" * len(cats)]
    for name, r in systems.items():
        cells = [f"{_fmt(r['by_category'].get(c, {}).get('recall@512tok'))} / "
                 f"{_fmt(r['by_category'].get(c, {}).get('recall@2048tok'))}" for c in cats]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "A gold session among the sessions of the top 5 hits (%): "
              + "; ".join(f"{name} {_fmt(r['overall'].get('session@5'))}" for name, r in systems.items())]
    lines += _halves(systems)
    lmk = [k for k in next(iter(systems.values()))["overall"] if k.startswith(("session_", "turn_"))]
    if lmk:
        lines += ["", "LongMemEval retrieval (%):", "", "| system | " + " | ".join(lmk) + " |",
                  "|---|" + "---|" * len(lmk)]
        for name, r in systems.items():
            lines.append(f"| {name} | " + " | ".join(_fmt(r["overall"].get(k)) for k in lmk) + " |")
    qa = [(n, r) for n, r in systems.items() if r["overall"].get("qa_judge") is not None]
    if qa:
        info = results.get("qa", {})
        lines += ["", f"QA with {info.get('llm')} (context {info.get('budget_tokens')} tokens, judge runs "
                      f"{info.get('judge_runs')}):", "",
                  "| system | judge accuracy % | token F1 % | answer calls / q | answer prompt tokens / q "
                  "| judge calls / q |",
                  "|---|---|---|---|---|---|"]
        for name, r in qa:
            o = r["overall"]
            lines.append(f"| {name} | {_fmt(o.get('qa_judge'))} | {_fmt(o.get('qa_f1'))} | "
                         f"{_fmt(o.get('qa_answer_calls'))} | {_fmt(o.get('qa_answer_prompt_tokens'))} | "
                         f"{_fmt(o.get('qa_judge_calls'))} |")
    cost = [(n, r["ingest"]) for n, r in systems.items() if r["ingest"].get("llm")]
    for name, ing in cost:
        lines += ["", f"Ingestion with {ing['llm']} ({name}): {ing['llm_calls']} LLM calls, "
                      f"{ing['llm_calls_per_message']} calls and {ing['prompt_tokens_per_message']} prompt tokens "
                      f"per ingested message."]
    lines += ["", "Mean context tokens at each budget: " + "; ".join(
        f"{name} " + "/".join(_fmt(r["overall"].get(f"tokens@{b}tok")) for b in BUDGETS)
        for name, r in systems.items())]
    return "\n".join(lines) + "\n"


def _halves(systems: dict[str, Any]) -> list[str]:
    """LoCoMo's tune half (the first five conversations) and test half (the last five)."""
    if not all("halves" in r for r in systems.values()):
        return []
    cats = sorted({c for r in systems.values() for c in r["halves"]["test"]["by_category"]})
    lines = ["", "By half: evidence recall within " + " / ".join(f"{b}" for b in BUDGETS)
             + " tokens, session@5, and per category within 512 tokens:", "",
             "| system | half | n | " + " / ".join(f"{b} tok" for b in BUDGETS) + " | session@5 | "
             + " | ".join(cats) + " |",
             "|---|---|---|---|---|" + "---|" * len(cats)]
    for name, r in systems.items():
        for half in ("tune", "test"):
            h = r["halves"][half]
            o = h["overall"]
            lines.append(f"| {name} | {half} | {o['n']} | " + " / ".join(_fmt(o.get(f"recall@{b}tok")) for b in BUDGETS)
                         + f" | {_fmt(o.get('session@5'))} | "
                         + " | ".join(_fmt(h["by_category"].get(c, {}).get("recall@512tok")) for c in cats) + " |")
    return lines


def _cat_n(systems: dict[str, Any], cat: str) -> int:
    return int(next(iter(systems.values()))["by_category"].get(cat, {}).get("n", 0))


def plot_budgets(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, r in results["systems"].items():
        ax.plot(BUDGETS, [r["overall"].get(f"recall@{b}tok") or 0 for b in BUDGETS], marker="o", label=name)
    ax.set_xscale("log", base=2)
    ax.set_xticks(BUDGETS, [str(b) for b in BUDGETS])
    ax.set_xlabel("context budget (cl100k tokens)")
    ax.set_ylabel("evidence recall (%)")
    ax.set_title(f"{results['dataset']}: recall vs context budget")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_scale(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for layout, rows in results["layouts"].items():
        sizes = [r["size"] for r in rows]
        ax.plot(sizes, [r["search_ms"]["p50"] for r in rows], marker="o", label=f"{layout} p50")
        ax.plot(sizes, [r["search_ms"]["p95"] for r in rows], marker="x", linestyle="--", label=f"{layout} p95")
    ax.set_xscale("log")
    ax.set_xlabel("memories in the store")
    ax.set_ylabel("search latency (ms)")
    ax.set_title("search latency vs store size")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(results: dict[str, Any], folder: Path, stem: str, json_out: Path | None = None) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"json": json_out or folder / f"{stem}.json", "markdown": folder / f"{stem}.md",
             "plot": folder / f"{stem}.png"}
    paths["json"].parent.mkdir(parents=True, exist_ok=True)
    paths["json"].write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str))
    paths["markdown"].write_text(render(results))
    if "systems" in results:
        plot_budgets(results, paths["plot"])
    elif "layouts" in results:
        plot_scale(results, paths["plot"])
    else:
        del paths["plot"]
    return paths


def render(results: dict[str, Any]) -> str:
    """The markdown of any bench's results."""
    if "systems" in results:
        return markdown(results)
    if "layouts" in results:
        return scale_markdown(results)
    if results.get("bench") == "working-memory":
        from .working import markdown as working_markdown

        return working_markdown(results)
    if results.get("bench") == "cube":
        from .cube import markdown as cube_markdown

        return cube_markdown(results)
    return latency_markdown(results)


def latency_markdown(results: dict[str, Any]) -> str:
    """One row per workload, one column group per backend."""
    names = list(results["backends"])
    lines = [f"### search latency, query embedding included ({results['machine']['date']}, "
             f"{results['machine'].get('cpus', '?')} CPUs)", "",
             "| workload | n | " + " | ".join(f"{b} p50 / p95 / p99 ms" for b in names) + " |",
             "|---|---|" + "---|" * len(names)]
    first = results["backends"][names[0]]["rows"]
    for row in first:
        cells = []
        for b in names:
            r = results["backends"][b]["rows"].get(row, {})
            cells.append(f"{r.get('p50')} / {r.get('p95')} / {r.get('p99')}")
        lines.append(f"| {row} | {first[row]['n']} | " + " | ".join(cells) + " |")
    lines += ["", f"Dialogue queries: {results['dialogue_chars_mean']} characters on average; "
              f"the long conversation has {results['long_messages']} messages."]
    return "\n".join(lines) + "\n"


def scale_markdown(results: dict[str, Any]) -> str:
    lines = [f"### scale on {results.get('backend', 'sqlite')} ({results['machine']['date']})", "",
             "| layout | memories | load | ingest memories/s | live ingest memories/s | store MB | index MB "
             "| search p50 ms | search p95 ms | target in top 10 |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for layout, rows in results["layouts"].items():
        for r in rows:
            load = f"{'bulk' if r.get('bulk') else 'live'}, {r.get('writers', 1)} writer(s)"
            lines.append(f"| {layout} | {r['size']:,} | {load} | {r['ingest_per_s']:,} "
                         f"| {r.get('live_ingest_per_s', '')} | {r['store_mb']} | {r.get('index_mb')} "
                         f"| {r['search_ms']['p50']} | {r['search_ms']['p95']} | {r['target_in_top10']} |")
    return "\n".join(lines) + "\n"

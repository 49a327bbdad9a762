"""``engram bench cube``: moving memory as a MemCube, beside ``engram migrate``.

For each size, a fresh SQLite store is filled with synthetic memories (the corpus of
``bench scale``: Zipf-like texts, random unit vectors, 100 users), then each step runs
in a child process of its own: export the space to a cube, verify it, import it into an
empty store, and, as the baseline that moves the same rows, ``engram migrate`` (a
whole-store copy into an empty store).  A thread samples the child's resident memory
every 5 ms while the step runs; the figure is its peak above the memory the child held
when the step began (the stores open, the embedder loaded).  If a step held the cube in
memory, that figure would grow with the size; the streaming design says it should not."""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import Config
from ..memory import Memory
from ..providers.embeddings import make_embedder
from .scale import SyntheticCorpus

STEPS = ("export", "verify", "import", "migrate")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 1e6


class _Sampler(threading.Thread):
    """The highest resident memory seen while it runs."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = _rss_mb()
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.005):
            self.peak = max(self.peak, _rss_mb())


def _step(step: str, work: str, out: Any) -> None:
    """One step in a fresh process; puts ``(seconds, peak MB above the start)`` on ``out``."""
    from ..cube import verify_cube

    src, cube = Path(work) / "src.db", Path(work) / "space.cube"
    with Memory(src) as mem, Memory(Path(work) / "imported.db") as dst:
        mem.search("warm up", top_k=1)  # what opening costs (vector cache, embedder) is before the step
        start = _rss_mb()
        sampler = _Sampler()
        sampler.start()
        started = time.perf_counter()
        if step == "verify":
            verify_cube(cube)
        elif step == "export":
            mem.export_cube(cube)
        elif step == "import":
            dst.import_cube(cube)
        elif step == "migrate":
            mem.admin.copy_to(str(Path(work) / "migrated.db"))
        seconds = time.perf_counter() - started
        sampler.done.set()
        sampler.join()
    out.put((seconds, max(sampler.peak, _rss_mb()) - start, start))


def _in_child(step: str, work: Path) -> tuple[float, float, float]:
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=_step, args=(step, str(work), out))
    proc.start()
    result = out.get()
    proc.join()
    return result


def _fill(work: Path, n: int) -> None:
    embedder = make_embedder(Config().embedder)
    with Memory(work / "src.db", Config(home=work), embedder=embedder) as mem:
        corpus = SyntheticCorpus(embedder.dim)
        with mem.admin.bulk_load(n):
            for start in range(0, n, 2000):
                recs, vecs = corpus.batch(start, min(2000, n - start), 100, mem.space)
                mem.admin.load_memories(recs, vecs)


def run(sizes: list[int], *, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    rows = []
    for n in sizes:
        work = Path(tempfile.mkdtemp(prefix="engram-bench-cube-"))
        try:
            if progress:
                progress(f"filling {n:,} memories")
            _fill(work, n)
            row: dict[str, Any] = {"memories": n}
            for step in STEPS:
                if progress:
                    progress(f"{n:,}: {step}")
                seconds, peak, start = _in_child(step, work)
                row[f"{step}_s"], row[f"{step}_peak_mb"] = round(seconds, 2), round(peak, 1)
                row[f"{step}_start_mb"] = round(start, 1)
            row["cube_mb"] = round((work / "space.cube").stat().st_size / 1e6, 2)
            row["store_mb"] = round((work / "src.db").stat().st_size / 1e6, 2)
            rows.append(row)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return {"bench": "cube", "rows": rows}


def markdown(result: dict[str, Any]) -> str:
    lines = ["| memories | store MB | cube MB | step | seconds | memories/s | resident MB at start | "
             "peak MB above start |", "|---:|---:|---:|---|---:|---:|---:|---:|"]
    for r in result["rows"]:
        for step in STEPS:
            rate = r["memories"] / r[f"{step}_s"] if r[f"{step}_s"] else 0
            lines.append(f"| {r['memories']:,} | {r['store_mb']} | {r['cube_mb']} | {step} | {r[f'{step}_s']} | "
                         f"{rate:,.0f} | {r[f'{step}_start_mb']} | {r[f'{step}_peak_mb']:+.1f} |")
    return "\n".join(lines)

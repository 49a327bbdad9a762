"""``engram bench cube``: moving memory as a MemCube, beside ``engram migrate``.

For each size, a fresh SQLite store is filled with synthetic memories (the corpus of
``bench scale``: Zipf-like texts, random unit vectors, 100 users), then each step runs
in a child process of its own, so that its peak resident memory is its own: export the
space to a cube, verify it, import it into an empty store, and, as the baseline that
moves the same rows, ``engram migrate`` (a whole-store copy into an empty store).  A
child that only opens the store gives the resident memory every step starts from.  If
a step's memory grew with the cube, the peak would grow with the size; the streaming
design says it should not."""

from __future__ import annotations

import multiprocessing as mp
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import Config
from ..memory import Memory
from ..providers.embeddings import make_embedder
from .scale import SyntheticCorpus

STEPS = ("open", "export", "verify", "import", "migrate")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def _step(step: str, work: str, out: Any) -> None:
    """One step in a fresh process; puts ``(seconds, peak MB)`` on ``out``."""
    from ..cube import verify_cube

    started = time.perf_counter()
    src, cube = Path(work) / "src.db", Path(work) / "space.cube"
    if step == "verify":
        verify_cube(cube)
    else:
        with Memory(src) as mem:
            if step == "export":
                mem.export_cube(cube)
            elif step == "import":
                with Memory(Path(work) / "imported.db") as dst:
                    dst.import_cube(cube)
            elif step == "migrate":
                mem.admin.copy_to(str(Path(work) / "migrated.db"))
    out.put((time.perf_counter() - started, _peak_mb()))


def _in_child(step: str, work: Path) -> tuple[float, float]:
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
                seconds, peak = _in_child(step, work)
                row[f"{step}_s"], row[f"{step}_peak_mb"] = round(seconds, 2), round(peak, 1)
            row["cube_mb"] = round((work / "space.cube").stat().st_size / 1e6, 2)
            row["store_mb"] = round((work / "src.db").stat().st_size / 1e6, 2)
            rows.append(row)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return {"bench": "cube", "rows": rows}


def markdown(result: dict[str, Any]) -> str:
    lines = ["| memories | store MB | cube MB | step | seconds | memories/s | peak MB | over opening |",
             "|---:|---:|---:|---|---:|---:|---:|---:|"]
    for r in result["rows"]:
        for step in STEPS[1:]:
            rate = r["memories"] / r[f"{step}_s"] if r[f"{step}_s"] else 0
            lines.append(f"| {r['memories']:,} | {r['store_mb']} | {r['cube_mb']} | {step} | {r[f'{step}_s']} | "
                         f"{rate:,.0f} | {r[f'{step}_peak_mb']} | {r[f'{step}_peak_mb'] - r['open_peak_mb']:+.1f} |")
    return "\n".join(lines)

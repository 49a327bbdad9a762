"""Worker processes: a worker killed with SIGKILL mid-job loses its lease; another
worker takes the job over after the lease expires; every memory exists exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter

from engramos import Config, Memory
from engramos.config import LLMConfig
from tests.scripted_llm import ScriptedLLM

CHAT = [{"speaker": "Ana" if i % 2 == 0 else "Bo", "text": f"Message {i}: I work as a baker and I like bread {i}.",
         "timestamp": f"2024-03-04T10:{i:02d}:00Z"} for i in range(6)]


def _worker(home: str, server: ScriptedLLM, lease: float) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ENGRAM_HOME": home, "ENGRAM_LLM_BASE_URL": server.base_url, "ENGRAM_LLM_MODEL": "scripted"}
    return subprocess.Popen([sys.executable, "-m", "engramos.cli", "worker", "--lease", str(lease), "--poll", "0.1"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait(predicate, timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_killed_worker_job_is_taken_over_and_written_once(tmp_path, embedder):
    home = str(tmp_path / "home")
    with ScriptedLLM(delay_s=1.5) as server:
        cfg = Config(home=tmp_path / "home", process_inline=False,
                     llm=LLMConfig(base_url=server.base_url, model="scripted", timeout_s=10))
        mem = Memory(config=cfg, embedder=embedder)
        mem.add(CHAT, user_id="u", conversation_id="c", flush=True)
        first = _worker(home, server, lease=3.0)
        _wait(lambda: server.chat_requests("extraction"))  # the first worker is inside an extraction call
        running = mem._store.list_jobs(mem.space, ["running"])
        assert running and running[0].kind == "extract"
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        second = _worker(home, server, lease=3.0)
        try:
            _wait(lambda: all(c.status == "extracted" for c in mem._store.list_cells(mem.space, "c"))
                  and mem.job_counts()["pending"] == 0 and mem.job_counts()["running"] == 0)
        finally:
            second.send_signal(signal.SIGTERM)  # graceful: finishes the job in hand, then exits
            assert second.wait(30) == 0, second.stderr.read() if second.stderr else ""
        cells = mem._store.list_cells(mem.space, "c")
        episodes = mem.list(kinds=["episode"], limit=100).items
        assert sorted(e.cell_id for e in episodes) == sorted(c.id for c in cells)  # one episode per cell
        facts = mem.list(kinds=["fact"], limit=1000).items
        assert max(Counter((f.text, tuple(f.message_ids)) for f in facts).values()) == 1  # nothing twice
        [job] = [j for j in mem._store.list_jobs(mem.space, ["done"]) if j.id == running[0].id]
        assert job.attempts == 2  # claimed by the killed worker, then by the second one
        assert len(server.chat_requests("extraction")) == len(cells) + 1  # the interrupted call was repeated
        mem.close()


def test_a_slow_job_keeps_its_lease(tmp_path):
    """A handler that runs for four leases is never claimed by a second worker: the
    running worker's heartbeat extends the lease (only a dead worker loses its job)."""
    import threading

    from engramos.jobs.queue import JobQueue
    from engramos.store.sqlite.store import SQLiteStore

    store = SQLiteStore(tmp_path / "jobs.db")
    slow, other = JobQueue(store, lease_seconds=0.5), JobQueue(store, lease_seconds=0.5)
    runs: list[str] = []
    slow.register("slow", lambda job: runs.append(job.id) or time.sleep(2.0))  # type: ignore[func-returns-value]
    slow.enqueue("s", "slow", {})
    worker = threading.Thread(target=slow.run_pending, args=("s",))
    worker.start()
    while not runs and worker.is_alive():  # the slow worker holds the job from here on
        time.sleep(0.01)
    stolen = []
    while worker.is_alive():
        stolen += store.claim_jobs("s", other.worker_id, lease_seconds=0.5)
        time.sleep(0.05)
    worker.join()
    assert stolen == [] and len(runs) == 1
    assert store.job_counts("s")["done"] == 1
    store.close()


def test_a_message_added_while_its_conversation_is_segmented_is_not_lost(tmp_path, embedder):
    """Issue 12 part 5(b): a message stored after the running segmentation job read its
    input is deduped against that job; the job must run again, so the message gets its
    vector and its cell (before the fix: every job said done, the message had neither)."""
    from engramos import Config, Memory
    from engramos.records import turn_id

    with Memory(config=Config(home=tmp_path / "lw", process_inline=False), embedder=embedder) as mem:
        t = "2024-05-01T10:0{}:00Z"
        segmenter = mem._pipeline.stages.segmenter
        original = segmenter.segment
        late: list[object] = []

        def segment_while_a_message_arrives(ctx):  # the job has read its pending messages
            if not late:
                late.append(mem.add([{"speaker": "Ana", "text": "The kiln reached 1200 degrees.",
                                      "timestamp": t.format(1)}], conversation_id="c", flush=True))
            return original(ctx)

        segmenter.segment = segment_while_a_message_arrives
        mem.add([{"speaker": "Ana", "text": "I started pottery.", "timestamp": t.format(0)}], conversation_id="c",
                flush=True)
        mem.run_jobs()
        assert late and late[0].job_ids == []  # deduped against the running job
        msgs = mem.messages("c")
        assert len(msgs) == 2 and all(m.cell_id for m in msgs)
        assert set(mem.admin.vectors([turn_id(m.id) for m in msgs])) == {turn_id(m.id) for m in msgs}
        assert mem.job_counts()["pending"] == 0 and mem.job_counts()["running"] == 0

"""Liveness after crashes (issue 12, part 5c): a re-run after ``kill -9`` finishes the
work at once (a job whose worker process is gone is reclaimed without waiting for its
lease), and ``engram doctor`` reports and ``--repair`` finishes what is left."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from engramos import Config, Memory
from engramos.cli import cli


def _conversation(path: Path, days: int = 12, per_day: int = 25) -> None:
    t0 = datetime(2024, 1, 1, 9, tzinfo=UTC)
    msgs = [{"speaker": "Ana" if i % 2 else "Bo", "text": f"Day {d} note {i}: we talked about the garden, "
             f"the kiln and the trip number {d * 100 + i}.",
             "timestamp": (t0 + timedelta(days=d, minutes=i)).isoformat()}
            for d in range(days) for i in range(per_day)]
    path.write_text(json.dumps({"conversation_id": "c", "user_id": "u", "messages": msgs}))


def _running_jobs(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute("SELECT count(*) FROM jobs WHERE status='running'").fetchone()[0])
    except sqlite3.Error:
        return 0  # not created yet, or busy: look again


def test_a_rerun_after_kill_9_of_ingest_finishes_the_work_at_once(tmp_path):
    data = tmp_path / "conv.json"
    _conversation(data)
    env = {**os.environ, "ENGRAM_HOME": str(tmp_path / "home")}
    cmd = [sys.executable, "-m", "engramos.cli", "ingest", str(data)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = tmp_path / "home" / "engram.db"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and _running_jobs(db) == 0:
        time.sleep(0.05)
    assert proc.poll() is None, "ingest finished before a job was caught running: make the data larger"
    os.kill(proc.pid, signal.SIGKILL)  # while it holds a job's lease
    proc.wait()
    assert _running_jobs(db) >= 1

    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads(subprocess.run([sys.executable, "-m", "engramos.cli", "--json", "doctor"], env=env,
                                       capture_output=True, text=True, timeout=120, check=True).stdout)
    # done by the re-run itself, well inside the 30 s lease the dead worker held
    assert report["unfinished"] == {"memories_without_vectors": 0, "messages_without_cells": 0, "running_jobs": 0}


def test_doctor_reports_and_repairs_unfinished_work(tmp_path, embedder, monkeypatch):
    cfg = Config(home=tmp_path / "home", process_inline=False)
    with Memory(config=cfg, embedder=embedder) as mem:
        mem.add([{"speaker": "Ana", "text": "I moved to Porto.", "timestamp": "2024-03-01T10:00:00Z"},
                 {"speaker": "Ana", "text": "The flat has a balcony.", "timestamp": "2024-03-01T10:01:00Z"}],
                user_id="u", conversation_id="c")
        assert mem.admin.check()["memories_without_vectors"] == 2  # jobs never ran
    monkeypatch.setenv("ENGRAM_HOME", str(tmp_path / "home"))
    runner = CliRunner()
    before = json.loads(runner.invoke(cli, ["doctor", "--json"], catch_exceptions=False).output)
    assert before["unfinished"]["memories_without_vectors"] == 2
    assert before["unfinished"]["messages_without_cells"] == 2
    fixed = json.loads(runner.invoke(cli, ["doctor", "--repair", "--json"], catch_exceptions=False).output)
    assert fixed["repaired"]["memories_embedded"] == 2 and fixed["repaired"]["messages_to_cells"] == 2
    assert fixed["unfinished"] == {"memories_without_vectors": 0, "messages_without_cells": 0, "running_jobs": 0}


def test_retry_takes_back_the_jobs_of_a_dead_worker_at_once(tmp_path, embedder):
    import socket

    cfg = Config(home=tmp_path / "retry", process_inline=False)
    with Memory(config=cfg, embedder=embedder) as mem:
        mem.add([{"speaker": "Ana", "text": "I moved to Porto.", "timestamp": "2024-03-01T10:00:00Z"}],
                user_id="u", conversation_id="c", flush=True)
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()  # a pid of this host that is gone
        claimed = mem._store.claim_jobs(mem.space, f"{socket.gethostname()}:{dead.pid}:x.y", lease_seconds=300)
        assert claimed and mem.job_counts()["running"] == 1
        assert mem.retry() >= 1  # not 300 s later
        mem.run_jobs()
        assert mem.job_counts()["running"] == 0 and mem.admin.check()["memories_without_vectors"] == 0

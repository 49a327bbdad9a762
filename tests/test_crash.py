"""Processes sharing one SQLite store, and ``kill -9`` of them (issue 12): the server and
a worker each see what the other wrote, by text and by vector; killing either at random
points loses no acknowledged write, duplicates none, and a restarted worker finishes the
dead one's work at once (its lease here is 300 s, so waiting it out would fail the test)."""

from __future__ import annotations

import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import httpx

from engramos import Config, Memory

T = "2024-06-{:02d}T{:02d}:{:02d}:00Z"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Proc:
    """An ``engram`` command in its own process, restartable after a kill."""

    def __init__(self, args: list[str], home: Path, log: IO[bytes]) -> None:
        self.args, self.log = args, log
        self.env = {**os.environ, "ENGRAM_HOME": str(home)}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        self.proc = subprocess.Popen([sys.executable, "-m", "engramos.cli", *self.args], env=self.env,
                                     stdout=self.log, stderr=self.log)
        return self

    def kill(self) -> None:
        assert self.proc is not None and self.proc.poll() is None, "died on its own: see the log"
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Served(Proc):
    def __init__(self, home: Path, log: IO[bytes]) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__(["serve", "--no-workers-inline", "--port", str(self.port)], home, log)

    def start(self) -> Served:
        super().start()
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if httpx.get(self.url + "/v1/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError("server did not start")


def _jobs_left(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        return int(conn.execute("SELECT count(*) FROM jobs WHERE status IN ('pending', 'running')").fetchone()[0])


def _wait_for_jobs(db: Path, seconds: float) -> float:
    started = time.time()
    while _jobs_left(db):
        assert time.time() - started < seconds, f"{_jobs_left(db)} job(s) still open after {seconds} s"
        time.sleep(0.2)
    return time.time() - started


def _key(home: Path, embedder: Any) -> str:
    with Memory(config=Config(home=home, process_inline=False), embedder=embedder) as mem:
        return mem.admin.create_key("crash-test", "write")[1]


def test_server_and_worker_on_one_sqlite_file_find_each_others_writes(tmp_path, embedder):
    home = tmp_path / "two"
    key = _key(home, embedder)
    headers = {"Authorization": f"Bearer {key}"}
    words = ["marmalade", "telescope", "origami", "saxophone", "glacier", "lantern", "hedgehog", "volcano"]
    with open(tmp_path / "procs.log", "wb") as log:
        server, worker = Served(home, log).start(), Proc(["worker", "--poll", "0.2"], home, log).start()
        try:
            # written by the server process
            for i, word in enumerate(words[:5]):
                r = httpx.post(server.url + "/v1/messages", headers=headers, timeout=60, json={
                    "user_id": "u", "conversation_id": f"c{i % 2}", "flush": True, "wait": False,
                    "messages": [{"speaker": "Ana", "text": f"Yesterday I bought a {word} at the market.",
                                  "timestamp": T.format(i + 1, 10, 0)}]})
                assert r.status_code == 200, r.text
            # written by this process, processed by the worker, searched by the server
            with Memory(config=Config(home=home, process_inline=False), embedder=embedder) as mem:
                mem.add([{"speaker": "Ana", "text": f"Yesterday I bought a {w} at the market.",
                          "timestamp": T.format(10 + i, 10, 0)} for i, w in enumerate(words[5:])],
                        user_id="u", conversation_id="c9", flush=True)
                _wait_for_jobs(home / "engram.db", 120)
                for word in words:
                    served = httpx.post(server.url + "/v1/search", headers=headers, timeout=60,
                                        json={"query": word, "user_id": "u", "top_k": 50}).json()["hits"]
                    local = mem.search(word, user_id="u", top_k=50).hits
                    for where, hits in (("server", served), ("this process", [h.model_dump() for h in local])):
                        mine = [h for h in hits if word in h["memory"]["text"]]
                        assert mine, f"{where} does not find {word!r}"
                        assert any(h["scores"]["bm25"] is not None for h in mine), f"{where}: {word} not by text"
                        assert any(h["scores"]["vector"] is not None for h in mine), f"{where}: {word} not by vector"
        finally:
            server.stop()
            worker.stop()


def test_kill_9_of_server_and_worker_loses_nothing_and_work_finishes_at_once(tmp_path, embedder):
    home = tmp_path / "crash"
    db = home / "engram.db"
    key = _key(home, embedder)
    headers = {"Authorization": f"Bearer {key}"}
    rng = random.Random(12)
    acknowledged: dict[str, list[str]] = {}
    with open(tmp_path / "procs.log", "wb") as log:
        server = Served(home, log).start()
        worker = Proc(["worker", "--poll", "0.1", "--lease", "300"], home, log).start()
        try:
            kills = {"server": 0, "worker": 0}
            orphaned = 0  # worker kills that left a job running under a dead worker
            def post(i: int, conv: str, flush: bool) -> None:
                texts = [f"Note {i}.{j}: the {rng.choice(['kiln', 'garden', 'boat', 'choir'])} needs work "
                         f"before day {i}, said {rng.choice(['Ana', 'Bo', 'Cy'])}." for j in range(6)]
                try:
                    r = httpx.post(server.url + "/v1/messages", headers=headers, timeout=60, json={
                        "user_id": "u", "conversation_id": conv, "flush": flush, "wait": False,
                        "messages": [{"speaker": "Ana" if j % 2 else "Bo", "text": text,
                                      "timestamp": T.format(1 + i // 10, 8 + j, i % 60)}
                                     for j, text in enumerate(texts)]})
                    if r.status_code == 200:
                        acknowledged.setdefault(conv, []).extend(texts)
                except httpx.HTTPError:
                    pass  # the server was killed mid-request: not acknowledged, may or may not be stored

            for i in range(60):
                post(i, f"c{i % 4}", flush=i % 2 == 0)
                if rng.random() < 0.2:
                    victim = rng.choice(["server", "worker"])
                    if victim == "worker":
                        post(1000 + i, f"burst{i}", flush=True)  # work for it, to be killed in the middle of
                        deadline = time.time() + 10
                        while time.time() < deadline and not _running(db):
                            time.sleep(0.005)
                        worker.kill()
                        orphaned += _running(db)
                        worker.start()
                    else:
                        server.kill()
                        server.start()
                    kills[victim] += 1
            assert kills["server"] >= 2 and kills["worker"] >= 2 and orphaned >= 1, (kills, orphaned)
            worker.kill()  # once more, and the last word goes to a fresh worker
            worker.start()
            with Memory(config=Config(home=home, process_inline=False), embedder=embedder) as mem:
                mem.flush()  # close every open tail: segmentation jobs for the worker
                took = _wait_for_jobs(db, 120)  # far inside the 300 s lease the dead workers held
                stored = {c: [m.content for m in mem.messages(c)] for c in acknowledged}
                for conv, texts in acknowledged.items():
                    assert all(stored[conv].count(t) == 1 for t in texts), f"{conv}: lost or duplicated"
                assert mem.health()["integrity"] == "ok"
                assert mem.admin.check() == {"memories_without_vectors": 0, "messages_without_cells": 0,
                                             "running_jobs": 0}
                for texts in acknowledged.values():
                    text = texts[-1]
                    assert any(h.memory.text.endswith(text) for h in mem.search(text, user_id="u", top_k=10).hits)
            print(f"kills {kills}, {orphaned} leaving a job running, {sum(map(len, acknowledged.values()))} "
                  f"acknowledged, jobs done {took:.1f} s after the last kill")
        finally:
            server.stop()
            worker.stop()


def _running(db: Path) -> bool:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return bool(conn.execute("SELECT 1 FROM jobs WHERE status='running' LIMIT 1").fetchone())
    except sqlite3.Error:
        return False  # busy: look again

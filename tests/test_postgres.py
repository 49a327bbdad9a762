"""PostgreSQL end to end: the engine on PostgreSQL, and `engram migrate` between backends
with counts and checksums verified."""

from __future__ import annotations

import json

from click.testing import CliRunner

from engramos import Config, Memory
from engramos.cli import cli
from engramos.store import open_store
from engramos.store.migrate import checksums


def assert_text_stats_exact(url: str) -> None:
    """The BM25 statistics the writers kept equal those recounted from the rows."""
    import psycopg

    with psycopg.connect(url) as conn:
        totals = conn.execute("SELECT sum(docs), sum(tokens) FROM text_totals").fetchone()
        assert totals == conn.execute("SELECT count(*), sum(doc_len) FROM memories").fetchone()
        recount = "SELECT u.lexeme, count(*) FROM memories m, unnest(m.tsv) u GROUP BY u.lexeme"
        kept = "SELECT term, df FROM text_terms WHERE df <> 0"
        for a, b in ((kept, recount), (recount, kept)):
            assert conn.execute(f"SELECT count(*) FROM ({a} EXCEPT {b}) d").fetchone() == (0,)
        assert totals[0] > 0


CHAT = [{"speaker": "Ana", "text": "I adopted a grey cat named Miso yesterday.",
         "timestamp": "2024-03-04T10:00:00+01:00", "id": "T1"},
        {"speaker": "Bo", "text": "I am moving to Porto next month for a design job.",
         "timestamp": "2024-03-04T10:01:00+01:00", "id": "T2"},
        {"speaker": "Ana", "text": "我上周五去了上海看望奶奶。", "timestamp": "2024-03-05T09:00:00+08:00", "id": "T3"}]


def test_engine_on_postgres(postgres_url, embedder):
    with Memory(config=Config(db=postgres_url), embedder=embedder) as mem:
        mem.add(CHAT, user_id="u", conversation_id="c", flush=True)
        hit = mem.search("When did Ana adopt her cat?", user_id="u").hits[0]
        assert "3 March 2024" in hit.memory.text and "T1" in [c.label() for c in hit.citations]
        assert "上海" in mem.search("玛雅去上海看谁", user_id="u").hits[0].memory.text
        assert mem.messages("c")[0].timestamp.utcoffset().total_seconds() == 3600  # the offset survives
        assert all(c.status == "extracted" for c in mem._store.list_cells(mem.space, "c"))
        assert mem.health()["backend"] == "postgresql"


def test_migrate_sqlite_to_postgres_and_back(tmp_path, postgres_url, embedder, monkeypatch):
    sqlite_path = tmp_path / "src" / "engram.db"
    with Memory(path=sqlite_path, embedder=embedder) as mem:
        mem.add(CHAT, user_id="u", conversation_id="c", flush=True)
        target = mem.list(kinds=["fact"], limit=1).items[0]
        mem.update(target.id, text="Ana keeps bees")
        mem.delete(target.id)
        mem.admin.create_key("ci", "write", users=["u"])
        expected_top = mem.search("Where is Bo moving?").hits[0].memory.id
    monkeypatch.setenv("ENGRAM_HOME", str(tmp_path / "cli"))
    out = CliRunner().invoke(cli, ["--json", "migrate", "--from", f"sqlite:///{sqlite_path}", "--to", postgres_url],
                             catch_exceptions=False)
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    assert report["verified"] and report["copied"]["message"] == 3 and report["copied"]["key"] == 1
    assert report["source"]["memory"]["rows"] > 5
    with Memory(config=Config(db=postgres_url), embedder=embedder) as pg:
        assert pg.search("Where is Bo moving?").hits[0].memory.id == expected_top
        assert [h.action for h in pg.history(target.id)] == ["create", "update", "delete"]
    back = tmp_path / "back" / "engram.db"
    again = CliRunner().invoke(cli, ["--json", "migrate", "--from", postgres_url, "--to", str(back)],
                               catch_exceptions=False)
    assert again.exit_code == 0 and json.loads(again.output)["verified"]
    src, dst = open_store(str(sqlite_path)), open_store(str(back))
    assert checksums(src) == checksums(dst)
    src.close()
    dst.close()
    refused = CliRunner().invoke(cli, ["migrate", "--from", str(sqlite_path), "--to", str(back)])
    assert refused.exit_code == 2 and "not empty" in refused.output


def test_two_api_processes_three_workers_one_killed(tmp_path, postgres_url, embedder):
    import os
    import signal
    import socket
    import subprocess
    import sys
    import threading
    import time
    from collections import Counter

    import httpx

    from engramos import Client
    from tests.scripted_llm import ScriptedLLM

    keys = Memory(postgres_url)
    _, key = keys.admin.create_key("ci", "write", space="prod")
    store = keys._store
    with ScriptedLLM(delay_s=0.6) as llm:
        env = {**os.environ, "ENGRAM_HOME": str(tmp_path / "home"), "ENGRAM_DB": postgres_url,
               "ENGRAM_LLM_BASE_URL": llm.base_url, "ENGRAM_LLM_MODEL": "scripted"}
        ports = []
        procs: list[subprocess.Popen[bytes]] = []
        for _ in range(2):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                ports.append(s.getsockname()[1])
            procs.append(subprocess.Popen([sys.executable, "-m", "engramos.cli", "serve", "--port", str(ports[-1]),
                                           "--no-workers-inline"], env=env, stderr=subprocess.DEVNULL))
        workers = [subprocess.Popen([sys.executable, "-m", "engramos.cli", "worker", "--lease", "3", "--poll", "0.1"],
                                    env=env, stderr=subprocess.DEVNULL) for _ in range(3)]
        try:
            for port in ports:
                for _ in range(300):
                    try:
                        if httpx.get(f"http://127.0.0.1:{port}/v1/health").status_code == 200:
                            break
                    except httpx.HTTPError:
                        time.sleep(0.1)

            def ingest(i: int) -> None:
                client = Client(f"http://127.0.0.1:{ports[i % 2]}", key)
                msgs = [{"speaker": "Ana" if j % 2 else "Bo", "text": f"Conversation {i} line {j}: I like topic {j}.",
                         "timestamp": f"2024-03-0{i + 1}T10:{j:02d}:00Z"} for j in range(8)]
                client.add(msgs, user_id=f"u{i}", conversation_id=f"c{i}", flush=True, process=False)

            threads = [threading.Thread(target=ingest, args=(i,)) for i in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            deadline = time.time() + 60
            while not llm.chat_requests("extraction") and time.time() < deadline:
                time.sleep(0.05)
            workers[0].send_signal(signal.SIGKILL)  # mid-job: it has an extraction call in flight or next
            deadline = time.time() + 120
            while time.time() < deadline:
                counts = store.job_counts("prod")
                if counts["pending"] == counts["running"] == 0 and counts["done"] >= 8:
                    break
                time.sleep(0.2)
            counts = store.job_counts("prod")
            assert counts["pending"] == counts["running"] == counts["parked"] == 0, counts
        finally:
            for p in procs + workers:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            for p in procs + workers:
                p.wait(30)
    for i in range(4):
        cells = store.list_cells("prod", f"c{i}")
        assert cells and all(c.status == "extracted" for c in cells)
    from engramos.types import Filters

    episodes = store.list_memories("prod", Filters(kinds=["episode"]), limit=1000).items
    all_cells = [c for i in range(4) for c in store.list_cells("prod", f"c{i}")]
    assert sorted(e.cell_id for e in episodes) == sorted(c.id for c in all_cells)  # exactly once each
    facts = store.list_memories("prod", Filters(kinds=["fact"]), limit=5000).items
    assert facts and max(Counter((f.text, tuple(f.message_ids)) for f in facts).values()) == 1
    assert sum(len(store.list_messages("prod", f"c{i}")) for i in range(4)) == 32
    store.close()
    assert_text_stats_exact(postgres_url)


def test_scale_bench_on_postgres(tmp_path, postgres_url, monkeypatch):
    from engramos.bench import scale

    monkeypatch.setattr(scale, "LIVE_TAIL", 500)  # so that most of each size goes through the bulk load
    monkeypatch.setenv("ENGRAM_HOME", str(tmp_path / "home"))
    out = tmp_path / "scale.json"
    res = CliRunner().invoke(cli, ["bench", "scale", "--sizes", "1k,3k", "--users", "10", "--queries", "20",
                                   "--db", postgres_url, "--writers", "3", "--bulk", "--json", str(out),
                                   "--results", str(tmp_path / "r")],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    results = json.loads(out.read_text())
    assert results["backend"] == "postgresql"
    for rows in results["layouts"].values():
        assert [r["size"] for r in rows] == [1000, 3000]
        assert all(r["target_in_top10"] > 0.8 and r["live_ingest_per_s"] > 0 for r in rows)
        assert rows[1]["store_mb"] > rows[1]["index_mb"] > rows[0]["index_mb"] > 0
        assert rows[1]["writers"] == 3 and rows[1]["bulk"]
    assert "| bulk, 3 writer(s) |" in (tmp_path / "r" / "scale.md").read_text()
    store = open_store(postgres_url)
    assert store.health()["rows_vectors"] == 6000
    assert store._q("SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'vectors_hnsw_%%'")[0][0] == 1
    store.close()
    assert_text_stats_exact(postgres_url)  # three concurrent writers kept them exact


def test_large_tenants_search_through_hnsw(postgres_url, monkeypatch):
    """Above the exact-scan threshold the HNSW index answers: sorted, with the exact
    top 10 found (the graph is small, so recall is complete)."""
    import numpy as np
    import psycopg

    from engramos.store.postgres import knn
    from engramos.store.postgres import store as pg
    from engramos.types import Filters, MemoryRecord

    monkeypatch.setattr(knn, "EXACT_SCAN_MAX", 50)
    with psycopg.connect(postgres_url, autocommit=True) as conn:  # a tiny table would be scanned, not walked
        db = conn.execute("SELECT current_database()").fetchone()[0]
        conn.execute(f"ALTER DATABASE {db} SET enable_seqscan = off")
        conn.execute(f"ALTER DATABASE {db} SET enable_bitmapscan = off")
    s = pg.PostgresStore(postgres_url, max_size=2)
    rng = np.random.default_rng(5)
    vecs = rng.standard_normal((400, 16)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    from engramos._util import utcnow

    rows = [MemoryRecord(id=f"mem_{i:04d}", space="s", kind="fact", user_id="u", conversation_id="c",
                         text=f"row {i}", observed_at=utcnow(), created_at=utcnow(), updated_at=utcnow())
            for i in range(400)]
    s.insert_memories(rows, vecs, "m")
    plan = "\n".join(r[0] for r in s._q(
        "EXPLAIN SELECT memory_pk FROM vectors WHERE dim = 16 AND space = 's' "
        "ORDER BY vec::vector(16) <=> %s::vector(16) LIMIT 10", (knn.vector_literal(vecs[0]),)))
    assert "vectors_hnsw_16" in plan
    for q in vecs[:20]:
        got = s.search_vectors("s", q, Filters(), limit=10)
        want = [f"mem_{i:04d}" for i in np.argsort(-(vecs @ q))[:10]]
        assert [g[0] for g in got] == want
        assert [g[1] for g in got] == sorted((g[1] for g in got), reverse=True)
    s.close()


def test_concurrent_first_writers_of_a_dimension_do_not_deadlock(postgres_url):
    """Four threads write the first vectors of a fresh database at once: the HNSW index
    is built once, before any of them holds a lock on the vectors table."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    from engramos._util import utcnow
    from engramos.store.postgres.store import PostgresStore
    from engramos.types import MemoryRecord

    s = PostgresStore(postgres_url, max_size=8)
    start = threading.Barrier(4)

    def write(w: int) -> None:
        rows = [MemoryRecord(id=f"mem_{w}_{i}", space="s", kind="fact", user_id=f"u{w}", conversation_id="c",
                             text=f"writer {w} row {i}", observed_at=utcnow(), created_at=utcnow(),
                             updated_at=utcnow()) for i in range(400)]
        vecs = np.random.default_rng(w).standard_normal((400, 32)).astype(np.float32)
        start.wait()
        with s.transaction():
            s.insert_memories(rows, vecs, "m")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(write, range(4)))
    assert s._q("SELECT count(*) FROM vectors")[0][0] == 1600
    assert s._q("SELECT count(*) FROM pg_indexes WHERE indexname = 'vectors_hnsw_32'")[0][0] == 1
    s.close()


def test_bulk_load_rebuilds_the_hnsw_index_once_at_the_end(postgres_url):
    """A large load drops the HNSW index and builds it on exit, also when the load fails;
    a small load into a large index keeps it in place."""
    import numpy as np
    import pytest

    from engramos._util import utcnow
    from engramos.store.postgres.store import PostgresStore
    from engramos.types import MemoryRecord

    s = PostgresStore(postgres_url, max_size=2)
    vecs = np.random.default_rng(9).standard_normal((600, 24)).astype(np.float32)
    rows = [MemoryRecord(id=f"mem_{i:04d}", space="s", kind="fact", user_id="u", conversation_id="c",
                         text=f"row {i}", observed_at=utcnow(), created_at=utcnow(), updated_at=utcnow())
            for i in range(600)]

    def indexed() -> bool:
        return bool(s._q("SELECT 1 FROM pg_indexes WHERE indexname = 'vectors_hnsw_24'"))

    s.insert_memories(rows[:100], vecs[:100], "m")
    assert indexed()
    with pytest.raises(RuntimeError), s.bulk_load(400):
        s.insert_memories(rows[100:300], vecs[100:300], "m")
        assert not indexed()
        raise RuntimeError("the load failed half way")
    assert indexed()
    with s.bulk_load(300):
        s.insert_memories(rows[300:590], vecs[300:590], "m")
        assert not indexed()
    assert indexed()
    with s.bulk_load(10):  # 10 vectors into 590: inserting is cheaper than rebuilding
        assert indexed()
        s.insert_memories(rows[590:], vecs[590:], "m")
    assert s._q("SELECT count(*) FROM vectors")[0][0] == 600
    # the rebuilt index holds every row: the planner is forced onto it and finds each one
    with s.transaction():
        s._x("SET LOCAL enable_seqscan = off")
        for i in (0, 250, 599):
            got = s._q("SELECT m.id FROM vectors v JOIN memories m ON m.pk = v.memory_pk WHERE v.dim = 24 "
                       "ORDER BY v.vec::vector(24) <=> %s::vector(24) LIMIT 1",
                       ("[" + ",".join(map(str, vecs[i].tolist())) + "]",))
            assert got == [(f"mem_{i:04d}",)]
    s.close()


def test_an_index_build_short_of_memory_is_logged_as_a_warning(postgres_url, caplog):
    """pgvector's notice that the HNSW graph outgrew maintenance_work_mem (the build then
    slows down many times) reaches the operator's log as a warning."""
    import logging

    import numpy as np
    import psycopg

    from engramos._util import utcnow
    from engramos.store.postgres.store import PostgresStore
    from engramos.types import MemoryRecord

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        db = conn.execute("SELECT current_database()").fetchone()[0]
        conn.execute(f"ALTER DATABASE {db} SET maintenance_work_mem = '1MB'")
    s = PostgresStore(postgres_url, max_size=2)
    rows = [MemoryRecord(id=f"mem_{i:05d}", space="s", kind="fact", user_id="u", conversation_id="c",
                         text=f"row {i}", observed_at=utcnow(), created_at=utcnow(), updated_at=utcnow())
            for i in range(4000)]
    vecs = np.random.default_rng(2).standard_normal((4000, 64)).astype(np.float32)
    with caplog.at_level(logging.WARNING, logger="engramos.store.postgres.connection"), s.bulk_load(4000):
        s.insert_memories(rows, vecs, "m")
    assert any("maintenance_work_mem" in r.getMessage() for r in caplog.records)
    assert s._q("SELECT count(*) FROM pg_indexes WHERE indexname = 'vectors_hnsw_64'")[0][0] == 1
    s.close()


def test_planner_statistics_follow_an_ingestion_that_doubles_the_table(postgres_url):
    """Searches right after an ingestion were planned on the statistics of a table a
    fraction of its size: the store analyses once a tenth of the table (and
    ANALYZE_MIN_ROWS) has changed."""
    import numpy as np

    from engramos._util import utcnow
    from engramos.store.postgres import connection
    from engramos.store.postgres import store as pg
    from engramos.types import MemoryRecord

    def batch(start: int, n: int) -> list[MemoryRecord]:
        return [MemoryRecord(id=f"mem_{i:05d}", space="s", kind="fact", user_id="u", conversation_id="c",
                             text=f"row {i}", observed_at=utcnow(), created_at=utcnow(), updated_at=utcnow())
                for i in range(start, start + n)]

    def analysed() -> tuple[int, float]:
        (count, tuples), = s._q("SELECT s.analyze_count, c.reltuples FROM pg_stat_user_tables s "
                                "JOIN pg_class c ON c.oid = s.relid WHERE s.relname = 'memories'")
        return int(count), float(tuples)

    s = pg.PostgresStore(postgres_url, max_size=2)
    vecs = np.ones((connection.ANALYZE_MIN_ROWS, 8), dtype=np.float32)
    s.insert_memories(batch(0, connection.ANALYZE_MIN_ROWS - 1), vecs[:-1], "m")
    assert analysed()[0] == 0  # below the threshold: left to autovacuum
    s.insert_memories(batch(connection.ANALYZE_MIN_ROWS - 1, 1), vecs[:1], "m")
    count, tuples = analysed()
    assert count == 1 and tuples == connection.ANALYZE_MIN_ROWS
    s.insert_memories(batch(connection.ANALYZE_MIN_ROWS, 400), vecs[:400], "m")
    assert analysed()[0] == 1  # 400 more is below the threshold again
    s.insert_memories(batch(connection.ANALYZE_MIN_ROWS + 400, 200), vecs[:200], "m")
    count, tuples = analysed()
    assert count == 2 and tuples == connection.ANALYZE_MIN_ROWS + 600
    s.close()

"""PostgreSQL end to end: the engine on PostgreSQL, and `engram migrate` between backends
with counts and checksums verified."""

from __future__ import annotations

import json

from click.testing import CliRunner

from engramos import Config, Memory
from engramos.cli import cli
from engramos.server.auth import create_key
from engramos.store import open_store
from engramos.store.migrate import checksums

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
        assert all(c.status == "extracted" for c in mem.store.list_cells(mem.space, "c"))
        assert mem.health()["backend"] == "postgresql"


def test_migrate_sqlite_to_postgres_and_back(tmp_path, postgres_url, embedder, monkeypatch):
    sqlite_path = tmp_path / "src" / "engram.db"
    with Memory(path=sqlite_path, embedder=embedder) as mem:
        mem.add(CHAT, user_id="u", conversation_id="c", flush=True)
        target = mem.list(kinds=["fact"], limit=1).items[0]
        mem.update(target.id, text="Ana keeps bees")
        mem.delete(target.id)
        create_key(mem.store, "default", "ci", "write", users=["u"])
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

"""Lifecycle and retention (issue 15, part 4): archived and expired memories leave
recall but stay, restorable; retention rules, a dry run that lists, a durable job that
applies them and reschedules itself; nothing happens without a rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engramos import Client, Config, InvalidInputError, Memory
from engramos.cli import cli
from engramos.config import RetentionConfig, RetentionRule

NOW = datetime.now(UTC)


def _when(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).isoformat()


def _talk(mem: Memory) -> None:
    mem.add([
        {"speaker": "Ana", "text": "I adopted a grey cat named Miso.", "timestamp": _when(200)},
        {"speaker": "Ana", "text": "Next week I'm off to Reykjavik for a conference.", "timestamp": _when(200)},
        {"speaker": "Ana", "text": "I started learning the cello this month.", "timestamp": _when(5)},
    ], user_id="ana", conversation_id="c1", flush=True)


def test_archive_leaves_recall_and_restore_brings_it_back(tmp_path, embedder):
    with Memory(tmp_path / "m", embedder=embedder) as mem:
        _talk(mem)
        hit = mem.search("grey cat Miso", user_id="ana").hits[0].memory
        archived = mem.archive(hit.id)
        assert archived.status == "archived"
        assert hit.id not in {h.memory.id for h in mem.search("grey cat Miso", user_id="ana").hits}
        assert hit.id not in {h.memory.id for h in mem.context("grey cat Miso", user_id="ana").hits}
        asked = mem.search("grey cat Miso", user_id="ana", filters={"include_archived": True}).hits
        assert hit.id in {h.memory.id for h in asked}
        assert hit.id in {m.id for m in mem.list(user_id="ana", limit=100).items}  # listed, with its status
        with pytest.raises(InvalidInputError):
            mem.archive(hit.id)  # already archived
        assert mem.restore(hit.id).status == "active"
        assert hit.id in {h.memory.id for h in mem.search("grey cat Miso", user_id="ana").hits}
        assert [h.action for h in mem.history(hit.id)][-2:] == ["archive", "restore"]
        # a deleted memory comes back with the status it had
        mem.delete(hit.id)
        assert mem.restore(hit.id).status == "active"
        with pytest.raises(InvalidInputError):
            mem.restore(hit.id)  # active: nothing to restore


def test_no_rule_no_change(tmp_path, embedder):
    with Memory(tmp_path / "m", embedder=embedder) as mem:
        _talk(mem)
        before = sorted((m.id, m.status) for m in mem.list(user_id="ana", limit=200).items)
        report = mem.retention(apply=True)
        assert report.rules == []
        assert sorted((m.id, m.status) for m in mem.list(user_id="ana", limit=200).items) == before
        assert not [j for j in mem.jobs(["pending"]) if j.kind == "retention"]


@pytest.fixture(params=["sqlite", "postgres"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "ret")
    return str(request.getfixturevalue("postgres_url"))


RULES = RetentionConfig(rules=[
    RetentionRule(kinds=["foresight"], since="valid_to", after_days=30, action="expire"),
    RetentionRule(kinds=["turn"], since="extracted", after_days=90, action="archive"),
])


def test_rules_dry_run_then_a_job_applies_them(location, embedder):
    with Memory(location, Config(retention=RULES, process_inline=False), embedder=embedder) as mem:
        _talk(mem)
        mem.run_jobs()
        statuses = {m.id: m.status for m in mem.list(user_id="ana", limit=200).items}
        dry = mem.retention()
        assert dry.dry_run and [o.action for o in dry.rules] == ["expire", "archive"]
        expire, arch = dry.rules
        assert expire.memories >= 1 and all(s["kind"] == "foresight" for s in expire.sample)
        assert arch.memories == 2 and all(s["kind"] == "turn" for s in arch.sample)  # the 200-day-old turns
        assert {m.id: m.status for m in mem.list(user_id="ana", limit=200).items} == statuses  # changed nothing
        applied = mem.retention(apply=True)
        assert applied.job_id and not applied.dry_run
        mem.run_jobs()
        after = {m.id: m.status for m in mem.list(user_id="ana", limit=200).items}
        assert sum(s == "expired" for s in after.values()) == expire.memories
        assert sum(s == "archived" for s in after.values()) == 2
        recent = [m for m in mem.list(user_id="ana", kinds=["turn"], limit=50).items if "cello" in m.text]
        assert recent and recent[0].status == "active"  # 5 days old: kept
        # the expired plan is out of recall, its history says which rule did it
        gone = next(i for i, s in after.items() if s == "expired")
        assert gone not in {h.memory.id for h in mem.search("Reykjavik conference", user_id="ana").hits}
        assert mem.history(gone)[-1].after["rule"].startswith("expire foresight")  # type: ignore[index]
        # a second run finds nothing left; the job has scheduled its next run
        assert all(o.memories == 0 for o in mem.retention().rules)
        pending = [j for j in mem.jobs(["pending"]) if j.kind == "retention"]
        assert len(pending) == 1 and pending[0].run_after > datetime.now(UTC) + timedelta(hours=23)
    # reopening does not start a second chain while one is pending
    with Memory(location, Config(retention=RULES, process_inline=False), embedder=embedder) as again:
        assert len([j for j in again.jobs(["pending"]) if j.kind == "retention"]) == 1


def test_lifecycle_due_contract(memory):
    store: Any = memory._store
    _talk(memory)
    turns = store.lifecycle_due("default", kinds=["turn"], before=NOW - timedelta(days=100))
    assert len(turns) == 2
    assert store.lifecycle_due("default", kinds=["turn"], before=NOW - timedelta(days=300)) == []
    assert store.lifecycle_due("default", kinds=[], before=NOW) == []
    assert store.lifecycle_due("other", kinds=["turn"], before=NOW) == []
    assert len(store.lifecycle_due("default", kinds=["turn"], before=NOW, cell_extracted=True, limit=1)) == 1


def test_cli_and_rest(tmp_path, embedder, monkeypatch):
    monkeypatch.setenv("ENGRAM_HOME", str(tmp_path / "cli"))
    monkeypatch.setenv("ENGRAM_RETENTION", '[{"kinds": ["turn"], "after_days": 90, "since": "extracted"}]')
    runner = CliRunner()
    with Memory(tmp_path / "cli", embedder=embedder) as mem:
        _talk(mem)
        target = mem.list(user_id="ana", kinds=["fact"], limit=1).items[0].id
    assert "(archived)" in runner.invoke(cli, ["archive", target], catch_exceptions=False).output
    assert "(active)" in runner.invoke(cli, ["restore", target], catch_exceptions=False).output
    assert runner.invoke(cli, ["restore", target]).exit_code == 2  # nothing to restore
    out = runner.invoke(cli, ["retention"], catch_exceptions=False).output
    assert "archive turn 90 days" in out and "would archive 2 memories" in out
    assert "will archive 2" in runner.invoke(cli, ["retention", "--apply"], catch_exceptions=False).output
    monkeypatch.setenv("ENGRAM_RETENTION", "not json")
    bad = runner.invoke(cli, ["retention"])
    assert bad.exit_code == 2 and "ENGRAM_RETENTION" in bad.output

    from tests.test_server import Server

    with Server(Config(home=tmp_path / "srv", retention=RULES), embedder) as srv:
        with Client(srv.url, srv.key("a")) as writer:
            _talk(writer)  # type: ignore[arg-type]
            hit = writer.search("grey cat Miso", user_id="ana").hits[0].memory
            assert writer.archive(hit.id).status == "archived"
            assert writer.restore(hit.id).status == "active"
            from engramos.errors import ForbiddenError

            with pytest.raises(ForbiddenError):
                writer.retention()
        with Client(srv.url, srv.key("a", "admin")) as admin:
            assert [o.action for o in admin.retention().rules] == ["expire", "archive"]
            assert admin.retention(apply=True).job_id

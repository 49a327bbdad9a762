"""Working memory and the scheduler (issue 16, parts 1 and 2): a per-conversation block
that stays a byte-identical prefix from one question to the next, changes
append-mostly, never shows what stopped being true, and is refreshed by durable jobs
that triggers enqueue, coalesced and within a CPU budget."""

from __future__ import annotations

import pytest

from engramos import Client, Config, InvalidInputError, Memory, NotFoundError
from engramos.config import WorkingConfig

T = "2024-05-{:02d}T10:{:02d}:00Z"


def _talk(mem: Memory, day: int = 1) -> None:
    mem.add([
        {"speaker": "Ana", "text": "I live in Leeds and I work as a nurse.", "timestamp": T.format(day, 0)},
        {"speaker": "Bo", "text": "How is your cat Miso doing?", "timestamp": T.format(day, 1)},
        {"speaker": "Ana", "text": "Miso is fine. Next month I'm flying to Lisbon for my sister's wedding.",
         "timestamp": T.format(day, 2)},
        {"speaker": "Ana", "text": "I started learning the cello last week.", "timestamp": T.format(day, 3)},
    ], user_id="ana", conversation_id="c1", flush=True)


def test_block_sections_and_a_stable_prefix(memory):
    _talk(memory)
    wm = memory.working_memory("c1")
    assert wm.text.startswith("# Working memory") and wm.tokens <= wm.budget_tokens == 512
    sections = {e.section for e in wm.entries}
    assert {"profile", "plan"} <= sections, wm.text
    assert "Lisbon" in wm.text and "Leeds" in wm.text
    # nothing changed: the same block, byte for byte, without a refresh
    assert memory.working_memory("c1").text == wm.text
    a = memory.context("Where does Ana live?", conversation_id="c1", working=True, budget_tokens=1024)
    b = memory.context("What instrument is Ana learning?", conversation_id="c1", working=True,
                       budget_tokens=1024)
    assert a.prefix_tokens > 0 and a.text[: len(wm.text)] == b.text[: len(wm.text)] == wm.text
    assert a.tokens <= 1024 and b.tokens <= 1024
    assert "cello" in b.text
    with pytest.raises(InvalidInputError) as err:
        memory.context("Where?", user_id="ana", working=True)
    assert err.value.field == "conversation_id"
    with pytest.raises(NotFoundError):
        memory.working_memory("nowhere")


def test_append_mostly_and_never_stale(memory):
    _talk(memory)
    before = memory.working_memory("c1")
    memory.add([{"speaker": "Ana", "text": "My brother Tom is visiting on Saturday.", "timestamp": T.format(2, 0)}],
               user_id="ana", conversation_id="c1", flush=True)
    after = memory.working_memory("c1")
    assert after.version >= before.version and after.kept >= 1
    # what was there stays in place at the start: the old block's first entries open the new one
    assert [e.memory_id for e in after.entries[: after.kept]] == [e.memory_id for e in before.entries[: after.kept]]
    # an entry that stops being true leaves the block at once, with no new message
    plan = next(e for e in after.entries if e.section == "plan")
    memory.delete(plan.memory_id)
    fresh = memory.working_memory("c1")
    assert plan.memory_id not in {e.memory_id for e in fresh.entries}


def test_triggers_enqueue_coalesced_durable_jobs(tmp_path, embedder):
    cfg = Config(working=WorkingConfig(prefetch=True), process_inline=False)
    with Memory(tmp_path / "m", cfg, embedder=embedder) as mem:
        _talk(mem)
        mem.run_jobs()
        for i in range(3):  # a burst: one pending refresh, not three
            mem.add([{"speaker": "Ana", "text": f"Note {i}: I like tea.", "timestamp": T.format(2, i)}],
                    user_id="ana", conversation_id="c1")
        jobs = [j for j in mem.jobs(["pending"]) if j.kind == "working"]
        now_jobs = [j for j in jobs if j.payload["event"] == "message"]
        idle_jobs = [j for j in jobs if j.payload["event"] == "idle"]
        assert len(now_jobs) == 1 and len(idle_jobs) >= 1
        status = mem.status()["working"]
        assert status["prefetch"] and status["pending_jobs"] == len(jobs)
        mem.run_jobs()
        assert mem.status()["working"]["cpu_ms_this_minute"] > 0
        wm = mem.working_memory("c1")
        assert wm.refreshed_at is not None and "Leeds" in wm.text
        mem.search("What does Ana drink?", conversation_id="c1")  # a question asks for the next turn
        assert any(j.payload["event"] == "question" for j in mem.jobs(["pending"]) if j.kind == "working")
        mem.run_jobs()
        mem.add([{"speaker": "Ana", "text": "Good morning!", "timestamp": T.format(9, 0)}], user_id="ana",
                conversation_id="c1", session_id="s2")  # a new session starts
        assert any(j.payload["event"] == "session" for j in mem.jobs(["pending"]) if j.kind == "working")


def test_cpu_budget_defers(tmp_path, embedder):
    cfg = Config(working=WorkingConfig(prefetch=True, cpu_ms_per_minute=0.001), process_inline=False)
    with Memory(tmp_path / "m", cfg, embedder=embedder) as mem:
        _talk(mem)
        mem.run_jobs()  # the first refresh spends the whole budget; the next waits
        mem.add([{"speaker": "Ana", "text": "I bought a bike.", "timestamp": T.format(3, 0)}], user_id="ana",
                conversation_id="c1")
        mem.run_jobs()
        deferred = [j for j in mem.jobs(["pending"]) if j.kind == "working" and j.payload["event"] == "message"]
        assert deferred and all(j.run_after.timestamp() > j.created_at.timestamp() + 30 for j in deferred)


def test_rest_client_and_forget(tmp_path, embedder):
    from tests.test_server import Server

    with Server(Config(home=tmp_path / "srv"), embedder) as srv, Client(srv.url, srv.key("a")) as c:
        _talk(c)  # type: ignore[arg-type]
        wm = c.working_memory("c1", budget_tokens=256)
        assert wm.budget_tokens == 256 and wm.tokens <= 256 and "Leeds" in wm.text
        block = c.context("Where does Ana live?", conversation_id="c1", working=True, budget_tokens=1024)
        again = c.context("What does Ana do?", conversation_id="c1", working=True, budget_tokens=1024)
        assert block.prefix_tokens > 0 and block.text.startswith("# Working memory")
        assert again.text[: len(block.text.split("# Memory")[0])] == block.text.split("# Memory")[0]
        with Client(srv.url, srv.key("a", "read", users=["someone-else"])) as other, pytest.raises(NotFoundError):
            other.working_memory("c1")
        # a key of one agent would see the user's profile and predictions from every agent
        c.add([{"speaker": "Ana", "text": "Hello from the coach.", "timestamp": T.format(5, 0)}], user_id="ana",
              conversation_id="c2", agent_id="coach", flush=True)
        from engramos.errors import ForbiddenError

        with Client(srv.url, srv.key("a", "read", agents=["coach"])) as coach:
            with pytest.raises(ForbiddenError):
                coach.working_memory("c2")
            with pytest.raises(ForbiddenError):
                coach.context("Where does Ana live?", conversation_id="c2", agent_id="coach", working=True)
        c.forget(conversation_id="c1")
        with pytest.raises(NotFoundError):
            c.working_memory("c1")
        mem = srv.app.state.spaces.get("a")
        assert mem._store.get_meta("working/a/c1") is None  # the block went with its conversation

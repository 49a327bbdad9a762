"""The LLM pipeline end to end against the scripted OpenAI-compatible server."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from click.testing import CliRunner

from engramos import Config, Filters, Memory
from engramos.cli import cli
from engramos.config import LLMConfig
from engramos.formats import locomo_batches
from tests.conftest import LOCOMO
from tests.scripted_llm import LINE_RE, ScriptedLLM


def llm_memory(tmp_path, embedder, server: ScriptedLLM, **llm: object) -> Memory:
    cfg = Config(home=tmp_path / "home", llm=LLMConfig(base_url=server.base_url, model="scripted",
                                                        backoff_s=0.01, timeout_s=1.0, max_retries=1, **llm))
    mem = Memory(config=cfg, embedder=embedder)
    mem._queue.backoff_seconds = 0.01
    return mem


CHAT = [
    ("Ana", "I work as a nurse at the city hospital.", "2024-03-04T10:00:00Z"),
    ("Bo", "Nice, I will visit Lisbon next month.", "2024-03-04T10:01:00Z"),
    ("Ana", "New topic: my cat Miso learned to open doors.", "2024-03-04T10:05:00Z"),
    ("Bo", "Ha, that cat is clever, bye!", "2024-03-04T10:06:00Z"),
]


def test_llm_builds_cells_episodes_facts_foresight_profile(tmp_path, embedder):
    with ScriptedLLM() as server:
        mem = llm_memory(tmp_path, embedder, server)
        mem.add([{"speaker": s, "text": t, "timestamp": ts} for s, t, ts in CHAT], user_id="u", conversation_id="c")
        assert server.chat_requests("boundary") == []  # a short open stretch waits for a batch
        assert mem.search("Miso opens doors").hits  # ...and is searchable as raw turns meanwhile
        mem.flush(conversation_id="c")
        cells = mem._store.list_cells(mem.space, "c")
        assert [(c.first_seq, c.last_seq) for c in cells] == [(1, 2), (3, 4)]  # the LLM's boundary
        assert all(c.status == "extracted" for c in cells)
        items = mem.list(user_id="u", limit=100).items
        llm_made = [m for m in items if m.kind != "turn"]
        assert llm_made and all(m.produced_by == "llm:scripted" for m in llm_made)
        kinds = Counter(m.kind for m in llm_made)
        assert kinds["episode"] == 2 and kinds["fact"] >= 3 and kinds["foresight"] == 1 and kinds["profile"] == 1
        fact = next(m for m in llm_made if m.kind == "fact" and "nurse" in m.text)
        assert fact.event_start is not None and fact.message_ids == [mem.messages("c")[0].id]
        assert len(server.chat_requests("extraction")) == 2  # one call per MemCell
        done = [j for j in mem._store.list_jobs(mem.space, ["done"]) if j.kind == "extract"]
        assert all(j.usage and j.usage["llm_calls"] >= 1 and j.usage["prompt_tokens"] > 0 for j in done)
        hits = mem.search("What is Ana's job?", user_id="u").hits
        assert any("nurse" in h.memory.text for h in hits[:3])
        mem.close()


def test_knowledge_update_supersedes_the_older_fact(tmp_path, embedder):
    with ScriptedLLM() as server:
        mem = llm_memory(tmp_path, embedder, server)
        mem.add([{"speaker": "Ana", "text": "I live in Porto near the river.", "timestamp": "2024-01-01T10:00:00Z"}],
                user_id="u", conversation_id="c", flush=True)
        mem.add([{"speaker": "Ana", "text": "I live in Braga now, near my parents.",
                  "timestamp": "2024-06-01T10:00:00Z"}], user_id="u", conversation_id="c", flush=True)
        facts = [m for m in mem.list(user_id="u", kinds=["fact"], filters=None, limit=50).items]
        old = [f for f in mem._store.get_memories(mem.space, [f.id for f in facts]) if f.status == "superseded"]
        assert len(server.chat_requests("updates")) == 1
        assert old and old[0].valid_to is not None
        new = next(f for f in facts if f.supersedes == old[0].id)
        assert [h.action for h in mem.history(old[0].id)] == ["create", "supersede"]
        assert new.status == "active"
        mem.close()


def test_llm_down_parks_jobs_then_retry_extracts_each_cell_once(tmp_path, embedder, monkeypatch):
    with ScriptedLLM() as server:
        mem = llm_memory(tmp_path, embedder, server)
        msgs = [{"speaker": s, "text": t, "timestamp": ts} for s, t, ts in CHAT]
        mem.add(msgs[:2], user_id="u", conversation_id="c", flush=True)  # extracted while the endpoint is up
        assert [c.status for c in mem._store.list_cells(mem.space, "c")] == ["extracted"]
        server.stop()  # the endpoint dies mid-ingest
        mem._queue.backoff_seconds = 0.0  # retries fall due at once: the inline run goes on until parked
        mem.add(msgs[2:], user_id="u", conversation_id="c", flush=True)
        assert mem.search("cat opens doors").hits  # raw turns stay searchable
        status = mem.status()
        assert status["counts"]["parked"] == 1 and "unreachable" in (status["jobs"][0]["error"] or "")
        server.restart()
        monkeypatch.setenv("ENGRAM_HOME", str(tmp_path / "home"))
        monkeypatch.setenv("ENGRAM_LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("ENGRAM_LLM_MODEL", "scripted")
        mem.close()
        out = CliRunner().invoke(cli, ["--json", "retry"], catch_exceptions=False)
        assert out.exit_code == 0, out.output
        mem = llm_memory(tmp_path, embedder, server)
        cells = mem._store.list_cells(mem.space, "c")
        episodes = mem.list(kinds=["episode"], limit=100).items
        assert cells and all(c.status == "extracted" for c in cells)
        assert sorted(e.cell_id for e in episodes) == sorted(c.id for c in cells)  # exactly once each
        assert mem.job_counts()["parked"] == 0 and mem.job_counts()["pending"] == 0
        status = json.loads(CliRunner().invoke(cli, ["--json", "status"]).output)
        assert len(cells) == 2 and status["llm_usage_done_jobs"]["llm_calls"] >= len(cells) + 1
        mem.close()


@pytest.mark.skipif(not LOCOMO.exists(), reason="LoCoMo is not beside this checkout (../shared/data)")
def test_cost_on_locomo_conv26(tmp_path, embedder):
    """At most one extraction call per MemCell, and each message sent to boundary
    detection at most twice, over a real 19-session conversation."""
    sample = json.loads(LOCOMO.read_text())[0]
    with ScriptedLLM() as server:
        mem = llm_memory(tmp_path, embedder, server)
        batches = locomo_batches(sample)
        n_messages = 0
        for b in batches:  # message by message, the worst case for boundary detection
            for m in b.messages:
                mem.add([m], conversation_id=b.conversation_id, session_id=b.session_id)
                n_messages += 1
        mem.flush()
        cells = mem._store.list_cells(mem.space, "conv-26")
        extraction_calls = len(server.chat_requests("extraction"))
        assert cells and all(c.status == "extracted" for c in cells)
        assert extraction_calls == len(cells)
        sent = Counter()
        for req in server.chat_requests("boundary"):
            for line in req["messages"][-1]["content"].splitlines():
                m = LINE_RE.match(line.strip())
                if m:
                    sent[(m.group(3), m.group(4), m.group(5))] += 1
        assert sent and max(sent.values()) <= 2
        assert sum(sent.values()) <= 2 * n_messages
        calls, tokens = mem._llm.usage.calls, mem._llm.usage.prompt_tokens
        print(f"conv-26: {n_messages} messages, {len(cells)} cells, {calls} LLM calls "
              f"({calls / n_messages:.2f}/message), {tokens / n_messages:.0f} prompt tokens/message")
        mem.close()


def test_agentic_recall_answer_and_ask(tmp_path, embedder, monkeypatch):
    with ScriptedLLM() as server:
        mem = llm_memory(tmp_path, embedder, server)
        mem.add([{"speaker": "Ana", "text": "We went on a hiking trip to Sintra last weekend.", "timestamp":
                  "2024-05-06T10:00:00Z", "id": "X1"},
                 {"speaker": "Bo", "text": "My weekend plans are a pottery class and a long nap.", "timestamp":
                  "2024-05-06T10:01:00Z", "id": "X2"}], user_id="u", conversation_id="c", flush=True)
        before = len(server.requests)
        res = mem.search("What did Ana do?", user_id="u", agentic=True)
        assert res.rounds == 2 and res.queries[1:] == ["hiking trip", "weekend plans"]
        assert len(server.requests) == before + 1  # one sufficiency call; the extra rounds are local
        answer = mem.answer("What did Ana do?", user_id="u", budget_tokens=300)
        assert answer.answer == "scripted answer" and answer.llm_calls == 2  # sufficiency + answer
        assert answer.message_ids and set(answer.message_ids) <= set(answer.context.message_ids)
        assert answer.context.tokens <= 300
        mem.close()
        monkeypatch.setenv("ENGRAM_HOME", str(tmp_path / "home"))
        monkeypatch.setenv("ENGRAM_LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("ENGRAM_LLM_MODEL", "scripted")
        out = CliRunner().invoke(cli, ["ask", "What did Ana do?", "--user", "u"], catch_exceptions=False)
        assert out.exit_code == 0 and "scripted answer" in out.output and "cites:" in out.output


def test_answer_without_an_llm_is_a_config_error(memory):
    from engramos import ConfigError

    with pytest.raises(ConfigError):
        memory.answer("anything")


def test_bench_locomo_quick_reports_llm_cost_and_qa(tmp_path, monkeypatch):
    """`engram bench locomo --qa` on a LoCoMo-shaped fixture with the scripted LLM:
    memories built with the LLM, cost per ingested message, judge accuracy and F1."""
    from tests.test_bench_smoke import _locomo_fixture

    data = tmp_path / "tiny.json"
    data.write_text(json.dumps(_locomo_fixture()))
    with ScriptedLLM() as server:
        monkeypatch.setenv("ENGRAM_HOME", str(tmp_path / "home"))
        monkeypatch.setenv("ENGRAM_LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("ENGRAM_LLM_MODEL", "scripted")
        out = tmp_path / "qa.json"
        res = CliRunner().invoke(cli, ["bench", "locomo", "--data", str(data), "--qa", "--judge-runs", "2",
                                       "--json", str(out), "--results", str(tmp_path / "r")], catch_exceptions=False)
        assert res.exit_code == 0, res.output
    results = json.loads(out.read_text())
    eng = results["systems"]["engramos"]
    assert eng["ingest"]["llm"] == "llm:scripted" and eng["ingest"]["llm_calls_per_message"] > 0
    assert eng["ingest"]["prompt_tokens_per_message"] > 0
    assert eng["overall"]["qa_judge"] == 100.0  # the scripted judge says CORRECT
    assert 0 <= eng["overall"]["qa_f1"] <= 100 and eng["overall"]["qa_judge_calls"] == 2.0
    assert "qa_judge" not in results["systems"]["bm25"]["overall"]
    assert "QA with llm:scripted" in (tmp_path / "r" / "locomo.md").read_text()


def test_token_f1():
    from engramos.bench.qa import token_f1

    assert token_f1("7 May 2023", "7 May 2023") == 1.0
    assert token_f1("on 7 May", "7 May 2023") == pytest.approx(2 * (2 / 3) * (2 / 3) / (4 / 3))
    assert token_f1("Porto", "Lisbon") == 0.0


def test_profile_compaction_when_over_cap(tmp_path, embedder):
    with ScriptedLLM() as server:
        mem = llm_memory(tmp_path, embedder, server, profile_cap=2)
        for i, thing in enumerate(["green tea", "long walks", "jazz records"]):
            mem.add([{"speaker": "Ana", "text": f"I like {thing}.", "timestamp": f"2024-0{i + 1}-01T10:00:00Z"}],
                    user_id="u", conversation_id="c", flush=True)
        profile = mem.list(user_id="u", kinds=["profile"], limit=50).items
        active = [p for p in profile if p.status == "active"]
        assert len(active) <= 2
        compacted = [p for p in active if "compacted_from" in p.metadata]
        assert compacted and compacted[0].text == "Ana: likes — 3 merged values"
        assert len(compacted[0].metadata["compacted_from"]) == 3
        for old in compacted[0].metadata["compacted_from"]:
            assert mem.get(old).status == "superseded"
            assert mem.history(old)[-1].action == "supersede"
        mem.close()


def test_chinese_conversation_uses_the_chinese_prompts(tmp_path, embedder):
    with ScriptedLLM() as server:
        mem = llm_memory(tmp_path, embedder, server)
        mem.add([{"speaker": "玛雅", "text": "我上周五去了上海看望奶奶。", "timestamp": "2024-04-20T09:36:00+08:00"},
                 {"speaker": "李奥", "text": "太好了，奶奶身体怎么样？", "timestamp": "2024-04-20T09:37:00+08:00"}],
                user_id="u", conversation_id="zh", flush=True)
        boundary = [r for r in server.requests if "切分" in r["messages"][0]["content"]]
        extraction = [r for r in server.requests if "提取长期记忆" in r["messages"][0]["content"]]
        assert len(boundary) == 1 and len(extraction) == 1
        episode = mem.list(user_id="u", kinds=["episode"]).items[0]
        assert "玛雅" in episode.text and episode.produced_by == "llm:scripted"
        assert mem.search("玛雅去上海看谁？", user_id="u").hits
        mem.close()


def test_updates_are_found_by_slot_not_only_by_cosine(tmp_path, embedder):
    """Issue 13 part 2: "lives in Leeds" / "moved to Glasgow" (cosine under 0.9) reach the
    labelling call because both are about where Ana lives; three homes leave one current
    value and a chain; one labelling call per MemCell at most."""
    with ScriptedLLM() as server:
        mem = llm_memory(tmp_path, embedder, server)
        homes = [("I live in Bristol with two flatmates.", "2021-09-01"),
                 ("Last week I moved to Cardiff for work.", "2022-10-01"),
                 ("I moved to Edinburgh to be with my partner.", "2024-03-15")]
        for i, (text, day) in enumerate(homes):
            mem.add([{"speaker": "Maya", "text": text, "timestamp": f"{day}T10:00:00Z"}], user_id="u",
                    conversation_id=f"c{i}", flush=True)
        facts = mem._store.list_memories(mem.space, Filters(user_id="u", kinds=["fact"], include_inactive=True),
                                         limit=50).items
        current = [f for f in facts if f.status == "active"]
        assert [f.text for f in current] == ["Maya said that I moved to Edinburgh to be with my partner."]
        by_id = {f.id: f for f in facts}
        chain, node = [], current[0]
        while node.supersedes:
            node = by_id[node.supersedes]
            chain.append(node.text)
        assert len(chain) == 2 and "Cardiff" in chain[0] and "Bristol" in chain[1]
        assert len(server.chat_requests("updates")) <= 2  # the 2nd and 3rd cells; never more than one per cell
        assert all(f.valid_to is not None for f in facts if f.status == "superseded")
        mem.close()


def test_an_indirect_update_is_found_by_subject_and_attribute(tmp_path, embedder):
    """Issue 13 part 2 with an LLM: the extraction call names the slot a fact states (no
    extra call), so "our new flat in Porto" reaches the labelling call as a candidate
    update of "I live in Coimbra" by subject and attribute, whatever the cosine."""
    with ScriptedLLM() as server:
        mem = llm_memory(tmp_path, embedder, server)
        for i, (text, day) in enumerate([("I live in Coimbra, near the old university.", "2023-02-01"),
                                         ("The movers dropped the last boxes at our new flat in Porto.",
                                          "2024-05-01")]):
            mem.add([{"speaker": "Rui", "text": text, "timestamp": f"{day}T10:00:00Z"}], user_id="u",
                    conversation_id=f"c{i}", flush=True)
        facts = mem._store.list_memories(mem.space, Filters(user_id="u", kinds=["fact"], include_inactive=True),
                                         limit=50).items
        by_value = {f.metadata.get("value"): f for f in facts}
        assert by_value["Coimbra"].status == "superseded" and by_value["Porto"].supersedes == by_value["Coimbra"].id
        sent = server.chat_requests("updates")
        assert len(sent) == 1 and "Coimbra" in json.dumps(sent[0])
        mem.close()


def test_a_duplicate_adds_evidence_to_the_older_fact(tmp_path, embedder):
    """A restatement the labelling call calls a duplicate is not a new row: the older fact
    gains the new message as evidence (and the profile items carry subject, evidence,
    confidence and nature as offline ones do)."""
    with ScriptedLLM() as server:
        mem = llm_memory(tmp_path, embedder, server)
        for i, day in enumerate(["2024-01-10", "2024-02-10"]):
            mem.add([{"speaker": "Sam", "text": "I work as a paramedic in Leeds.", "timestamp": f"{day}T10:00:00Z"}],
                    user_id="u", conversation_id=f"c{i}", flush=True)
        facts = mem._store.list_memories(mem.space, Filters(user_id="u", kinds=["fact"]), limit=50).items
        assert len(facts) == 1
        said = [m.id for c in ("c0", "c1") for m in mem.messages(c)]
        assert facts[0].metadata["evidence"] == said and facts[0].metadata["confidence"] > 0.9
        (job,) = [p for p in mem.profile(user_id="u") if p.status == "active"]
        assert job.metadata["subject"] == "Sam" and job.metadata["explicit"] is True
        assert job.metadata["nature"] == "state" and job.metadata["evidence"] == said  # said twice
        mem.close()

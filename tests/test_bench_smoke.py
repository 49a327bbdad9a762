"""The harness end to end on tiny fixtures the project writes (LoCoMo and LongMemEval
shapes), through the CLI, with reports."""

from __future__ import annotations

import json

from click.testing import CliRunner

from engramos.bench.datasets import load_longmemeval
from engramos.cli import cli


def _locomo_fixture() -> list[dict]:
    s1 = [("Ana", "I adopted a grey cat named Miso yesterday."), ("Ben", "Congrats! I started a pottery class."),
          ("Ana", "Miso loves the sunny windowsill."), ("Ben", "My pottery teacher is from Kyoto.")]
    s2 = [("Ana", "I ran my first half marathon last Sunday."), ("Ben", "Amazing, what was your time?"),
          ("Ana", "Two hours and five minutes."), ("Ben", "I am moving to Porto next month for work.")]
    conv = {"speaker_a": "Ana", "speaker_b": "Ben",
            "session_1_date_time": "10:00 am on 3 March, 2024", "session_2_date_time": "6:30 pm on 20 April, 2024",
            "session_1": [{"speaker": s, "dia_id": f"D1:{i + 1}", "text": t} for i, (s, t) in enumerate(s1)],
            "session_2": [{"speaker": s, "dia_id": f"D2:{i + 1}", "text": t} for i, (s, t) in enumerate(s2)]}
    qa = [
        {"question": "When did Ana adopt her cat?", "answer": "2 March 2024", "evidence": ["D1:1"], "category": 2},
        {"question": "Where is Ben moving?", "answer": "Porto", "evidence": ["D2:4"], "category": 4},
        {"question": "What did Ana run and how long did it take?", "answer": "half marathon",
         "evidence": ["D2:1", "D2:3; D9:99"], "category": 1},
        {"question": "What is Ben's cat called?", "adversarial_answer": "Miso", "evidence": ["D1:1"], "category": 5},
        {"question": "Would Ana enjoy a cat cafe?", "answer": "Likely yes", "evidence": [], "category": 3},
    ]
    return [{"sample_id": "tiny-1", "conversation": conv, "qa": qa}]


def _longmemeval_fixture() -> list[dict]:
    def sess(*turns):
        return [{"role": r, "content": c, **({"has_answer": True} if h else {})} for r, c, h in turns]

    return [
        {"question_id": "q1", "question_type": "single-session-user", "question": "What breed is my dog?",
         "answer": "a beagle", "question_date": "2023/06/01 (Thu) 10:00",
         "haystack_session_ids": ["s_a", "s_b"], "haystack_dates": ["2023/05/01 (Mon) 09:00", "2023/05/20 (Sat) 18:00"],
         "haystack_sessions": [sess(("user", "I bought a new laptop for work.", False),
                                    ("assistant", "Nice, which model?", False)),
                               sess(("user", "My dog is a beagle named Pepper.", True),
                                    ("assistant", "Beagles are lovely.", False))],
         "answer_session_ids": ["s_b"]},
        {"question_id": "q2_abs", "question_type": "single-session-user", "question": "What is my cat's name?",
         "answer": "not mentioned", "question_date": "2023/06/01 (Thu) 10:00",
         "haystack_session_ids": ["s_c"], "haystack_dates": ["2023/05/02 (Tue) 09:00"],
         "haystack_sessions": [sess(("user", "I like hiking.", False))], "answer_session_ids": []},
    ]


def test_locomo_shaped_fixture_through_the_cli(tmp_path, monkeypatch):
    data = tmp_path / "tiny.json"
    data.write_text(json.dumps(_locomo_fixture()))
    monkeypatch.setenv("ENGRAM_HOME", str(tmp_path / "home"))
    out = tmp_path / "out.json"
    res = CliRunner().invoke(cli, ["bench", "locomo", "--data", str(data), "--json", str(out),
                                   "--results", str(tmp_path / "results")], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    results = json.loads(out.read_text())
    assert set(results["systems"]) == {"engramos", "bm25", "dense", "bm25+dense"}
    eng = results["systems"]["engramos"]
    assert eng["overall"]["n"] == 5 and eng["overall"]["n_with_evidence"] == 4  # empty evidence left out
    for key in ["recall@1", "recall@50", "recall@256tok", "recall@2048tok", "answer@512tok", "tokens@512tok",
                "session@5"]:
        assert key in eng["overall"], key
    assert set(eng["by_category"]) == {"temporal", "single-hop", "multi-hop", "adversarial", "open-domain"}
    assert eng["overall"]["recall@50"] == 100.0  # 8 turns: everything is within reach
    assert eng["latency_ms"]["p95"] > 0 and eng["ingest"]["messages"] == 8
    assert "published" in results and (tmp_path / "results" / "locomo.png").stat().st_size > 1000
    assert "| engramos |" in (tmp_path / "results" / "locomo.md").read_text()
    assert "D9:99" not in json.dumps(results)
    assert "halves" not in eng  # one conversation, neither of LoCoMo's halves complete


def test_the_informal_variant_and_the_halves(tmp_path, monkeypatch):
    """``--variant informal``: turns split into short messages, some lower-cased without
    punctuation; a retrieved piece counts as its turn, so every system still finds the
    gold turns; with a conversation in each of LoCoMo's halves, both halves are reported."""
    first, second = _locomo_fixture()[0], _locomo_fixture()[0]
    first["sample_id"], second["sample_id"] = "conv-26", "conv-50"
    first["conversation"]["session_1"][0]["text"] = "I adopted a grey cat named Miso yesterday. She is tiny!"
    data = tmp_path / "two.json"
    data.write_text(json.dumps([first, second]))
    monkeypatch.setenv("ENGRAM_HOME", str(tmp_path / "home"))
    out = tmp_path / "out.json"
    res = CliRunner().invoke(cli, ["bench", "locomo", "--data", str(data), "--variant", "informal", "--json",
                                   str(out), "--results", str(tmp_path / "results")], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    results = json.loads(out.read_text())
    assert results["variant"] == "informal"
    for name, r in results["systems"].items():
        assert r["ingest"]["messages"] == 19, name  # 8 + 8 turns; "Congrats! I started..." twice and one more split
        assert r["overall"]["recall@50"] == 100.0, name  # the pieces map back to the gold turns
        assert set(r["halves"]) == {"tune", "test"} and r["halves"]["test"]["overall"]["n"] == 5, name
    report = (tmp_path / "results" / "locomo-informal.md").read_text()
    assert "informal variant" in report and "| engramos | test |" in report


def test_longmemeval_loader_and_run(tmp_path, monkeypatch):
    data = tmp_path / "lme.json"
    data.write_text(json.dumps(_longmemeval_fixture()))
    convs = load_longmemeval(data)
    q1 = convs[0].questions[0]
    assert q1.evidence_turns == {"s_b:0"} and q1.evidence_sessions == {"s_b"}
    assert q1.reference_time.isoformat().startswith("2023-06-01T10:00")
    assert convs[1].questions[0].abstention
    monkeypatch.setenv("ENGRAM_HOME", str(tmp_path / "home"))
    out = tmp_path / "lme-out.json"
    res = CliRunner().invoke(cli, ["bench", "longmemeval", "--data", str(data), "--json", str(out),
                                   "--results", str(tmp_path / "r")], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    results = json.loads(out.read_text())
    for name, r in results["systems"].items():
        assert r["overall"]["n"] == 1, name  # the abstention question is excluded
        assert r["overall"]["session_any@5"] == 100.0
        assert "turn_ndcg@10" in r["overall"]


def test_scale_smoke(tmp_path, monkeypatch):
    monkeypatch.setenv("ENGRAM_HOME", str(tmp_path / "home"))
    out = tmp_path / "scale.json"
    res = CliRunner().invoke(cli, ["bench", "scale", "--sizes", "2k,4k", "--users", "10", "--queries", "20",
                                   "--json", str(out), "--results", str(tmp_path / "r")], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    results = json.loads(out.read_text())
    rows = results["layouts"]["one user"]
    assert [r["size"] for r in rows] == [2000, 4000]
    assert rows[1]["store_mb"] > rows[0]["store_mb"] > 0
    assert rows[1]["store_mb"] > rows[1]["index_mb"] > rows[0]["index_mb"] > 0
    assert all(r["target_in_top10"] > 0.8 and r["live_ingest_per_s"] > 0 and not r["bulk"]
               for layout in results["layouts"].values() for r in layout)
    bad = CliRunner().invoke(cli, ["bench", "scale", "--sizes", "ten"])
    assert bad.exit_code == 2 and "--sizes" in bad.output


def test_working_memory_bench_smoke(tmp_path, monkeypatch):
    data = tmp_path / "tiny.json"
    data.write_text(json.dumps(_locomo_fixture()))
    monkeypatch.setenv("ENGRAM_HOME", str(tmp_path / "home"))
    out = tmp_path / "wm.json"
    res = CliRunner().invoke(cli, ["bench", "working-memory", "--data", str(data), "--json", str(out),
                                   "--results", str(tmp_path / "r")], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    result = json.loads(out.read_text())
    assert set(result["rows"]) == {"plain 1024", "working 1024", "plain 2048", "working 2048"}
    assert all(r["questions"] == 4 for r in result["rows"].values())
    # the working prompt repeats its block from one question to the next; the plain one only its header
    assert result["rows"]["working 1024"]["prefix_reuse"] > result["rows"]["plain 1024"]["prefix_reuse"]
    assert result["scheduler"]["refresh_jobs_left"] == 0
    ttft = result["ttft"]  # the local runtime is installed by the test command
    assert ttft["questions"] == ttft["same_first_token"] == 5 and ttft["state_mb"] > 0
    assert "| working | 1024 |" in (tmp_path / "r" / "working-memory.md").read_text()


def test_cube_bench_smoke(tmp_path, monkeypatch):
    monkeypatch.setenv("ENGRAM_HOME", str(tmp_path / "home"))
    out = tmp_path / "cube.json"
    res = CliRunner().invoke(cli, ["bench", "cube", "--sizes", "1k", "--json", str(out), "--results",
                                   str(tmp_path / "r")], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    row = json.loads(out.read_text())["rows"][0]
    assert row["memories"] == 1000 and 0 < row["cube_mb"] < row["store_mb"]
    assert all(row[f"{step}_s"] > 0 and row[f"{step}_start_mb"] > 10 for step in ("export", "verify", "import",
                                                                                 "migrate"))
    assert "| export |" in (tmp_path / "r" / "cube.md").read_text()


def test_mem0_peer_when_installed(tmp_path):
    """mem0 is an optional peer (``--peers mem0``); this runs wherever mem0ai, langchain
    and qdrant-client are installed, and is reported as skipped elsewhere."""
    import pytest

    pytest.importorskip("mem0")
    pytest.importorskip("langchain")
    from engramos.bench import benchmark
    from engramos.bench.datasets import load_locomo

    data = tmp_path / "tiny.json"
    data.write_text(json.dumps(_locomo_fixture()))
    results = benchmark("locomo", load_locomo(data), peers=["mem0"])
    assert results["systems"]["mem0"]["overall"]["recall@50"] == 100.0


def test_bench_memory_runs_the_three_systems_and_flags_what_changed(tmp_path):
    import json

    from click.testing import CliRunner

    from engramos.cli import cli

    out = tmp_path / "memory.json"
    result = CliRunner().invoke(cli, ["--home", str(tmp_path / "h"), "bench", "memory", "--split", "dev",
                                      "--json", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "| engramos | dev | all | all |" in result.output
    data = json.loads(out.read_text())
    overall = {s["system"]: s for s in data["summary"] if s["lang"] == "all" and s["category"] == "all"}
    assert set(overall) == {"engramos", "bm25", "bm25+recency"}
    assert all(0 <= s[m] <= 100 for s in overall.values() for m in ("current@1", "current>stale"))
    assert {r["lang"] for r in data["rows"]} == {"en", "zh"} and data["probes"] == len(data["rows"]) // 3
    # the baselines show every stale turn they retrieve as it is; EngramOS says it no longer holds
    assert overall["engramos"]["stale unflagged"] < overall["bm25"]["stale unflagged"]


def test_latency_bench_on_sqlite_beside_postgres(tmp_path, monkeypatch, postgres_url):
    data = tmp_path / "tiny.json"
    data.write_text(json.dumps(_locomo_fixture()))
    monkeypatch.setenv("ENGRAM_HOME", str(tmp_path / "home"))
    out = tmp_path / "latency.json"
    res = CliRunner().invoke(cli, ["bench", "latency", "--data", str(data), "--postgres", postgres_url,
                                   "--conversations", "1", "--dialogues", "10", "--json", str(out),
                                   "--results", str(tmp_path / "r")], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    results = json.loads(out.read_text())
    assert [b["backend"] for b in results["backends"].values()] == ["sqlite", "postgresql"]
    for backend in results["backends"].values():
        rows = backend["rows"]
        assert len(rows) == 5 and all(r["p50"] > 0 for r in rows.values() if r["n"])
        assert any("whole text embedded" in name for name in rows)
    assert "PostgreSQL p50 / p95 / p99 ms" in (tmp_path / "r" / "latency.md").read_text()
    bad = CliRunner().invoke(cli, ["bench", "latency", "--data", str(data), "--dialogues", "5"])
    assert bad.exit_code == 2 and "--dialogues" in bad.output


def test_the_dialogue_variant_asks_each_question_after_the_recent_turns(tmp_path, monkeypatch):
    from engramos.bench.datasets import load_locomo
    from engramos.bench.variants import DIALOGUE_CONTEXT, dialogue

    data = tmp_path / "tiny.json"
    data.write_text(json.dumps(_locomo_fixture()))
    [orig], [conv] = load_locomo(data), dialogue(load_locomo(data))
    for before, after in zip(orig.questions, conv.questions, strict=True):
        *recent, last = after.text.splitlines()
        assert last == before.text and after.evidence_turns == before.evidence_turns
        assert recent[-1] == orig.sessions[-1][2][-1].render() and len("".join(recent)) <= DIALOGUE_CONTEXT
    monkeypatch.setenv("ENGRAM_HOME", str(tmp_path / "home"))
    out = tmp_path / "out.json"
    res = CliRunner().invoke(cli, ["bench", "locomo", "--data", str(data), "--variant", "dialogue", "--json",
                                   str(out), "--results", str(tmp_path / "results")], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert json.loads(out.read_text())["variant"] == "dialogue"
    assert "(dialogue variant)" in (tmp_path / "results" / "locomo-dialogue.md").read_text()

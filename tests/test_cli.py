"""The CLI, including every example in the README's console block."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from engramos.cli import cli

ROOT = Path(__file__).resolve().parents[1]


def _readme_examples() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```console\n(.*?)```", text, re.S)
    assert block, "README has a console block of CLI examples"
    return [line[2:] for line in block.group(1).splitlines() if line.startswith("$ engram ")]


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("ENGRAM_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(ROOT)
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True):
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return invoke


def test_readme_examples_run(run, tmp_path):
    examples = _readme_examples()
    assert len(examples) >= 8
    memory_id = None
    for line in examples:
        args = shlex.split(line)[1:]
        if "MEMORY_ID" in args:
            args[args.index("MEMORY_ID")] = memory_id
        args = [str(tmp_path / a) if a.endswith(".cube") else a for a in args]  # files out of the checkout
        result = run(*args)
        if args[:2] == ["--json", "search"]:
            hits = json.loads(result.output)["hits"]
            assert "Lisbon" in hits[0]["memory"]["text"] and "1 March 2024" in hits[0]["memory"]["text"]
            memory_id = hits[0]["memory"]["id"]


def test_demo_prints_dated_cited_hits_and_context(run):
    out = run("demo").output
    assert "Q: When did Maya adopt her dog?" in out
    assert "yesterday (3 March 2024)" in out and "cites: S1:1" in out
    assert "# Memory" in out and "tokens" in out
    assert "上周五（2024年4月12日）" in out  # the Chinese message, recalled with its resolved date


def test_json_output_and_errors(run):
    run("add", "hello there", "--speaker", "Ana", "--time", "2024-01-01T00:00:00Z")
    data = json.loads(run("--json", "list").output)
    assert data["items"][0]["kind"] == "turn"
    bad = run("add", "hi", "--time", "not-a-time", ok=False)
    assert bad.exit_code == 2 and "messages[0].timestamp" in bad.output
    missing = run("history", "mem_nope", ok=False)
    assert missing.exit_code == 2 and "not found" in missing.output
    both = run("forget", "--user", "a", "--conversation", "b", "--yes", ok=False)
    assert both.exit_code == 2


def test_ingest_jsonl_and_doctor(run, tmp_path):
    f = tmp_path / "chat.jsonl"
    lines = [{"speaker": "Bo", "text": f"Bo line {i} about sailing", "timestamp": 1700000000 + i,
              "conversation_id": "boat"} for i in range(3)]
    f.write_text("\n".join(json.dumps(line) for line in lines))
    out = json.loads(run("--json", "ingest", str(f)).output)
    assert out["inserted"] == 3 and out["conversations"] == 1
    again = json.loads(run("--json", "ingest", str(f)).output)
    assert again["inserted"] == 0 and again["duplicates"] == 3
    doc = json.loads(run("--json", "doctor").output)
    assert doc["store"]["integrity"] == "ok" and doc["store"]["rows_messages"] == 3
    assert doc["tokenizer"].startswith("cl100k_base")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert "not valid JSON" in run("ingest", str(bad), ok=False).output


def test_every_command_has_help(run):
    for cmd in ["demo", "add", "ingest", "search", "context", "list", "history", "forget", "doctor"]:
        assert "Usage:" in run(cmd, "--help").output


def test_readme_bench_examples_name_real_commands_and_options(run):
    text = (ROOT / "README.md").read_text()
    lines = [ln.split("#")[0].strip() for ln in text.splitlines() if ln.startswith("engram bench ")]
    assert len(lines) >= 4
    for line in lines:
        # --help after the real options: click rejects an unknown option before printing help
        result = run(*shlex.split(line)[1:], "--help")
        assert "Usage:" in result.output
    bad = run("bench", "locomo", "--no-such-option", "--help", ok=False)
    assert bad.exit_code == 2


def test_keys_create_list_revoke(run):
    created = json.loads(run("--json", "keys", "create", "--space", "A", "--role", "read", "--user", "u1").output)
    secret, key_id = created["secret"], created["key"]["id"]
    assert secret.startswith("engram_") and created["key"]["users"] == ["u1"]
    listed = json.loads(run("--json", "--space", "A", "keys", "list").output)
    assert [k["id"] for k in listed] == [key_id] and "secret" not in json.dumps(listed)
    assert secret not in json.dumps(listed)
    assert "revoked" in run("keys", "revoke", key_id).output
    again = run("keys", "revoke", key_id, ok=False)
    assert again.exit_code == 2 and "already revoked" in again.output

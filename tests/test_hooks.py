"""Coding-agent memory (``engram hooks``): ``install`` writes each host's configuration
in a temporary home, and the hook commands it wrote are then run, as the host would run
them, with recorded payloads (tests/data/hooks/), end to end."""

from __future__ import annotations

import json
import os
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from engramos import Memory
from engramos.integrations.coding_agents import notes_in, repo_of

DATA = Path(__file__).parent / "data" / "hooks"
ORIGIN = "git@example.com:acme/shop.git"
SESSION = "3f2b9c1e-8d4a-4c55-9e0f-1a2b3c4d5e6f"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    return {**os.environ, "HOME": str(home), "ENGRAM_HOME": str(tmp_path / "engram"), "ENGRAM_HOOKS_USER": "dev",
            "CODEX_HOME": str(home / ".codex")}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    (root / ".git").mkdir(parents=True)
    (root / ".git" / "config").write_text(f'[core]\n\tbare = false\n[remote "origin"]\n\turl = {ORIGIN}\n'
                                          '\tfetch = +refs/heads/*:refs/remotes/origin/*\n')
    (root / "src").mkdir()
    return root


def payload(name: str, **values: str) -> str:
    text = (DATA / name).read_text()
    for key, value in values.items():
        text = text.replace("{" + key + "}", json.dumps(value)[1:-1])
    return text


def engram(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["engram", *args], env=env, capture_output=True, text=True, timeout=300)


def hook(command: str | list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    argv = command if isinstance(command, list) else ["bash", "-c", command]
    return subprocess.run(argv, input=stdin, env=env, capture_output=True, text=True, timeout=300)


def memories(env: dict[str, str], **filters: Any) -> list[Any]:
    with Memory(env["ENGRAM_HOME"]) as mem:
        return mem.list(user_id="dev", limit=200, **filters).items


def test_repository_identity_and_notes():
    assert notes_in("We decided to keep PostgreSQL 16. Is that fine? The root cause was a race.") == [
        ("decision", "We decided to keep PostgreSQL 16."), ("fix", "The root cause was a race.")]
    assert notes_in("Always?") == [] and notes_in("ok") == []


def test_claude_code_end_to_end(env: dict[str, str], repo: Path, tmp_path: Path):
    home = Path(env["HOME"])
    settings_file = home / ".claude" / "settings.json"
    settings_file.parent.mkdir()
    mine = {"matcher": "Bash", "hooks": [{"type": "command", "command": "echo checked"}]}
    settings_file.write_text(json.dumps({"model": "opus", "hooks": {"PreToolUse": [mine]}}))
    assert engram(env, "hooks", "install", "--agent", "claude-code").returncode == 0
    assert engram(env, "hooks", "install", "--agent", "claude-code").returncode == 0  # again: nothing doubled
    settings = json.loads(settings_file.read_text())
    assert settings["model"] == "opus" and settings["hooks"]["PreToolUse"] == [mine]
    for event in ("SessionStart", "UserPromptSubmit", "Stop", "SessionEnd"):
        assert len(settings["hooks"][event]) == 1
    server = json.loads((home / ".claude.json").read_text())["mcpServers"]["engramos"]
    assert server["args"][-1] == "mcp" and server["env"]["ENGRAM_HOME"] == env["ENGRAM_HOME"]

    def command(event: str) -> str:
        return str(settings["hooks"][event][0]["hooks"][0]["command"])

    transcript = tmp_path / "transcript.jsonl"
    transcript.write_text(payload("claude_code_transcript.jsonl", cwd=str(repo / "src"), session=SESSION))
    values = {"cwd": str(repo / "src"), "transcript": str(transcript), "session": SESSION}
    stop = hook(command("Stop"), env, payload("claude_code_stop.json", **values))
    assert stop.returncode == 0 and stop.stdout == "" and stop.stderr == "", stop.stderr
    with Memory(env["ENGRAM_HOME"]) as mem:
        stored = mem.messages(f"claude-code-{SESSION}")
    assert [m.role for m in stored] == ["user", "assistant", "assistant", "user", "assistant"]  # no tool result
    assert stored[2].content.startswith("The root cause was") and stored[0].metadata["repo"] == ORIGIN
    assert hook(command("Stop"), env, payload("claude_code_stop.json", **values)).returncode == 0
    with Memory(env["ENGRAM_HOME"]) as mem:
        assert len(mem.messages(f"claude-code-{SESSION}")) == 5  # the second stop stored nothing new
    assert hook(command("SessionEnd"), env, payload("claude_code_session_end.json", **values)).returncode == 0
    notes = {m.metadata["note"]: m.text for m in memories(env, metadata={"repo": ORIGIN, "note": {"exists": True}})}
    assert set(notes) == {"fix", "decision", "convention"}
    assert "root cause" in notes["fix"] and "PostgreSQL 16" in notes["decision"]

    # a new session in the same repository starts with what was learnt
    started = hook(command("SessionStart"), env, payload("claude_code_session_start.json", **values))
    assert started.returncode == 0, started.stderr
    context = json.loads(started.stdout)["hookSpecificOutput"]
    assert context["hookEventName"] == "SessionStart"
    assert "make migrate" in context["additionalContext"] and "PostgreSQL 16" in context["additionalContext"]
    asked = hook(command("UserPromptSubmit"), env, payload("claude_code_prompt.json", **values))
    answer = json.loads(asked.stdout)["hookSpecificOutput"]
    assert answer["hookEventName"] == "UserPromptSubmit" and "make migrate" in answer["additionalContext"]

    assert engram(env, "hooks", "uninstall", "--agent", "claude-code").returncode == 0
    after = json.loads(settings_file.read_text())
    assert after["hooks"] == {"PreToolUse": [mine]}
    assert "engramos" not in json.loads((home / ".claude.json").read_text())["mcpServers"]


def test_project_scope_writes_the_project_files(env: dict[str, str], repo: Path):
    done = engram(env, "--json", "hooks", "install", "--agent", "claude-code", "--scope", "project", "--dir", str(repo))
    assert done.returncode == 0, done.stderr
    assert json.loads((repo / ".mcp.json").read_text())["mcpServers"]["engramos"]["type"] == "stdio"
    assert "UserPromptSubmit" in json.loads((repo / ".claude" / "settings.json").read_text())["hooks"]


def test_cursor_end_to_end(env: dict[str, str], repo: Path):
    assert engram(env, "hooks", "install", "--agent", "cursor").returncode == 0
    config = json.loads((Path(env["HOME"]) / ".cursor" / "hooks.json").read_text())
    assert config["version"] == 1
    assert "engramos" in json.loads((Path(env["HOME"]) / ".cursor" / "mcp.json").read_text())["mcpServers"]
    values = {"cwd": str(repo)}
    submitted = hook(config["hooks"]["beforeSubmitPrompt"][0]["command"], env,
                     payload("cursor_before_submit_prompt.json", **values))
    assert submitted.returncode == 0 and json.loads(submitted.stdout) == {"continue": True}, submitted.stderr
    answered = hook(config["hooks"]["afterAgentResponse"][0]["command"], env,
                    payload("cursor_after_agent_response.json", **values))
    assert answered.returncode == 0 and json.loads(answered.stdout) == {}
    notes = memories(env, metadata={"repo": ORIGIN, "note": "convention"})
    assert any("pnpm" in n.text for n in notes)
    with Memory(env["ENGRAM_HOME"]) as mem:
        assert [m.role for m in mem.messages("cursor-c-7d1e")] == ["user", "assistant"]


def test_codex_end_to_end(env: dict[str, str], repo: Path):
    config_file = Path(env["CODEX_HOME"]) / "config.toml"
    config_file.parent.mkdir(parents=True)
    config_file.write_text('model = "gpt-5-codex"\n\n[mcp_servers.docs]\ncommand = "docs-mcp"\n')
    assert engram(env, "hooks", "install", "--agent", "codex").returncode == 0
    config = tomllib.loads(config_file.read_text())
    assert config["model"] == "gpt-5-codex" and config["mcp_servers"]["docs"]["command"] == "docs-mcp"
    assert config["mcp_servers"]["engramos"]["args"][-1] == "mcp"
    notify = config["notify"]
    ran = hook([*notify, payload("codex_notify.json", cwd=str(repo))], env)
    assert ran.returncode == 0 and ran.stderr == "", ran.stderr
    assert any("unbounded retry loop" in n.text for n in memories(env, metadata={"note": "fix"}))
    # installing twice keeps one block; a foreign notify is not overwritten
    assert engram(env, "hooks", "install", "--agent", "codex").returncode == 0
    assert config_file.read_text().count("notify =") == 1
    assert engram(env, "hooks", "uninstall", "--agent", "codex").returncode == 0
    assert "notify" not in tomllib.loads(config_file.read_text())
    config_file.write_text('notify = ["my-notifier"]\n')
    refused = engram(env, "hooks", "install", "--agent", "codex")
    assert refused.returncode == 2 and "notify" in refused.stderr + refused.stdout
    assert config_file.read_text() == 'notify = ["my-notifier"]\n'


def test_a_broken_configuration_is_not_overwritten(env: dict[str, str]):
    settings_file = Path(env["HOME"]) / ".claude" / "settings.json"
    settings_file.parent.mkdir()
    settings_file.write_text("{not json")
    refused = engram(env, "hooks", "install", "--agent", "claude-code")
    assert refused.returncode == 2 and "not valid JSON" in refused.stdout + refused.stderr
    assert settings_file.read_text() == "{not json"


def test_a_failing_hook_never_breaks_the_host(env: dict[str, str], repo: Path):
    broken = {**env, "ENGRAM_DB": "postgresql://nobody@127.0.0.1:1/nothing?connect_timeout=1"}
    ran = subprocess.run(["engram", "hooks", "run", "prompt", "--agent", "claude-code"], env=broken, text=True,
                         input=payload("claude_code_prompt.json", cwd=str(repo), transcript="", session=SESSION),
                         capture_output=True, timeout=300)
    assert ran.returncode == 0 and ran.stdout == "" and "prompt failed" in ran.stderr


def test_repo_of_without_git(tmp_path: Path):
    found = repo_of(str(tmp_path))
    assert found.root is None and found.key == str(tmp_path.resolve())

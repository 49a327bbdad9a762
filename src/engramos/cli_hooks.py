"""``engram hooks``: give a coding agent a memory (integrations/coding_agents.py).

``engram hooks install --agent claude-code|cursor|codex`` writes the host's
configuration (its hooks, and EngramOS as an MCP server), merging with what is there and
replacing only EngramOS's own entries; ``uninstall`` removes them; ``run`` is what the
hooks call, with the host's JSON payload on stdin (Codex: as the last argument)."""

from __future__ import annotations

import getpass
import json
import os
import re
import shlex
import shutil
import sys
import tomllib
from pathlib import Path
from typing import Any

import click

from .cli_common import State, _errors, pass_state
from .client import Client
from .errors import InvalidInputError
from .integrations.coding_agents import HOSTS, Hooks

# how an entry of ours is recognised in a host's configuration
MARK = re.compile(r"engram\S*\s+hooks\s+run|engramos\.cli\s+hooks\s+run")
_ENV = ("ENGRAM_HOME", "ENGRAM_DB", "ENGRAM_SPACE", "ENGRAM_URL", "ENGRAM_API_KEY", "ENGRAM_HOOKS_USER")
CLAUDE_EVENTS = {"SessionStart": "session-start", "UserPromptSubmit": "prompt", "Stop": "stop",
                 "SessionEnd": "session-end"}
CURSOR_EVENTS = {"beforeSubmitPrompt": "prompt", "afterAgentResponse": "response"}
_TOML_BEGIN, _TOML_END = "# >>> engramos (engram hooks install) >>>", "# <<< engramos <<<"


@click.group()
def hooks() -> None:
    """Memory for coding agents (Claude Code, Cursor, Codex) through their hooks and MCP."""


def _engram() -> list[str]:
    found = shutil.which("engram")
    return [found] if found else [sys.executable, "-m", "engramos.cli"]


def _env() -> dict[str, str]:
    return {k: os.environ[k] for k in _ENV if os.environ.get(k)}


def _command(event: str, host: str) -> str:
    env = [f"{k}={shlex.quote(v)}" for k, v in _env().items()]
    return " ".join([*env, *(shlex.quote(p) for p in _engram()), "hooks", "run", event, "--agent", host])


def _home() -> Path:
    return Path(os.environ.get("HOME") or Path.home())


def _read_json(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text() or "{}")
    except ValueError as exc:
        raise InvalidInputError(str(path), f"is not valid JSON ({exc}); fix or move it, nothing was written") from exc
    if not isinstance(data, dict):
        raise InvalidInputError(str(path), "is not a JSON object; nothing was written")
    return data


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".engram-tmp")
    tmp.write_text(text)
    tmp.replace(path)


def _ours(entry: Any) -> bool:
    return bool(MARK.search(json.dumps(entry)))


def _mcp_server() -> dict[str, Any]:
    exe = _engram()
    return {"command": exe[0], "args": [*exe[1:], "mcp"], "env": _env()}


def _claude(root: Path, project: bool, remove: bool) -> list[Path]:
    settings = root / ".claude" / "settings.json"
    data = _read_json(settings)
    table = data.setdefault("hooks", {})
    for event, name in CLAUDE_EVENTS.items():
        groups = [g for g in table.get(event, []) if not _ours(g)]
        if not remove:
            groups.append({"hooks": [{"type": "command", "command": _command(name, "claude-code"), "timeout": 60}]})
        table[event] = groups
        if not groups:
            del table[event]
    _write(settings, json.dumps(data, indent=2) + "\n")
    mcp_file = root / ".mcp.json" if project else root / ".claude.json"
    return [settings, _mcp_entry(mcp_file, {"type": "stdio", **_mcp_server()}, remove)]


def _cursor(root: Path, remove: bool) -> list[Path]:
    path = root / ".cursor" / "hooks.json"
    data = _read_json(path)
    data.setdefault("version", 1)
    table = data.setdefault("hooks", {})
    for event, name in CURSOR_EVENTS.items():
        entries = [e for e in table.get(event, []) if not _ours(e)]
        if not remove:
            entries.append({"command": _command(name, "cursor")})
        table[event] = entries
        if not entries:
            del table[event]
    _write(path, json.dumps(data, indent=2) + "\n")
    return [path, _mcp_entry(root / ".cursor" / "mcp.json", _mcp_server(), remove)]


def _mcp_entry(path: Path, server: dict[str, Any], remove: bool) -> Path:
    data = _read_json(path)
    servers = data.setdefault("mcpServers", {})
    servers.pop("engramos", None)
    if not remove:
        servers["engramos"] = server
    _write(path, json.dumps(data, indent=2) + "\n")
    return path


def _codex(remove: bool) -> list[Path]:
    path = Path(os.environ.get("CODEX_HOME") or _home() / ".codex") / "config.toml"
    text = path.read_text() if path.exists() else ""
    text = re.sub(rf"\n?{re.escape(_TOML_BEGIN)}.*?{re.escape(_TOML_END)}\n?", "\n", text, flags=re.S).strip("\n")
    try:
        current = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInputError(str(path), f"is not valid TOML ({exc}); nothing was written") from exc
    if not remove:
        if "notify" in current:
            raise InvalidInputError(str(path), "already sets notify; Codex takes one notify program, so "
                                               "remove it (or chain it) and install again")
        if "engramos" in current.get("mcp_servers", {}):
            raise InvalidInputError(str(path), "already has [mcp_servers.engramos] outside EngramOS's block")
        server = _mcp_server()
        # Codex runs notify with its own environment: the settings go in front, through env(1)
        prefix = ["env", *(f"{k}={v}" for k, v in server["env"].items())] if server["env"] else []
        notify = [*prefix, *_engram(), "hooks", "run", "notify", "--agent", "codex"]
        env = ", ".join(f"{k} = {json.dumps(v)}" for k, v in server["env"].items())
        # notify is a top-level key: it goes before every table of the file
        head = f"{_TOML_BEGIN}\nnotify = {json.dumps(notify)}\n{_TOML_END}\n"
        tail = (f"\n{_TOML_BEGIN}\n[mcp_servers.engramos]\ncommand = {json.dumps(server['command'])}\n"
                f"args = {json.dumps(server['args'])}\n" + (f"env = {{ {env} }}\n" if env else "") + f"{_TOML_END}\n")
        text = head + ("\n" + text + "\n" if text else "") + tail
    tomllib.loads(text)  # what is written parses
    _write(path, text.strip("\n") + "\n")
    return [path]


def _paths(agent: str, scope: str, directory: str | None, remove: bool) -> list[Path]:
    project = scope == "project"
    root = Path(directory or ".").resolve() if project else _home()
    if agent == "claude-code":
        return _claude(root, project, remove)
    if agent == "cursor":
        return _cursor(root, remove)
    if project:
        raise InvalidInputError("--scope", "Codex reads its configuration from CODEX_HOME only: use --scope user")
    return _codex(remove)


@hooks.command(name="install")
@click.option("--agent", type=click.Choice(HOSTS), required=True)
@click.option("--scope", type=click.Choice(["user", "project"]), default="user", show_default=True,
              help="The user's configuration (all projects) or the project's (--dir).")
@click.option("--dir", "directory", default=None, help="The project (default: the current directory).")
@pass_state
def hooks_install(state: State, agent: str, scope: str, directory: str | None) -> None:
    """Write the agent's configuration: EngramOS's hooks and MCP server (others kept)."""
    _configure(state, agent, scope, directory, remove=False)


@hooks.command(name="uninstall")
@click.option("--agent", type=click.Choice(HOSTS), required=True)
@click.option("--scope", type=click.Choice(["user", "project"]), default="user", show_default=True)
@click.option("--dir", "directory", default=None)
@pass_state
def hooks_uninstall(state: State, agent: str, scope: str, directory: str | None) -> None:
    """Remove EngramOS's hooks and MCP server from the agent's configuration."""
    _configure(state, agent, scope, directory, remove=True)


def _configure(state: State, agent: str, scope: str, directory: str | None, *, remove: bool) -> None:
    with _errors(state):
        written = _paths(agent, scope, directory, remove=remove)
        verb = "updated" if remove else "wrote"
        state.emit({"agent": agent, "written": [str(p) for p in written]},
                   lambda: click.echo("\n".join(f"{verb} {p}" for p in written)))


@hooks.command(name="run")
@click.argument("event", type=click.Choice(["session-start", "prompt", "stop", "session-end", "response", "notify"]))
@click.argument("payload", required=False)
@click.option("--agent", type=click.Choice(HOSTS), required=True)
@pass_state
def hooks_run(state: State, event: str, payload: str | None, agent: str) -> None:
    """What a hook calls: the host's JSON on stdin (or as PAYLOAD); never fails the host."""
    try:
        data = json.loads(payload if payload is not None else sys.stdin.read() or "{}")
        out = _dispatch(state, agent, event, data if isinstance(data, dict) else {})
    except Exception as exc:  # noqa: BLE001 -- reason: a memory failure must not break the coding agent
        click.echo(f"engram hooks: {event} failed: {type(exc).__name__}: {exc}", err=True)
        return
    if out is not None:
        click.echo(json.dumps(out, ensure_ascii=False))


def _dispatch(state: State, agent: str, event: str, data: dict[str, Any]) -> dict[str, Any] | None:
    url = os.environ.get("ENGRAM_URL")
    backend: Any = Client(url, os.environ.get("ENGRAM_API_KEY", "")) if url else state.memory
    user = os.environ.get("ENGRAM_HOOKS_USER") or getpass.getuser()
    h = Hooks(backend, user_id=user, host=agent)
    if agent == "claude-code":
        if event in ("session-start", "prompt"):
            text = h.session_start(data) if event == "session-start" else h.prompt(data)
            name = "SessionStart" if event == "session-start" else "UserPromptSubmit"
            return {"hookSpecificOutput": {"hookEventName": name, "additionalContext": text}} if text else None
        if event in ("stop", "session-end"):
            h.remember_transcript(data)
            if event == "session-end" and not url:
                state.memory.flush(conversation_id=f"claude-code-{data.get('session_id', 'session')}"[:200])
            return None
    if agent == "cursor":
        session = str(data.get("conversation_id") or "session")
        if event == "prompt":
            h.remember_turn(data, role="user", text=str(data.get("prompt") or ""), session=session)
            return {"continue": True}
        if event == "response":
            h.remember_turn(data, role="assistant", text=str(data.get("text") or ""), session=session)
            return {}
    if agent == "codex" and event == "notify" and data.get("type") == "agent-turn-complete":
        session = str(data.get("thread-id") or data.get("turn-id") or "session")
        for text in data.get("input-messages") or []:
            h.remember_turn(data, role="user", text=str(text), session=session)
        h.remember_turn(data, role="assistant", text=str(data.get("last-assistant-message") or ""), session=session)
        return None
    raise InvalidInputError("event", f"{agent} has no {event} hook")

"""Memory for coding agents through their lifecycle hooks (``engram hooks``).

Claude Code (hooks and MCP): at session start the hook prints the repository's
decisions, conventions and fixes and what was recalled about recent work there; on each
prompt it prints a context block recalled for the prompt (``additionalContext``); when
the agent stops (and when the session ends) it stores the session's new transcript
messages in a conversation ``<host>-<session id>`` and keeps the sentences that state a
decision, a convention or a fix as memories of the repository (:meth:`Memory.put`, keyed
by repository and sentence, so a sentence said twice is one memory).

Cursor and Codex get the MCP server (recall on demand) and hooks that store what was
said: Cursor's ``beforeSubmitPrompt`` and ``afterAgentResponse``, Codex's ``notify``.

The repository is the git root above the working directory, named by its ``origin``
remote when it has one (so two clones share their memory), else by its path.  Hooks
never break the host: a failure is reported on stderr and the hook exits 0 with no
output."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ._common import Backend, content_text

HOSTS = ("claude-code", "cursor", "codex")
NOTE_KINDS = {
    "decision": re.compile(r"\b(decided|decision|let's go with|we'll use|we will use|chose|going with|"
                           r"switch(?:ed)? (?:to|from)|settled on|opted for)\b", re.I),
    "convention": re.compile(r"\b(always|never|convention|from now on|prefer|must not|must be|should always|"
                             r"instead of|rather than|the rule is|style guide)\b", re.I),
    "fix": re.compile(r"\b(fixed|the fix|root cause|was caused by|caused the|resolved by|workaround|"
                      r"the bug was|the issue was)\b", re.I),
}
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_MAX_NOTES = 20  # per hook call: a long transcript is not a list of rules


@dataclass(frozen=True)
class Repo:
    key: str  # the origin remote, or the root's path
    name: str
    root: Path | None


def repo_of(cwd: str | None) -> Repo:
    """The git repository around ``cwd`` (or the directory itself when it is in none)."""
    here = Path(cwd or ".").resolve()
    root = next((d for d in (here, *here.parents) if (d / ".git").exists()), None)
    if root is None:
        return Repo(key=str(here), name=here.name or str(here), root=None)
    remote = _origin(root / ".git" / "config") if (root / ".git").is_dir() else None
    key = remote or str(root)
    return Repo(key=key, name=root.name, root=root)


def _origin(config: Path) -> str | None:
    try:
        text = config.read_text(errors="replace")
    except OSError:
        return None
    section = re.search(r'\[remote "origin"\](.*?)(?=\n\[|\Z)', text, re.S)
    url = re.search(r"^\s*url\s*=\s*(\S+)", section.group(1), re.M) if section else None
    return url.group(1) if url else None


def notes_in(text: str) -> list[tuple[str, str]]:
    """(kind, sentence) for the sentences of ``text`` that state a decision, a convention
    or a fix (rules on cue words: offline, and documented as such)."""
    out: list[tuple[str, str]] = []
    for raw in _SENTENCE.split(text):
        sentence = raw.strip(" -*•\t")
        if not 20 <= len(sentence) <= 400 or sentence.endswith("?") or sentence.startswith(("```", "$ ")):
            continue
        for kind, cue in NOTE_KINDS.items():
            if cue.search(sentence):
                out.append((kind, sentence))
                break
    return out


class Hooks:
    """What each hook event does, on an embedded memory or a client."""

    def __init__(self, memory: Backend, *, user_id: str, host: str, budget_tokens: int = 600) -> None:
        self.memory, self.user_id, self.host, self.budget = memory, user_id, host, budget_tokens

    # --------------------------------------------------------------- context
    def session_start(self, payload: dict[str, Any]) -> str:
        repo = repo_of(payload.get("cwd"))
        notes = self.memory.list(user_id=self.user_id, metadata={"repo": repo.key, "note": {"exists": True}},
                                 limit=40).items
        lines = [f"# What EngramOS remembers about {repo.name}"]
        if notes:
            lines.append("## Decisions, conventions and fixes (newest first)")
            lines += [f"- ({n.metadata.get('note')}, {n.observed_at:%Y-%m-%d}) {_strip(n.text)}" for n in notes]
        recent = self.memory.context(f"recent work on {repo.name}", user_id=self.user_id,
                                     metadata={"repo": repo.key}, budget_tokens=self.budget)
        if recent.hits:
            lines += ["## Recent sessions here", recent.text]
        profile = self.memory.profile(user_id=self.user_id)
        if profile:
            lines += ["## About you"] + [f"- {p.text}" for p in profile[:15]]
        return "\n".join(lines) if len(lines) > 1 else ""

    def prompt(self, payload: dict[str, Any]) -> str:
        text = str(payload.get("prompt") or "").strip()
        if not text:
            return ""
        block = self.memory.context(text[:2000], user_id=self.user_id, budget_tokens=self.budget)
        return f"Relevant memory (EngramOS):\n{block.text}" if block.hits else ""

    # -------------------------------------------------------------- remember
    def remember_transcript(self, payload: dict[str, Any]) -> int:
        """Store the transcript's messages not stored yet, and the notes they state;
        returns how many messages were new."""
        path = payload.get("transcript_path")
        session = str(payload.get("session_id") or "session")
        if not path or not Path(path).is_file():
            return 0
        repo = repo_of(payload.get("cwd"))
        conversation = f"{self.host}-{session}"[:200]
        entries = list(_transcript(Path(path)))
        last = self.memory.messages(conversation, limit=1, latest=True)
        if last and last[0].external_id:
            seen = [i for i, e in enumerate(entries) if e["id"] == last[0].external_id]
            entries = entries[seen[-1] + 1:] if seen else entries
        return self._store(entries, repo, conversation, session)

    def remember_turn(self, payload: dict[str, Any], *, role: str, text: str, session: str) -> int:
        """One prompt or response (Cursor, Codex): stored, with its notes."""
        if not text.strip():
            return 0
        roots = payload.get("workspace_roots") or [payload.get("cwd")]
        repo = repo_of(roots[0] if roots else None)
        when = datetime.now(UTC).isoformat()
        ident = hashlib.sha256(f"{session}|{role}|{text}".encode()).hexdigest()[:24]
        return self._store([{"role": role, "text": text, "timestamp": when, "id": ident}], repo,
                           f"{self.host}-{session}"[:200], session)

    def _store(self, entries: list[dict[str, Any]], repo: Repo, conversation: str, session: str) -> int:
        if not entries:
            return 0
        meta = {"repo": repo.key, "repo_name": repo.name, "host": self.host}
        batch = [{"role": e["role"], "content": e["text"][:30_000], "timestamp": e["timestamp"], "id": e["id"],
                  "metadata": meta} for e in entries]
        added = self.memory.add(batch, user_id=self.user_id, conversation_id=conversation)
        notes = [(kind, s) for e in entries for kind, s in notes_in(e["text"])][:_MAX_NOTES]
        for kind, sentence in notes:
            key = "note:" + hashlib.sha256(f"{repo.key}|{sentence.lower()}".encode()).hexdigest()[:32]
            self.memory.put(f"[{repo.name}] {kind}: {sentence}", user_id=self.user_id, key=key,
                            metadata={**meta, "note": kind, "session": session})
        return added.inserted


def _strip(text: str) -> str:
    return re.sub(r"^\[[^\]]*\] \w+: ", "", text)


def _transcript(path: Path) -> Any:
    """User and assistant text of a Claude Code transcript (JSON Lines): tool calls,
    tool results and meta entries are left out."""
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line cut by a crash of the host: the rest is still read
            if not isinstance(entry, dict) or entry.get("type") not in ("user", "assistant") or entry.get("isMeta"):
                continue
            message = entry.get("message") or {}
            content = message.get("content")
            if isinstance(content, list):
                content = [p for p in content if isinstance(p, dict) and p.get("type") == "text"]
            text = content_text(content)
            if not text.strip() or not entry.get("uuid"):
                continue
            yield {"role": "assistant" if entry["type"] == "assistant" else "user", "text": text,
                   "timestamp": entry.get("timestamp") or datetime.now(UTC).isoformat(), "id": str(entry["uuid"])}


__all__ = ["HOSTS", "Hooks", "Repo", "notes_in", "repo_of"]

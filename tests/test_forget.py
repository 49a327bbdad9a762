"""Forgetting leaves nothing (issue 12, part 7): after ``forget`` of a user or of a
conversation, a marker written only there is in no table, no full-text index and, on
SQLite, in no byte of the database file or its WAL; the audit log keeps ids and the fact
of the deletion, not the content."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engramos import Config, Memory, NotFoundError
from engramos.config import SceneConfig

T = "2024-05-{:02d}T10:00:00Z"
MARKER = "Zorblaxian"  # a word found nowhere else, in every form the engine stores text
KEEP = "Quentaroo"


def msgs(word: str, speaker: str) -> list[dict[str, str]]:
    return [
        {"speaker": speaker, "text": f"My neighbour's parrot is called {word} and sings at dawn.",
         "timestamp": T.format(1)},
        {"speaker": "Assistant", "text": f"{word} sounds like a lively parrot.", "timestamp": T.format(1)},
        {"speaker": speaker, "text": f"I moved to Leeds and I now work as a baker; {word} came with me.",
         "timestamp": T.format(20)},
        {"speaker": speaker, "text": f"Next week I'm off to Reykjavik with {word}.", "timestamp": T.format(21)},
    ]


@pytest.fixture(params=["sqlite", "postgres"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "forget")
    else:
        yield request.getfixturevalue("postgres_url")


def _fill(mem: Memory) -> None:
    mem.add(msgs(MARKER, "Bob"), user_id="bob", conversation_id="bob-1", flush=True)
    mem.run_jobs()
    # bob's second talk, on the same theme days later: it joins bob-1's scene
    mem.add(msgs("Pipkin", "Bob"), user_id="bob", conversation_id="bob-2", flush=True)
    mem.add(msgs(KEEP, "Ann"), user_id="ann", conversation_id="ann-1", flush=True)
    mem.run_jobs()
    hit = mem.search(f"{MARKER} parrot", user_id="bob").hits[0].memory
    # history with the text in it: an edit, then a soft delete
    mem.update(hit.id, text=f"The parrot {MARKER} sings at dawn (edited).")
    mem.delete(hit.id)
    mem.admin.record("test", "memory.update", hit.id)
    assert any(MARKER in m.text for m in mem.list(user_id="bob", limit=100).items)


def _dump_tables(mem: Memory) -> str:
    """Every row of every table, as text, through the store's own connection."""
    store: Any = mem._store
    if store.backend == "sqlite":
        names = [r[0] for r in store._q("SELECT name FROM sqlite_master WHERE type IN ('table')")]
        return "\n".join(repr(store._q(f'SELECT * FROM "{n}"')) for n in names)
    names = [r[0] for r in store._q(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")]
    return "\n".join(repr(store._q(f'SELECT * FROM "{n}"')) for n in names)


def _raw_bytes(location: str) -> bytes:
    db = Path(location) / "engram.db"
    return b"".join(p.read_bytes() for p in (db, Path(f"{db}-wal")) if p.exists())


@pytest.mark.parametrize("scope", ["user", "conversation"])
def test_forget_leaves_no_trace(location: str, embedder, scope: str):
    # scenes joined at a lower similarity than e5's default, so that bob's two talks share them
    with Memory(location, Config(scenes=SceneConfig(similarity=0.8)), embedder=embedder) as mem:
        _fill(mem)
        shared = {s.id for s in mem.scenes(user_id="bob") if s.size > 1}
        assert shared
        assert MARKER.lower() in _dump_tables(mem).lower()
        edited = [m.id for m in mem.list(conversation_id="bob-1", limit=100, include_inactive=True).items]
        counts = (mem.forget(user_id="bob") if scope == "user" else mem.forget(conversation_id="bob-1"))
        assert counts["messages"] == (8 if scope == "user" else 4) and counts["memories"] >= 4
        mem.admin.record("test", "forget", "bob", counts=counts)

        dump = _dump_tables(mem).lower()
        assert MARKER.lower() not in dump and MARKER[:6].lower() not in dump  # stems too
        assert "bob-1" not in dump.replace('"bob-1"', "") or scope == "user"
        for mid in edited:
            with pytest.raises(NotFoundError):
                mem.history(mid)
        assert not any(MARKER in h.memory.text for h in mem.search(f"{MARKER} parrot", user_id="bob").hits)
        mem.run_jobs()
        scenes = mem.scenes(user_id="bob")
        if scope == "conversation":  # the shared scene is rebuilt from bob-2 alone
            assert {s.id for s in scenes} == shared and all(s.label and s.size >= 1 for s in scenes)
            assert any("pipkin" in s.label for s in scenes)
            assert any("Pipkin" in h.memory.text for h in mem.search("Pipkin parrot", user_id="bob").hits)
        else:
            assert scenes == []
        # the other user is untouched, and the audit log says what was done
        assert mem.search(f"{KEEP} parrot", user_id="ann").hits
        actions = [(e.action, e.target) for e in mem.admin.audit()]
        assert ("forget", "bob") in actions
        if not location.startswith("postgresql"):
            assert MARKER.encode() not in _raw_bytes(location)
            assert MARKER.lower().encode() not in _raw_bytes(location)
    if not location.startswith("postgresql"):
        assert MARKER.encode() not in _raw_bytes(location)


def test_forget_a_memory_leaves_no_history(location: str, embedder):
    with Memory(location, embedder=embedder) as mem:
        mem.add(msgs(MARKER, "Bob"), user_id="bob", conversation_id="bob-1", flush=True)
        hit = mem.search(f"{MARKER} parrot", user_id="bob").hits[0].memory
        mem.update(hit.id, text=f"{MARKER} the parrot, edited.")
        assert mem.history(hit.id)
        mem.forget(memory_id=hit.id)
        with pytest.raises(NotFoundError):
            mem.history(hit.id)
        assert f"{MARKER} the parrot" not in _dump_tables(mem)
    if not location.startswith("postgresql"):  # the edited text was only ever in that memory
        assert f"{MARKER} the parrot".encode() not in _raw_bytes(location)


def test_forget_a_message_takes_what_drew_on_it_and_keeps_the_rest(location: str, embedder):
    from engramos.config import PIIConfig
    from engramos.governance.pii import new_vault_key

    cfg = Config(pii=PIIConfig(mode="vault", vault_key=new_vault_key()))
    with Memory(location, cfg, embedder=embedder) as mem:
        talk = [
            {"speaker": "Bob", "text": "Mail me at bob.shared@example.com about the boat.", "timestamp": T.format(1)},
            {"speaker": "Bob", "text": f"My parrot {MARKER} lives with me; write to zz.secret@example.org.",
             "timestamp": T.format(1)},
            {"speaker": "Bob", "text": "Again: bob.shared@example.com, and I moved to Leeds.",
             "timestamp": T.format(2)},
            {"speaker": "Bob", "text": f"I restore old boats with {KEEP} on weekends.", "timestamp": T.format(3)},
        ]
        added = mem.add(talk, user_id="bob", conversation_id="bob-1", flush=True)
        mem.run_jobs()
        mem.working_memory("bob-1")
        target = added.message_ids[1]
        assert MARKER.lower() in _dump_tables(mem).lower() and "working/" in _dump_tables(mem)
        before = {m.id for m in mem.list(user_id="bob", limit=100).items}

        counts = mem.forget(message_id=target)
        # its own address leaves the vault; the one another message holds stays
        assert counts["messages"] == 1 and counts["memories"] >= 1 and counts["vault"] == 1
        dump = _dump_tables(mem).lower()
        assert MARKER.lower() not in dump and MARKER[:6].lower() not in dump
        assert "working/" not in dump  # the conversation's cached block (it held the memories' text)
        assert [m.id for m in mem.messages("bob-1")] == [added.message_ids[i] for i in (0, 2, 3)]
        left = {m.id for m in mem.list(user_id="bob", limit=100).items}
        assert left < before and all(target not in m.message_ids for m in mem.list(user_id="bob", limit=100).items)
        assert any(KEEP in h.memory.text for h in mem.search(f"{KEEP} boats", user_id="bob").hits)
        # the address another message still holds is still in the vault
        shared = mem.admin.reveal(added.message_ids[0])
        assert "bob.shared@example.com" in shared.text
        with pytest.raises(NotFoundError):
            mem.forget(message_id=target)
        assert mem.messages("bob-1", limit=2, latest=True)[-1].id == added.message_ids[3]
    if not location.startswith("postgresql"):
        assert MARKER.encode() not in _raw_bytes(location)

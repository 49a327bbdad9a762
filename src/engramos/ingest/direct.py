"""Memories written directly by the application (``Memory.put``): no message, no
extraction; the text as given, embedded and indexed like any memory.  A key makes the
write an upsert: the active memory of that key, user and agent is replaced in place
(its history keeps the old text), so writing a key again keeps one memory."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .._util import new_id, utcnow
from ..config import Config
from ..governance.pii import Redactor
from ..providers.embeddings import Embedder
from ..records import history_entry
from ..store.base import Store
from ..types import DEFAULT_USER, Filters, MemoryRecord, default_conversation
from ..validation import check_id, check_metadata, clean_text, parse_timestamp

PRODUCED_BY = "api"  # ``produced_by`` of a memory the application wrote itself
_KEY_PAGE = 100


def find_keyed(store: Store, space: str, user_id: str, agent_id: str | None, key: str) -> MemoryRecord | None:
    """The active memory of ``key`` for exactly this user and agent (an agent's key is
    not the user's own, and the other way round)."""
    page = store.list_memories(space, Filters(user_id=user_id, agent_id=agent_id, metadata={"key": key}),
                               limit=_KEY_PAGE)
    return next((m for m in page.items if m.agent_id == agent_id), None)


def put_fact(store: Store, embedder: Embedder, redactor: Redactor, config: Config, space: str, text: str, *,
             user_id: str | None, agent_id: str | None, key: str | None, metadata: dict[str, Any] | None,
             timestamp: Any, actor: str) -> MemoryRecord:
    """``Memory.put``: the inputs checked (ids, metadata, time, text) and the text
    redacted before anything is written, then :func:`put_memory` in one transaction."""
    user = check_id("user_id", user_id or DEFAULT_USER) or DEFAULT_USER
    check_id("agent_id", agent_id, required=False)
    check_id("key", key, required=False)
    meta = dict(metadata or {})
    check_metadata(meta, "metadata", max_bytes=config.limits.max_metadata_bytes)
    at = parse_timestamp(timestamp, "timestamp") if timestamp is not None else None
    clean, sealed = redactor.redact(space, clean_text(text, "text", config.max_message_chars))
    with store.transaction():
        if sealed:
            store.vault_put(space, user, default_conversation(user), [(x.token, x.kind, x.ciphertext) for x in sealed])
        rec, _ = put_memory(store, embedder, space, clean, user_id=user, agent_id=agent_id, key=key, metadata=meta,
                            at=at, actor=actor)
    return rec


def put_memory(store: Store, embedder: Embedder, space: str, text: str, *, user_id: str, agent_id: str | None,
               key: str | None, metadata: dict[str, Any], at: datetime | None,
               actor: str) -> tuple[MemoryRecord, bool]:
    """Write (or with ``key``, replace) one memory; returns it and whether it is new.
    The caller has redacted and validated ``text`` and ``metadata`` and holds the
    transaction."""
    meta = {**metadata, **({"key": key} if key is not None else {})}
    vector = embedder.embed([text], "passage")
    existing = find_keyed(store, space, user_id, agent_id, key) if key is not None else None
    if existing is not None:
        changes: dict[str, Any] = {"text": text, "metadata": meta}
        if at is not None:
            changes["valid_from"] = at  # when the new text became true; observed_at stays the first time
        after = store.update_memory(space, existing.id, changes)
        store.set_vectors(space, [existing.id], vector, embedder.model_id)
        store.add_history(space, [history_entry(existing.id, "update", actor,
                                                {k: getattr(existing, k) for k in changes},
                                                {k: getattr(after, k) for k in changes})])
        return after, False
    now = utcnow()
    rec = MemoryRecord(id=new_id("mem"), space=space, kind="fact", user_id=user_id, agent_id=agent_id,
                       conversation_id=default_conversation(user_id), text=text, observed_at=at or now,
                       valid_from=at or now, metadata=meta, produced_by=PRODUCED_BY, created_at=now, updated_at=now)
    store.insert_memories([rec], vector, embedder.model_id)
    store.add_history(space, [history_entry(rec.id, "create", actor, None, {"text": text, "metadata": meta})])
    return rec, True

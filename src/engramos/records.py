"""Record helpers shared by ingestion, recall and the facade: the turn memory that
mirrors each raw message, and history rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ._util import new_id, utcnow
from .timenorm import annotate
from .types import HistoryAction, HistoryEntry, MemoryRecord, Message

OFFLINE = "offline"  # ``produced_by`` of what the rule-based pipeline makes


def turn_id(message_id: str) -> str:
    """The id of the turn memory that mirrors a raw message."""
    return "turn_" + message_id.removeprefix("msg_")


def render_turn(m: Message) -> str:
    """``Speaker: content [image: caption]``, each relative time followed by its date."""
    text, _ = annotate(m.content, m.timestamp)
    caption = m.metadata.get("image_caption")
    if caption:
        text += f" [image: {caption}]"
    return f"{m.sender_name}: {text}"


def turn_record(m: Message) -> MemoryRecord:
    """The turn memory of a message.  It carries the message's metadata (so metadata
    filters reach raw turns), plus its sequence number and external id."""
    meta = {**m.metadata, "seq": m.seq, **({"external_id": m.external_id} if m.external_id else {})}
    return MemoryRecord(
        id=turn_id(m.id), space=m.space, kind="turn", user_id=m.user_id, agent_id=m.agent_id,
        conversation_id=m.conversation_id, session_id=m.session_id, speaker=m.sender_name,
        text=render_turn(m), observed_at=m.timestamp, message_ids=[m.id], metadata=meta,
        produced_by=OFFLINE, created_at=m.created_at, updated_at=m.created_at)


def history_entry(memory_id: str, action: HistoryAction, actor: str, before: dict[str, Any] | None,
                  after: dict[str, Any] | None) -> HistoryEntry:
    return HistoryEntry(id=new_id("hist"), memory_id=memory_id, action=action, actor=actor, at=utcnow(),
                        before=before, after=after)


FOREVER = datetime(9999, 12, 31, tzinfo=UTC)


def time_span(rec: MemoryRecord) -> tuple[datetime, datetime]:
    """The time a memory is about: its event, or when it was said; for a profile item (a
    state), from when it held until a newer value replaced it (open-ended while current)."""
    if rec.kind == "profile":
        return rec.valid_from or rec.observed_at, rec.valid_to or FOREVER
    if rec.event_start is not None:
        return rec.event_start, rec.event_end or rec.event_start
    return rec.observed_at, rec.observed_at

"""Google ADK: a ``BaseMemoryService`` over EngramOS (``engramos[adk]``).

A session's events become the messages of an EngramOS conversation (``adk-<session
id>``; the app is the agent, the ADK user the user).  Events keep their ids and
timestamps, so adding the same session again, as ADK does during its lifetime, stores
each event once.  ``add_memory`` writes explicit memories as facts (an entry's ``id`` is
its key), ``search_memory`` is EngramOS recall, ``delete_memory`` forgets one memory of
that user and app."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from google.adk.events import Event
from google.adk.memory import BaseMemoryService
from google.adk.memory.base_memory_service import SearchMemoryResponse
from google.adk.memory.memory_entry import MemoryEntry
from google.adk.sessions import Session
from google.genai import types

from ..errors import NotFoundError
from ..types import Hit
from ._common import Backend, in_thread


def conversation_of(session_id: str) -> str:
    return f"adk-{session_id}"[:200]


def event_message(event: Event) -> dict[str, Any] | None:
    """An event with text as an EngramOS message; None for one without (tool calls)."""
    parts = (event.content.parts if event.content else None) or []
    text = "\n".join(p.text for p in parts if getattr(p, "text", None) and not getattr(p, "thought", False))
    if not text.strip():
        return None
    role = "user" if event.author == "user" else "assistant"
    msg: dict[str, Any] = {"role": role, "content": text, "name": event.author or role,
                           "timestamp": datetime.fromtimestamp(event.timestamp, UTC).isoformat()}
    if event.id:
        msg["id"] = str(event.id)[:200]
    return msg


class EngramMemoryService(BaseMemoryService):
    def __init__(self, memory: Backend, *, top_k: int = 10) -> None:
        self._memory, self.top_k = memory, top_k

    async def add_session_to_memory(self, session: Session) -> None:
        await self.add_events_to_memory(app_name=session.app_name, user_id=session.user_id,
                                        events=session.events, session_id=session.id)

    async def add_events_to_memory(self, *, app_name: str, user_id: str, events: Sequence[Event],
                                   session_id: str | None = None,
                                   custom_metadata: Mapping[str, object] | None = None) -> None:
        batch = [m for m in (event_message(e) for e in events) if m is not None]
        if batch:
            conv = conversation_of(session_id) if session_id else None
            await in_thread(self._memory.add, batch, user_id=user_id, agent_id=app_name, conversation_id=conv)

    async def add_memory(self, *, app_name: str, user_id: str, memories: Sequence[MemoryEntry],
                         custom_metadata: Mapping[str, object] | None = None) -> None:
        for entry in memories:
            text = "\n".join(p.text for p in (entry.content.parts or []) if getattr(p, "text", None))
            if not text.strip():
                continue
            meta = {**entry.custom_metadata, **({"author": entry.author} if entry.author else {})}
            await in_thread(self._memory.put, text, user_id=user_id, agent_id=app_name, key=entry.id,
                            metadata=meta, timestamp=entry.timestamp)

    async def search_memory(self, *, app_name: str, user_id: str, query: str) -> SearchMemoryResponse:
        res = await in_thread(self._memory.search, query[:2000], user_id=user_id, agent_id=app_name,
                              top_k=self.top_k)
        return SearchMemoryResponse(memories=[_entry(h) for h in res.hits])

    async def delete_memory(self, *, app_name: str, user_id: str, memory_id: str | None = None) -> None:
        if memory_id is None:
            return
        rec = await in_thread(self._memory.get, memory_id)
        if rec.user_id != user_id or rec.agent_id != app_name:
            raise NotFoundError("memory", memory_id)  # not this user's and app's: as if it did not exist
        await in_thread(self._memory.forget, memory_id=memory_id)


def _entry(hit: Hit) -> MemoryEntry:
    rec = hit.memory
    return MemoryEntry(content=types.Content(role="user" if rec.speaker in (None, "user") else "model",
                                             parts=[types.Part(text=rec.text)]),
                       author=rec.speaker, id=rec.id, timestamp=rec.observed_at.isoformat(),
                       custom_metadata={"kind": rec.kind, "score": hit.score,
                                        "message_ids": [c.message_id for c in hit.citations]})


__all__ = ["EngramMemoryService", "conversation_of", "event_message"]

"""AutoGen: an ``autogen_core.memory.Memory`` over EngramOS (``engramos[autogen]``).

``add`` writes the content as a fact (:meth:`Memory.put`, tagged ``autogen``; a
``metadata["key"]`` makes it an upsert), ``query`` is EngramOS recall, and
``update_context`` adds a context block recalled for the latest user message to the
model context as a system message.  ``clear`` forgets what this adapter added for its
user (not the user's conversations: use ``forget`` for that)."""

from __future__ import annotations

import json
from typing import Any

from autogen_core import CancellationToken
from autogen_core.memory import Memory, MemoryContent, MemoryMimeType, MemoryQueryResult, UpdateContextResult
from autogen_core.model_context import ChatCompletionContext
from autogen_core.models import SystemMessage, UserMessage

from ..types import Hit
from ._common import Backend, content_text, every_memory, in_thread

TAG = "autogen"


class EngramMemory(Memory):
    component_type = "memory"

    def __init__(self, memory: Backend, *, user_id: str, agent_id: str | None = None, top_k: int = 5,
                 budget_tokens: int = 512) -> None:
        self._memory, self.user_id, self.agent_id = memory, user_id, agent_id
        self.top_k, self.budget_tokens = top_k, budget_tokens

    async def add(self, content: MemoryContent, cancellation_token: CancellationToken | None = None) -> None:
        text = content.content if isinstance(content.content, str) else content_text(content.content)
        if not text and not isinstance(content.content, str | bytes):  # JSON content: its text is the JSON
            text = json.dumps(content.content, ensure_ascii=False, default=str)
        meta = {**(content.metadata or {}), TAG: True, "mime_type": str(_mime(content.mime_type))}
        key = meta.pop("key", None)
        await in_thread(self._memory.put, text, user_id=self.user_id, agent_id=self.agent_id,
                        key=str(key) if key is not None else None, metadata=meta)

    async def query(self, query: str | MemoryContent, cancellation_token: CancellationToken | None = None,
                    **kwargs: Any) -> MemoryQueryResult:
        text = query if isinstance(query, str) else str(query.content)
        res = await in_thread(self._memory.search, text[:2000], user_id=self.user_id, agent_id=self.agent_id,
                              top_k=int(kwargs.get("top_k", self.top_k)))
        return MemoryQueryResult(results=[_content(h) for h in res.hits])

    async def update_context(self, model_context: ChatCompletionContext) -> UpdateContextResult:
        messages = await model_context.get_messages()
        question = next((m.content for m in reversed(messages)
                         if isinstance(m, UserMessage) and isinstance(m.content, str) and m.content.strip()), "")
        if not question:
            return UpdateContextResult(memories=MemoryQueryResult(results=[]))
        block = await in_thread(self._memory.context, question[:2000], user_id=self.user_id,
                                agent_id=self.agent_id, budget_tokens=self.budget_tokens)
        if not block.hits:
            return UpdateContextResult(memories=MemoryQueryResult(results=[]))
        await model_context.add_message(SystemMessage(content=f"Relevant memory:\n{block.text}"))
        return UpdateContextResult(memories=MemoryQueryResult(results=[_content(h) for h in block.hits]))

    async def clear(self) -> None:
        await in_thread(self._clear)

    def _clear(self) -> None:
        for rec in list(every_memory(self._memory, metadata={TAG: True}, user_id=self.user_id,
                                     agent_id=self.agent_id)):
            self._memory.forget(memory_id=rec.id)

    async def close(self) -> None:
        """Nothing to release: the memory or client belongs to the caller."""


def _mime(value: Any) -> str:
    return value.value if isinstance(value, MemoryMimeType) else str(value)


def _content(hit: Hit) -> MemoryContent:
    return MemoryContent(content=hit.memory.text, mime_type=MemoryMimeType.TEXT,
                         metadata={"id": hit.memory.id, "kind": hit.memory.kind, "score": hit.score,
                                   "message_ids": [c.message_id for c in hit.citations]})


__all__ = ["EngramMemory"]

"""LlamaIndex: a memory block over EngramOS (``engramos[llamaindex]``).

:class:`EngramMemoryBlock` is a ``BaseMemoryBlock`` of LlamaIndex's ``Memory``: when the
short-term chat history overflows, the messages it flushes are added to an EngramOS
conversation (``_aput``); when the memory is read, the block is a context block recalled
for the latest user message (``_aget``), within ``budget_tokens``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.memory import BaseMemoryBlock
from pydantic import ConfigDict, Field, PrivateAttr

from .._util import utcnow
from ._common import Backend, in_thread

_ROLES = {"user": "user", "assistant": "assistant", "system": "system"}


class EngramMemoryBlock(BaseMemoryBlock[str]):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str = Field(default="engram_memory", description="The block's name in the prompt.")
    description: str | None = "What is remembered about the user from earlier conversations."
    user_id: str
    agent_id: str | None = None
    conversation_id: str | None = None  # where flushed messages go (default: the user's default conversation)
    budget_tokens: int = Field(default=512, ge=32)
    _memory: Any = PrivateAttr()

    def __init__(self, memory: Backend, **data: Any) -> None:
        super().__init__(**data)
        self._memory = memory

    async def _aget(self, messages: list[ChatMessage] | None = None, **block_kwargs: Any) -> str:
        question = next((m.content for m in reversed(messages or [])
                         if str(m.role.value) == "user" and isinstance(m.content, str) and m.content.strip()), "")
        if not question:
            return ""
        block = await in_thread(self._memory.context, question[:2000], user_id=self.user_id,
                                agent_id=self.agent_id, budget_tokens=self.budget_tokens)
        return block.text if block.hits else ""

    async def _aput(self, messages: list[ChatMessage]) -> None:
        now, batch = utcnow(), []
        for i, m in enumerate(messages):
            role = _ROLES.get(str(m.role.value))
            text = m.content if isinstance(m.content, str) else ""
            if role is None or not text.strip():
                continue  # tool calls and results are not memory
            batch.append({"role": role, "content": text, "timestamp": (now + timedelta(milliseconds=i)).isoformat()})
        if batch:
            await in_thread(self._memory.add, batch, user_id=self.user_id, agent_id=self.agent_id,
                            conversation_id=self.conversation_id)


__all__ = ["EngramMemoryBlock"]

"""OpenAI Agents SDK: a session over an EngramOS conversation, and recall as a tool
(``engramos[openai-agents]``).

:class:`EngramSession` implements the SDK's ``Session`` protocol: every item of the run
(user and assistant messages, tool calls and their outputs) is a message of the
conversation, its text indexed as memory and the item itself kept in the message's
metadata, so ``get_items`` gives the run back exactly; ``pop_item`` forgets the latest
message with what was drawn from it, ``clear_session`` the conversation.  An item larger
than the metadata limit (``limits.max_metadata_bytes``) comes back as a plain message
with its text.

:func:`recall_tool` gives an agent a ``recall_memory`` function tool: a context block of
the user's memory for a query, within a token budget."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from agents import FunctionTool, function_tool
from agents.memory import SessionSettings

from .._util import utcnow
from ..errors import InvalidInputError
from ..types import Message
from ._common import Backend, content_text, in_thread

ITEM = "agents_item"  # message metadata: the SDK item, as stored
_ROLES = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system"}
_MAX_ITEMS = 10_000


def item_text(item: dict[str, Any]) -> tuple[str, str]:
    """The role and text EngramOS stores for an item: a message's text, or a line that
    says what a tool call or output was."""
    kind = item.get("type", "message")
    if "role" in item and kind == "message":
        return _ROLES.get(str(item["role"]), "user"), content_text(item.get("content"))
    if kind == "function_call":
        return "tool", f"[called {item.get('name', 'a tool')}({str(item.get('arguments', ''))[:500]})]"
    if kind == "function_call_output":
        return "tool", f"[tool output] {content_text(item.get('output')) or str(item.get('output', ''))[:2000]}"
    return "tool", f"[{kind}] {content_text(item.get('content') or item.get('summary'))}"


class EngramSession:
    """``agents.memory.Session`` over the EngramOS conversation ``session_id``."""

    session_settings: SessionSettings | None = None

    def __init__(self, memory: Backend, session_id: str, *, user_id: str, agent_id: str | None = None) -> None:
        self.memory, self.session_id = memory, session_id
        self.user_id, self.agent_id = user_id, agent_id

    def _messages(self, limit: int | None) -> list[Message]:
        return self.memory.messages(self.session_id, limit=min(limit or _MAX_ITEMS, _MAX_ITEMS), latest=True)

    async def get_items(self, limit: int | None = None) -> list[Any]:
        """The latest ``limit`` items (all, up to 10,000), oldest first."""
        return [_item(m) for m in await in_thread(self._messages, limit)]

    async def add_items(self, items: list[Any]) -> None:
        now, batch = utcnow(), []
        for i, raw in enumerate(items):
            item = dict(raw) if isinstance(raw, dict) else json.loads(json.dumps(raw, default=_plain))
            role, text = item_text(item)
            message: dict[str, Any] = {"role": role, "content": text or "(empty)",
                                       "timestamp": (now + timedelta(milliseconds=i)).isoformat(),
                                       "metadata": {ITEM: item}}
            batch.append(message)
        if batch:
            await in_thread(self._add, batch)

    def _add(self, batch: list[dict[str, Any]]) -> None:
        try:
            self.memory.add(batch, user_id=self.user_id, agent_id=self.agent_id, conversation_id=self.session_id)
        except InvalidInputError as exc:
            if "metadata" not in (exc.field or ""):
                raise
            # an item too large for metadata: kept as its text (the limit is the server's)
            for m in batch:
                if len(json.dumps(m["metadata"])) > 4096:
                    m["metadata"] = {}
            self.memory.add(batch, user_id=self.user_id, agent_id=self.agent_id, conversation_id=self.session_id)

    async def pop_item(self) -> Any | None:
        """Remove the latest item (and what EngramOS drew from it) and return it."""
        latest = await in_thread(self._messages, 1)
        if not latest:
            return None
        await in_thread(self.memory.forget, message_id=latest[0].id)
        return _item(latest[0])

    async def clear_session(self) -> None:
        await in_thread(self.memory.forget, conversation_id=self.session_id)


def _item(message: Message) -> dict[str, Any]:
    kept = message.metadata.get(ITEM)
    if isinstance(kept, dict):
        return kept
    role = message.role if message.role in ("user", "assistant", "system") else "user"
    return {"role": role, "content": message.content}


def _plain(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    return dump(exclude_none=True) if callable(dump) else str(value)


def recall_tool(memory: Backend, *, user_id: str, agent_id: str | None = None, budget_tokens: int = 512,
                name: str = "recall_memory") -> FunctionTool:
    """A function tool that answers a query with a context block of the user's memory."""

    async def recall_memory(query: str) -> str:
        """Search long-term memory about the user: past conversations, facts, plans and profile.

        Args:
            query: What to look for, as a question or keywords.
        """
        block = await in_thread(memory.context, query[:2000], user_id=user_id, agent_id=agent_id,
                                budget_tokens=budget_tokens)
        return block.text if block.hits else "Nothing relevant is remembered."

    return function_tool(recall_memory, name_override=name)


__all__ = ["EngramSession", "item_text", "recall_tool"]

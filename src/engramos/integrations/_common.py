"""What the adapters share: the memory they sit on, and the text of chat content."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from ..client import Client
from ..memory import Memory
from ..types import MemoryRecord

# An embedded memory or a remote one: the client mirrors the memory's methods name by name.
Backend = Memory | Client
T = TypeVar("T")


async def in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A blocking memory call from async code (the framework's event loop keeps running)."""
    return await asyncio.to_thread(fn, *args, **kwargs)


def every_memory(memory: Backend, *, metadata: dict[str, Any], user_id: str | None = None,
                 agent_id: str | None = None, page: int = 1000) -> Iterator[MemoryRecord]:
    """The memories matching the filters, newest first, a page at a time (keyset
    pagination: a memory forgotten meanwhile does not shift the next page)."""
    cursor = None
    while True:
        found = memory.list(metadata=metadata, user_id=user_id, agent_id=agent_id, limit=page, cursor=cursor)
        yield from found.items
        cursor = found.next_cursor
        if not cursor:
            return


def content_text(content: Any) -> str:
    """The text of a chat message's content: a string, or a list of parts (OpenAI,
    LangChain, Gemini shapes) of which the text parts are kept."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list | tuple):
        return "\n".join(t for t in (content_text(p) for p in content) if t)
    if isinstance(content, dict):
        for key in ("text", "content", "output_text", "input_text"):
            if isinstance(content.get(key), str | list):
                return content_text(content[key])
        return ""
    text = getattr(content, "text", None)
    return text if isinstance(text, str) else ""

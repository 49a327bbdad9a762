"""``engram mcp``: EngramOS as Model Context Protocol tools (stdio or streamable HTTP),
built on the official MCP Python SDK and calling the same :class:`engramos.Memory`.

``recall`` and ``recall_context`` take exactly the fields of :class:`SearchRequest` and
:class:`ContextRequest` (their signatures are made from the request types), so a field
added to a request is a tool argument at once."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any, Optional

from pydantic import Field

from .._util import utcnow
from ..filters import Filters
from ..memory import Memory
from ..requests import ContextRequest, SearchRequest

INSTRUCTIONS = (
    "Long-term memory. Call `remember` with what the user says that is worth keeping "
    "(facts about them, plans, preferences), `recall` or `recall_context` before answering "
    "questions about the past, `profile` for what is known about a user, `recent` to see the "
    "latest memories, and `forget` when the user asks to delete something."
)

UserId = Annotated[str, Field(description="Whose memory: a stable id of the end user.")]
ConversationId = Annotated[str, Field(description="Conversation (thread) the messages belong to.")]


def _hit(h: Any) -> dict[str, Any]:
    m = h.memory
    return {"id": m.id, "kind": m.kind, "text": m.text, "said_on": m.observed_at.date().isoformat(),
            "event_date": m.event_start.date().isoformat() if m.event_start else None,
            "cites": [c.label() for c in h.citations][:10], "score": round(h.score, 5)}


def request_tool(model: type[SearchRequest], run: Callable[[Any], Any]) -> Callable[..., Any]:
    """A tool function whose keyword arguments are the fields of ``model``, plus the
    filter fields as top-level shorthand (``user_id``, ...: what agents send); it
    validates them into the request and passes it to ``run``."""
    params = []
    for name, f in model.model_fields.items():
        default = inspect.Parameter.empty if f.is_required() else f.get_default(call_default_factory=True)
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                        annotation=Annotated[f.annotation, Field(description=f.description)]))
    for name, f in Filters.model_fields.items():
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None,
                                        annotation=Annotated[Optional[f.annotation], Field(  # noqa: UP045
                                            description=f"Shorthand for filters.{name}.")]))

    def tool(**arguments: Any) -> Any:
        return run(model.model_validate({k: v for k, v in arguments.items() if v is not None}))

    tool.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    tool.__annotations__ = {p.name: p.annotation for p in params}
    return tool


def build_mcp(memory: Memory) -> Any:
    from mcp.server.mcpserver import MCPServer

    server = MCPServer(name="engramos", instructions=INSTRUCTIONS)

    @server.tool(description="Store one message or note in long-term memory (with its speaker and time).")
    def remember(
        text: Annotated[str, Field(description="What was said or should be remembered.", min_length=1)],
        user_id: UserId = "default",
        speaker: Annotated[str, Field(description="Who said it.")] = "user",
        conversation_id: ConversationId = "mcp",
        timestamp: Annotated[str | None, Field(description="ISO-8601 time it was said; default now.")] = None,
    ) -> dict[str, Any]:
        result = memory.add([{"speaker": speaker, "text": text, "timestamp": timestamp or utcnow().isoformat()}],
                            user_id=user_id, conversation_id=conversation_id)
        return {"stored": result.inserted, "message_ids": result.message_ids}

    @server.tool(description="Store several chat messages at once ({speaker|role, text|content, timestamp}).")
    def remember_messages(
        messages: Annotated[list[dict[str, Any]], Field(description="Messages in order.", min_length=1)],
        user_id: UserId = "default",
        conversation_id: ConversationId = "mcp",
    ) -> dict[str, Any]:
        result = memory.add(messages, user_id=user_id, conversation_id=conversation_id)
        return {"stored": result.inserted, "duplicates": result.duplicates, "message_ids": result.message_ids}

    server.add_tool(request_tool(SearchRequest, lambda req: [_hit(h) for h in memory.search(req).hits]),
                    name="recall", description="Search long-term memory; ranked memories with dates and citations.")
    server.add_tool(request_tool(ContextRequest, lambda req: memory.context(req).text), name="recall_context",
                    description="A ready-to-use context block of the most relevant memories within a token budget.")

    @server.tool(description="Permanently delete one memory, a conversation, or everything about a user.")
    def forget(
        memory_id: Annotated[str | None, Field(description="One memory's id.")] = None,
        conversation_id: Annotated[str | None, Field(description="A whole conversation.")] = None,
        user_id: Annotated[str | None, Field(description="Everything about this user.")] = None,
    ) -> dict[str, int]:
        return memory.forget(memory_id=memory_id, conversation_id=conversation_id, user_id=user_id)

    @server.tool(description="What is known about a user: profile items (job, home, family, likes...).")
    def profile(user_id: UserId) -> list[dict[str, Any]]:
        return [{"id": m.id, "text": m.text, "attribute": m.metadata.get("attribute"),
                 "value": m.metadata.get("value"), "said_on": m.observed_at.date().isoformat()}
                for m in memory.profile(user_id=user_id)[:200]]

    @server.tool(description="The most recent memories, newest first.")
    def recent(
        user_id: Annotated[str | None, Field(description="Restrict to this user.")] = None,
        limit: Annotated[int, Field(ge=1, le=100)] = 10,
    ) -> list[dict[str, Any]]:
        items = memory.list(user_id=user_id, limit=limit).items
        return [{"id": m.id, "kind": m.kind, "text": m.text, "said_on": m.observed_at.date().isoformat()}
                for m in items]

    return server

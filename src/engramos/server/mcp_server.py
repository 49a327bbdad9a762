"""``engram mcp``: EngramOS as Model Context Protocol tools (stdio or streamable HTTP),
built on the official MCP Python SDK and calling the same :class:`engramos.Memory`."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from .._util import utcnow
from ..memory import Memory

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

    @server.tool(description="Search long-term memory; ranked memories with dates and citations.")
    def recall(
        query: Annotated[str, Field(description="A question or keywords.", min_length=1)],
        user_id: Annotated[str | None, Field(description="Restrict to this user.")] = None,
        top_k: Annotated[int, Field(ge=1, le=50, description="How many memories.")] = 5,
    ) -> list[dict[str, Any]]:
        return [_hit(h) for h in memory.search(query, user_id=user_id, top_k=top_k).hits]

    @server.tool(description="A ready-to-use context block of the most relevant memories within a token budget.")
    def recall_context(
        query: Annotated[str, Field(description="A question or keywords.", min_length=1)],
        user_id: Annotated[str | None, Field(description="Restrict to this user.")] = None,
        budget_tokens: Annotated[int, Field(ge=64, le=16000, description="Token budget.")] = 1024,
    ) -> str:
        return memory.context(query, user_id=user_id, budget_tokens=budget_tokens).text

    @server.tool(description="Permanently delete one memory, a conversation, or everything about a user.")
    def forget(
        memory_id: Annotated[str | None, Field(description="One memory's id.")] = None,
        conversation_id: Annotated[str | None, Field(description="A whole conversation.")] = None,
        user_id: Annotated[str | None, Field(description="Everything about this user.")] = None,
    ) -> dict[str, int]:
        return memory.forget(memory_id=memory_id, conversation_id=conversation_id, user_id=user_id)

    @server.tool(description="What is known about a user: profile items (job, home, family, likes...).")
    def profile(user_id: UserId) -> list[dict[str, Any]]:
        items = memory.list(user_id=user_id, kinds=["profile"], limit=200).items
        return [{"id": m.id, "text": m.text, "attribute": m.metadata.get("attribute"),
                 "value": m.metadata.get("value"), "said_on": m.observed_at.date().isoformat()} for m in items]

    @server.tool(description="The most recent memories, newest first.")
    def recent(
        user_id: Annotated[str | None, Field(description="Restrict to this user.")] = None,
        limit: Annotated[int, Field(ge=1, le=100)] = 10,
    ) -> list[dict[str, Any]]:
        items = memory.list(user_id=user_id, limit=limit).items
        return [{"id": m.id, "kind": m.kind, "text": m.text, "said_on": m.observed_at.date().isoformat()}
                for m in items]

    return server

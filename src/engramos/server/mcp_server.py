"""``engram mcp``: EngramOS as Model Context Protocol tools (stdio or streamable HTTP),
built on the official MCP Python SDK and calling the same :class:`engramos.Memory`.

Over HTTP every call carries an API key (``Authorization: Bearer <key>``, checked by the
SDK's bearer middleware through :class:`KeyVerifier`), and each tool runs in the key's
space with its role, users and agents enforced exactly as on the REST API (the same
:class:`~.auth.Caller`).  Over stdio the server is local to its host process and keyless.

``recall`` and ``recall_context`` take exactly the fields of :class:`SearchRequest` and
:class:`ContextRequest` (their signatures are made from the request types), so a field
added to a request is a tool argument at once."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any, Optional

from pydantic import AnyHttpUrl, Field

from .._util import utcnow
from ..config import LimitsConfig
from ..errors import AuthError
from ..filters import Filters
from ..memory import Memory
from ..requests import ContextRequest, SearchRequest
from ..types import KeyRole
from .auth import Caller

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
            "cites": [c.label() for c in h.citations][:10], "score": round(h.score, 5),
            "also_covers": [c.memory_id for c in h.covers][:10]}


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


class KeyVerifier:
    """The SDK's token verifier over EngramOS API keys."""

    def __init__(self, memory: Memory) -> None:
        self.memory = memory

    async def verify_token(self, token: str) -> Any:
        from mcp.server.auth.provider import AccessToken

        try:
            key = self.memory.admin.authenticate(token)
        except AuthError:
            return None
        return AccessToken(token=token, client_id=key.id, scopes=[key.role])


def build_mcp(memory: Memory, *, http_url: str | None = None) -> Any:
    """The MCP server.  With ``http_url`` (the address it is served at), every call needs
    an API key and runs in that key's space and limits."""
    from mcp.server.auth.middleware.auth_context import get_access_token
    from mcp.server.mcpserver import MCPServer

    if http_url is None:
        server = MCPServer(name="engramos", instructions=INSTRUCTIONS)
    else:
        from mcp.server.auth.settings import AuthSettings

        server = MCPServer(name="engramos", instructions=INSTRUCTIONS, token_verifier=KeyVerifier(memory),
                           auth=AuthSettings(issuer_url=AnyHttpUrl(http_url),
                                             resource_server_url=AnyHttpUrl(f"{http_url}/mcp")))

    def scope(role: KeyRole) -> tuple[Memory, Caller | None]:
        """The memory a call works on and its caller (None over stdio: local, keyless)."""
        token = get_access_token()
        if token is None:
            if http_url is not None:  # the bearer middleware lets no such call through
                raise AuthError("an API key is required (Authorization: Bearer <key>)")
            return memory, None
        key = memory.admin.authenticate(token.token)
        c = Caller(key, memory.for_space(key.space))
        c.require(role)
        return c.memory, c

    def recall_scoped(req: SearchRequest) -> Memory:
        mem, c = scope("read")
        if c is not None:
            c.check_user(req.filters.user_id)
            c.check_agent(req.filters.agent_id)
            c.check_conversation(req.filters.conversation_id)
            if getattr(req, "working", False):
                c.refuse_agent_limited("working memories")
        return mem

    @server.tool(description="Store one message or note in long-term memory (with its speaker and time).")
    def remember(
        text: Annotated[str, Field(description="What was said or should be remembered.", min_length=1)],
        user_id: UserId = "default",
        speaker: Annotated[str, Field(description="Who said it.")] = "user",
        conversation_id: ConversationId = "mcp",
        timestamp: Annotated[str | None, Field(description="ISO-8601 time it was said; default now.")] = None,
    ) -> dict[str, Any]:
        mem = _writer(scope, user_id, conversation_id)
        result = mem.add([{"speaker": speaker, "text": text, "timestamp": timestamp or utcnow().isoformat()}],
                         user_id=user_id, conversation_id=conversation_id)
        return {"stored": result.inserted, "message_ids": result.message_ids}

    @server.tool(description="Store several chat messages at once ({speaker|role, text|content, timestamp}).")
    def remember_messages(
        messages: Annotated[list[dict[str, Any]], Field(description="Messages in order.", min_length=1)],
        user_id: UserId = "default",
        conversation_id: ConversationId = "mcp",
    ) -> dict[str, Any]:
        mem = _writer(scope, user_id, conversation_id)
        result = mem.add(messages, user_id=user_id, conversation_id=conversation_id)
        return {"stored": result.inserted, "duplicates": result.duplicates, "message_ids": result.message_ids}

    server.add_tool(request_tool(SearchRequest, lambda req: [_hit(h) for h in recall_scoped(req).search(req).hits]),
                    name="recall", description="Search long-term memory; ranked memories with dates and citations.")
    server.add_tool(request_tool(ContextRequest, lambda req: recall_scoped(req).context(req).text),
                    name="recall_context",
                    description="A ready-to-use context block of the most relevant memories within a token budget.")

    @server.tool(description="Permanently delete one memory, one message (with what was drawn from it), a "
                             "conversation, or everything about a user.")
    def forget(
        memory_id: Annotated[str | None, Field(description="One memory's id.")] = None,
        message_id: Annotated[str | None, Field(description="One message's id.")] = None,
        conversation_id: Annotated[str | None, Field(description="A whole conversation.")] = None,
        user_id: Annotated[str | None, Field(description="Everything about this user.")] = None,
    ) -> dict[str, int]:
        mem, c = scope("write")
        if c is not None:
            c.check_forget(memory_id=memory_id, conversation_id=conversation_id, user_id=user_id,
                           message_id=message_id)
        counts = mem.forget(memory_id=memory_id, conversation_id=conversation_id, user_id=user_id,
                            message_id=message_id)
        if c is not None:
            c.audit("forget", memory_id or message_id or conversation_id or user_id or "", counts=counts,
                    via="mcp")
        return counts

    @server.tool(description="What is known about a user's people now: profile items (home, job, partner, "
                             "family, pets, diet, likes...), each said or guessed, with a confidence and its "
                             "evidence message ids, including what was just remembered.")
    def profile(user_id: UserId) -> list[dict[str, Any]]:
        mem, c = scope("read")
        if c is not None:
            c.check_user(user_id)
        # what was just remembered sits in an open MemCell: close the user's open tails so
        # that it is read too (the engine's own processing of stored messages, no new data)
        mem.flush(user_id=user_id)
        items = [m for m in mem.profile(user_id=user_id)
                 if m.status == "active" and (c is None or c.sees(m.user_id, m.agent_id))]
        return [{"id": m.id, "person": m.speaker, "attribute": m.metadata.get("attribute"),
                 "value": m.metadata.get("value"), "text": m.text, "nature": m.metadata.get("nature"),
                 "explicit": m.metadata.get("explicit", True), "confidence": m.metadata.get("confidence"),
                 "evidence": m.metadata.get("evidence", m.message_ids), "said_on": m.observed_at.date().isoformat()}
                for m in items[:200]]

    @server.tool(description="The most recent memories, newest first.")
    def recent(
        user_id: Annotated[str | None, Field(description="Restrict to this user.")] = None,
        limit: Annotated[int, Field(ge=1, le=100)] = 10,
    ) -> list[dict[str, Any]]:
        mem, c = scope("read")
        if c is not None:
            c.check_user(user_id)
            c.check_agent(None)  # an agent-limited key must name its agent: recall does
        items = mem.list(user_id=user_id, limit=limit).items
        return [{"id": m.id, "kind": m.kind, "text": m.text, "said_on": m.observed_at.date().isoformat()}
                for m in items]

    return server


def _writer(scope: Callable[[KeyRole], tuple[Memory, Caller | None]], user_id: str, conversation_id: str) -> Memory:
    mem, c = scope("write")
    if c is not None:
        c.check_user(user_id)
        c.check_agent(None)  # the remember tools name no agent: an agent-limited key may not use them
        c.check_conversation(conversation_id)
    return mem


def serve_http(memory: Memory, *, host: str, port: int, limits: LimitsConfig) -> None:
    """MCP over streamable HTTP at ``/mcp``, behind the REST API's gate: the API key is
    checked and rate limited, and the body capped, before the MCP SDK reads anything."""
    import uvicorn

    from .guard import Guard

    url = f"http://{host}:{port}"
    app = build_mcp(memory, http_url=url).streamable_http_app(max_request_body_size=limits.max_body_bytes, host=host)
    guarded = Guard(app, authenticate=memory.admin.authenticate, limits=limits, prefix="/mcp")
    uvicorn.run(guarded, host=host, port=port, log_level="warning")

"""LangChain: a chat message history and an agent middleware over EngramOS
(``engramos[langchain]``).

:class:`EngramChatMessageHistory` is a ``BaseChatMessageHistory`` whose messages are a
conversation's stored messages: what is added goes through EngramOS ingestion (MemCells,
facts, profiles), ``clear`` forgets the conversation.

:class:`EngramMemoryMiddleware` is an ``AgentMiddleware`` for ``create_agent``: before each
model call it recalls a context block for the latest user message and adds it to the
system message; after the agent's turn it remembers the turn's user and assistant
messages (tool calls and tool results are not memory)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

from langchain.agents.middleware import AgentMiddleware, AgentState, ModelRequest, ModelResponse
from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from .._util import utcnow
from ..types import Message
from ._common import Backend, content_text, in_thread

_ROLES = {"human": "user", "ai": "assistant", "system": "system"}


def to_engram(messages: Sequence[BaseMessage], *, names: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """LangChain messages as EngramOS messages (user, assistant and system messages with
    text; a millisecond apart, in order, so that a batch keeps its order)."""
    now, out = utcnow(), []
    for i, m in enumerate(messages):
        role = _ROLES.get(m.type)
        text = content_text(m.content)
        if role is None or not text.strip():
            continue
        item: dict[str, Any] = {"role": role, "content": text,
                                "timestamp": (now + timedelta(milliseconds=i)).isoformat()}
        name = getattr(m, "name", None) or (names or {}).get(role)
        if name:
            item["name"] = name
        if m.id:
            item["id"] = str(m.id)[:200]
        out.append(item)
    return out


def to_langchain(message: Message) -> BaseMessage:
    kind = {"assistant": AIMessage, "system": SystemMessage}.get(message.role, HumanMessage)
    return kind(content=message.content, id=message.external_id or message.id)


class EngramChatMessageHistory(BaseChatMessageHistory):
    """The messages of one EngramOS conversation (``session_id``) of one user."""

    def __init__(self, memory: Backend, session_id: str, *, user_id: str, agent_id: str | None = None,
                 limit: int = 1000) -> None:
        self.memory, self.session_id = memory, session_id
        self.user_id, self.agent_id, self.limit = user_id, agent_id, limit

    @property
    def messages(self) -> list[BaseMessage]:
        """The latest ``limit`` messages, oldest first."""
        return [to_langchain(m) for m in self.memory.messages(self.session_id, limit=self.limit, latest=True)]

    def add_messages(self, messages: Sequence[BaseMessage]) -> None:
        batch = to_engram(messages)
        if batch:
            self.memory.add(batch, user_id=self.user_id, agent_id=self.agent_id, conversation_id=self.session_id)

    async def aget_messages(self) -> list[BaseMessage]:
        return await in_thread(lambda: self.messages)

    async def aadd_messages(self, messages: Sequence[BaseMessage]) -> None:
        await in_thread(self.add_messages, messages)

    def clear(self) -> None:
        """Forget the conversation: its messages and every memory drawn from them."""
        self.memory.forget(conversation_id=self.session_id)

    async def aclear(self) -> None:
        await in_thread(self.clear)


class EngramState(AgentState, total=False):  # type: ignore[call-arg]  # AgentState is a TypedDict
    engram_turn_start: int  # where this turn's messages begin in ``messages``


class EngramMemoryMiddleware(AgentMiddleware[EngramState, Any]):
    """Recall before the model call, remember after the agent's turn.

    ``user_id`` (and ``agent_id``) scope both; ``conversation_id`` names the conversation
    the turns are stored in (default: the user's default conversation).  The recalled
    block is at most ``budget_tokens`` and is appended to the system message under
    ``header``."""

    state_schema = EngramState

    def __init__(self, memory: Backend, *, user_id: str, agent_id: str | None = None,
                 conversation_id: str | None = None, budget_tokens: int = 512,
                 header: str = "What you remember about the user (cite nothing you do not find here):") -> None:
        super().__init__()
        self.memory, self.user_id, self.agent_id = memory, user_id, agent_id
        self.conversation_id, self.budget_tokens, self.header = conversation_id, budget_tokens, header

    # ------------------------------------------------------------------ recall
    def _recall(self, request: ModelRequest) -> ModelRequest:
        question = next((content_text(m.content) for m in reversed(request.messages)
                         if isinstance(m, HumanMessage) and content_text(m.content).strip()), "")
        if not question:
            return request
        block = self.memory.context(question[:2000], user_id=self.user_id, agent_id=self.agent_id,
                                    budget_tokens=self.budget_tokens)
        if not block.hits:
            return request
        base = request.system_prompt or ""
        prompt = f"{base}\n\n{self.header}\n{block.text}".strip()
        return request.override(system_message=SystemMessage(content=prompt))

    def wrap_model_call(self, request: ModelRequest,
                        handler: Callable[[ModelRequest], ModelResponse]) -> ModelResponse:
        return handler(self._recall(request))

    async def awrap_model_call(self, request: ModelRequest,
                               handler: Callable[[ModelRequest], Awaitable[ModelResponse]]) -> ModelResponse:
        return await handler(await in_thread(self._recall, request))

    # ---------------------------------------------------------------- remember
    def before_agent(self, state: EngramState, runtime: Any) -> dict[str, Any] | None:
        messages = state["messages"]
        last_ai = max((i for i, m in enumerate(messages) if isinstance(m, AIMessage)), default=-1)
        return {"engram_turn_start": last_ai + 1}

    async def abefore_agent(self, state: EngramState, runtime: Any) -> dict[str, Any] | None:
        return self.before_agent(state, runtime)

    def after_agent(self, state: EngramState, runtime: Any) -> dict[str, Any] | None:
        turn = [m for m in state["messages"][state.get("engram_turn_start", 0):]
                if not isinstance(m, ToolMessage) and not (isinstance(m, AIMessage) and m.tool_calls
                                                           and not content_text(m.content).strip())]
        batch = to_engram(turn)
        if batch:
            self.memory.add(batch, user_id=self.user_id, agent_id=self.agent_id,
                            conversation_id=self.conversation_id)
        return None

    async def aafter_agent(self, state: EngramState, runtime: Any) -> dict[str, Any] | None:
        return await in_thread(self.after_agent, state, runtime)


__all__ = ["EngramChatMessageHistory", "EngramMemoryMiddleware", "EngramState", "to_engram", "to_langchain"]

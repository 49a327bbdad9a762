"""Users, conversations, messages, scenes and profiles of the caller's space."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ...errors import NotFoundError
from ...types import ConversationRef, MemoryRecord, Message, Scene, WorkingMemory
from ..auth import Auth

router = APIRouter(prefix="/v1", tags=["tenancy"])


@router.get("/users")
def users(c: Auth) -> list[str]:
    c.require("read")
    return [u for u in c.memory.users() if c.sees_user(u)]


@router.get("/users/{user_id}/profile")
def profile(user_id: str, c: Auth) -> list[MemoryRecord]:
    c.require("read")
    c.check_user(user_id)
    return [m for m in c.memory.profile(user_id=user_id) if c.sees(m.user_id, m.agent_id)]


@router.get("/conversations")
def conversations(c: Auth, user_id: str | None = None) -> list[ConversationRef]:
    c.require("read")
    c.check_user(user_id)
    found = [r for r in c.memory.conversations(user_id=user_id) if c.sees_user(r.user_id)]
    if c.key.agents is None:
        return found
    owners = [c.memory.conversation_owner(r.conversation_id) for r in found]
    return [o for o in owners if o is not None and c.sees(o.user_id, o.agent_id)]


@router.get("/conversations/{conversation_id}/messages")
def conversation_messages(conversation_id: str, c: Auth,
                          limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
                          latest: bool = False) -> list[Message]:
    c.require("read")
    msgs = c.memory.messages(conversation_id, limit=limit, latest=latest)
    if msgs and not c.sees(msgs[0].user_id, msgs[0].agent_id):
        raise NotFoundError("conversation", conversation_id)
    return msgs


@router.get("/conversations/{conversation_id}/working")
def working_memory(conversation_id: str, c: Auth,
                   budget_tokens: Annotated[int | None, Query(ge=64, le=32_000)] = None) -> WorkingMemory:
    """The conversation's working memory (a stable prompt prefix; see Memory.working_memory)."""
    c.require("read")
    owner = c.memory.conversation_owner(conversation_id)
    if owner is None or not c.sees(owner.user_id, owner.agent_id):
        raise NotFoundError("conversation", conversation_id)
    c.refuse_agent_limited("working memories")
    return c.memory.working_memory(conversation_id, budget_tokens=budget_tokens)


@router.get("/scenes")
def scenes(c: Auth, user_id: str) -> list[Scene]:
    c.require("read")
    c.check_user(user_id)
    c.refuse_agent_limited("scenes")
    return c.memory.scenes(user_id=user_id)

"""Users, conversations, messages, scenes and profiles of the caller's space."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ...errors import NotFoundError
from ...types import ConversationRef, MemoryRecord, Message, Scene
from ..auth import Auth

router = APIRouter(prefix="/v1", tags=["tenancy"])


@router.get("/users")
def users(c: Auth) -> list[str]:
    c.require("read")
    return [u for u in c.memory.users() if c.sees(u, None)]


@router.get("/users/{user_id}/profile")
def profile(user_id: str, c: Auth) -> list[MemoryRecord]:
    c.require("read")
    c.check_user(user_id)
    return c.memory.profile(user_id=user_id)


@router.get("/conversations")
def conversations(c: Auth, user_id: str | None = None) -> list[ConversationRef]:
    c.require("read")
    c.check_user(user_id)
    return [r for r in c.memory.conversations(user_id=user_id) if c.sees(r.user_id, None)]


@router.get("/conversations/{conversation_id}/messages")
def conversation_messages(conversation_id: str, c: Auth,
                          limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> list[Message]:
    c.require("read")
    msgs = c.memory.messages(conversation_id, limit=limit)
    if msgs and not c.sees(msgs[0].user_id, msgs[0].agent_id):
        raise NotFoundError("conversation", conversation_id)
    return msgs


@router.get("/scenes")
def scenes(c: Auth, user_id: str) -> list[Scene]:
    c.require("read")
    c.check_user(user_id)
    return c.memory.scenes(user_id=user_id)

"""Adding messages and managing memories: ``/v1/messages``, ``/v1/memories``,
``/v1/forget``."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from ...errors import InvalidInputError, NotFoundError
from ...governance.retention import RetentionReport
from ...types import (
    DEFAULT_USER,
    AddResult,
    HistoryEntry,
    MemoryKind,
    MemoryRecord,
    Page,
    Revealed,
    default_conversation,
)
from ..auth import Auth, Caller

router = APIRouter(prefix="/v1", tags=["memories"])


class AddBody(BaseModel):
    messages: list[dict[str, Any]] = Field(min_length=1, max_length=1000)
    user_id: str | None = None
    agent_id: str | None = None
    conversation_id: str | None = None
    session_id: str | None = None
    flush: bool = False
    wait: bool = True  # False: store now, process in the background, return the job ids


class UpdateBody(BaseModel):
    text: str | None = Field(default=None, min_length=1)
    metadata: dict[str, Any] | None = None


class PutBody(BaseModel):
    text: str = Field(min_length=1)
    user_id: str | None = None
    agent_id: str | None = None
    key: str | None = None
    metadata: dict[str, Any] | None = None
    timestamp: str | None = None


class ForgetBody(BaseModel):
    memory_id: str | None = None
    message_id: str | None = None
    conversation_id: str | None = None
    user_id: str | None = None


@router.post("/messages")
def add_messages(body: AddBody, c: Auth) -> AddResult:
    c.require("write")
    c.check_user(body.user_id)
    c.check_agent(body.agent_id)
    conv = body.conversation_id or default_conversation(body.user_id or DEFAULT_USER)
    c.check_conversation(conv)
    result = c.memory.add(body.messages, user_id=body.user_id, agent_id=body.agent_id, conversation_id=conv,
                          session_id=body.session_id, flush=body.flush, process=body.wait)
    c.audit("messages.add", conv, inserted=result.inserted)
    return result


@router.get("/messages/{message_id}/reveal")
def reveal(message_id: str, c: Auth) -> Revealed:
    """The message's vaulted PII values, put back: admin keys only, audited."""
    c.require("admin")
    found = c.memory.admin.reveal(message_id)
    if not c.sees(found.user_id, found.agent_id):
        raise NotFoundError("message", message_id)
    c.audit("pii.reveal", message_id, values=len(found.values))
    return found


@router.get("/memories")
def list_memories(c: Auth, user_id: str | None = None, agent_id: str | None = None,
                  conversation_id: str | None = None, session_id: str | None = None,
                  kind: Annotated[list[MemoryKind] | None, Query()] = None,
                  metadata: Annotated[str | None, Query(max_length=8192, description="Metadata conditions "
                                                        "(Filters.metadata) as a JSON object.")] = None,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 50, cursor: str | None = None) -> Page:
    c.require("read")
    c.check_user(user_id)
    c.check_agent(agent_id)
    c.check_conversation(conversation_id)
    try:
        conditions = json.loads(metadata) if metadata is not None else None
    except ValueError as exc:
        raise InvalidInputError("metadata", "must be a JSON object") from exc
    return c.memory.list(user_id=user_id, agent_id=agent_id, conversation_id=conversation_id,
                         session_id=session_id, kinds=kind, metadata=conditions, limit=limit, cursor=cursor)


@router.get("/memories/{memory_id}")
def get_memory(memory_id: str, c: Auth) -> MemoryRecord:
    c.require("read")
    return c.visible_memory(memory_id)


@router.post("/memories")
def put_memory(body: PutBody, c: Auth) -> MemoryRecord:
    """Write one fact directly (Memory.put); with a key, replace that key's memory."""
    c.require("write")
    c.check_user(body.user_id)
    c.check_agent(body.agent_id)
    rec = c.memory.put(body.text, user_id=body.user_id, agent_id=body.agent_id, key=body.key,
                       metadata=body.metadata, timestamp=body.timestamp, actor=c.key.id)
    c.audit("memory.put", rec.id, key=body.key)
    return rec


@router.patch("/memories/{memory_id}")
def update_memory(memory_id: str, body: UpdateBody, c: Auth) -> MemoryRecord:
    c.require("write")
    c.visible_memory(memory_id)
    rec = c.memory.update(memory_id, text=body.text, metadata=body.metadata, actor=c.key.id)
    c.audit("memory.update", memory_id, fields=[k for k, v in body.model_dump().items() if v is not None])
    return rec


def _change_status(c: Caller, memory_id: str, action: str) -> MemoryRecord:
    """Delete (soft), archive or restore a memory the key sees, audited."""
    c.require("write")
    c.visible_memory(memory_id)
    rec: MemoryRecord = getattr(c.memory, action)(memory_id, actor=c.key.id)
    c.audit(f"memory.{action}", memory_id)
    return rec


@router.delete("/memories/{memory_id}")
def delete_memory(memory_id: str, c: Auth) -> MemoryRecord:
    return _change_status(c, memory_id, "delete")


@router.post("/memories/{memory_id}/archive")
def archive_memory(memory_id: str, c: Auth) -> MemoryRecord:
    return _change_status(c, memory_id, "archive")


@router.post("/memories/{memory_id}/restore")
def restore_memory(memory_id: str, c: Auth) -> MemoryRecord:
    return _change_status(c, memory_id, "restore")


@router.get("/retention")
def retention_plan(c: Auth) -> RetentionReport:
    """What the space's retention rules would do now (a dry run)."""
    c.require("admin")
    c.require_unlimited("retention rules span every user of the space")
    return c.memory.retention()


@router.post("/retention")
def retention_apply(c: Auth) -> RetentionReport:
    """Apply the space's retention rules now (a job; see config.retention)."""
    c.require("admin")
    c.require_unlimited("retention rules span every user of the space")
    report = c.memory.retention(apply=True)
    c.audit("retention.apply", c.space, due={o.rule: o.memories for o in report.rules})
    return report


@router.get("/memories/{memory_id}/history")
def memory_history(memory_id: str, c: Auth) -> list[HistoryEntry]:
    c.require("read")
    c.visible_memory(memory_id)
    return c.memory.history(memory_id)


@router.post("/forget")
def forget(body: ForgetBody, c: Auth) -> dict[str, int]:
    c.require("write")
    c.check_forget(memory_id=body.memory_id, conversation_id=body.conversation_id, user_id=body.user_id,
                   message_id=body.message_id)
    counts = c.memory.forget(memory_id=body.memory_id, conversation_id=body.conversation_id, user_id=body.user_id,
                             message_id=body.message_id)
    c.audit("forget", body.memory_id or body.message_id or body.conversation_id or body.user_id or "",
            counts=counts)
    return counts

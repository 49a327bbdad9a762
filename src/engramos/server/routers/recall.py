"""``/v1/search``, ``/v1/context``, ``/v1/answer``: the request bodies are the library's
own request types, so every field the library takes is taken here."""

from __future__ import annotations

from fastapi import APIRouter

from ...requests import AnswerRequest, ContextRequest, SearchRequest
from ...types import AnswerResult, ContextBlock, SearchResult
from ..auth import Auth, Caller

router = APIRouter(prefix="/v1", tags=["recall"])


def _scoped(c: Caller, req: SearchRequest) -> None:
    c.require("read")
    c.check_user(req.filters.user_id)
    c.check_agent(req.filters.agent_id)
    c.check_conversation(req.filters.conversation_id)
    if getattr(req, "working", False):
        c.refuse_agent_limited("working memories")


@router.post("/search")
def search(body: SearchRequest, c: Auth) -> SearchResult:
    _scoped(c, body)
    return c.memory.search(body)


@router.post("/context")
def context(body: ContextRequest, c: Auth) -> ContextBlock:
    _scoped(c, body)
    return c.memory.context(body)


@router.post("/answer")
def answer(body: AnswerRequest, c: Auth) -> AnswerResult:
    _scoped(c, body)
    return c.memory.answer(body)

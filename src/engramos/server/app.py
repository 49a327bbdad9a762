"""The REST API (FastAPI), versioned under ``/v1``.

Every route authenticates an API key, takes the caller's space from it, and calls the
same :class:`engramos.Memory` methods the library exposes.  Ids of another space (or of
users a restricted key may not see) answer 404, never data.  Errors are JSON:
``{"error": {"code", "message", "field"?}}`` with a stable code.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from .._util import new_id, utcnow
from ..config import Config
from ..errors import ConfigError, EngramError, InvalidInputError, NotFoundError, ProviderError, StoreError
from ..memory import Memory
from ..providers.embeddings import Embedder
from ..types import (
    AddResult,
    AnswerResult,
    AuditEntry,
    ContextBlock,
    HistoryEntry,
    Job,
    MemoryKind,
    MemoryRecord,
    Message,
    Page,
    Scene,
    SearchResult,
)
from .auth import AuthError, Caller, ForbiddenError, authenticate

STATUS = {InvalidInputError: 422, NotFoundError: 404, AuthError: 401, ForbiddenError: 403, ConfigError: 400,
          StoreError: 503, ProviderError: 502}


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text} for code, text in {
        400: "Bad request or configuration", 401: "Missing, unknown or revoked API key",
        403: "The key's role or user scope does not allow this", 404: "Not found in the caller's space",
        422: "Invalid input (the field is named)", 502: "A provider (LLM, embedder) failed",
        503: "The store is unavailable"}.items()}


# ------------------------------------------------------------------ bodies
class AddBody(BaseModel):
    messages: list[dict[str, Any]] = Field(min_length=1, max_length=1000)
    user_id: str | None = None
    agent_id: str | None = None
    conversation_id: str | None = None
    session_id: str | None = None
    flush: bool = False
    wait: bool = True  # False: store now, process in the background, return the job ids


class SearchBody(BaseModel):
    query: str = Field(min_length=1, max_length=4000)
    user_id: str | None = None
    conversation_id: str | None = None
    kinds: list[MemoryKind] | None = None
    top_k: int = Field(default=10, ge=1, le=1000)
    reference_time: datetime | None = None
    time_range: tuple[datetime, datetime] | None = None
    agentic: bool = False


class ContextBody(SearchBody):
    budget_tokens: int = Field(default=1024, ge=32, le=200_000)
    top_k: int = Field(default=50, ge=1, le=1000)


class UpdateBody(BaseModel):
    text: str | None = Field(default=None, min_length=1)
    metadata: dict[str, Any] | None = None


class ForgetBody(BaseModel):
    memory_id: str | None = None
    conversation_id: str | None = None
    user_id: str | None = None


class Spaces:
    """One Memory per space, sharing the store, embedder and LLM of the deployment."""

    def __init__(self, config: Config, *, embedder: Embedder | None = None, process_inline: bool = True) -> None:
        self.config = config.model_copy(update={"process_inline": process_inline})
        self.root = Memory(config=self.config, embedder=embedder)
        self._by_space: dict[str, Memory] = {self.root.space: self.root}
        self._lock = threading.Lock()

    def get(self, space: str) -> Memory:
        with self._lock:
            if space not in self._by_space:
                self._by_space[space] = Memory(config=self.config.model_copy(update={"space": space}),
                                               store=self.root.store, embedder=self.root.embedder,
                                               llm=self.root.llm)
            return self._by_space[space]

    def close(self) -> None:
        self.root.close()


class Metrics:
    def __init__(self) -> None:
        self.requests: dict[tuple[str, int], int] = {}
        self.seconds: dict[str, float] = {}
        self._lock = threading.Lock()

    def observe(self, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(route, status)] = self.requests.get((route, status), 0) + 1
            self.seconds[route] = self.seconds.get(route, 0.0) + seconds

    def render(self, jobs: dict[str, int]) -> str:
        lines = ["# HELP engram_requests_total HTTP requests by route and status.",
                 "# TYPE engram_requests_total counter"]
        with self._lock:
            lines += [f'engram_requests_total{{route="{r}",status="{s}"}} {n}' for (r, s), n in self.requests.items()]
            lines += ["# HELP engram_request_seconds_total Time spent serving requests by route.",
                      "# TYPE engram_request_seconds_total counter"]
            lines += [f'engram_request_seconds_total{{route="{r}"}} {v:.6f}' for r, v in self.seconds.items()]
        lines += ["# HELP engram_jobs Jobs in the store by status.", "# TYPE engram_jobs gauge"]
        lines += [f'engram_jobs{{status="{k}"}} {v}' for k, v in jobs.items()]
        return "\n".join(lines) + "\n"


def caller(request: Request, authorization: Annotated[str | None, Header()] = None) -> Caller:
    """The authenticated caller (its key decides the space and what it may do)."""
    secret = authorization.removeprefix("Bearer ").strip() if authorization else None
    return Caller(authenticate(request.app.state.spaces.root.store, secret))


# Module level, so that FastAPI can resolve it from the (postponed) annotations.
Auth = Annotated[Caller, Depends(caller)]


def create_app(config: Config, *, embedder: Embedder | None = None, process_inline: bool = True) -> FastAPI:
    """The application.  ``process_inline``: run background jobs inside the request that
    creates them (single-process deployment); otherwise ``engram worker`` runs them."""
    spaces = Spaces(config, embedder=embedder, process_inline=process_inline)
    metrics = Metrics()
    app = FastAPI(title="EngramOS", version=__version__, responses=ERROR_RESPONSES,
                  description="Long-term memory for LLM agents. Authenticate with `Authorization: Bearer <key>`.")
    app.state.spaces = spaces

    @app.exception_handler(EngramError)
    async def engram_error(_: Request, exc: EngramError) -> JSONResponse:
        status = next((code for cls, code in STATUS.items() if isinstance(exc, cls)), 400)
        return JSONResponse({"error": exc.to_dict()}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": ["body"], "msg": "invalid request"}
        loc = list(first["loc"])
        if loc and loc[0] in ("body", "query", "path", "header"):
            loc = loc[1:]  # where the value came from, not its name
        field = ".".join(str(p) for p in loc)
        return JSONResponse({"error": {"code": "invalid_input", "message": f"{field or 'body'}: {first['msg']}",
                                       "field": field or "body"}}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {400: "invalid_input", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed"}
        return JSONResponse({"error": {"code": codes.get(exc.status_code, "http_error"), "message": str(exc.detail),
                                       **({"field": "body"} if exc.status_code == 400 else {})}},
                            status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.middleware("http")
    async def count(request: Request, call_next: Callable[[Request], Any]) -> Any:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        metrics.observe(getattr(route, "path", "unmatched"), response.status_code, time.perf_counter() - started)
        return response

    def memory_for(c: Caller) -> Memory:
        return spaces.get(c.space)

    def audit(c: Caller, action: str, target: str, **detail: Any) -> None:
        spaces.root.store.add_audit(AuditEntry(id=new_id("aud"), space=c.space, actor=c.key.id, action=action,
                                               target=target, at=utcnow(), detail=detail))

    def visible(c: Caller, mem: Memory, memory_id: str) -> MemoryRecord:
        rec = mem.get(memory_id)
        if not c.sees(rec.user_id, rec.agent_id):
            raise NotFoundError("memory", memory_id)
        return rec

    # ------------------------------------------------------------- routes
    @app.get("/v1/health", tags=["ops"])
    def health() -> dict[str, Any]:
        h = spaces.root.store.health()
        return {"status": "ok" if h.get("integrity") == "ok" else "degraded", "version": __version__,
                "backend": h.get("backend"), "migrations": h.get("migrations", [])}

    @app.get("/metrics", tags=["ops"], response_class=PlainTextResponse)
    def prometheus() -> str:
        return metrics.render(spaces.root.store.job_counts(spaces.root.space))

    @app.post("/v1/messages", tags=["memories"])
    def add_messages(body: AddBody, c: Auth) -> AddResult:
        c.require("write")
        c.check_user(body.user_id)
        c.check_agent(body.agent_id)
        result = memory_for(c).add(body.messages, user_id=body.user_id, agent_id=body.agent_id,
                                   conversation_id=body.conversation_id, session_id=body.session_id,
                                   flush=body.flush, process=body.wait)
        audit(c, "messages.add", body.conversation_id or "default", inserted=result.inserted)
        return result

    @app.post("/v1/search", tags=["recall"])
    def search(body: SearchBody, c: Auth) -> SearchResult:
        c.require("read")
        c.check_user(body.user_id)
        return memory_for(c).search(body.query, user_id=body.user_id, conversation_id=body.conversation_id,
                                    kinds=body.kinds, top_k=body.top_k, reference_time=body.reference_time,
                                    time_range=body.time_range, agentic=body.agentic)

    @app.post("/v1/context", tags=["recall"])
    def context(body: ContextBody, c: Auth) -> ContextBlock:
        c.require("read")
        c.check_user(body.user_id)
        return memory_for(c).context(body.query, budget_tokens=body.budget_tokens, user_id=body.user_id,
                                     conversation_id=body.conversation_id, kinds=body.kinds, top_k=body.top_k,
                                     reference_time=body.reference_time, time_range=body.time_range,
                                     agentic=body.agentic)

    @app.post("/v1/answer", tags=["recall"])
    def answer(body: ContextBody, c: Auth) -> AnswerResult:
        c.require("read")
        c.check_user(body.user_id)
        return memory_for(c).answer(body.query, budget_tokens=body.budget_tokens, user_id=body.user_id,
                                    conversation_id=body.conversation_id, reference_time=body.reference_time)

    @app.get("/v1/memories", tags=["memories"])
    def list_memories(c: Auth, user_id: str | None = None, conversation_id: str | None = None,
                      kind: Annotated[list[MemoryKind] | None, Query()] = None,
                      limit: Annotated[int, Query(ge=1, le=1000)] = 50, cursor: str | None = None) -> Page:
        c.require("read")
        c.check_user(user_id)
        return memory_for(c).list(user_id=user_id, conversation_id=conversation_id, kinds=kind, limit=limit,
                                  cursor=cursor)

    @app.get("/v1/memories/{memory_id}", tags=["memories"])
    def get_memory(memory_id: str, c: Auth) -> MemoryRecord:
        c.require("read")
        return visible(c, memory_for(c), memory_id)

    @app.patch("/v1/memories/{memory_id}", tags=["memories"])
    def update_memory(memory_id: str, body: UpdateBody, c: Auth) -> MemoryRecord:
        c.require("write")
        mem = memory_for(c)
        visible(c, mem, memory_id)
        rec = mem.update(memory_id, text=body.text, metadata=body.metadata, actor=c.key.id)
        audit(c, "memory.update", memory_id, fields=[k for k, v in body.model_dump().items() if v is not None])
        return rec

    @app.delete("/v1/memories/{memory_id}", tags=["memories"])
    def delete_memory(memory_id: str, c: Auth) -> MemoryRecord:
        c.require("write")
        mem = memory_for(c)
        visible(c, mem, memory_id)
        rec = mem.delete(memory_id, actor=c.key.id)
        audit(c, "memory.delete", memory_id)
        return rec

    @app.get("/v1/memories/{memory_id}/history", tags=["memories"])
    def memory_history(memory_id: str, c: Auth) -> list[HistoryEntry]:
        c.require("read")
        mem = memory_for(c)
        visible(c, mem, memory_id)
        return mem.history(memory_id)

    @app.post("/v1/forget", tags=["memories"])
    def forget(body: ForgetBody, c: Auth) -> dict[str, int]:
        c.require("write")
        mem = memory_for(c)
        if body.memory_id is not None:
            visible(c, mem, body.memory_id)
        elif body.user_id is not None:
            c.check_user(body.user_id)
        elif body.conversation_id is not None and c.key.users is not None:
            msgs = mem.messages(body.conversation_id, limit=1)
            if msgs and not c.sees(msgs[0].user_id, msgs[0].agent_id):
                raise NotFoundError("conversation", body.conversation_id)
        counts = mem.forget(memory_id=body.memory_id, conversation_id=body.conversation_id, user_id=body.user_id)
        audit(c, "forget", body.memory_id or body.conversation_id or body.user_id or "", counts=counts)
        return counts

    @app.get("/v1/users", tags=["tenancy"])
    def users(c: Auth) -> list[str]:
        c.require("read")
        found = sorted({u for u, _ in spaces.root.store.iter_tenants(c.space)})
        return [u for u in found if c.sees(u, None)]

    @app.get("/v1/users/{user_id}/profile", tags=["tenancy"])
    def profile(user_id: str, c: Auth) -> list[MemoryRecord]:
        c.require("read")
        c.check_user(user_id)
        return memory_for(c).list(user_id=user_id, kinds=["profile"], limit=1000).items

    @app.get("/v1/conversations", tags=["tenancy"])
    def conversations(c: Auth, user_id: str | None = None) -> list[dict[str, str]]:
        c.require("read")
        c.check_user(user_id)
        return [{"user_id": u, "conversation_id": cv} for u, cv in spaces.root.store.iter_tenants(c.space)
                if (user_id is None or u == user_id) and c.sees(u, None)]

    @app.get("/v1/conversations/{conversation_id}/messages", tags=["tenancy"])
    def conversation_messages(conversation_id: str, c: Auth,
                              limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> list[Message]:
        c.require("read")
        msgs = memory_for(c).messages(conversation_id, limit=limit)
        if msgs and not c.sees(msgs[0].user_id, msgs[0].agent_id):
            raise NotFoundError("conversation", conversation_id)
        return msgs

    @app.get("/v1/scenes", tags=["tenancy"])
    def scenes(c: Auth, user_id: str) -> list[Scene]:
        c.require("read")
        c.check_user(user_id)
        return [s for s, _ in spaces.root.store.list_scenes(c.space, user_id)]

    @app.get("/v1/jobs", tags=["ops"])
    def jobs(c: Auth, status: Annotated[list[str] | None, Query()] = None,
             limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[Job]:
        c.require("read")
        return spaces.root.store.list_jobs(c.space, status, limit)

    @app.get("/v1/jobs/status", tags=["ops"])
    def job_status(c: Auth) -> dict[str, Any]:
        c.require("read")
        return memory_for(c).status()

    @app.post("/v1/jobs/retry", tags=["ops"])
    def retry(c: Auth) -> dict[str, int]:
        c.require("write")
        return {"requeued": memory_for(c).retry()}

    @app.get("/v1/audit", tags=["ops"])
    def audit_log(c: Auth, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                  before: str | None = None) -> list[AuditEntry]:
        c.require("admin")
        return spaces.root.store.list_audit(c.space, limit=limit, before=before)

    return app

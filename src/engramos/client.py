"""``Client`` and ``AsyncClient``: the :class:`engramos.Memory` surface over the REST
API, with the same result types, so that switching from embedded to server is a change
of constructor.  Server errors come back as the same exception types."""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter

from .errors import ConfigError, EngramError, InvalidInputError, NotFoundError, ProviderError, StoreError
from .types import (
    AddResult,
    AnswerResult,
    ContextBlock,
    HistoryEntry,
    MemoryKind,
    MemoryRecord,
    Message,
    Page,
    SearchResult,
)

T = TypeVar("T")


class ServerError(EngramError):
    code = "server_error"


def _error(resp: httpx.Response) -> EngramError:
    try:
        err = resp.json()["error"]
    except (ValueError, KeyError, TypeError):
        return ServerError(f"server answered {resp.status_code}: {resp.text[:200]}")
    code, message = err.get("code"), err.get("message", "")
    if code == "invalid_input":
        field = err.get("field", "request")
        return InvalidInputError(field, message.removeprefix(f"{field}: "))
    if code == "not_found":
        exc = NotFoundError("resource", "?")
        exc.args = (message,)
        return exc
    from .server.auth import AuthError, ForbiddenError

    known: tuple[type[EngramError], ...] = (ConfigError, StoreError, ProviderError, AuthError, ForbiddenError)
    for cls in known:
        if code == cls.code:
            return cls(message)
    return ServerError(message or f"server answered {resp.status_code}")


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _search_body(query: str, kw: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"query": query}
    for key in ("user_id", "conversation_id", "kinds", "top_k", "agentic", "budget_tokens"):
        if kw.get(key) is not None:
            body[key] = kw[key]
    if kw.get("reference_time") is not None:
        body["reference_time"] = _iso(kw["reference_time"])
    if kw.get("time_range") is not None:
        body["time_range"] = [_iso(x) for x in kw["time_range"]]
    return body


Request = tuple[str, str, Any, dict[str, Any]]  # method, path, result type, httpx keyword arguments


class _Requests:
    """What each method sends and what it returns; Client and AsyncClient execute them."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {api_key}"}

    def _run(self, request: Request) -> Any:
        raise NotImplementedError

    def __getattr__(self, name: str) -> Any:
        # add, search, ...: build the request, then run it (a value, or an awaitable for AsyncClient)
        if name in _METHODS:
            build = getattr(_Requests, f"r_{name}")
            return lambda *a, **kw: self._run(build(*a, **kw))
        raise AttributeError(name)

    @staticmethod
    def _parse(resp: httpx.Response, model: Any) -> Any:
        if resp.status_code >= 400:
            raise _error(resp)
        data = resp.json()
        if isinstance(model, type) and issubclass(model, BaseModel):
            return model.model_validate(data)
        return TypeAdapter(model).validate_python(data)

    @staticmethod
    def r_add(messages: Any, *, user_id: str | None = None, agent_id: str | None = None,
              conversation_id: str | None = None, session_id: str | None = None, flush: bool = False,
              wait: bool = True) -> Request:
        body = {"messages": messages if isinstance(messages, list) else [messages], "user_id": user_id,
                "agent_id": agent_id, "conversation_id": conversation_id, "session_id": session_id,
                "flush": flush, "wait": wait}
        return "POST", "/v1/messages", AddResult, {"json": body}

    @staticmethod
    def r_search(query: str, **kw: Any) -> Request:
        return "POST", "/v1/search", SearchResult, {"json": _search_body(query, kw)}

    @staticmethod
    def r_context(query: str, *, budget_tokens: int | None = None, **kw: Any) -> Request:
        body = _search_body(query, {**kw, "budget_tokens": budget_tokens})
        return "POST", "/v1/context", ContextBlock, {"json": body}

    @staticmethod
    def r_answer(question: str, *, budget_tokens: int | None = None, **kw: Any) -> Request:
        body = _search_body(question, {**kw, "budget_tokens": budget_tokens})
        return "POST", "/v1/answer", AnswerResult, {"json": body}

    @staticmethod
    def r_get(memory_id: str) -> Request:
        return "GET", f"/v1/memories/{memory_id}", MemoryRecord, {}

    @staticmethod
    def r_list(*, user_id: str | None = None, conversation_id: str | None = None,
               kinds: builtins.list[MemoryKind] | None = None, limit: int = 50, cursor: str | None = None) -> Request:
        params = {k: v for k, v in {"user_id": user_id, "conversation_id": conversation_id, "kind": kinds,
                                     "limit": limit, "cursor": cursor}.items() if v is not None}
        return "GET", "/v1/memories", Page, {"params": params}

    @staticmethod
    def r_update(memory_id: str, *, text: str | None = None, metadata: dict[str, Any] | None = None) -> Request:
        return "PATCH", f"/v1/memories/{memory_id}", MemoryRecord, {"json": {"text": text, "metadata": metadata}}

    @staticmethod
    def r_delete(memory_id: str) -> Request:
        return "DELETE", f"/v1/memories/{memory_id}", MemoryRecord, {}

    @staticmethod
    def r_forget(*, memory_id: str | None = None, conversation_id: str | None = None,
                 user_id: str | None = None) -> Request:
        body = {"memory_id": memory_id, "conversation_id": conversation_id, "user_id": user_id}
        return "POST", "/v1/forget", dict[str, int], {"json": body}

    @staticmethod
    def r_history(memory_id: str) -> Request:
        return "GET", f"/v1/memories/{memory_id}/history", builtins.list[HistoryEntry], {}

    @staticmethod
    def r_messages(conversation_id: str, *, limit: int = 1000) -> Request:
        path = f"/v1/conversations/{conversation_id}/messages"
        return "GET", path, builtins.list[Message], {"params": {"limit": limit}}

    @staticmethod
    def r_status() -> Request:
        return "GET", "/v1/jobs/status", dict[str, Any], {}

    @staticmethod
    def r_retry() -> Request:
        return "POST", "/v1/jobs/retry", dict[str, int], {}

    @staticmethod
    def r_health() -> Request:
        return "GET", "/v1/health", dict[str, Any], {}


_METHODS = ("add", "search", "context", "answer", "get", "list", "update", "delete", "forget", "history",
            "messages", "status", "retry", "health")


class Client(_Requests):
    """Synchronous client: ``Client("http://127.0.0.1:8420", api_key)``; the methods of
    :class:`engramos.Memory` (add, search, context, answer, get, list, update, delete,
    forget, history, messages, status, retry, health) with the same result types."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 60.0) -> None:
        super().__init__(base_url, api_key)
        self._http = httpx.Client(base_url=self.base_url, headers=self.headers, timeout=timeout)

    def _run(self, request: Request) -> Any:
        method, path, model, kw = request
        try:
            resp = self._http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise ServerError(f"cannot reach EngramOS at {self.base_url}: {exc}") from exc
        return self._parse(resp, model)

    def retry(self) -> int:
        return int(self._run(self.r_retry())["requeued"])

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient(_Requests):
    """The same surface as :class:`Client`, awaitable."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 60.0) -> None:
        super().__init__(base_url, api_key)
        self._http = httpx.AsyncClient(base_url=self.base_url, headers=self.headers, timeout=timeout)

    async def _run(self, request: Request) -> Any:
        method, path, model, kw = request
        try:
            resp = await self._http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise ServerError(f"cannot reach EngramOS at {self.base_url}: {exc}") from exc
        return self._parse(resp, model)

    async def retry(self) -> int:
        return int((await self._run(self.r_retry()))["requeued"])

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

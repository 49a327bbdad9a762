"""``Client`` and ``AsyncClient``: the :class:`engramos.Memory` surface over the REST
API, with the same methods, parameters and result types (a test checks them name by
name), so that switching from embedded to server is a change of constructor.  Server
errors come back as the same exception types."""

from __future__ import annotations

import builtins
import functools
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Concatenate, Generic, ParamSpec, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter

from .cube import ImportReport, Manifest, OnConflict
from .cube.training import TrainingFormat
from .errors import CubeError, EngramError, InvalidInputError, NotFoundError, ServerError, error_classes
from .governance.retention import RetentionReport
from .requests import AnswerRequest, ContextRequest, SearchRequest
from .types import (
    AddResult,
    AnswerResult,
    ContextBlock,
    ConversationRef,
    Filters,
    HistoryEntry,
    Job,
    JobStatus,
    MemoryRecord,
    Message,
    Page,
    Scene,
    SearchResult,
    WorkingMemory,
)

T = TypeVar("T")
P = ParamSpec("P")


def _error(resp: httpx.Response) -> EngramError:
    try:
        err = resp.json()["error"]
    except (ValueError, KeyError, TypeError):
        return ServerError(f"server answered {resp.status_code}: {resp.text[:200]}")
    code, message = err.get("code"), err.get("message", "")
    if code == "invalid_input":
        field = err.get("field", "request")
        return InvalidInputError(field, message.removeprefix(f"{field}: "))
    if code == "invalid_cube":
        part = err.get("part")
        return CubeError(message.removeprefix(f"{part}: ") if part else message, part)
    if code == "not_found":
        exc = NotFoundError("resource", "?")
        exc.args = (message,)
        return exc
    for cls in error_classes():
        if code == cls.code and cls not in (InvalidInputError, NotFoundError):
            return cls(message)
    return ServerError(message or f"server answered {resp.status_code}")


class Call(Generic[T]):
    """One request: method, path, how to read the answer, httpx keyword arguments."""

    def __init__(self, method: str, path: str, model: Any, *, pick: str | None = None, **kw: Any) -> None:
        self.method, self.path, self.model, self.pick, self.kw = method, path, model, pick, kw

    def parse(self, resp: httpx.Response) -> T:
        if resp.status_code >= 400:
            raise _error(resp)
        data = resp.json()
        if self.pick is not None:  # the answer wraps the value: {"requeued": 3}
            data = data[self.pick]
        if isinstance(self.model, type) and issubclass(self.model, BaseModel):
            return self.model.model_validate(data)  # type: ignore[return-value]
        return TypeAdapter(self.model).validate_python(data)


def _params(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _size(f: IO[bytes]) -> int:
    """Bytes left to read in ``f`` (0 when it cannot tell: a pipe)."""
    try:
        here = f.tell()
        end = f.seek(0, os.SEEK_END)
        f.seek(here)
        return end - here
    except (OSError, ValueError):
        return 0


@contextmanager
def _writer(out: str | Path | IO[bytes]) -> Iterator[IO[bytes]]:
    if isinstance(out, str | Path):
        with open(out, "wb") as f:
            yield f
    else:
        yield out


class _Calls:
    """The methods of :class:`engramos.Memory`, each building the HTTP call it makes;
    :class:`Client` runs them, :class:`AsyncClient` awaits them (see ``_sync`` /
    ``_async``), so each method's parameters are written once."""

    def add(self, messages: Any, *, user_id: str | None = None, agent_id: str | None = None,
            conversation_id: str | None = None, session_id: str | None = None,
            flush: bool = False, process: bool | None = None) -> Call[AddResult]:
        body = {"messages": messages if isinstance(messages, list) else [messages], "user_id": user_id,
                "agent_id": agent_id, "conversation_id": conversation_id, "session_id": session_id,
                "flush": flush, **({"wait": process} if process is not None else {})}
        return Call[AddResult]("POST", "/v1/messages", AddResult, json=body)

    def search(self, request: SearchRequest | str | None = None, /, **options: Any) -> Call[SearchResult]:
        req = SearchRequest.of(request, options)
        return Call[SearchResult]("POST", "/v1/search", SearchResult, json=req.payload())

    def context(self, request: ContextRequest | str | None = None, /, **options: Any) -> Call[ContextBlock]:
        req = ContextRequest.of(request, options)
        return Call[ContextBlock]("POST", "/v1/context", ContextBlock, json=req.payload())

    def answer(self, request: AnswerRequest | str | None = None, /, **options: Any) -> Call[AnswerResult]:
        req = AnswerRequest.of(request, options)
        return Call[AnswerResult]("POST", "/v1/answer", AnswerResult, json=req.payload())

    def get(self, memory_id: str) -> Call[MemoryRecord]:
        return Call[MemoryRecord]("GET", f"/v1/memories/{memory_id}", MemoryRecord)

    def list(self, *, filters: Filters | dict[str, Any] | None = None, limit: int = 50, cursor: str | None = None,
             **scope: Any) -> Call[Page]:
        f = filters.model_dump(exclude_defaults=True) if isinstance(filters, Filters) else dict(filters or {})
        f.update({k: v for k, v in scope.items() if v is not None})
        kinds = f.pop("kinds", None)
        metadata = f.pop("metadata", None)
        unsupported = set(f) - {"user_id", "agent_id", "conversation_id", "session_id"}
        if unsupported:
            raise InvalidInputError("filters", f"the REST listing does not take {sorted(unsupported)}")
        conditions = None if metadata is None else json.dumps(
            {k: v.model_dump(by_alias=True, exclude_none=True) if isinstance(v, BaseModel) else v
             for k, v in metadata.items()})
        return Call[Page]("GET", "/v1/memories", Page,
                          params=_params(**f, kind=kinds, metadata=conditions, limit=limit, cursor=cursor))

    def put(self, text: str, *, user_id: str | None = None, agent_id: str | None = None, key: str | None = None,
            metadata: dict[str, Any] | None = None, timestamp: Any = None, actor: str = "user") -> Call[MemoryRecord]:
        # the server records the calling key as the actor
        body = {"text": text, "user_id": user_id, "agent_id": agent_id, "key": key, "metadata": metadata,
                "timestamp": timestamp.isoformat() if isinstance(timestamp, datetime) else timestamp}
        return Call[MemoryRecord]("POST", "/v1/memories", MemoryRecord,
                                  json={k: v for k, v in body.items() if v is not None})

    def update(self, memory_id: str, *, text: str | None = None, metadata: dict[str, Any] | None = None,
               actor: str = "user") -> Call[MemoryRecord]:
        # the server records the calling key as the actor
        return Call[MemoryRecord]("PATCH", f"/v1/memories/{memory_id}", MemoryRecord,
                                             json={"text": text, "metadata": metadata})

    def delete(self, memory_id: str, *, actor: str = "user") -> Call[MemoryRecord]:
        return Call[MemoryRecord]("DELETE", f"/v1/memories/{memory_id}", MemoryRecord)

    def forget(self, *, memory_id: str | None = None, conversation_id: str | None = None,
               user_id: str | None = None, message_id: str | None = None) -> Call[dict[str, int]]:
        body = {"memory_id": memory_id, "conversation_id": conversation_id, "user_id": user_id,
                "message_id": message_id}
        return Call[dict[str, int]]("POST", "/v1/forget", dict[str, int], json=body)

    def working_memory(self, conversation_id: str, *, budget_tokens: int | None = None) -> Call[WorkingMemory]:
        return Call[WorkingMemory]("GET", f"/v1/conversations/{conversation_id}/working", WorkingMemory,
                                   params=_params(budget_tokens=budget_tokens))

    def archive(self, memory_id: str, *, actor: str = "user") -> Call[MemoryRecord]:
        return Call[MemoryRecord]("POST", f"/v1/memories/{memory_id}/archive", MemoryRecord)

    def restore(self, memory_id: str, *, actor: str = "user") -> Call[MemoryRecord]:
        return Call[MemoryRecord]("POST", f"/v1/memories/{memory_id}/restore", MemoryRecord)

    def retention(self, *, apply: bool = False) -> Call[RetentionReport]:
        return Call[RetentionReport]("POST" if apply else "GET", "/v1/retention", RetentionReport)

    def history(self, memory_id: str) -> Call[builtins.list[HistoryEntry]]:
        return Call[builtins.list[HistoryEntry]](
            "GET", f"/v1/memories/{memory_id}/history", builtins.list[HistoryEntry])

    def users(self) -> Call[builtins.list[str]]:
        return Call[builtins.list[str]]("GET", "/v1/users", builtins.list[str])

    def conversations(self, *, user_id: str | None = None) -> Call[builtins.list[ConversationRef]]:
        return Call[builtins.list[ConversationRef]]("GET", "/v1/conversations",
                                                               builtins.list[ConversationRef],
                                                               params=_params(user_id=user_id))

    def messages(self, conversation_id: str, *, limit: int = 1000,
                 latest: bool = False) -> Call[builtins.list[Message]]:
        return Call[builtins.list[Message]]("GET", f"/v1/conversations/{conversation_id}/messages",
                                            builtins.list[Message],
                                            params={"limit": limit, "latest": str(latest).lower()})

    def scenes(self, *, user_id: str) -> Call[builtins.list[Scene]]:
        return Call[builtins.list[Scene]]("GET", "/v1/scenes", builtins.list[Scene],
                                                     params={"user_id": user_id})

    def profile(self, *, user_id: str) -> Call[builtins.list[MemoryRecord]]:
        return Call[builtins.list[MemoryRecord]]("GET", f"/v1/users/{user_id}/profile",
                                                            builtins.list[MemoryRecord])

    def jobs(self, status: builtins.list[JobStatus] | None = None, *, limit: int = 100) -> Call[builtins.list[Job]]:
        return Call[builtins.list[Job]]("GET", "/v1/jobs", builtins.list[Job],
                                                   params=_params(status=status, limit=limit))

    def status(self) -> Call[dict[str, Any]]:
        return Call[dict[str, Any]]("GET", "/v1/jobs/status", dict[str, Any])

    def retry(self) -> Call[int]:
        return Call[int]("POST", "/v1/jobs/retry", int, pick="requeued")

    def health(self) -> Call[dict[str, Any]]:
        return Call[dict[str, Any]]("GET", "/v1/health", dict[str, Any])


class _CubeCalls:
    """What export_cube and import_cube send; the transfer itself streams a file, so
    :class:`Client` and :class:`AsyncClient` run these themselves."""

    @staticmethod
    def export_request(user_id: str | None, agent_id: str | None, conversation_id: str | None,
                       sign_key: str | None, key_id: str | None) -> dict[str, Any]:
        return {"params": _params(user_id=user_id, agent_id=agent_id, conversation_id=conversation_id, key_id=key_id),
                "headers": _params(**{"X-Engram-Cube-Key": sign_key})}

    @staticmethod
    def import_request(as_user: str | None, on_conflict: str, reembed: bool, sign_key: str | None) -> dict[str, Any]:
        return {"params": _params(as_user=as_user, on_conflict=on_conflict, reembed=str(reembed).lower()),
                "headers": {"Content-Type": "application/zip", **_params(**{"X-Engram-Cube-Key": sign_key})}}

    @staticmethod
    def chunks(source: str | Path | IO[bytes], progress: Callable[[str, int, int], None] | None) -> Iterator[bytes]:
        f = Path(source).open("rb") if isinstance(source, str | Path) else source  # noqa: SIM115 (closed below)
        total = _size(f)
        sent = 0
        try:
            while chunk := f.read(1 << 20):
                sent += len(chunk)
                if progress:
                    progress("upload", sent, total)
                yield chunk
        finally:
            if f is not source:
                f.close()

    @staticmethod
    def manifest(out: str | Path | IO[bytes], start: int) -> Manifest:
        from .cube import inspect_cube

        if isinstance(out, str | Path):
            return inspect_cube(out).manifest
        out.seek(start)
        return inspect_cube(out).manifest


# Memory methods that only make sense in process: running a worker's jobs, counting
# LLM spend of this process, and the in-process flush/job counts (the server owns them).
IN_PROCESS_ONLY = ("flush", "run_jobs", "job_counts", "llm_usage", "conversation_owner")


class _sync(Generic[P, T]):
    """A :class:`_Calls` method, run: ``Client.search(...)`` returns a SearchResult, with
    the builder's own parameters (and signature, for inspection)."""

    def __init__(self, build: Callable[Concatenate[_Calls, P], Call[T]]) -> None:
        self.build = build

    def __get__(self, obj: Client | None, owner: type) -> Callable[P, T]:
        if obj is None:
            return functools.partial(self.build, _CALLS)  # type: ignore[return-value]
        runner = obj

        @functools.wraps(self.build)
        def run(*args: P.args, **kwargs: P.kwargs) -> T:
            return runner._run(self.build(_CALLS, *args, **kwargs))

        return run


class _async(Generic[P, T]):
    """A :class:`_Calls` method, awaited: ``await AsyncClient.search(...)``."""

    def __init__(self, build: Callable[Concatenate[_Calls, P], Call[T]]) -> None:
        self.build = build

    def __get__(self, obj: AsyncClient | None, owner: type) -> Callable[P, Awaitable[T]]:
        if obj is None:
            return functools.partial(self.build, _CALLS)  # type: ignore[return-value]
        runner = obj

        @functools.wraps(self.build)
        async def run(*args: P.args, **kwargs: P.kwargs) -> T:
            return await runner._run(self.build(_CALLS, *args, **kwargs))

        return run


_CALLS = _Calls()


class Client:
    """Synchronous client: ``Client("http://127.0.0.1:8420", api_key)``; the methods of
    :class:`engramos.Memory` with the same parameters and result types."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, headers={"Authorization": f"Bearer {api_key}"},
                                  timeout=timeout)

    def _run(self, call: Call[T]) -> T:
        try:
            resp = self._http.request(call.method, call.path, **call.kw)
        except httpx.HTTPError as exc:
            raise ServerError(f"cannot reach EngramOS at {self.base_url}: {exc}") from exc
        return call.parse(resp)

    add = _sync(_Calls.add)
    search = _sync(_Calls.search)
    context = _sync(_Calls.context)
    answer = _sync(_Calls.answer)
    get = _sync(_Calls.get)
    list = _sync(_Calls.list)
    put = _sync(_Calls.put)
    update = _sync(_Calls.update)
    delete = _sync(_Calls.delete)
    forget = _sync(_Calls.forget)
    history = _sync(_Calls.history)
    archive = _sync(_Calls.archive)
    working_memory = _sync(_Calls.working_memory)
    restore = _sync(_Calls.restore)
    retention = _sync(_Calls.retention)
    users = _sync(_Calls.users)
    conversations = _sync(_Calls.conversations)
    messages = _sync(_Calls.messages)
    scenes = _sync(_Calls.scenes)
    profile = _sync(_Calls.profile)
    jobs = _sync(_Calls.jobs)
    status = _sync(_Calls.status)
    retry = _sync(_Calls.retry)
    health = _sync(_Calls.health)

    def export_cube(self, out: str | Path | IO[bytes], *, user_id: str | None = None, agent_id: str | None = None,
                    conversation_id: str | None = None, sign_key: str | None = None,
                    key_id: str | None = None) -> Manifest:
        kw = _CubeCalls.export_request(user_id, agent_id, conversation_id, sign_key, key_id)
        start = out.tell() if not isinstance(out, str | Path) else 0
        try:
            with self._http.stream("GET", "/v1/cube", **kw) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    raise _error(resp)
                with _writer(out) as dst:
                    for chunk in resp.iter_bytes(1 << 20):
                        dst.write(chunk)
        except httpx.HTTPError as exc:
            raise ServerError(f"cannot reach EngramOS at {self.base_url}: {exc}") from exc
        return _CubeCalls.manifest(out, start)

    def export_training(self, out: str | Path | IO[bytes], *, user_id: str,
                        format: TrainingFormat = "sft") -> int:
        try:
            with self._http.stream("GET", f"/v1/users/{user_id}/training", params={"format": format}) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    raise _error(resp)
                rows = 0
                with _writer(out) as dst:
                    for chunk in resp.iter_bytes(1 << 20):
                        rows += chunk.count(b"\n")
                        dst.write(chunk)
        except httpx.HTTPError as exc:
            raise ServerError(f"cannot reach EngramOS at {self.base_url}: {exc}") from exc
        return rows

    def import_cube(self, source: str | Path | IO[bytes], *, as_user: str | None = None,
                    on_conflict: OnConflict = "skip", reembed: bool = True, sign_key: str | None = None,
                    progress: Callable[[str, int, int], None] | None = None) -> ImportReport:
        kw = _CubeCalls.import_request(as_user, on_conflict, reembed, sign_key)
        return self._run(Call[ImportReport]("POST", "/v1/cube", ImportReport,
                                            content=_CubeCalls.chunks(source, progress), **kw))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient:
    """The same surface as :class:`Client`, awaitable."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self.base_url, headers={"Authorization": f"Bearer {api_key}"},
                                       timeout=timeout)

    async def _run(self, call: Call[T]) -> T:
        try:
            resp = await self._http.request(call.method, call.path, **call.kw)
        except httpx.HTTPError as exc:
            raise ServerError(f"cannot reach EngramOS at {self.base_url}: {exc}") from exc
        return call.parse(resp)

    add = _async(_Calls.add)
    search = _async(_Calls.search)
    context = _async(_Calls.context)
    answer = _async(_Calls.answer)
    get = _async(_Calls.get)
    list = _async(_Calls.list)
    put = _async(_Calls.put)
    update = _async(_Calls.update)
    delete = _async(_Calls.delete)
    forget = _async(_Calls.forget)
    history = _async(_Calls.history)
    archive = _async(_Calls.archive)
    working_memory = _async(_Calls.working_memory)
    restore = _async(_Calls.restore)
    retention = _async(_Calls.retention)
    users = _async(_Calls.users)
    conversations = _async(_Calls.conversations)
    messages = _async(_Calls.messages)
    scenes = _async(_Calls.scenes)
    profile = _async(_Calls.profile)
    jobs = _async(_Calls.jobs)
    status = _async(_Calls.status)
    retry = _async(_Calls.retry)
    health = _async(_Calls.health)

    async def export_cube(self, out: str | Path | IO[bytes], *, user_id: str | None = None,
                          agent_id: str | None = None, conversation_id: str | None = None,
                          sign_key: str | None = None, key_id: str | None = None) -> Manifest:
        kw = _CubeCalls.export_request(user_id, agent_id, conversation_id, sign_key, key_id)
        start = out.tell() if not isinstance(out, str | Path) else 0
        try:
            async with self._http.stream("GET", "/v1/cube", **kw) as resp:
                if resp.status_code >= 400:
                    await resp.aread()
                    raise _error(resp)
                with _writer(out) as dst:
                    async for chunk in resp.aiter_bytes(1 << 20):
                        dst.write(chunk)
        except httpx.HTTPError as exc:
            raise ServerError(f"cannot reach EngramOS at {self.base_url}: {exc}") from exc
        return _CubeCalls.manifest(out, start)

    async def export_training(self, out: str | Path | IO[bytes], *, user_id: str,
                              format: TrainingFormat = "sft") -> int:
        try:
            async with self._http.stream("GET", f"/v1/users/{user_id}/training",
                                         params={"format": format}) as resp:
                if resp.status_code >= 400:
                    await resp.aread()
                    raise _error(resp)
                rows = 0
                with _writer(out) as dst:
                    async for chunk in resp.aiter_bytes(1 << 20):
                        rows += chunk.count(b"\n")
                        dst.write(chunk)
        except httpx.HTTPError as exc:
            raise ServerError(f"cannot reach EngramOS at {self.base_url}: {exc}") from exc
        return rows

    async def import_cube(self, source: str | Path | IO[bytes], *, as_user: str | None = None,
                          on_conflict: OnConflict = "skip", reembed: bool = True, sign_key: str | None = None,
                          progress: Callable[[str, int, int], None] | None = None) -> ImportReport:
        kw = _CubeCalls.import_request(as_user, on_conflict, reembed, sign_key)

        async def body() -> AsyncIterator[bytes]:
            for chunk in _CubeCalls.chunks(source, progress):
                yield chunk

        return await self._run(Call[ImportReport]("POST", "/v1/cube", ImportReport, content=body(), **kw))

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

"""Chat LLM providers.

A provider implements one narrow method, :meth:`ChatModel._chat` (one HTTP round trip);
the base class owns bounded retries with backoff (timeouts, 429 honouring Retry-After,
5xx), a concurrency limit, structured output validated by pydantic with repair of
almost-valid JSON and one corrective re-ask, and token accounting (per model, and per
unit of work through :meth:`ChatModel.track`).
"""

from __future__ import annotations

import json
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from ..config import LLMConfig
from ..errors import ConfigError, ProviderError

T = TypeVar("T", bound=BaseModel)
Messages = list[dict[str, str]]


class LLMError(ProviderError):
    code = "llm_error"

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


@dataclass
class ChatResponse:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str | None = None
    cached_tokens: int = 0  # prompt tokens the server served from its prefix cache (when it says)


@dataclass
class Usage:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    by_purpose: dict[str, int] = field(default_factory=dict)

    def add(self, r: ChatResponse, purpose: str) -> None:
        self.calls += 1
        self.prompt_tokens += r.prompt_tokens
        self.cached_tokens += r.cached_tokens
        self.completion_tokens += r.completion_tokens
        self.by_purpose[purpose] = self.by_purpose.get(purpose, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        return {"llm_calls": self.calls, "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens, "cached_tokens": self.cached_tokens,
                "by_purpose": dict(self.by_purpose)}


_FENCE = re.compile(r"^\s*```(?:json)?\s*|\s*```\s*$", re.S)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")


def repair_json(text: str) -> Any:
    """Parse JSON from a model's reply, repairing the usual damage: code fences, prose
    around the object, trailing commas, and output truncated mid-object (open strings,
    arrays and objects are closed).  Raises ValueError when nothing parses."""
    s = _FENCE.sub("", text.strip())
    starts = [i for i in (s.find("{"), s.find("[")) if i >= 0]
    if not starts:
        raise ValueError("no JSON object in the reply")
    s = s[min(starts):]
    for candidate in (s, _TRAILING_COMMA.sub(r"\1", s)):
        try:
            return json.loads(candidate)
        except json.JSONDecodeError:
            pass
    closed = _close_truncated(_TRAILING_COMMA.sub(r"\1", s))
    try:
        return json.loads(closed)
    except json.JSONDecodeError as exc:
        # a truncated last element: drop it and close again
        cut = max(closed.rfind(",", 0, len(closed) - 1), 0)
        try:
            return json.loads(_close_truncated(closed[:cut]))
        except json.JSONDecodeError:
            raise ValueError(f"unrepairable JSON: {exc}") from exc


def _close_truncated(s: str) -> str:
    stack: list[str] = []
    in_str = escaped = False
    end = 0
    for i, ch in enumerate(s):
        if in_str:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]":
            if stack:
                stack.pop()
            if not stack:
                end = i + 1
                break
    if end:
        return s[:end]
    out = s + ('"' if in_str else "")
    out = re.sub(r",\s*$", "", out.rstrip())
    out = re.sub(r'("[^"]*"\s*:\s*)$', r"\1null", out)
    return out + "".join(reversed(stack))


class ChatModel(ABC):
    def __init__(self, cfg: LLMConfig) -> None:
        self.cfg = cfg
        self.model_id = f"llm:{cfg.model}"
        self.usage = Usage()
        self._slots = threading.BoundedSemaphore(cfg.concurrency)
        self._lock = threading.Lock()
        self._local = threading.local()

    @abstractmethod
    def _chat(self, messages: Messages, *, response_format: dict[str, Any] | None) -> ChatResponse:
        """One request; raise LLMError (retryable or not) on failure."""

    @contextmanager
    def track(self) -> Iterator[Usage]:
        """Accumulate the calls made by this thread inside the block (for one job)."""
        usage = Usage()
        stack = getattr(self._local, "stack", [])
        self._local.stack = [*stack, usage]
        try:
            yield usage
        finally:
            self._local.stack = stack

    def complete(self, messages: Messages, *, purpose: str = "chat",
                 response_format: dict[str, Any] | None = None) -> ChatResponse:
        last: LLMError | None = None
        for attempt in range(self.cfg.max_retries + 1):
            try:
                with self._slots:
                    response = self._chat(messages, response_format=response_format)
            except LLMError as exc:
                last = exc
                if not exc.retryable or attempt == self.cfg.max_retries:
                    break
                time.sleep(exc.retry_after if exc.retry_after is not None
                           else self.cfg.backoff_s * 2**attempt)
                continue
            with self._lock:
                self.usage.add(response, purpose)
            for u in getattr(self._local, "stack", []):
                u.add(response, purpose)
            return response
        assert last is not None
        raise last

    def structured(self, messages: Messages, schema: type[T], *, purpose: str) -> T:
        """A reply validated against ``schema``; repairs almost-valid JSON, and re-asks
        once with the validation error when the reply still does not fit."""
        fmt = self._format(schema)
        response = self.complete(messages, purpose=purpose, response_format=fmt)
        try:
            return self._parse(response.text, schema)
        except ValueError as first_error:
            retry = [*messages, {"role": "assistant", "content": response.text[:4000]},
                     {"role": "user", "content": f"That reply is not valid for the required JSON schema "
                                                 f"({str(first_error)[:300]}). Reply with the corrected JSON only."}]
            second = self.complete(retry, purpose=purpose + ":repair", response_format=fmt)
            try:
                return self._parse(second.text, schema)
            except ValueError as exc:
                raise LLMError(f"{purpose}: the model's reply does not fit {schema.__name__}: {exc}",
                               retryable=True) from exc

    @staticmethod
    def _parse(text: str, schema: type[T]) -> T:
        try:
            return schema.model_validate(repair_json(text))
        except ValidationError as exc:
            raise ValueError(str(exc)) from exc

    def _format(self, schema: type[BaseModel]) -> dict[str, Any] | None:
        if self.cfg.json_mode == "json_schema":
            return {"type": "json_schema", "json_schema": {"name": schema.__name__,
                                                           "schema": schema.model_json_schema()}}
        if self.cfg.json_mode == "json_object":
            return {"type": "json_object"}
        return None


class OpenAIChat(ChatModel):
    """``POST {base_url}/chat/completions`` of any OpenAI-compatible server."""

    def __init__(self, cfg: LLMConfig) -> None:
        if not cfg.enabled:
            raise ConfigError("llm.base_url and llm.model are required for the LLM pipeline")
        super().__init__(cfg)
        headers = {"Authorization": f"Bearer {cfg.api_key}"} if cfg.api_key else {}
        self._client = httpx.Client(base_url=str(cfg.base_url).rstrip("/"), headers=headers,
                                    timeout=httpx.Timeout(cfg.timeout_s, connect=min(10.0, cfg.timeout_s)))
        self._downgraded = False

    def _chat(self, messages: Messages, *, response_format: dict[str, Any] | None) -> ChatResponse:
        body: dict[str, Any] = {"model": self.cfg.model, "messages": messages,
                                "temperature": self.cfg.temperature, "max_tokens": self.cfg.max_tokens}
        if response_format is not None and not self._downgraded:
            body["response_format"] = response_format
        try:
            resp = self._client.post("/chat/completions", json=body)
        except httpx.TimeoutException as exc:
            raise LLMError(f"LLM request timed out after {self.cfg.timeout_s}s", retryable=True) from exc
        except httpx.TransportError as exc:
            raise LLMError(f"LLM endpoint unreachable: {exc}", retryable=True) from exc
        if resp.status_code == 400 and "response_format" in resp.text and not self._downgraded:
            self._downgraded = True  # servers without structured output: plain JSON prompting
            return self._chat(messages, response_format=None)
        if resp.status_code == 429 or resp.status_code >= 500:
            after = resp.headers.get("retry-after")
            raise LLMError(f"LLM endpoint answered {resp.status_code}", retryable=True,
                           retry_after=float(after) if after and after.replace(".", "").isdigit() else None)
        if resp.status_code >= 400:
            raise LLMError(f"LLM endpoint answered {resp.status_code}: {resp.text[:300]}", retryable=False)
        try:
            data = resp.json()
            choice = data["choices"][0]
            usage = data.get("usage") or {}
            return ChatResponse(text=choice["message"].get("content") or "",
                                prompt_tokens=int(usage.get("prompt_tokens", 0)),
                                completion_tokens=int(usage.get("completion_tokens", 0)),
                                finish_reason=choice.get("finish_reason"),
                                cached_tokens=int((usage.get("prompt_tokens_details") or {}).get("cached_tokens")
                                                  or 0))
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise LLMError(f"malformed completion from the LLM endpoint: {exc}", retryable=True) from exc


def make_chat_model(cfg: LLMConfig) -> ChatModel | None:
    return OpenAIChat(cfg) if cfg.enabled else None

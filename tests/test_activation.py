"""Activation memory (issue 16, part 3): the local llama.cpp runtime, built from source by
the test command, with the GGUF model from PyPI.  A KV state restored for a working-memory
prefix gives exactly the next-token logits of a cold run of the same prompt, after
evaluating the question's tokens only; artifacts are keyed by model and prefix, and
evicted by size and age."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from engramos.working.activation import ActivationCache, KVRuntime, default_model_path

QUESTION = "\n# Question\nWhere does Ana live now?\nAnswer:"


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory):
    model = default_model_path(Path.home() / ".cache" / "engramos" / "models")
    rt = KVRuntime(model, ActivationCache(tmp_path_factory.mktemp("kv")), n_ctx=4096)
    yield rt
    rt.close()


def _prefix(n: int) -> str:
    return "# Working memory\n" + "\n".join(f"[profile] [1 May 2024] Ana lives in Leeds; note {i}." for i in range(n))


@pytest.mark.parametrize("lines", [30, 45, 70, 90])  # 414 to 1,884 tokens: one batch to four
def test_restored_state_gives_the_cold_logits(runtime, lines):
    prefix = _prefix(lines)
    n_prefix = len(runtime.tokens(prefix, bos=True))
    assert n_prefix > 400
    cold = runtime.first_token(prefix, QUESTION, restore=False)
    runtime.first_token(prefix, QUESTION, restore=True)  # computes and stores the state
    warm = runtime.first_token(prefix, QUESTION, restore=True)  # restores it
    assert warm.restored and not cold.restored
    assert np.array_equal(cold.logits, warm.logits) and cold.token == warm.token
    assert warm.evaluated == len(runtime.tokens(QUESTION, bos=False)) < cold.evaluated - n_prefix + 1
    # another prefix is another artifact: a changed block is never served a stale state
    other = _prefix(lines + 1)
    assert runtime.cache.path(runtime.model_id, other) != runtime.cache.path(runtime.model_id, prefix)
    assert runtime.cache.get(runtime.model_id, other) is None


def test_a_closed_runtime_refuses_rather_than_crashes(tmp_path):
    from engramos.errors import ProviderError

    rt = KVRuntime(default_model_path(Path.home() / ".cache" / "engramos" / "models"), ActivationCache(tmp_path))
    rt.close()
    rt.close()  # idempotent
    with pytest.raises(ProviderError):
        rt.tokens("hello", bos=True)


def test_cache_evicts_by_size_and_age(tmp_path):
    cache = ActivationCache(tmp_path, max_bytes=250, max_age_seconds=3600)
    cache.put("m", "a", b"x" * 100)
    cache.put("m", "b", b"y" * 100)
    assert cache.get("m", "a") == b"x" * 100  # touched: now the most recent
    cache.put("m", "c", b"z" * 100)  # 300 bytes > 250: the least recently used goes
    assert cache.get("m", "b") is None and cache.get("m", "a") and cache.get("m", "c")
    old = cache.path("m", "a")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert cache.get("m", "a") is None and cache.evict() >= 1 and not old.exists()

"""Parametric memory, the serving side (issue 16, part 4): LoRA adapters registered per
user and applied by the local llama.cpp runtime when it answers for that user.

The adapters here are real GGUF LoRA files for the shipped Gemma 3 270M model, written
with the ``gguf`` package (random low-rank weights on the attention projections: they
change the model's output, which is what is checked, not what it says)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from engramos import Config, Memory
from engramos.cli import cli
from engramos.config import LocalRuntimeConfig
from engramos.errors import ConfigError, InvalidInputError
from engramos.working.activation import ActivationCache, KVRuntime, default_model_path

MODELS = Path.home() / ".cache" / "engramos" / "models"
PREFIX = "# Working memory\n[profile] Ana lives in Glasgow and works as a nurse.\n"
QUESTION = "\n# Question\nWhere does Ana work?\nAnswer:"


def write_lora(path: Path, *, seed: int, architecture: str = "gemma3", rank: int = 4) -> Path:
    import gguf

    base = gguf.GGUFReader(default_model_path(MODELS))
    shapes = {t.name: [int(x) for x in t.shape] for t in base.tensors}
    writer = gguf.GGUFWriter(str(path), architecture)
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", float(rank))
    rng = np.random.default_rng(seed)
    for name, shape in shapes.items():
        if name.endswith(("attn_q.weight", "attn_v.weight")):
            n_in, n_out = shape
            # ggml's shapes are the reverse of numpy's: A is (rank, n_in), B is (n_out, rank)
            writer.add_tensor(f"{name}.lora_a", (rng.standard_normal((rank, n_in)) * 0.05).astype(np.float32))
            writer.add_tensor(f"{name}.lora_b", (rng.standard_normal((n_out, rank)) * 0.05).astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture(scope="module")
def lora(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_lora(tmp_path_factory.mktemp("lora") / "ana-style.gguf", seed=1)


@pytest.fixture
def local_memory(tmp_path: Path, embedder):
    config = Config(home=tmp_path / "home", local=LocalRuntimeConfig(answer=True, max_tokens=24,
                                                                     folder=tmp_path / "local"))
    config.local.model_path = default_model_path(MODELS)  # the assembled file, not a second copy
    mem = Memory(config=config, embedder=embedder)
    for user, text in (("ana", "I moved to Glasgow last month for a nursing job."),
                       ("bob", "I'm a carpenter in Leeds and I restore old boats.")):
        mem.add([{"speaker": user.title(), "text": text, "timestamp": "2024-05-02T10:00:00Z"}],
                user_id=user, conversation_id=f"talk-{user}", flush=True)
    yield mem
    mem.close()


def test_an_adapter_changes_the_logits_and_detaching_it_gives_the_base_model_back(tmp_path, lora):
    rt = KVRuntime(default_model_path(MODELS), ActivationCache(tmp_path / "kv"), n_ctx=1024)
    try:
        base = rt.first_token(PREFIX, QUESTION, restore=False)
        rt.use_adapter(lora, 1.0, digest="a")
        adapted = rt.first_token(PREFIX, QUESTION, restore=False)
        assert float(np.abs(adapted.logits - base.logits).max()) > 0.5
        # a KV state saved under the adapter is another artifact than the base model's
        restored = rt.first_token(PREFIX, QUESTION, restore=True)
        restored = rt.first_token(PREFIX, QUESTION, restore=True)
        assert restored.restored and np.array_equal(restored.logits, adapted.logits)
        assert rt.cache.path(rt.state_id, PREFIX) != rt.cache.path(rt.model_id, PREFIX)
        rt.use_adapter(lora, 0.5, digest="a")  # another scale, other weights
        half = rt.first_token(PREFIX, QUESTION, restore=False)
        assert not np.array_equal(half.logits, adapted.logits)
        rt.use_adapter(None)
        again = rt.first_token(PREFIX, QUESTION, restore=True)  # the base model's own state
        assert np.array_equal(again.logits, base.logits)
    finally:
        rt.close()


def test_answers_apply_the_adapter_of_the_user_they_are_for(local_memory, lora):
    info = local_memory.admin.attach_adapter("ana", lora)
    assert [a.user_id for a in local_memory.admin.adapters()] == ["ana"] and info.name == "ana-style.gguf"
    stored = local_memory.config.local_folder / "adapters" / f"{info.sha256}.gguf"
    assert stored.read_bytes() == lora.read_bytes()

    for_ana = local_memory.answer("Where does Ana work?", user_id="ana", agentic=False)
    assert for_ana.model and for_ana.model.startswith("local:gguf-")
    assert for_ana.adapter == info.sha256 and for_ana.answer and for_ana.llm_calls >= 1
    runtime = local_memory._local.chat().runtime
    assert info.sha256[:12] in runtime.state_id  # the runtime ran with it
    by_conversation = local_memory.answer("Where does Ana work?", conversation_id="talk-ana", agentic=False)
    assert by_conversation.adapter == info.sha256  # the conversation's owner is the user

    for_bob = local_memory.answer("What does Bob restore?", user_id="bob", agentic=False)
    assert for_bob.adapter is None and runtime.state_id == runtime.model_id
    # the same prompt twice: the second evaluates only what follows the kept prefix
    again = local_memory.answer("What does Bob restore?", user_id="bob", agentic=False)
    assert again.cached_tokens > 0 and again.cached_tokens >= again.prompt_tokens - 2


def test_a_bad_adapter_is_refused_and_the_registry_is_unchanged(local_memory, lora, tmp_path):
    local_memory.admin.attach_adapter("ana", lora)
    before = local_memory.admin.adapters()
    not_gguf = tmp_path / "notes.gguf"
    not_gguf.write_text("hello")
    other_arch = write_lora(tmp_path / "llama.gguf", seed=2, architecture="llama")
    cases = [(not_gguf, InvalidInputError, "not a GGUF"),
             (default_model_path(MODELS), ConfigError, "not a LoRA adapter"),  # a model, not an adapter
             (other_arch, ConfigError, "not a LoRA adapter"),
             (tmp_path / "missing.gguf", InvalidInputError, "not a file")]
    for path, error, words in cases:
        with pytest.raises(error, match=words):
            local_memory.admin.attach_adapter("ana", path)
    with pytest.raises(InvalidInputError, match="user_id"):
        local_memory.admin.attach_adapter("", lora)
    with pytest.raises(InvalidInputError, match="scale"):
        local_memory.admin.attach_adapter("ana", lora, scale=100.0)
    assert local_memory.admin.adapters() == before


def test_detach_and_forget_remove_the_entry_and_the_file_once_unused(local_memory, lora, tmp_path):
    a = local_memory.admin.attach_adapter("ana", lora)
    b = local_memory.admin.attach_adapter("bob", lora)  # the same file: stored once
    path = local_memory.config.local_folder / "adapters" / f"{a.sha256}.gguf"
    assert a.sha256 == b.sha256 and path.exists()
    assert local_memory.admin.detach_adapter("bob") is True and path.exists()  # ana still uses it
    assert local_memory.admin.detach_adapter("bob") is False
    other = local_memory.for_space("other")
    other.admin.attach_adapter("ana", lora)  # another space's ana: her own entry
    counts = local_memory.forget(user_id="ana")
    assert counts["adapters"] == 1 and local_memory.admin.adapters() == []
    assert path.exists() and [x.user_id for x in other.admin.adapters()] == ["ana"]
    other.admin.detach_adapter("ana")
    assert not path.exists()
    replaced = write_lora(tmp_path / "v2.gguf", seed=3)
    local_memory.admin.attach_adapter("bob", lora)
    local_memory.admin.attach_adapter("bob", replaced)  # a new version replaces the old
    assert not path.exists() and [x.name for x in local_memory.admin.adapters()] == ["v2.gguf"]


def test_cli_attach_list_detach(tmp_path, monkeypatch, lora):
    monkeypatch.setenv("ENGRAM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ENGRAM_LOCAL_MODEL", str(default_model_path(MODELS)))
    runner = CliRunner()
    made = runner.invoke(cli, ["--json", "adapters", "attach", "--user", "ana", str(lora)])
    assert made.exit_code == 0, made.output
    assert json.loads(made.output[made.output.index("{"):])["user_id"] == "ana"
    listed = runner.invoke(cli, ["adapters", "list"])
    assert "ana  ana-style.gguf" in listed.output
    bad = runner.invoke(cli, ["adapters", "attach", "--user", "ana", str(tmp_path)])
    assert bad.exit_code == 2
    gone = runner.invoke(cli, ["adapters", "detach", "--user", "ana"])
    assert gone.exit_code == 0 and "detached ana" in gone.output
    assert runner.invoke(cli, ["adapters", "detach", "--user", "ana"]).exit_code != 0

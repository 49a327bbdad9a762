"""The LlamaIndex memory block against the real ``llama-index-core`` package, embedded
and remote, inside LlamaIndex's own ``Memory``."""

from __future__ import annotations

import asyncio
import inspect
import subprocess
import sys
from pathlib import Path
from typing import Any

from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.memory import BaseMemoryBlock, Memory

from engramos.integrations.llamaindex import EngramMemoryBlock

ROOT = Path(__file__).resolve().parents[2]


def test_the_interface_it_implements_is_the_one_pinned():
    assert BaseMemoryBlock.__abstractmethods__ == frozenset({"_aget", "_aput"})
    assert list(inspect.signature(BaseMemoryBlock._aget).parameters) == ["self", "messages", "block_kwargs"]
    assert list(inspect.signature(BaseMemoryBlock._aput).parameters) == ["self", "messages"]
    assert {"name", "description", "priority", "accept_short_term_memory"} <= set(BaseMemoryBlock.model_fields)


def test_the_block_recalls_and_stores(backend: Any, uid: str):
    block = EngramMemoryBlock(backend, user_id=uid, conversation_id=f"{uid}-li")

    async def run() -> str:
        await block.aput([ChatMessage(role="user", content="I moved to Glasgow last month for a nursing job."),
                          ChatMessage(role="assistant", content="Congratulations!")])
        return await block.aget([ChatMessage(role="user", content="Where do I live now?")])

    text = asyncio.run(run())
    assert "Glasgow" in text
    assert [m.role for m in backend.messages(f"{uid}-li")] == ["user", "assistant"]
    assert asyncio.run(block.aget([ChatMessage(role="assistant", content="Hi")])) == ""


def test_inside_llamaindex_memory_flushed_messages_reach_engramos(backend: Any, uid: str):
    block = EngramMemoryBlock(backend, user_id=uid, conversation_id=f"{uid}-flushed")
    memory = Memory.from_defaults(session_id=uid, token_limit=60, chat_history_token_ratio=0.5,
                                  token_flush_size=10, memory_blocks=[block])

    async def run() -> list[ChatMessage]:
        await memory.aput(ChatMessage(role="user", content="I moved to Glasgow last month for a nursing job."))
        await memory.aput(ChatMessage(role="assistant", content="Congratulations on the move to Glasgow!"))
        for i in range(6):
            await memory.aput(ChatMessage(role="user", content=f"Filler message number {i} about the weather."))
        await memory.aput(ChatMessage(role="user", content="Where do I live now?"))
        return await memory.aget()

    history = asyncio.run(run())
    flushed = [m.content for m in backend.messages(f"{uid}-flushed")]
    assert flushed[0] == "I moved to Glasgow last month for a nursing job."
    prompt = "\n".join(str(m.content) for m in history)
    assert "engram_memory" in prompt and "Glasgow" in prompt


def test_the_example_runs_offline(tmp_path: Path):
    run = subprocess.run([sys.executable, str(ROOT / "examples" / "llamaindex_memory.py"), str(tmp_path / "home")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Glasgow" in run.stdout

"""The AutoGen memory against the real ``autogen-core`` package, embedded and remote,
with AutoGen's own chat completion context."""

from __future__ import annotations

import asyncio
import inspect
import subprocess
import sys
from pathlib import Path
from typing import Any

from autogen_core.memory import Memory, MemoryContent, MemoryMimeType
from autogen_core.model_context import UnboundedChatCompletionContext
from autogen_core.models import SystemMessage, UserMessage

from engramos.integrations.autogen import EngramMemory

ROOT = Path(__file__).resolve().parents[2]


def test_the_interface_it_implements_is_the_one_pinned():
    assert Memory.__abstractmethods__ == frozenset({"update_context", "query", "add", "clear", "close"})
    assert list(inspect.signature(Memory.add).parameters) == ["self", "content", "cancellation_token"]
    assert list(inspect.signature(Memory.query).parameters) == ["self", "query", "cancellation_token", "kwargs"]
    assert list(inspect.signature(Memory.update_context).parameters) == ["self", "model_context"]


def test_add_query_update_context_clear(backend: Any, uid: str):
    mem = EngramMemory(backend, user_id=uid)
    backend.add([{"role": "user", "content": "I moved to Glasgow last month for a nursing job.",
                  "timestamp": "2024-05-02T10:00:00Z"}], user_id=uid, conversation_id=f"{uid}-c", flush=True)

    async def run() -> None:
        await mem.add(MemoryContent(content="The user prefers answers in metric units.",
                                    mime_type=MemoryMimeType.TEXT, metadata={"key": "units"}))
        await mem.add(MemoryContent(content="The user prefers answers in metric units, always.",
                                    mime_type=MemoryMimeType.TEXT, metadata={"key": "units"}))
        found = await mem.query("Which units does the user prefer?")
        assert found.results[0].content == "The user prefers answers in metric units, always."
        assert sum("metric" in str(r.content) for r in found.results) == 1  # the key replaced it

        context = UnboundedChatCompletionContext()
        await context.add_message(UserMessage(content="Where do I live now?", source="user"))
        updated = await mem.update_context(context)
        messages = await context.get_messages()
        assert isinstance(messages[-1], SystemMessage) and "Glasgow" in messages[-1].content
        assert any("Glasgow" in str(r.content) for r in updated.memories.results)

        await mem.clear()
        assert backend.list(user_id=uid, metadata={"autogen": True}, limit=10).items == []
        assert backend.search("Glasgow", user_id=uid).hits  # the conversation is not the adapter's to clear
        await mem.close()

    asyncio.run(run())


def test_the_example_runs_offline(tmp_path: Path):
    run = subprocess.run([sys.executable, str(ROOT / "examples" / "autogen_memory.py"), str(tmp_path / "home")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Glasgow" in run.stdout

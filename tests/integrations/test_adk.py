"""The Google ADK memory service against the real ``google-adk`` package, embedded and
remote: sessions from ADK's own session service, an agent whose model is a recording
``BaseLlm`` (no LLM), and ADK's ``PreloadMemoryTool`` reading from EngramOS."""

from __future__ import annotations

import asyncio
import inspect
import subprocess
import sys
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

from google.adk.agents import LlmAgent
from google.adk.memory import BaseMemoryService
from google.adk.memory.memory_entry import MemoryEntry
from google.adk.models import BaseLlm, LlmRequest, LlmResponse
from google.adk.runners import Runner
from google.adk.sessions import InMemorySessionService
from google.adk.tools.preload_memory_tool import PreloadMemoryTool
from google.genai import types
from pydantic import Field

from engramos.integrations.adk import EngramMemoryService

ROOT = Path(__file__).resolve().parents[2]


class RecordingLlm(BaseLlm):
    model: str = "recording"
    seen: list[str] = Field(default_factory=list)

    async def generate_content_async(self, llm_request: LlmRequest,
                                     stream: bool = False) -> AsyncGenerator[LlmResponse, None]:
        texts = [p.text for c in llm_request.contents for p in (c.parts or []) if p.text]
        self.seen.append("\n".join([str(llm_request.config.system_instruction or ""), *texts]))
        yield LlmResponse(content=types.Content(role="model", parts=[types.Part(text="Noted.")]))


def test_the_interface_it_implements_is_the_one_pinned():
    assert BaseMemoryService.__abstractmethods__ == frozenset({"add_session_to_memory", "search_memory"})
    assert list(inspect.signature(BaseMemoryService.search_memory).parameters) == [
        "self", "app_name", "user_id", "query"]
    assert list(inspect.signature(BaseMemoryService.add_memory).parameters) == [
        "self", "app_name", "user_id", "memories", "custom_metadata"]
    assert list(inspect.signature(BaseMemoryService.delete_memory).parameters) == [
        "self", "app_name", "user_id", "memory_id"]


def test_a_run_is_remembered_and_preloaded_into_the_next(backend: Any, uid: str):
    service = EngramMemoryService(backend)
    sessions = InMemorySessionService()
    llm = RecordingLlm(seen=[])
    agent = LlmAgent(name="helper", model=llm, instruction="Help the user.", tools=[PreloadMemoryTool()])
    runner = Runner(app_name="app1", agent=agent, session_service=sessions, memory_service=service)

    async def turn(session_id: str, text: str) -> None:
        message = types.Content(role="user", parts=[types.Part(text=text)])
        async for _ in runner.run_async(user_id=uid, session_id=session_id, new_message=message):
            pass

    async def run() -> None:
        first = await sessions.create_session(app_name="app1", user_id=uid)
        await turn(first.id, "I moved to Glasgow last month for a nursing job.")
        done = await sessions.get_session(app_name="app1", user_id=uid, session_id=first.id)
        assert done is not None
        await service.add_session_to_memory(done)
        await service.add_session_to_memory(done)  # again: nothing twice
        stored = backend.messages(f"adk-{first.id}")
        assert [m.content for m in stored] == ["I moved to Glasgow last month for a nursing job.", "Noted."]
        second = await sessions.create_session(app_name="app1", user_id=uid)
        await turn(second.id, "Where do I live now?")

    asyncio.run(run())
    # ADK's preload tool put what EngramOS recalled into the model's request
    assert "Glasgow" in llm.seen[-1] and "PAST_CONVERSATIONS" in llm.seen[-1]


def test_explicit_memories_search_and_delete(backend: Any, uid: str):
    service = EngramMemoryService(backend)

    async def run() -> None:
        entry = MemoryEntry(content=types.Content(parts=[types.Part(text="The user is allergic to peanuts.")]),
                            id="allergy", author="user")
        await service.add_memory(app_name="app1", user_id=uid, memories=[entry])
        found = await service.search_memory(app_name="app1", user_id=uid, query="What is the user allergic to?")
        top = found.memories[0]
        assert "peanuts" in top.content.parts[0].text and top.id
        other = await service.search_memory(app_name="app2", user_id=uid, query="allergic peanuts")
        assert all("peanuts" not in m.content.parts[0].text for m in other.memories)  # another app
        await service.delete_memory(app_name="app1", user_id=uid, memory_id=top.id)
        again = await service.search_memory(app_name="app1", user_id=uid, query="allergic peanuts")
        assert all(m.id != top.id for m in again.memories)

    asyncio.run(run())


def test_the_example_runs_offline(tmp_path: Path):
    run = subprocess.run([sys.executable, str(ROOT / "examples" / "adk_memory.py"), str(tmp_path / "home")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Glasgow" in run.stdout

"""The LangChain chat history and agent middleware against the real ``langchain`` and
``langchain-core`` packages, embedded and remote; the agent's model is a recording fake
chat model (no LLM)."""

from __future__ import annotations

import asyncio
import inspect
import subprocess
import sys
from pathlib import Path
from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import AgentMiddleware, ModelRequest
from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from engramos.integrations.langchain import EngramChatMessageHistory, EngramMemoryMiddleware

ROOT = Path(__file__).resolve().parents[2]


class RecordingModel(BaseChatModel):
    """Answers with a fixed text and keeps every prompt it was sent."""

    reply: str = "Noted."
    prompts: list[list[BaseMessage]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "recording"

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        self.prompts.append(list(messages))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self.reply))])

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self


def test_the_interfaces_it_implements_are_the_ones_pinned():
    assert BaseChatMessageHistory.__abstractmethods__ == frozenset({"clear"})
    for hook in ("before_agent", "after_agent"):
        assert list(inspect.signature(getattr(AgentMiddleware, hook)).parameters) == ["self", "state", "runtime"]
    assert list(inspect.signature(AgentMiddleware.wrap_model_call).parameters) == ["self", "request", "handler"]
    assert {"messages", "system_message", "state"} <= set(inspect.signature(ModelRequest).parameters)
    assert hasattr(ModelRequest, "override") and hasattr(ModelRequest, "system_prompt")


def test_history_is_the_conversation(backend: Any, uid: str):
    history = EngramChatMessageHistory(backend, f"{uid}-chat", user_id=uid)
    history.add_messages([HumanMessage("I adopted a grey cat called Miso."), AIMessage("What a lovely name!")])
    history.add_user_message("She sleeps on my keyboard.")
    got = history.messages
    assert [type(m).__name__ for m in got] == ["HumanMessage", "AIMessage", "HumanMessage"]
    assert got[0].content == "I adopted a grey cat called Miso." and got[2].content == "She sleeps on my keyboard."
    assert asyncio.run(history.aget_messages()) == got
    found = backend.search("What is the cat called?", user_id=uid).hits
    assert any("Miso" in h.memory.text for h in found)
    history.clear()
    assert history.messages == [] and backend.search("Miso", user_id=uid).hits == []


def test_the_middleware_recalls_into_the_prompt_and_remembers_the_turn(backend: Any, uid: str):
    backend.add([{"role": "user", "content": "I moved to Glasgow last month for a nursing job.",
                  "timestamp": "2024-05-02T10:00:00Z"}], user_id=uid, conversation_id=f"{uid}-old", flush=True)
    model = RecordingModel(reply="You live in Glasgow.", prompts=[])
    agent = create_agent(model, tools=[], system_prompt="You are a helpful assistant.",
                         middleware=[EngramMemoryMiddleware(backend, user_id=uid, conversation_id=f"{uid}-new")])
    out = agent.invoke({"messages": [HumanMessage("Where do I live now?")]})
    assert out["messages"][-1].content == "You live in Glasgow."
    system = model.prompts[0][0]
    assert isinstance(system, SystemMessage)
    assert system.content.startswith("You are a helpful assistant.") and "Glasgow" in system.content
    stored = backend.messages(f"{uid}-new")
    assert [(m.role, m.content) for m in stored] == [("user", "Where do I live now?"),
                                                      ("assistant", "You live in Glasgow.")]
    # a second turn stores only its own messages
    agent.invoke({"messages": [*out["messages"], HumanMessage("And my job?")]})
    assert [m.content for m in backend.messages(f"{uid}-new")][2:] == ["And my job?", "You live in Glasgow."]


def test_the_middleware_runs_async(backend: Any, uid: str):
    model = RecordingModel(reply="Hello.", prompts=[])
    agent = create_agent(model, tools=[], middleware=[EngramMemoryMiddleware(backend, user_id=uid)])
    asyncio.run(agent.ainvoke({"messages": [HumanMessage("I grow tomatoes on my balcony.")]}))
    assert any("tomatoes" in h.memory.text for h in backend.search("What do I grow?", user_id=uid).hits)


def test_the_example_runs_offline(tmp_path: Path):
    run = subprocess.run([sys.executable, str(ROOT / "examples" / "langchain_agent.py"), str(tmp_path / "home")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Glasgow" in run.stdout

"""The OpenAI Agents SDK session and recall tool against the real ``openai-agents``
package, embedded and remote.  The agent's model is a scripted ``agents.models.Model``
(no LLM): it calls the recall tool, then answers with what the tool returned."""

from __future__ import annotations

import asyncio
import inspect
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from agents import Agent, ModelSettings, Runner
from agents.items import ModelResponse
from agents.memory import Session
from agents.models.interface import Model
from agents.usage import Usage
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

from engramos.integrations.openai_agents import EngramSession, recall_tool

ROOT = Path(__file__).resolve().parents[2]


class ScriptedModel(Model):
    """First a call of the recall tool, then a message quoting the tool's output."""

    def __init__(self) -> None:
        self.inputs: list[Any] = []

    async def get_response(self, system_instructions: Any, input: Any, model_settings: Any, tools: Any,
                           output_schema: Any, handoffs: Any, tracing: Any, **kwargs: Any) -> ModelResponse:
        self.inputs.append(input)
        outputs = [i for i in input if isinstance(i, dict) and i.get("type") == "function_call_output"]
        if not outputs:
            call = ResponseFunctionToolCall(type="function_call", call_id="call_1", name="recall_memory",
                                            arguments=json.dumps({"query": "Where does the user live?"}),
                                            id="fc_1", status="completed")
            return ModelResponse(output=[call], usage=Usage(), response_id=None)
        said = "Glasgow" if "Glasgow" in str(outputs[-1]["output"]) else "I do not know"
        msg = ResponseOutputMessage(id="msg_1", type="message", role="assistant", status="completed",
                                    content=[ResponseOutputText(type="output_text", text=f"You live in {said}.",
                                                                annotations=[])])
        return ModelResponse(output=[msg], usage=Usage(), response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError


def test_the_interface_it_implements_is_the_one_pinned():
    for name, params in (("get_items", ["self", "limit"]), ("add_items", ["self", "items"]),
                         ("pop_item", ["self"]), ("clear_session", ["self"])):
        assert list(inspect.signature(getattr(Session, name)).parameters) == params
        assert inspect.iscoroutinefunction(getattr(EngramSession, name))
    assert {"session_id", "session_settings"} <= set(Session.__annotations__)


def test_items_round_trip_pop_and_clear(backend: Any, uid: str):
    session = EngramSession(backend, f"{uid}-s", user_id=uid)
    assert isinstance(session, Session)
    items = [{"role": "user", "content": "I adopted a grey cat called Miso."},
             {"type": "function_call", "call_id": "c1", "name": "lookup", "arguments": "{\"q\": \"cats\"}"},
             {"type": "function_call_output", "call_id": "c1", "output": "cats sleep a lot"},
             {"role": "assistant", "content": [{"type": "output_text", "text": "Miso is a lovely name."}]}]

    async def run() -> None:
        await session.add_items(items)
        assert await session.get_items() == items
        assert await session.get_items(limit=2) == items[2:]
        assert await session.pop_item() == items[3]
        assert await session.get_items() == items[:3]
        found = backend.search("What is my cat called?", user_id=uid).hits
        assert any("Miso" in h.memory.text for h in found)
        await session.clear_session()
        assert await session.get_items() == [] and await session.pop_item() is None

    asyncio.run(run())


def test_a_run_keeps_its_items_and_recalls_through_the_tool(backend: Any, uid: str):
    backend.add([{"role": "user", "content": "I moved to Glasgow last month for a nursing job.",
                  "timestamp": "2024-05-02T10:00:00Z"}], user_id=uid, conversation_id=f"{uid}-old", flush=True)
    model = ScriptedModel()
    agent = Agent(name="assistant", instructions="Use memory.", model=model,
                  tools=[recall_tool(backend, user_id=uid)], model_settings=ModelSettings())
    session = EngramSession(backend, f"{uid}-run", user_id=uid)
    result = asyncio.run(Runner.run(agent, "Where do I live now?", session=session))
    assert result.final_output == "You live in Glasgow."
    items = asyncio.run(session.get_items())
    kinds = [i.get("type", "message") if "role" not in i else i["role"] for i in items]
    assert kinds[0] == "user" and "function_call" in kinds and "function_call_output" in kinds
    assert items[-1]["role"] == "assistant" and "Glasgow" in json.dumps(items[-1])
    # the next run starts from the stored items
    asyncio.run(Runner.run(agent, "Thanks!", session=session))
    assert any("Where do I live now?" in json.dumps(i) for i in model.inputs[-2])


def test_the_example_runs_offline(tmp_path: Path):
    run = subprocess.run([sys.executable, str(ROOT / "examples" / "openai_agents_session.py"),
                          str(tmp_path / "home")], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Glasgow" in run.stdout

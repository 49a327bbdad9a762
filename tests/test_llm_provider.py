"""The OpenAI-compatible client against the scripted server: structured output,
repair, retries, timeouts, rate limits, accounting."""

from __future__ import annotations

import pytest

from engramos.config import LLMConfig
from engramos.prompts.schemas import BoundaryDecision, Extraction
from engramos.providers.llm import LLMError, OpenAIChat, repair_json
from tests.scripted_llm import ScriptedLLM

BOUNDARY = [{"role": "system", "content": "You segment a conversation into coherent episodes."},
            {"role": "user", "content": "Window:\n0. [m1] (2024-01-01T10:00) Ana: hi\n"
                                        "1. [m2] (2024-01-01T10:01) Bo: new topic: boats, bye"}]


def client(server: ScriptedLLM, **kw: object) -> OpenAIChat:
    cfg = LLMConfig(base_url=server.base_url, model="scripted", backoff_s=0.01, timeout_s=1.0, **kw)
    return OpenAIChat(cfg)


def test_repair_json_cases():
    assert repair_json('```json\n{"a": 1,}\n```') == {"a": 1}
    assert repair_json('Here you go: {"a": [1, 2]} hope it helps') == {"a": [1, 2]}
    assert repair_json('{"a": "unfinished') == {"a": "unfinished"}
    assert repair_json('{"items": [{"x": 1}, {"x": 2}, {"x"') == {"items": [{"x": 1}, {"x": 2}]}
    with pytest.raises(ValueError):
        repair_json("no json here")


def test_structured_output_and_token_accounting():
    with ScriptedLLM() as server:
        llm = client(server)
        with llm.track() as usage:
            decision = llm.structured(BOUNDARY, BoundaryDecision, purpose="boundary")
        assert decision.boundaries == [1] and decision.wait_for_more is False
        assert usage.calls == 1 and usage.prompt_tokens > 0 and usage.completion_tokens > 0
        assert llm.usage.calls == 1
        sent = server.requests[0]
        assert sent["model"] == "scripted" and sent["response_format"]["type"] == "json_schema"


@pytest.mark.parametrize("fault", ["malformed", "truncated"])
def test_almost_valid_json_is_repaired_without_a_new_call(fault):
    with ScriptedLLM() as server:
        server.faults = [fault]
        decision = client(server).structured(BOUNDARY, BoundaryDecision, purpose="boundary")
        assert isinstance(decision, BoundaryDecision)
        assert len(server.requests) in (1, 2)  # a truncated reply may need the re-ask


def test_garbage_is_re_asked_once_then_fails_retryably():
    with ScriptedLLM() as server:
        server.faults = ["garbage"]
        assert client(server).structured(BOUNDARY, BoundaryDecision, purpose="boundary").boundaries == [1]
        assert len(server.requests) == 2
        server.faults = ["garbage", "garbage"]
        with pytest.raises(LLMError) as err:
            client(server).structured(BOUNDARY, Extraction, purpose="extraction")
        assert err.value.retryable


def test_429_500_and_timeouts_are_retried_with_backoff():
    with ScriptedLLM() as server:
        server.faults = ["429", "500", "timeout"]
        llm = client(server, max_retries=3)
        assert llm.structured(BOUNDARY, BoundaryDecision, purpose="boundary").boundaries == [1]
        assert len(server.requests) == 4 and llm.usage.calls == 1  # failed attempts are not billed


def test_retries_are_bounded():
    with ScriptedLLM() as server:
        server.faults = ["500"] * 5
        with pytest.raises(LLMError) as err:
            client(server, max_retries=2).complete(BOUNDARY)
        assert err.value.retryable and len(server.requests) == 3


def test_unreachable_endpoint_is_a_retryable_llm_error():
    cfg = LLMConfig(base_url="http://127.0.0.1:9/v1", model="m", max_retries=0, timeout_s=1.0)
    with pytest.raises(LLMError) as err:
        OpenAIChat(cfg).complete(BOUNDARY)
    assert err.value.retryable


def test_cached_prompt_tokens_are_reported_when_the_server_says(http_server):
    """A server with prefix caching reports usage.prompt_tokens_details.cached_tokens."""
    def route(path: str, body: dict) -> tuple[int, dict]:
        return 200, {"choices": [{"message": {"content": "ok"}, "finish_reason": "stop"}],
                     "usage": {"prompt_tokens": 1200, "completion_tokens": 3,
                               "prompt_tokens_details": {"cached_tokens": 1024}}}

    chat = OpenAIChat(LLMConfig(base_url=http_server(route), model="m", max_retries=0))
    with chat.track() as spent:
        first = chat.complete([{"role": "user", "content": "hi"}])
        chat.complete([{"role": "user", "content": "hi"}])
    assert first.cached_tokens == 1024 and spent.cached_tokens == 2048 and spent.prompt_tokens == 2400
    assert spent.as_dict()["cached_tokens"] == 2048

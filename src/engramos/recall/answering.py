"""Answering from memory: the context block, one answer call, and the message ids the
answer cites (only those the block held)."""

from __future__ import annotations

from collections.abc import Callable

from ..prompts.recall_prompts import ANSWER
from ..providers.llm import ChatModel
from ..requests import AnswerRequest
from ..types import AnswerResult, ContextBlock


def answer_with(llm: ChatModel, req: AnswerRequest, context: Callable[[AnswerRequest], ContextBlock]) -> AnswerResult:
    """``context`` builds the block (recall runs inside ``llm.track()``, so an agentic
    round's calls count in the answer's usage)."""
    with llm.track() as spent:
        block = context(req)
        reply = ANSWER.ask(llm, ANSWER.Context(question=req.query, memory=block.text))
    labels = {c.label(): c.message_id for h in block.hits for c in h.citations}
    used = [labels.get(r, r) for r in reply.message_ids if labels.get(r, r) in block.message_ids]
    return AnswerResult(question=req.query, answer=reply.answer, message_ids=list(dict.fromkeys(used)),
                        context=block, llm_calls=spent.calls, prompt_tokens=spent.prompt_tokens,
                        completion_tokens=spent.completion_tokens, cached_tokens=spent.cached_tokens,
                        model=llm.model_id)

"""QA evaluation with an LLM: answer from a system's context, judge CORRECT/WRONG
(several runs averaged), and token-level F1 against the gold answer.

Needs an OpenAI-compatible endpoint (``ENGRAM_LLM_*``); on the project's machines it is
tested against the scripted test server only, so no QA accuracy figure is published.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from ..prompts.recall_prompts import ANSWER, JUDGE
from ..providers.llm import ChatModel
from .metrics import normalise_answer


@dataclass
class QASettings:
    llm: ChatModel
    budget: int = 1024
    judge_runs: int = 3
    systems: tuple[str, ...] = ("engramos",)


def token_f1(prediction: str, gold: str) -> float:
    pred, ref = normalise_answer(prediction).split(), normalise_answer(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def qa_scores(settings: QASettings, question: str, gold: str, context: str) -> dict[str, Any]:
    llm = settings.llm
    with llm.track() as answer_cost:
        reply = ANSWER.ask(llm, ANSWER.Context(question=question, memory=context), purpose="qa-answer")
    with llm.track() as judge_cost:
        labels = [JUDGE.ask(llm, JUDGE.Context(question=question, gold=gold, answer=reply.answer),
                            purpose="qa-judge").label
                  for _ in range(settings.judge_runs)]
    return {
        "qa_judge": sum(lab == "CORRECT" for lab in labels) / len(labels),
        "qa_f1": token_f1(reply.answer, gold),
        "qa_answer_calls": answer_cost.calls, "qa_answer_prompt_tokens": answer_cost.prompt_tokens,
        "qa_judge_calls": judge_cost.calls, "qa_judge_prompt_tokens": judge_cost.prompt_tokens,
    }

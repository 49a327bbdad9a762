"""Prompts for agentic recall, answering from memory, and judging answers."""

from __future__ import annotations

from pydantic import BaseModel

from .base import ChatMessages, Prompt
from .schemas import Answer, Judgement, Sufficiency


class SufficiencyContext(BaseModel):
    question: str
    evidence: list[str]  # the first round's best memories


class AnswerContext(BaseModel):
    question: str
    memory: str  # a context block


class JudgeContext(BaseModel):
    question: str
    gold: str
    answer: str


def _sufficiency(c: SufficiencyContext) -> ChatMessages:
    question, evidence = c.question, c.evidence
    schema = Sufficiency.model_json_schema()
    system = ("Decide whether the retrieved memories are enough to answer the question. If they are "
              "not, propose up to 3 short complementary search queries that would find the missing "
              "pieces (other people, events, dates or places the question depends on). JSON only.")
    listed = "\n".join(f"- {e}" for e in evidence) or "(nothing retrieved)"
    return [{"role": "system", "content": f"{system}\nSchema: {schema}"},
            {"role": "user", "content": f"Question: {question}\n\nRetrieved memories:\n{listed}"}]


def _answer(c: AnswerContext) -> ChatMessages:
    question, context = c.question, c.memory
    schema = Answer.model_json_schema()
    system = ("Answer the question using only the memory below. Each memory line ends with its "
              "citations in parentheses; list the ids of the messages you used in message_ids. If the "
              "memory does not contain the answer, say so. Be brief; give dates as absolute dates. "
              "Answer in the question's language. JSON only.")
    return [{"role": "system", "content": f"{system}\nSchema: {schema}"},
            {"role": "user", "content": f"{context}\n\nQuestion: {question}"}]


def _judge(c: JudgeContext) -> ChatMessages:
    """The CORRECT/WRONG judge used by most memory papers (generous on wording and date
    formats, strict on content)."""
    question, gold, answer = c.question, c.gold, c.answer
    schema = Judgement.model_json_schema()
    system = ("Your task is to label an answer to a question as CORRECT or WRONG. You get a question, "
              "a gold (ground truth) answer and a generated answer. Be generous: if the generated answer "
              "touches on the same topic and contains the gold answer's key facts, it is CORRECT, even if "
              "longer or worded differently; a date in another format or a relative date that resolves to "
              "the same day, week or month is CORRECT. Otherwise it is WRONG. JSON only.")
    return [{"role": "system", "content": f"{system}\nSchema: {schema}"},
            {"role": "user", "content": f"Question: {question}\nGold answer: {gold}\nGenerated answer: {answer}"}]


SUFFICIENCY = Prompt("sufficiency", 1, SufficiencyContext, Sufficiency, _sufficiency)
ANSWER = Prompt("answer", 1, AnswerContext, Answer, _answer)
JUDGE = Prompt("judge", 1, JudgeContext, Judgement, _judge)

"""Prompts for agentic recall, answering from memory, and judging answers."""

from __future__ import annotations

from .schemas import Answer, Judgement, Sufficiency

SUFFICIENCY_VERSION = "sufficiency/1"
ANSWER_VERSION = "answer/1"
JUDGE_VERSION = "judge/1"


def sufficiency_messages(question: str, evidence: list[str]) -> list[dict[str, str]]:
    schema = Sufficiency.model_json_schema()
    system = ("Decide whether the retrieved memories are enough to answer the question. If they are "
              "not, propose up to 3 short complementary search queries that would find the missing "
              "pieces (other people, events, dates or places the question depends on). JSON only.")
    listed = "\n".join(f"- {e}" for e in evidence) or "(nothing retrieved)"
    return [{"role": "system", "content": f"{system}\nSchema: {schema}"},
            {"role": "user", "content": f"Question: {question}\n\nRetrieved memories:\n{listed}"}]


def answer_messages(question: str, context: str) -> list[dict[str, str]]:
    schema = Answer.model_json_schema()
    system = ("Answer the question using only the memory below. Each memory line ends with its "
              "citations in parentheses; list the ids of the messages you used in message_ids. If the "
              "memory does not contain the answer, say so. Be brief; give dates as absolute dates. "
              "Answer in the question's language. JSON only.")
    return [{"role": "system", "content": f"{system}\nSchema: {schema}"},
            {"role": "user", "content": f"{context}\n\nQuestion: {question}"}]


def judge_messages(question: str, gold: str, answer: str) -> list[dict[str, str]]:
    """The CORRECT/WRONG judge used by most memory papers (generous on wording and date
    formats, strict on content)."""
    schema = Judgement.model_json_schema()
    system = ("Your task is to label an answer to a question as CORRECT or WRONG. You get a question, "
              "a gold (ground truth) answer and a generated answer. Be generous: if the generated answer "
              "touches on the same topic and contains the gold answer's key facts, it is CORRECT, even if "
              "longer or worded differently; a date in another format or a relative date that resolves to "
              "the same day, week or month is CORRECT. Otherwise it is WRONG. JSON only.")
    return [{"role": "system", "content": f"{system}\nSchema: {schema}"},
            {"role": "user", "content": f"Question: {question}\nGold answer: {gold}\nGenerated answer: {answer}"}]

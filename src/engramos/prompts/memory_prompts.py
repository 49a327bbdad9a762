"""Prompts for memory construction: boundary detection, extraction, knowledge updates.

English and Chinese instructions; memories are written in the conversation's language.
Message ids are shown as short handles (m1, m2, ...) and mapped back by the caller.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from .base import ChatMessages, Prompt
from .schemas import BoundaryDecision, Extraction, ProfileCompaction, UpdateLabels

Lang = Literal["en", "zh"]


class PromptMessage(BaseModel):
    handle: str  # m1, m2, ...
    speaker: str
    time: str  # ISO-8601 with offset
    text: str


class BoundaryContext(BaseModel):
    context: list[PromptMessage] = Field(default_factory=list)  # earlier messages of the current episode
    window: list[PromptMessage]
    lang: Lang = "en"


class ExtractionContext(BaseModel):
    messages: list[PromptMessage]
    lang: Lang = "en"
    profile: list[str] = Field(default_factory=list)  # known profile items, "person: attribute = value"


class UpdatesContext(BaseModel):
    pairs: list[tuple[str, list[str]]]  # a new fact and the older facts it may update


class CompactionContext(BaseModel):
    person: str
    items: list[str]
    cap: int


def _lines(messages: list[PromptMessage]) -> str:
    return "\n".join(f"[{m.handle}] ({m.time}) {m.speaker}: {m.text}" for m in messages)


def _boundary(c: BoundaryContext) -> ChatMessages:
    context, window = c.context, c.window
    schema = BoundaryDecision.model_json_schema()
    if c.lang == "zh":
        system = ("你负责把对话切分成连贯的情节（episode）。给出窗口中开始新情节的消息的序号（从0开始），"
                  "如果窗口最后一个情节可能还会继续，wait_for_more 为 true。只输出符合 JSON schema 的 JSON。")
    else:
        system = ("You segment a conversation into coherent episodes. Return the 0-based indices of the "
                  "window messages that START a new episode (a new topic, activity or time), and "
                  "wait_for_more=true if the window's last episode may continue with later messages. "
                  "Answer with JSON only, following the schema.")
    ctx = f"Earlier messages of the current episode (context only):\n{_lines(context)}\n\n" if context else ""
    indexed = "\n".join(f"{i}. {line}" for i, line in enumerate(_lines(window).splitlines()))
    return [{"role": "system", "content": f"{system}\nSchema: {schema}"},
            {"role": "user", "content": f"{ctx}Window:\n{indexed}"}]


def _extraction(c: ExtractionContext) -> ChatMessages:
    messages, profile = c.messages, c.profile
    schema = Extraction.model_json_schema()
    if c.lang == "zh":
        system = (
            "你从一段对话情节中提取长期记忆，用对话的语言（中文）书写。输出：episode（标题和第三人称叙述，"
            "保留人名和数字，相对时间写成“相对时间（绝对日期）”）；facts（原子事实，每条一个信息，写明人名，"
            "event_date 为 YYYY-MM-DD；若事实说的是某人生活中的一项（home、job、employer、partner、family、pet、diet、"
            "school、car、phone、hobby、rent、salary、weight），给出 subject、attribute 和 value）；"
            "foresight（计划和预期，带 start/end 日期）；profile（对参与者画像的"
            "add/update/delete/keep 操作，explicit 或 implicit）。每条都给出证据消息 id（如 m3）。只输出 JSON。")
    else:
        system = (
            "You extract long-term memories from one episode of a conversation, written in the "
            "conversation's language. Return: episode (a title and a third-person narrative that keeps "
            "names and numbers and writes relative times as 'relative (absolute date)'); facts (atomic, one "
            "idea each, naming the person, event_date as YYYY-MM-DD when known; a fact that states a slot of "
            "someone's life gives subject, attribute (one of home, job, employer, partner, family, pet, diet, "
            "school, car, phone, hobby, rent, salary, weight) and value, also when said indirectly: 'the movers "
            "dropped the boxes at our new flat in Porto' is home = Porto); foresight (plans and "
            "expectations with start/end dates of validity); profile (add/update/delete/keep operations on "
            "the participants' profiles, explicit facts or implicit traits). Cite evidence message ids "
            "(m1, m2, ...) for every item. Resolve relative dates against each message's own time. "
            "Answer with JSON only, following the schema.")
    known = "\n".join(f"- {p}" for p in profile) or "(none)"
    return [{"role": "system", "content": f"{system}\nSchema: {schema}"},
            {"role": "user", "content": f"Known profile items:\n{known}\n\nEpisode messages:\n{_lines(messages)}"}]


def _updates(c: UpdatesContext) -> ChatMessages:
    pairs = c.pairs
    schema = UpdateLabels.model_json_schema()
    system = ("For each new fact, compare it with the older facts listed under it and label it: "
              "duplicate (says the same), update (a newer value of the same thing), contradiction "
              "(cannot both be true), or independent. Give the index of the older fact for the first "
              "three labels. Answer with JSON only, following the schema.")
    blocks = []
    for i, (new, olds) in enumerate(pairs):
        older = "\n".join(f"    {j}. {o}" for j, o in enumerate(olds))
        blocks.append(f"{i}. NEW: {new}\n  older:\n{older}")
    return [{"role": "system", "content": f"{system}\nSchema: {schema}"},
            {"role": "user", "content": "\n".join(blocks)}]


def _compaction(c: CompactionContext) -> ChatMessages:
    person, items, cap = c.person, c.items, c.cap
    schema = ProfileCompaction.model_json_schema()
    system = (f"Compact this person's profile to at most {cap} items: merge items that say the same or "
              "overlapping things, keep the newest value where items conflict, drop trivia. Every output "
              "item lists the indices of the input items it replaces (sources). Keep the profile's "
              "language. JSON only.")
    listed = "\n".join(f"{i}. {it}" for i, it in enumerate(items))
    return [{"role": "system", "content": f"{system}\nSchema: {schema}"},
            {"role": "user", "content": f"Person: {person}\nProfile items:\n{listed}"}]


BOUNDARY = Prompt("boundary", 1, BoundaryContext, BoundaryDecision, _boundary)
EXTRACTION = Prompt("extraction", 2, ExtractionContext, Extraction, _extraction)
UPDATES = Prompt("updates", 1, UpdatesContext, UpdateLabels, _updates)
COMPACTION = Prompt("compaction", 1, CompactionContext, ProfileCompaction, _compaction)

"""Offline (no LLM) extraction of memories from one closed MemCell.

* **turn** texts: ``Speaker: content [image: caption]`` with every relative time
  expression followed by its absolute date (resolved against that message's timestamp).
* **episode**: the cell's turns in order under a dated header.
* **facts**: each declarative sentence in the third person, from a parse
  (:mod:`.statements`: "I went" -> "Caroline went", "you" -> the addressee in a
  two-party chat), so a fact stands on its own, with the event time of its first time
  expression and the subject, attribute and value of the slot it states, if any.
* **foresight**: sentences about the future (plans, expectations), with a validity window
  that ends after the event (or 30 days after it was said when no date is given).
* **profile** items: one per slot a statement states (home, job, employer, partner,
  family, pets, diet, school, car, phone, hobbies, likes, rent, salary, weight), with its
  evidence message and a confidence, in English and Chinese.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

from ..consolidate.plan import Draft
from ..records import render_turn
from ..text import has_cjk, split_sentences, words
from ..timenorm import TimeMention, annotate, dates_lie_ahead, format_date, speaks_of_future
from ..types import Message
from .occupations import implicit_text
from .statements import TRAITS, Slot, analyse

# a state that begins at a time ahead, rather than an event that happens then
_STARTS = re.compile(r"\b(takes? over|starts?|starting|begins?|beginning|becomes?|will be the new|"
                     r"takes? effect|from then on|moves? in|joins?|joining|report(?:s|ing)? (?:for|to))\b|"
                     r"开始|起|接任|上任|生效|入职|搬进|报到|上岗|到岗", re.I)
_SMALL_TALK = re.compile(
    r"^(hi|hey|hello|thanks|thank you|bye|wow|cool|nice|great|awesome|sure|yeah|yes|no|ok|okay|"
    r"lol|haha|that's (?:great|awesome|cool|nice|amazing|so cool)|same|sounds good)\b", re.I)


def _may_state(sentence: str) -> bool:
    """Not a question, not small talk."""
    return not (sentence.rstrip().endswith(("?", "？")) or (_SMALL_TALK.match(sentence) and len(sentence) < 40))


def _long_enough(sentence: str) -> bool:
    return len(words(sentence)) >= (2 if has_cjk(sentence) else 3)


def _day_bounds(mention: TimeMention, tz: object) -> tuple[datetime, datetime]:
    start = datetime.combine(mention.first, time.min, tzinfo=UTC)
    end = datetime.combine(mention.last, time.max, tzinfo=UTC)
    return start, end


def _is_future(sentence: str, mentions: list[TimeMention], said: datetime) -> bool:
    if any(t.first > said.date() for t in mentions):
        return True
    return speaks_of_future(sentence) and not any(t.last < said.date() for t in mentions)


def extract_cell(messages: list[Message]) -> list[Draft]:
    """Episode, facts, foresight and profile drafts for one closed cell."""
    if not messages:
        return []
    first = messages[0]
    speakers = list(dict.fromkeys(m.sender_name for m in messages))
    lang = "zh" if any(has_cjk(m.content) for m in messages) else "en"
    header = (f"{format_date(first.timestamp.date(), lang)}，{'、'.join(speakers)}的对话："
              if lang == "zh" else
              f"Conversation on {format_date(first.timestamp.date())} between {', '.join(speakers)}:")
    drafts = [Draft(
        kind="episode", text="\n".join([header, *(render_turn(m) for m in messages)]),
        speaker=None, observed_at=first.timestamp, message_ids=[m.id for m in messages],
        event_start=first.timestamp, event_end=messages[-1].timestamp,
        metadata={"speakers": speakers, "turns": len(messages)})]
    for m in messages:
        others = [s for s in speakers if s != m.sender_name]
        drafts.extend(_sentence_drafts(m, others[0] if len(others) == 1 else None))
    return drafts


def _sentence_drafts(m: Message, addressee: str | None = None) -> list[Draft]:
    """A fact or plan per statement of the message, and a profile item per slot it
    states; ``addressee``: who "you" is (the other party of a two-party chat)."""
    candidates = [s for s in split_sentences(m.content) if _may_state(s)]
    out: list[Draft] = []
    for sentence, st in zip(candidates, analyse(candidates, m.sender_name, addressee), strict=True):
        # a short statement about a person ("I live in Leeds.") or naming something ("They
        # bumped me to 46k.") is kept however few its words
        if not (st.slots or st.names or _long_enough(sentence)):
            continue
        annotated, mentions = annotate(sentence, m.timestamp)
        # the rewritten sentence resolves year-less dates as the original does ("I'm running
        # ... on September 29th" looks ahead; "Sam is running ..." alone would not say so)
        text = annotate(st.text, m.timestamp, ahead=dates_lie_ahead(sentence))[0] if st.text != sentence else annotated
        if not re.search(re.escape(m.sender_name), text) and not any(who in text for who, _ in st.slots):
            text = f"{m.sender_name}: {text}"
        event = _day_bounds(mentions[0], m.timestamp.tzinfo) if mentions else (None, None)
        future = _is_future(sentence, mentions, m.timestamp)
        starts = event[0] is not None and event[0] > m.timestamp and _STARTS.search(sentence) is not None
        kind = "foresight" if future and not starts else "fact"
        draft = Draft(kind=kind, text=text, speaker=m.sender_name, observed_at=m.timestamp,
                      message_ids=[m.id], event_start=event[0], event_end=event[1])
        if starts:  # a state that begins later ("takes over next month"): not true before then
            draft.valid_from = event[0]
        elif future:
            draft.valid_from = m.timestamp
            draft.valid_to = (event[1] + timedelta(days=1)) if event[1] else m.timestamp + timedelta(days=30)
        # a plan is not yet a fact about the person, but a plain clause of the same sentence
        # is ("I work nights, so my sister will walk the dog"), and so is a state that
        # begins at a date (it holds from then: "下个月开始每月涨到四千")
        slots = [(who, slot) for who, slot in st.slots if slot.now or not future or starts]
        stated = [(who, slot) for who, slot in slots if not slot.implicit]
        if stated:
            draft.metadata.update(slot_metadata(*stated[0]))
        if st.names and kind == "fact":
            draft.metadata.update({"names": st.names, "own_now": st.own_now})
        out.append(draft)
        for who, slot in slots:
            if "'s " in who:
                continue  # "Ana's grandma": a profile is a named person's
            lang = "zh" if has_cjk(sentence) else "en"
            out.append(Draft(
                kind="profile", text=implicit_text(who, slot.value, sentence, lang) if slot.implicit else text,
                speaker=who, observed_at=m.timestamp, message_ids=[m.id],
                # a state is known to hold from the date the statement gives ("moved last
                # week"); said without one, it may have held long before (an update dates it)
                valid_from=draft.valid_from or event[0],
                metadata={**slot_metadata(who, slot), "confidence": 0.5 if slot.implicit else 0.9,
                          "evidence": [m.id], "explicit": not slot.implicit,
                          "nature": "trait" if slot.attribute in TRAITS else "state"}))
    return out


def slot_metadata(who: str, slot: Slot) -> dict[str, object]:
    """The flat metadata keys a memory about a slot carries (so that a store lookup by
    subject and attribute finds it)."""
    meta: dict[str, object] = {"subject": who, "attribute": slot.attribute, "value": slot.value,
                               "identity": slot.identity}
    if slot.key:
        meta["key"] = slot.key
    if slot.ended:
        meta["ended"] = True
    return meta

"""Offline (no LLM) extraction of memories from one closed MemCell.

* **turn** texts: ``Speaker: content [image: caption]`` with every relative time
  expression followed by its absolute date (resolved against that message's timestamp).
* **episode**: the cell's turns in order under a dated header.
* **facts**: each declarative sentence, attributed — first-person words are rewritten to
  the speaker's name ("I went" -> "Caroline went") so a fact stands on its own — with the
  event time of its first time expression.
* **foresight**: sentences about the future (plans, expectations), with a validity window
  that ends after the event (or 30 days after it was said when no date is given).
* **profile** items: self-disclosures matched by patterns (job, home, family, likes and
  dislikes), in English and Chinese.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

from ..consolidate.plan import Draft
from ..records import render_turn
from ..text import has_cjk, split_sentences, words
from ..timenorm import TimeMention, annotate, format_date, speaks_of_future
from ..types import Message

# ------------------------------------------------------------ person rewrite
_NOT_PRESENT = frozenset(["was", "had", "did", "went", "made", "got", "saw", "took", "came", "gave", "found", "felt", "thought", "told", "knew", "left", "met", "ran", "bought", "brought", "built", "began", "wrote", "said", "sent", "spent", "won", "lost", "kept", "held", "heard", "became", "taught", "caught", "slept", "drove", "ate", "drew", "flew", "grew", "threw", "wore", "chose", "fell", "forgot", "sat", "stood", "understood", "paid", "put", "set", "cut", "let", "hit", "hurt", "quit", "shut", "led", "fed", "sang", "swam", "rode", "woke", "spoke", "broke", "stole", "hid", "can", "could", "will", "would", "should", "might", "must", "may", "shall", "also", "just", "really", "still", "always", "never", "often", "usually", "actually", "totally", "definitely", "guess", "mean"])
_IRREGULAR_S = {"have": "has", "do": "does", "go": "goes", "am": "is", "be": "is"}


def _third_singular(verb: str) -> str:
    """Present-tense agreement after a name: "I love" -> "Ana loves"; past forms,
    modals and adverbs stay as they are."""
    if verb in _IRREGULAR_S:
        return _IRREGULAR_S[verb]
    if verb in _NOT_PRESENT or verb.endswith(("ed", "ing")) or len(verb) < 2:
        return verb
    if verb.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    if verb.endswith("y") and verb[-2] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


_EN_PERSON = [
    (re.compile(r"\bI'm\b"), "{n} is"), (re.compile(r"\bI've\b"), "{n} has"),
    (re.compile(r"\bI'll\b"), "{n} will"), (re.compile(r"\bI'd\b"), "{n} would"),
    (re.compile(r"\b[Mm]yself\b"), "{n}"), (re.compile(r"\b[Mm]y\b"), "{n}'s"),
    (re.compile(r"\b[Mm]ine\b"), "{n}'s"), (re.compile(r"\bme\b"), "{n}"),
]
_ADVERBS = r"really|also|just|still|always|never|often|usually|now|currently|finally|recently|sometimes|mostly"
_EN_I_VERB = re.compile(rf"\bI\s+(?:({_ADVERBS})\s+)?([a-z]+)\b")


def third_person(sentence: str, name: str) -> str:
    """Rewrite a first-person sentence so that it names the speaker."""
    if has_cjk(sentence):
        return re.sub(r"我(?!们)", name, sentence)

    def _i_verb(m: re.Match[str]) -> str:
        adverb, verb = m.group(1), m.group(2)
        verb = _third_singular(verb)
        return f"{name} {adverb + ' ' if adverb else ''}{verb}"

    out = _EN_I_VERB.sub(_i_verb, sentence)
    for pattern, repl in _EN_PERSON:
        out = pattern.sub(repl.format(n=name), out)
    return re.sub(r"\bI\b", name, out)


# --------------------------------------------------------------- patterns
# a state that begins at a time ahead, rather than an event that happens then
_STARTS = re.compile(r"\b(takes? over|starts?|starting|begins?|beginning|becomes?|will be the new|"
                     r"takes? effect|from then on|moves? in)\b|开始|起|接任|上任|生效|入职|搬进", re.I)
_SMALL_TALK = re.compile(
    r"^(hi|hey|hello|thanks|thank you|bye|wow|cool|nice|great|awesome|sure|yeah|yes|no|ok|okay|"
    r"lol|haha|that's (?:great|awesome|cool|nice|amazing|so cool)|same|sounds good)\b", re.I)

_PROFILE_EN: list[tuple[str, re.Pattern[str]]] = [
    ("job", re.compile(r"\bI(?:'m| am)?\s*(?:(?:currently|now|still|also)\s+)?work(?:ing)?\s+(?:as|at|for|in)\s+([^.,!?;]{3,60})", re.I)),
    ("job", re.compile(r"\b(?:my job|my work)\s+(?:is|as)\s+([^.,!?;]{3,60})", re.I)),
    ("job", re.compile(r"\bI(?:'m| am) an? ([a-z ]{3,40}?(?:er|or|ist|ian|ant|ent|nurse|chef|teacher|student|engineer|doctor|artist|musician|writer|designer))\b", re.I)),
    ("home", re.compile(r"\bI\s+(?:(?:now|still|finally|just|recently)\s+)?(?:live|lived|grew up|moved)\s+(?:in|to)\s+([^.,!?;]{2,60})", re.I)),
    ("home", re.compile(r"\bI(?:'m| am) (?:originally )?from\s+([^.,!?;]{2,60})", re.I)),
    ("family", re.compile(r"\bmy\s+((?:wife|husband|partner|son|daughter|kids|children|child|mom|mother|dad|father|sister|brother|girlfriend|boyfriend|grandma|grandmother|grandpa|grandfather|family|parents|baby)\b[^.,!?;]{0,50})", re.I)),
    ("likes", re.compile(r"\bI\s+(?:really\s+|also\s+|just\s+)?(?:love|like|enjoy|adore)\s+([^.,!?;]{3,60})", re.I)),
    ("likes", re.compile(r"\bI(?:'m| am)\s+(?:really\s+)?(?:into|passionate about|a (?:big )?fan of)\s+([^.,!?;]{3,60})", re.I)),
    ("dislikes", re.compile(r"\bI\s+(?:really\s+)?(?:hate|dislike|don't like|do not like|can't stand)\s+([^.,!?;]{3,60})", re.I)),
]
_PROFILE_ZH: list[tuple[str, re.Pattern[str]]] = [
    ("job", re.compile(r"我(?:现在)?在([^，。！？；]{2,30})(?:工作|上班|当)")),
    ("job", re.compile(r"我是(?:一名|一个|一位)([^，。！？；]{2,20})")),
    ("home", re.compile(r"我(?:[^，。！？；]{0,6}?(?:住在|搬到了?|搬去了?)|来自)([^，。！？；]{2,20}?)(?:[，。！？；]|$)")),
    ("home", re.compile(r"我在([^，。！？；]{2,20}?)(?:住|长大)(?:[，。！？；]|$)")),
    ("family", re.compile(r"我的?(妻子|老婆|丈夫|老公|儿子|女儿|孩子|妈妈|爸爸|母亲|父亲|姐姐|妹妹|哥哥|弟弟|男朋友|女朋友)([^，。！？；]{0,20})")),
    ("likes", re.compile(r"我(?:很|非常|特别|最)?(?:喜欢|爱|热爱)([^，。！？；]{1,30})")),
    ("dislikes", re.compile(r"我(?:很|非常|特别)?(?:不喜欢|讨厌|受不了)([^，。！？；]{1,30})")),
]


def profile_matches(sentence: str) -> list[tuple[str, str]]:
    rules = _PROFILE_ZH if has_cjk(sentence) else _PROFILE_EN
    found: list[tuple[str, str]] = []
    for attribute, pattern in rules:
        m = pattern.search(sentence)
        if m:
            value = "".join(g for g in m.groups() if g).strip()
            if value and (attribute, value) not in found:
                found.append((attribute, value))
    return found


def _is_statement(sentence: str) -> bool:
    if sentence.rstrip().endswith(("?", "？")) or (_SMALL_TALK.match(sentence) and len(sentence) < 40):
        return False
    # a short statement about a person ("I live in Leeds.") is kept however few its words
    return len(words(sentence)) >= (2 if has_cjk(sentence) else 3) or bool(profile_matches(sentence))


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
        drafts.extend(_sentence_drafts(m))
    return drafts


def _sentence_drafts(m: Message) -> list[Draft]:
    out: list[Draft] = []
    for sentence in split_sentences(m.content):
        if not _is_statement(sentence):
            continue
        annotated, mentions = annotate(sentence, m.timestamp)
        text = third_person(annotated, m.sender_name)
        if not re.search(re.escape(m.sender_name), text):
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
        out.append(draft)
        for attribute, value in profile_matches(sentence):
            out.append(Draft(
                kind="profile", text=text, speaker=m.sender_name, observed_at=m.timestamp,
                message_ids=[m.id], valid_from=m.timestamp,
                metadata={"attribute": attribute, "value": value}))
    return out

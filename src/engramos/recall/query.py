"""Query analysis: search words, a time range from the question's time expressions
(resolved against the question's reference time), and whether it asks for a date.

A dialogue given as the query (an agent's recent turns, several lines or a long text)
is about a topic; a time word said in passing ("we went hiking last summer") does not
make it a question about that time.  Only the time words of its last line (the current
question) give a range that recall keeps to; the others give a ``soft`` range, which
only breaks ties."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time

from ..text import split_sentences, words
from ..timenorm import find_mentions
from ..types import TimeRange

_WHEN_RE = re.compile(
    r"^\s*(when|what (?:date|day|time|year|month)|which (?:date|day|year|month)|how long ago|"
    r"since when)\b|什么时候|哪天|哪一天|哪年|几月|几号|何时", re.I)


DIALOGUE_CHARS = 280  # longer than any question people type; what an agent passes as "the dialogue"


@dataclass
class QueryPlan:
    text: str
    words: list[str]
    time_range: TimeRange | None
    wants_date: bool
    soft_time: bool = False  # the range came from a dialogue's earlier lines: a tie-breaker only
    dialogue: bool = False  # the query is a dialogue (see is_dialogue)


def is_dialogue(query: str) -> bool:
    lines = [ln for ln in query.splitlines() if ln.strip()]
    return len(lines) >= 2 or len(query) > DIALOGUE_CHARS


def analyze(query: str, reference_time: datetime) -> QueryPlan:
    dialogue = is_dialogue(query)
    last = _last_line(query) if dialogue else query
    mentions = find_mentions(last, reference_time)
    soft = False
    if dialogue and not mentions:
        mentions, soft = find_mentions(query, reference_time), True
    time_range = None
    if mentions:
        start = min(m.first for m in mentions)
        end = max(m.last for m in mentions)
        time_range = TimeRange(start=datetime.combine(start, time.min, tzinfo=UTC),
                               end=datetime.combine(end, time.max, tzinfo=UTC),
                               source=", ".join(m.text for m in mentions))
    terms = words(query)
    if soft:  # said in passing, its time words are not the topic's words either
        said = {w for m in mentions for w in words(m.text)}
        terms = [w for w in terms if w not in said]
    return QueryPlan(text=query, words=terms, time_range=time_range,
                     wants_date=bool(_WHEN_RE.search(last)), soft_time=soft and time_range is not None,
                     dialogue=dialogue)


def _last_line(query: str) -> str:
    """The current question of a dialogue: its last line, or its last sentence when it
    comes as one long line."""
    lines = [ln for ln in query.splitlines() if ln.strip()]
    if len(lines) >= 2:
        return lines[-1]
    sentences = split_sentences(query)
    return sentences[-1] if sentences else query

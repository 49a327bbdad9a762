"""Query analysis: search words, a time range from the question's time expressions
(resolved against the question's reference time), and whether it asks for a date."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time

from ..text import words
from ..timenorm import find_mentions
from ..types import TimeRange

_WHEN_RE = re.compile(
    r"^\s*(when|what (?:date|day|time|year|month)|which (?:date|day|year|month)|how long ago|"
    r"since when)\b|什么时候|哪天|哪一天|哪年|几月|几号|何时", re.I)


@dataclass
class QueryPlan:
    text: str
    words: list[str]
    time_range: TimeRange | None
    wants_date: bool


def analyze(query: str, reference_time: datetime) -> QueryPlan:
    mentions = find_mentions(query, reference_time)
    time_range = None
    if mentions:
        start = min(m.first for m in mentions)
        end = max(m.last for m in mentions)
        time_range = TimeRange(start=datetime.combine(start, time.min, tzinfo=UTC),
                               end=datetime.combine(end, time.max, tzinfo=UTC),
                               source=", ".join(m.text for m in mentions))
    return QueryPlan(text=query, words=words(query), time_range=time_range,
                     wants_date=bool(_WHEN_RE.search(query)))

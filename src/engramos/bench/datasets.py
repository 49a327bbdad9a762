"""Benchmark data sets in one shape: conversations of dated sessions, and questions with
their gold evidence (turn ids and session ids) and a reference time.

* LoCoMo (``locomo10.json`` or any file in its shape): one conversation per sample; the
  category codes are 1 multi-hop, 2 temporal, 3 open-domain, 4 single-hop,
  5 adversarial; evidence ids are normalised with ``D\\d+:\\d+`` and unknown ids dropped;
  every question's reference time is the last session's date.
* LongMemEval (``longmemeval_s`` / ``_m`` / ``_oracle``): each question has its own
  haystack of dated sessions, so each question is its own conversation; turn ids are
  ``<session_id>:<index>``; evidence turns are those with ``has_answer``; the reference
  time is ``question_date``; abstention questions (id ending in ``_abs``) are kept but
  flagged, and excluded from retrieval metrics.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError
from ..formats import TURN_SPACING, locomo_sessions

LOCOMO_CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop", 5: "adversarial"}
_EVIDENCE_RE = re.compile(r"D\d+:\d+")


@dataclass
class Turn:
    id: str
    session_id: str
    speaker: str
    role: str
    text: str
    timestamp: datetime
    caption: str | None = None

    def message(self) -> dict[str, Any]:
        msg: dict[str, Any] = {"speaker": self.speaker, "role": self.role, "text": self.text,
                               "timestamp": self.timestamp.isoformat(), "id": self.id}
        if self.caption:
            msg["image_caption"] = self.caption
        return msg

    def render(self) -> str:
        """The unit text the turn baselines index (LoCoMo's own RAG rendering)."""
        return f"{self.speaker}: {self.text}" + (f" [shared {self.caption}]" if self.caption else "")


@dataclass
class Question:
    id: str
    text: str
    answer: str | None
    category: str
    evidence_turns: set[str]
    evidence_sessions: set[str]
    reference_time: datetime
    abstention: bool = False
    stale_turns: set[str] = field(default_factory=set)  # turns stating what no longer holds (bench memory)
    as_of: datetime | None = None  # judge validity at this time instead (bench memory)


@dataclass
class Conversation:
    id: str
    sessions: list[tuple[str, datetime, list[Turn]]]
    questions: list[Question] = field(default_factory=list)
    # a variant's unit id -> the original turn it is part of (gold evidence is by turn)
    parent: dict[str, str] = field(default_factory=dict)

    @property
    def turns(self) -> list[Turn]:
        return [t for _, _, turns in self.sessions for t in turns]


def load_locomo(path: str | Path, limit: int | None = None) -> list[Conversation]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    samples = data if isinstance(data, list) else [data]
    out = []
    for idx, sample in enumerate(samples[:limit]):
        sid = str(sample.get("sample_id", f"locomo-{idx}"))
        sessions = []
        for n, start, raw_turns in locomo_sessions(sample):
            turns = [Turn(id=str(t.get("dia_id", f"D{n}:{i + 1}")), session_id=f"session_{n}",
                          speaker=t["speaker"], role="user", text=t.get("text", ""),
                          timestamp=start + i * TURN_SPACING, caption=t.get("blip_caption"))
                     for i, t in enumerate(raw_turns)]
            sessions.append((f"session_{n}", start, turns))
        conv = Conversation(sid, sessions)
        known = {t.id for t in conv.turns}
        session_of = {t.id: t.session_id for t in conv.turns}
        reference = sessions[-1][1]
        for qi, qa in enumerate(sample.get("qa", [])):
            gold = {e for e in _EVIDENCE_RE.findall(" ".join(map(str, qa.get("evidence", [])))) if e in known}
            answer = qa.get("answer")
            conv.questions.append(Question(
                id=f"{sid}:q{qi}", text=qa["question"], answer=None if answer is None else str(answer),
                category=LOCOMO_CATEGORIES.get(int(qa.get("category", 0)), str(qa.get("category"))),
                evidence_turns=gold, evidence_sessions={session_of[e] for e in gold},
                reference_time=reference))
        out.append(conv)
    return out


def parse_longmemeval_date(text: str) -> datetime:
    """``"2023/05/20 (Sat) 02:21"`` -> aware datetime (UTC)."""
    cleaned = re.sub(r"\s*\([A-Za-z]+\)\s*", " ", text.strip())
    for fmt in ("%Y/%m/%d %H:%M", "%Y/%m/%d"):
        try:
            return datetime.strptime(cleaned, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise InvalidInputError("haystack_dates", f"cannot parse LongMemEval date {text!r}")


def load_longmemeval(path: str | Path, limit: int | None = None) -> list[Conversation]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    out = []
    for item in data[:limit]:
        qid = str(item["question_id"])
        sessions = []
        evidence: set[str] = set()
        for sid, date_text, raw in zip(item["haystack_session_ids"], item["haystack_dates"],
                                       item["haystack_sessions"], strict=True):
            start = parse_longmemeval_date(date_text)
            turns = []
            for i, t in enumerate(raw):
                tid = f"{sid}:{i}"
                if t.get("has_answer"):
                    evidence.add(tid)
                turns.append(Turn(id=tid, session_id=str(sid), speaker=t["role"], role=t["role"],
                                  text=t["content"], timestamp=start + i * TURN_SPACING))
            sessions.append((str(sid), start, turns))
        sessions.sort(key=lambda s: s[1])
        conv = Conversation(qid, sessions)
        conv.questions.append(Question(
            id=qid, text=item["question"], answer=str(item.get("answer", "")),
            category=str(item.get("question_type", "unknown")), evidence_turns=evidence,
            evidence_sessions={str(s) for s in item.get("answer_session_ids", [])},
            reference_time=parse_longmemeval_date(item["question_date"]),
            abstention=qid.endswith("_abs")))
        out.append(conv)
    return out

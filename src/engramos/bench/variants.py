"""Variants of a data set that test whether what is built holds beyond its surface.

``informal``: LoCoMo as people type in a chat app.  Each turn is split at sentence
boundaries into short messages a few seconds apart, and a share of the pieces is lower-cased
with its punctuation dropped ("omg that's amazing" rather than "Oh my god, that's amazing!").
A gold turn's evidence is every piece of it: retrieving any piece counts as retrieving the
turn (``Conversation.parent``), so the metrics stay comparable with the original's.  The
same seed gives the same variant.

``dialogue``: each question asked the way an agent asks, with its recent turns: the
query is the last lines of the conversation's final session (up to ``DIALOGUE_CONTEXT``
characters, ``Speaker: text`` a line) followed by the question on a line of its own.
The conversation and the gold evidence are the original's; what changes is a query that
is mostly about something else."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from ..text import split_sentences
from .datasets import Conversation, Turn

PIECE_SPACING = timedelta(seconds=4)  # below the loader's 30 s between turns: order is kept
INFORMAL_SHARE = 0.4  # pieces lower-cased and stripped of punctuation
_PUNCT = re.compile(r"[^\w\s']")


def informal(conversations: Sequence[Conversation], seed: int = 7) -> list[Conversation]:
    rng = random.Random(seed)
    return [_informal(c, rng) for c in conversations]


def _informal(conv: Conversation, rng: random.Random) -> Conversation:
    pieces_of: dict[str, list[str]] = {}
    sessions = []
    for sid, start, turns in conv.sessions:
        out: list[Turn] = []
        for t in turns:
            parts = split_sentences(t.text) or [t.text]
            ids = []
            for i, part in enumerate(parts):
                # a piece of punctuation alone ("...") keeps it: a message is never empty
                text = (_casual(part) if rng.random() < INFORMAL_SHARE else part) or part
                pid = t.id if len(parts) == 1 else f"{t.id}#{i + 1}"
                ids.append(pid)
                out.append(Turn(id=pid, session_id=t.session_id, speaker=t.speaker, role=t.role, text=text,
                                timestamp=t.timestamp + i * PIECE_SPACING, caption=t.caption if i == 0 else None))
            pieces_of[t.id] = ids
        sessions.append((sid, start, out))
    # the questions and their gold turns stay: a retrieved piece counts as its turn
    return Conversation(conv.id, sessions, list(conv.questions),
                        parent={p: tid for tid, ps in pieces_of.items() for p in ps})


DIALOGUE_CONTEXT = 700


def dialogue(conversations: Sequence[Conversation]) -> list[Conversation]:
    out = []
    for conv in conversations:
        lines: list[str] = []
        for t in reversed(conv.sessions[-1][2]):
            line = t.render()
            if lines and sum(map(len, lines)) + len(line) > DIALOGUE_CONTEXT:
                break
            lines.append(line)
        recent = "\n".join(reversed(lines))
        asked = [replace(q, text=f"{recent}\n{q.text}") for q in conv.questions]
        out.append(Conversation(conv.id, conv.sessions, asked, dict(conv.parent)))
    return out


def _casual(text: str) -> str:
    return re.sub(r"\s+", " ", _PUNCT.sub(" ", text.lower())).strip()

"""Variants of a data set that test whether what is built holds beyond its surface.

``informal``: LoCoMo as people type in a chat app.  Each turn is split at sentence
boundaries into short messages a few seconds apart, and a share of the pieces is lower-cased
with its punctuation dropped ("omg that's amazing" rather than "Oh my god, that's amazing!").
A gold turn's evidence is every piece of it: retrieving any piece counts as retrieving the
turn (``Conversation.parent``), so the metrics stay comparable with the original's.  The
same seed gives the same variant."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
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


def _casual(text: str) -> str:
    return re.sub(r"\s+", " ", _PUNCT.sub(" ", text.lower())).strip()

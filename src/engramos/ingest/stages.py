"""The two stages of episodic trace construction, behind protocols, each with an offline
and an LLM implementation (:mod:`.llm_stages`).  The pipeline picks the pair once
(:func:`make_stages`) and hands them context, never the store.

* :class:`Segmenter`: pending messages of a conversation -> closed MemCells.
* :class:`Extractor`: one closed MemCell -> drafts (episode, facts, foresight, profile)
  with their vectors; then, given a lookup of older facts, knowledge-update labels; and
  a profile compaction when a person's profile outgrows its cap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ..config import Config
from ..consolidate.slots import (
    SLOT_CANDIDATE_SIMILARITY,
    calls_off,
    changed_number,
    numbers_of,
    shared_content_words,
)
from ..providers.embeddings import Embedder
from ..providers.llm import ChatModel
from ..records import OFFLINE
from ..timenorm import moves_a_date
from ..types import MemoryRecord, Message
from .extract import Draft, extract_cell
from .segment import Segment, segment


@dataclass
class SegmentContext:
    """What a segmenter sees: the conversation's messages not yet in a cell, their turn
    vectors, whether to close the open tail, and the sequence numbers already sent to an
    LLM once (``seen``; the segmenter updates it, the pipeline keeps it)."""

    conversation_id: str
    pending: list[Message]
    vectors: np.ndarray
    flush: bool
    seen: set[int] = field(default_factory=set)


@dataclass
class CellContext:
    """What an extractor sees: one closed cell's messages, their turn vectors, and the
    owner's known profile items (looked up only if the extractor asks)."""

    messages: list[Message]
    turn_vectors: np.ndarray
    cell_vector: np.ndarray
    known_profile: Callable[[], list[MemoryRecord]]


@dataclass
class Compaction:
    drafts: list[Draft]
    vectors: np.ndarray
    replaced: list[list[str]]  # for each draft, the ids of the items it supersedes


# a new fact's vector and draft -> older facts that it may update: the most similar, with
# their cosine, and those about the same subject and attribute (given 1.0: same slot)
OlderFacts = Callable[[np.ndarray, Draft], list[tuple[MemoryRecord, float]]]
SAME_SLOT = 1.0


class Segmenter(Protocol):
    def segment(self, ctx: SegmentContext) -> list[Segment]:
        """Closed segments, in order; messages of an open tail stay pending."""


class Extractor(Protocol):
    produced_by: str
    profile_cap: int | None  # compaction threshold; None: never compacts

    def extract(self, ctx: CellContext) -> tuple[list[Draft], np.ndarray]:
        """Drafts for one cell (episode first) and one vector per draft."""

    def label_updates(self, drafts: list[Draft], vectors: np.ndarray, older: OlderFacts) -> None:
        """Mark facts that duplicate, update or contradict older facts
        (``draft.metadata["update"] = {"label", "older"}``)."""

    def compact(self, person: str, items: list[MemoryRecord]) -> Compaction:
        """Merge a person's profile items into at most ``profile_cap``."""


class OfflineSegmenter:
    """Calendar-day changes, long gaps, a size cap and topic shifts (embedding
    similarity between adjacent windows)."""

    def __init__(self, config: Config) -> None:
        self.config = config

    def segment(self, ctx: SegmentContext) -> list[Segment]:
        segments, _tail = segment(ctx.pending, ctx.vectors, self.config.segmentation, flush=ctx.flush)
        return segments


class OfflineExtractor:
    """Rule-based drafts (see :mod:`.extract`).  A sentence-level memory reuses its source
    turn's vector and the episode takes the cell's mean: embedding every sentence costs
    ~2.5x more on LoCoMo for little gain, since BM25 sees the rewritten, dated sentence."""

    produced_by = OFFLINE
    profile_cap: int | None = None

    def extract(self, ctx: CellContext) -> tuple[list[Draft], np.ndarray]:
        drafts = extract_cell(ctx.messages)
        by_message = {m.id: v for m, v in zip(ctx.messages, ctx.turn_vectors, strict=True)}
        vectors = [ctx.cell_vector if d.kind == "episode" else by_message[d.message_ids[0]] for d in drafts]
        return drafts, np.vstack(vectors)

    def label_updates(self, drafts: list[Draft], vectors: np.ndarray, older: OlderFacts) -> None:
        """Offline, only unambiguous updates: a number of a single-valued slot that changed
        (rent 950 -> 1100), and a plan called off or moved to another date by a statement
        about the same thing ("not running the half marathon any more", "the gig got
        pushed back to June 2nd").  Home and job are the profile rules
        (consolidate.profiles)."""
        for i, d in enumerate(drafts):
            if d.kind not in ("fact", "foresight"):
                continue
            numeric, cancels = d.kind == "fact" and bool(numbers_of(d.text)), calls_off(d.text)
            moves = d.kind == "foresight" and moves_a_date(d.text)
            if not (numeric or cancels or moves):
                continue
            for rec, score in older(vectors[i], d):
                if score < SLOT_CANDIDATE_SIMILARITY or rec.speaker != d.speaker or rec.status != "active":
                    continue
                name = {w.lower() for w in (d.speaker or "").split()}
                if numeric and rec.kind == "fact" and changed_number(d.text, rec.text):
                    d.metadata["update"] = {"label": "update", "older": rec.id, "rule": "numeric slot"}
                    break
                if (cancels or moves) and rec.kind == "foresight" and \
                        shared_content_words(d.text, rec.text, ignore=name):
                    rule = "plan called off" if cancels else "plan moved to another date"
                    d.metadata["update"] = {"label": "update", "older": rec.id, "rule": rule}
                    break

    def compact(self, person: str, items: list[MemoryRecord]) -> Compaction:
        return Compaction([], np.zeros((0, 1), np.float32), [])


@dataclass
class Stages:
    segmenter: Segmenter
    extractor: Extractor
    llm: ChatModel | None

    @contextmanager
    def spending(self) -> Iterator[dict[str, Any]]:
        """Collects what the LLM spent inside the block (empty offline)."""
        usage: dict[str, Any] = {}
        if self.llm is None:
            yield usage
            return
        with self.llm.track() as spent:
            yield usage
        usage.update(spent.as_dict())


def make_stages(config: Config, embedder: Embedder, llm: ChatModel | None) -> Stages:
    """The offline pair, or the LLM pair when an LLM is configured: chosen once."""
    if llm is None:
        return Stages(OfflineSegmenter(config), OfflineExtractor(), None)
    from .llm_stages import LLMExtractor, LLMSegmenter

    return Stages(LLMSegmenter(llm, config), LLMExtractor(llm, embedder, config.llm.profile_cap), llm)

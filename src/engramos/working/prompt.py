"""A context that starts with the conversation's working memory: the block as a stable
prefix, then the question's own evidence, within one budget."""

from __future__ import annotations

from ..recall.context import assemble
from ..text import count_tokens
from ..types import ContextBlock, Hit
from .block import WorkingMemory

MIN_EVIDENCE_TOKENS = 32


def working_budget(total: int, configured: int) -> int:
    """The block's share of a context of ``total`` tokens: the configured size, but at
    most three quarters, so that the question's evidence always has room."""
    return max(64, min(configured, total * 3 // 4))


def with_working(wm: WorkingMemory, query: str, hits: list[Hit], budget: int) -> ContextBlock:
    inside = {e.memory_id for e in wm.entries}
    covered = {m for e in wm.entries for m in e.message_ids}
    # what the block already says is not said again (a hit citing only covered messages adds nothing)
    rest = [h for h in hits if h.memory.id not in inside and not (h.memory.message_ids
                                                                 and set(h.memory.message_ids) <= covered)]
    prefix = wm.text + "\n"
    evidence = assemble(query, rest, max(budget - count_tokens(prefix), MIN_EVIDENCE_TOKENS))
    text = prefix + evidence.text
    return evidence.model_copy(update={"text": text, "tokens": count_tokens(text), "budget_tokens": budget,
                                       "message_ids": sorted(set(evidence.message_ids) | covered),
                                       "prefix_tokens": count_tokens(prefix)})

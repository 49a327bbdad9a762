"""Context assembly: the best evidence that fits a token budget, as a prompt block.

Hits are taken in rank order; a hit whose cited messages are all already covered adds
nothing and is skipped.  The chosen items are then laid out chronologically, each line
with its absolute date, the speaker (in the text) and citations to message ids.  The
fixed header comes first and profile items before events, so that servers with prefix
caching can reuse the stable part."""

from __future__ import annotations

from ..text import count_tokens
from ..types import ContextBlock, Hit

HEADER = ("# Memory\n"
          "Each line: [date said] memory (citations: message ids). Dates in parentheses are "
          "resolved event dates.\n")


def _cites(hit: Hit, limit: int = 6) -> str:
    labels = [c.label() for c in hit.citations]
    more = len(hit.memory.message_ids) - min(len(labels), limit)
    text = ", ".join(labels[:limit])
    return text + (f", +{more} more" if more > 0 else "")


_FLAGS = {"superseded": "NO LONGER TRUE", "expired": "PAST PLAN", "not_yet": "NOT YET TRUE",
          "outdated": "PROBABLY OUTDATED"}


def render_hit(hit: Hit) -> str:
    """One context line; a hit that is not true at the time asked about says so where
    the reader of the prompt sees it."""
    m = hit.memory
    date = m.observed_at.strftime("%-d %B %Y")
    body = m.text if m.kind != "episode" else m.text.replace("\n", "\n    ")
    flag = f" [{_FLAGS[hit.validity]}: {hit.note}]" if hit.validity != "current" else ""
    source = f" [shared: {hit.source}]" if hit.source else ""
    return f"[{date}] {body} ({_cites(hit)}){flag}{source}"


def assemble(query: str, hits: list[Hit], budget_tokens: int) -> ContextBlock:
    used = count_tokens(HEADER) + 12  # the two section headings
    covered: set[str] = set()
    chosen: list[tuple[Hit, str]] = []
    for hit in hits:
        ids = set(hit.memory.message_ids)
        if ids and ids <= covered:
            continue
        line = render_hit(hit)
        cost = count_tokens(line) + 1
        if used + cost > budget_tokens:
            continue
        used += cost
        covered |= ids
        chosen.append((hit, line))
    profile = [c for c in chosen if c[0].memory.kind == "profile"]
    events = sorted((c for c in chosen if c[0].memory.kind != "profile"),
                    key=lambda c: (c[0].memory.observed_at, c[0].memory.metadata.get("seq", 0)))
    parts = [HEADER]
    if profile:
        parts.append("## Profile\n" + "\n".join(line for _, line in profile) + "\n")
    if events:
        parts.append("## Events\n" + "\n".join(line for _, line in events) + "\n")
    text = "".join(parts)
    ordered = [h for h, _ in profile + events]
    external = {c.external_id for h in ordered for c in h.citations if c.external_id}
    return ContextBlock(query=query, text=text, tokens=count_tokens(text), budget_tokens=budget_tokens,
                        hits=ordered, message_ids=sorted(covered), external_ids=sorted(external))

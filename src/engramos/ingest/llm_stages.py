"""The LLM versions of segmentation and extraction.

Boundary detection: forced cuts first (calendar day, long gap, size cap, as offline),
then batched LLM decisions over windows of at most ``llm.boundary_window`` pending
messages.  The window's open tail ("wait for more") is re-sent with the next window, but
a message already sent once is never left open a second time, so every message goes to
the LLM at most twice and the cost is linear in the number of messages.

Extraction: one structured call per MemCell returning the episode, atomic facts,
foresight and profile operations; then, only when a new fact has near-duplicates among
the user's active facts, one more call per cell labels them duplicate / update /
contradiction / independent (knowledge updates).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import numpy as np

from ..config import Config
from ..consolidate.profiles import identity_of
from ..consolidate.slots import SLOT_CANDIDATE_SIMILARITY, slots_of
from ..prompts.memory_prompts import BOUNDARY, COMPACTION, EXTRACTION, UPDATES, Lang, PromptMessage
from ..providers.embeddings import Embedder
from ..providers.llm import ChatModel
from ..text import has_cjk
from ..types import MemoryRecord, Message
from .extract import Draft
from .segment import Segment, segment
from .stages import CellContext, Compaction, OlderFacts, SegmentContext
from .statements import TRAITS

UPDATE_CANDIDATE_SIMILARITY = 0.9  # e5 cosine above which any older fact is compared


def _candidate(new: str, old: str, score: float) -> bool:
    """Whether an older fact is shown to the labelling call: a near restatement, or a
    statement about the same slot of a life ("lives in Leeds" / "moved to Glasgow",
    cosine 0.88), which a cosine threshold alone misses."""
    return score >= UPDATE_CANDIDATE_SIMILARITY or (
        score >= SLOT_CANDIDATE_SIMILARITY and bool(slots_of(new) & slots_of(old)))


def _slot_metadata(subject: str | None, attribute: str | None, value: str | None) -> dict[str, object]:
    """The slot an extracted fact states, keyed as offline facts are (so that later facts
    about the same subject and attribute find it, whichever produced it)."""
    if not (subject and attribute and value):
        return {}
    meta: dict[str, object] = {"subject": subject, "attribute": attribute.strip().lower(), "value": value}
    return {**meta, "identity": identity_of(meta)}


def _profile_metadata(person: str, attribute: str, explicit: bool, evidence: list[str]) -> dict[str, object]:
    """What every profile item carries, offline or not: who it is about, whether it was
    said outright, the messages that show it, a confidence and whether it is a trait."""
    return {"subject": person, "explicit": explicit, "evidence": evidence, "confidence": 0.9 if explicit else 0.6,
            "nature": "trait" if attribute.strip().lower() in TRAITS else "state"}


def _prompt_messages(messages: list[Message]) -> list[PromptMessage]:
    return [PromptMessage(handle=f"m{i + 1}", speaker=m.sender_name, time=m.timestamp.isoformat(timespec="minutes"),
                          text=m.content + (f" [image: {m.metadata['image_caption']}]"
                                            if m.metadata.get("image_caption") else ""))
            for i, m in enumerate(messages)]


def _lang(messages: list[Message]) -> Lang:
    cjk = sum(has_cjk(m.content) for m in messages)
    return "zh" if cjk * 2 >= len(messages) else "en"


class LLMSegmenter:
    def __init__(self, llm: ChatModel, config: Config) -> None:
        self.llm, self.config = llm, config

    def segment(self, ctx: SegmentContext) -> list[Segment]:
        forced, tail = segment(ctx.pending, np.zeros((0, 1), np.float32),
                               self.config.segmentation.model_copy(update={"topic_depth": 1e9}), flush=False)
        out: list[Segment] = []
        for chunk in forced:  # each closed by a day change, a gap or the size cap
            out += self._decide(chunk.messages, ctx.seen, closed_by=chunk.boundary)
        if tail and (ctx.flush or len(tail) >= self.config.llm.boundary_min_batch):
            out += self._decide(tail, ctx.seen, closed_by="flush" if ctx.flush else None)
        return out

    def _decide(self, messages: list[Message], seen: set[int], closed_by: str | None) -> list[Segment]:
        """Cells for a run of messages with no forced cut inside.  When ``closed_by`` is
        None, an open tail the LLM wants to wait on is left pending (not returned), unless
        it was already sent once: then it is closed, so nothing is sent a third time."""
        out: list[Segment] = []
        start = 0
        size = self.config.llm.boundary_window
        while start < len(messages):
            window = messages[start : start + size]
            sent_before = {m.seq for m in window if m.seq in seen}
            decision = BOUNDARY.ask(self.llm, BOUNDARY.Context(window=_prompt_messages(window), lang=_lang(window)))
            seen.update(m.seq for m in window)
            cuts = sorted({b for b in decision.boundaries if 0 < b < len(window)})
            out += [Segment(window[a:b], "llm") for a, b in zip([0, *cuts], cuts, strict=False)]
            tail = window[cuts[-1] if cuts else 0 :]
            tail_resent = any(m.seq in sent_before for m in tail)
            if start + len(window) < len(messages):  # more messages follow in this run
                if tail_resent or len(tail) == len(window):
                    out.append(Segment(tail, "llm" if tail_resent else "size"))
                    start += len(window)
                else:
                    start += len(window) - len(tail)  # the tail goes again with what follows
                continue
            if closed_by or not decision.wait_for_more or tail_resent:
                out.append(Segment(tail, closed_by or "llm"))
            break
        return out


class LLMExtractor:
    def __init__(self, llm: ChatModel, embedder: Embedder, profile_cap: int) -> None:
        self.llm, self.embedder = llm, embedder
        self.profile_cap: int | None = profile_cap
        self.produced_by = llm.model_id

    def extract(self, ctx: CellContext) -> tuple[list[Draft], np.ndarray]:
        """Drafts for one cell (episode first) and their vectors."""
        messages = ctx.messages
        first = messages[0]
        handles = {f"m{i + 1}": m for i, m in enumerate(messages)}
        known = [f"{p.speaker}: {p.metadata.get('attribute')} = {p.metadata.get('value')}" for p in ctx.known_profile()]
        result = EXTRACTION.ask(self.llm, EXTRACTION.Context(messages=_prompt_messages(messages),
                                                             lang=_lang(messages), profile=known))

        def ids(refs: list[str]) -> list[str]:
            found = [handles[r].id for r in refs if r in handles]
            return found or [m.id for m in messages]

        def when(refs: list[str]) -> datetime:
            found = [handles[r] for r in refs if r in handles]
            return (found[0] if found else first).timestamp

        meta = {"prompt": EXTRACTION.id}
        drafts = [Draft("episode", f"{result.episode.title}\n{result.episode.narrative}", None, first.timestamp,
                        [m.id for m in messages], first.timestamp, messages[-1].timestamp,
                        metadata={**meta, "title": result.episode.title, "turns": len(messages)})]
        for f in result.facts:
            start, end = _day(f.event_date)
            slot = _slot_metadata(f.subject or f.speaker, f.attribute, f.value)
            drafts.append(Draft("fact", f.text, f.speaker, when(f.message_ids), ids(f.message_ids), start, end,
                                metadata={**meta, **slot}))
        for p in result.foresight:
            start, _ = _day(p.start)
            _, end = _day(p.end)
            said = when(p.message_ids)
            drafts.append(Draft("foresight", p.text, None, said, ids(p.message_ids), start, end,
                                valid_from=start or said, valid_to=end or said + timedelta(days=30),
                                metadata=dict(meta)))
        for op in result.profile:
            if op.op == "keep":
                continue
            drafts.append(Draft("profile", f"{op.person}: {op.attribute} — {op.value}", op.person,
                                when(op.message_ids), ids(op.message_ids), valid_from=when(op.message_ids),
                                metadata={**meta, "attribute": op.attribute, "value": op.value, "op": op.op,
                                          **_profile_metadata(op.person, op.attribute, op.kind == "explicit",
                                                              ids(op.message_ids))}))
        vectors = self.embedder.embed([d.text for d in drafts], "passage")
        return drafts, vectors

    def label_updates(self, drafts: list[Draft], vectors: np.ndarray, older: OlderFacts) -> None:
        """Label new facts against their most similar active older facts (one call)."""
        pairs: list[tuple[int, list[str], list[str]]] = []
        for i, d in enumerate(drafts):
            if d.kind != "fact":
                continue
            olds = [rec for rec, score in older(vectors[i], d) if _candidate(d.text, rec.text, score)]
            if olds:
                pairs.append((i, [o.id for o in olds], [o.text for o in olds]))
        if not pairs:
            return
        labels = UPDATES.ask(self.llm, UPDATES.Context(pairs=[(drafts[i].text, texts) for i, _, texts in pairs]))
        for lab in labels.labels:
            if not 0 <= lab.fact < len(pairs) or lab.label == "independent":
                continue
            i, old_ids, _ = pairs[lab.fact]
            target = old_ids[lab.older] if lab.older is not None and 0 <= lab.older < len(old_ids) else old_ids[0]
            drafts[i].metadata["update"] = {"label": lab.label, "older": target, "prompt": UPDATES.id}


    def compact(self, person: str, items: list[MemoryRecord]) -> Compaction:
        """When a person's active profile items exceed the cap, one LLM call merges them
        into at most that many; each new item supersedes the items it replaces, and items
        no new item claims are superseded too (history keeps every version)."""
        items = sorted(items, key=lambda m: m.observed_at)
        listed = [f"{m.metadata.get('attribute')}: {m.metadata.get('value')} (said {m.observed_at:%Y-%m-%d})"
                  for m in items]
        cap = self.profile_cap or len(items)
        result = COMPACTION.ask(self.llm, COMPACTION.Context(person=person, items=listed, cap=cap))
        drafts, replaced = [], []
        for it in result.items[:cap]:
            sources = [items[i] for i in it.sources if 0 <= i < len(items)] or items[-1:]
            ids = list(dict.fromkeys(mid for s in sources for mid in s.message_ids))
            first_said = min(s.observed_at for s in sources)
            drafts.append(Draft("profile", f"{person}: {it.attribute} — {it.value}", person,
                                max(s.observed_at for s in sources), ids, valid_from=first_said,
                                metadata={"attribute": it.attribute, "value": it.value, "prompt": COMPACTION.id,
                                          "compacted_from": [s.id for s in sources],
                                          **_profile_metadata(person, it.attribute, it.kind == "explicit", ids)}))
            replaced.append([s.id for s in sources])
        claimed = {i for r in replaced for i in r}
        if drafts:  # items no output claims were dropped by the compaction
            replaced[-1] = replaced[-1] + [m.id for m in items if m.id not in claimed]
        vectors = self.embedder.embed([d.text for d in drafts], "passage") if drafts else np.zeros((0, 1))
        return Compaction(drafts, vectors, replaced)


def _day(text: str | None) -> tuple[datetime | None, datetime | None]:
    if not text:
        return None, None
    try:
        d = date.fromisoformat(text[:10])
    except ValueError:
        return None, None
    return datetime.combine(d, time.min, tzinfo=UTC), datetime.combine(d, time.max, tzinfo=UTC)

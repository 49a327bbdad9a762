"""Working memory: a compact block kept per conversation, made to be the stable start
of every prompt in that conversation.

What it holds, in order of priority: the participants' profile items, open plans, the
key facts of the conversation's current scene, and the memories predicted for the next
turns (a recall on the latest messages).  It changes append-mostly: a refresh keeps
every entry still true in its place, drops only those that stopped being true (a
superseded fact, a passed plan, a deleted memory) and appends new ones at the end, so
that two consecutive prompts share the block up to the first change.  When the budget
is full, the oldest predictions make room for profile items and plans (a prediction
is the cheapest thing to lose); anything else waits for an idle rebuild.

The entries are kept as a store setting of the conversation (``working/<space>/<conv>``)
so that every process renders the same block, and a forgotten conversation's goes with
it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from .._util import utcnow
from ..recall.context import render_hit
from ..recall.recall import RecallEngine
from ..requests import SearchRequest
from ..store.base import Store
from ..text import count_tokens
from ..types import Citation, Filters, Hit, MemoryRecord, Message, Scores, WorkingEntry, WorkingMemory

HEADER = ("# Working memory\n"
          "What is known and current in this conversation (stable; evidence for the question follows).\n")
SECTIONS = ("profile", "plan", "scene", "predicted")
RECENT_MESSAGES = 6
PREDICTED = 8


def state_key(space: str, conversation_id: str) -> str:
    return f"working/{space}/{conversation_id}"  # ends in /<space>/<conv>: forgotten with it


def load(store: Store, space: str, conversation_id: str) -> WorkingMemory | None:
    raw = store.get_meta(state_key(space, conversation_id))
    return WorkingMemory.model_validate(json.loads(raw)) if raw else None


def save(store: Store, space: str, wm: WorkingMemory) -> None:
    store.set_meta(state_key(space, wm.conversation_id), wm.model_dump_json())


def render(entries: Sequence[WorkingEntry]) -> str:
    return HEADER + "".join(f"{e.line}\n" for e in entries)


class Refresher:
    """Builds and updates working blocks from the store and the recall engine."""

    def __init__(self, store: Store, engine: RecallEngine) -> None:
        self.store, self.engine = store, engine

    def refresh(self, space: str, conversation_id: str, budget_tokens: int, *,
                rebuild: bool = False, now: datetime | None = None) -> WorkingMemory | None:
        """The conversation's block brought up to date (None: no such conversation)."""
        recent = self._recent(space, conversation_id)
        if not recent:
            return None
        # "now" is the conversation's: a plan is open if it was open when its last message was said
        now = now or min(utcnow(), recent[-1].timestamp)
        user = recent[0].user_id
        before = None if rebuild else load(self.store, space, conversation_id)
        if before is not None and before.budget_tokens != budget_tokens:
            before = None  # another budget is another block
        wanted = self._candidates(space, user, conversation_id, recent, now)
        entries, kept = self._merge(space, before, wanted, budget_tokens, now)
        text = render(entries)
        changed = before is None or text != before.text
        wm = WorkingMemory(conversation_id=conversation_id, user_id=user, text=text, tokens=count_tokens(text),
                           budget_tokens=budget_tokens, entries=entries,
                           version=(before.version if before else 0) + (1 if changed else 0), kept=kept,
                           refreshed_at=utcnow(), last_seq=recent[-1].seq)
        save(self.store, space, wm)
        return wm

    def _recent(self, space: str, conversation_id: str) -> list[Message]:
        last = self.store.next_seq(space, conversation_id) - 1
        if last < 1:
            return []
        return self.store.list_messages(space, conversation_id, seq_from=max(1, last - RECENT_MESSAGES + 1))

    # ------------------------------------------------------------ candidates
    def _candidates(self, space: str, user: str, conversation_id: str, recent: list[Message],
                    now: datetime) -> list[tuple[str, Hit]]:
        people = {m.sender_name for m in recent} | {m.sender_name.split()[0] for m in recent if m.sender_name}
        profile = self.store.list_memories(space, Filters(user_id=user, kinds=["profile"]), limit=200).items
        plans = self.store.list_memories(space, Filters(user_id=user, kinds=["foresight"]), limit=100).items
        chosen = [("profile", m) for m in profile
                  if m.status == "active" and (m.speaker in people or not m.speaker)][:24]
        chosen += [("plan", m) for m in plans if m.status == "active" and _open(m, now)][:8]
        chosen += [("scene", m) for m in self._scene_facts(space, user, conversation_id)]
        out = list(zip([s for s, _ in chosen], self._hits(space, [m for _, m in chosen]), strict=True))
        query = "\n".join(f"{m.sender_name}: {m.content}" for m in recent)[-2000:]
        result = self.engine.search(space, SearchRequest(
            query=query, filters=Filters(user_id=user), top_k=PREDICTED, reference_time=now, expand=False))
        out += [("predicted", h) for h in result.hits if h.validity == "current"]
        return out

    def _scene_facts(self, space: str, user: str, conversation_id: str) -> list[MemoryRecord]:
        cells = self.store.list_cells(space, conversation_id)
        scene = next((c.scene_id for c in reversed(cells) if c.scene_id), None)
        if scene is None:
            return []
        facts = self.store.list_memories(space, Filters(user_id=user, kinds=["fact", "episode"]), limit=8,
                                         scene_id=scene).items
        return [m for m in facts if m.status == "active"]

    # ---------------------------------------------------------------- merge
    def _merge(self, space: str, before: WorkingMemory | None, wanted: list[tuple[str, Hit]], budget: int,
               now: datetime) -> tuple[list[WorkingEntry], int]:
        header = count_tokens(HEADER)
        kept: list[WorkingEntry] = []
        if before is not None:
            alive = {m.id: m for m in self.store.get_memories(space, [e.memory_id for e in before.entries])}
            for e in before.entries:
                m = alive.get(e.memory_id)
                if m is None or m.status != "active" or (m.kind == "foresight" and not _open(m, now)):
                    break  # the prefix ends at the first entry no longer true
                kept.append(e)
            # entries after a removed one keep their relative order (the prefix is broken there anyway)
            rest = [e for e in before.entries[len(kept):] if e.memory_id in alive
                    and alive[e.memory_id].status == "active"
                    and not (alive[e.memory_id].kind == "foresight" and not _open(alive[e.memory_id], now))]
        else:
            rest = []
        n_kept = len(kept)
        entries = kept + rest
        have = {e.memory_id for e in entries}
        said = {e.line.split("] ", 2)[-1] for e in entries}  # a text already in the block, by any memory
        used = header + sum(e.tokens for e in entries)
        for section, hit in wanted:
            body = render_hit(hit)
            if hit.memory.id in have or body.split("] ", 1)[-1] in said:
                continue
            line = f"[{section}] " + body
            cost = count_tokens(line) + 1
            while used + cost > budget and section in ("profile", "plan"):
                # make room by dropping the oldest prediction (never a profile item or plan)
                victim = next((i for i, e in enumerate(entries) if e.section == "predicted"), None)
                if victim is None:
                    break
                used -= entries[victim].tokens
                have.discard(entries[victim].memory_id)
                del entries[victim]
                n_kept = min(n_kept, victim)
            if used + cost > budget:
                continue
            entries.append(WorkingEntry(memory_id=hit.memory.id, section=section, line=line, tokens=cost,
                                        message_ids=[c.message_id for c in hit.citations]))
            have.add(hit.memory.id)
            said.add(body.split("] ", 1)[-1])
            used += cost
        return entries, n_kept


    def _hits(self, space: str, records: list[MemoryRecord]) -> list[Hit]:
        """Records as hits with their citations (at most 6 messages each)."""
        wanted = list(dict.fromkeys(i for r in records for i in r.message_ids[:6]))
        messages = {m.id: m for m in self.store.get_messages(space, wanted)}
        return [Hit(memory=r, score=0.0, scores=Scores(), citations=[
            Citation(message_id=m.id, timestamp=m.timestamp, speaker=m.sender_name, external_id=m.external_id)
            for i in r.message_ids[:6] if (m := messages.get(i))]) for r in records]


def _open(m: MemoryRecord, now: datetime) -> bool:
    return m.valid_to is None or m.valid_to > now

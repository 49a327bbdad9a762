"""Consolidation as a plan of writes.

Consolidation reads what it needs (the owner's profile items, the state of older
memories) and returns a :class:`WritePlan`: new memories with their vectors, changes to
older ones (a knowledge update closes the older memory's validity), history rows, and
the cell and scene to store.  The pipeline applies the plan in one transaction, so a
cell's memories land together or not at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from .._util import new_id, utcnow
from ..records import history_entry
from ..store.base import Store
from ..text import has_cjk
from ..timenorm import format_date
from ..types import Cell, Filters, HistoryEntry, MemoryRecord, Message, Scene
from . import profiles
from .entities import cell_links


@dataclass
class Draft:
    """A memory before ids, tenancy and vectors are attached."""

    kind: str
    text: str
    speaker: str | None
    observed_at: datetime
    message_ids: list[str]
    event_start: datetime | None = None
    event_end: datetime | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    metadata: dict[str, object] = field(default_factory=dict)


@dataclass
class WritePlan:
    space: str
    model_id: str
    memories: list[MemoryRecord] = field(default_factory=list)
    vectors: list[np.ndarray] = field(default_factory=list)
    changes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # older memory id -> field changes
    history: list[HistoryEntry] = field(default_factory=list)
    scene: tuple[Scene, np.ndarray] | None = None
    cell: Cell | None = None
    # the text of a new statement -> the older fact it replaced (the new fact of that
    # text links to it through ``supersedes``)
    replaced_facts: dict[str, str] = field(default_factory=dict)
    # the entity graph's links of this cell: (user, [(memory id, [(name, kind)])], when)
    entity_links: tuple[str, list[tuple[str, list[tuple[str, str]]]], datetime] | None = None

    def apply(self, store: Store) -> None:
        """Every write of the plan in one transaction."""
        with store.transaction():
            for memory_id, change in self.changes:
                store.update_memory(self.space, memory_id, change)
            if self.memories:
                store.insert_memories(self.memories, np.vstack(self.vectors), self.model_id)
            if self.history:
                store.add_history(self.space, self.history)
            if self.scene is not None:
                store.upsert_scene(*self.scene)
            if self.cell is not None:
                store.upsert_cell(self.cell)
            if self.entity_links is not None:
                store.link_entities(self.space, *self.entity_links)

    def add_evidence(self, older: MemoryRecord, newer: MemoryRecord) -> None:
        """A restatement: the existing item gains the new message as evidence."""
        said = older.metadata.get("evidence")
        evidence = [str(e) for e in said] if isinstance(said, list) else list(older.message_ids)
        fresh = [m for m in newer.message_ids if m not in evidence]
        if not fresh:
            return
        confidence = older.metadata.get("confidence", 0.9)
        gained = min(1.0, (confidence if isinstance(confidence, float | int) else 0.9) + profiles.RESTATED_GAIN)
        meta = {**older.metadata, "evidence": evidence + fresh, "confidence": round(gained, 2),
                "last_said": newer.observed_at.isoformat()}
        older.metadata = meta
        if not any(m.id == older.id for m in self.memories):
            self.changes.append((older.id, {"metadata": meta}))
        self.history.append(history_entry(older.id, "update", newer.produced_by, {"evidence": evidence},
                                          {"evidence": evidence + fresh, "restated_in": fresh}))

    def supersede(self, older: MemoryRecord, newer: MemoryRecord | None, actor: str,
                  at: datetime | None = None) -> None:
        """Close an older memory's validity (knowledge update, contradiction, deletion) when
        the newer one starts (a dated move: when it happened; else when it was said), or
        ``at`` (a statement that ends it), or now."""
        closes_at = (newer.valid_from or newer.observed_at) if newer else (at or utcnow())
        pending = next((m for m in self.memories if m.id == older.id), None)
        if pending is not None:  # written by this same plan: change it before it is inserted
            pending.status, pending.valid_to = "superseded", closes_at
        else:
            self.changes.append((older.id, {"status": "superseded", "valid_to": closes_at}))
        older.status = "superseded"
        if newer is not None and newer.valid_from is None:
            # what replaced a value holds from then on, not before (asked about an earlier
            # time, it is not yet so); the newer memory is one this plan is about to write
            newer.valid_from = closes_at
        self.history.append(history_entry(older.id, "supersede", actor, {"status": "active"},
                                          {"status": "superseded", "superseded_by": newer.id if newer else None}))


def shared_metadata(messages: list[Message]) -> dict[str, Any]:
    """The metadata keys and values every one of the messages carries (a derived memory
    inherits them, so metadata filters reach it)."""
    if not messages:
        return {}
    common = dict(messages[0].metadata)
    for m in messages[1:]:
        common = {k: v for k, v in common.items() if k in m.metadata and m.metadata[k] == v}
    common.pop("image_caption", None)  # describes one message, not what is derived from it
    return common


def plan_cell(store: Store, drafts: list[Draft], vectors: np.ndarray, messages: list[Message], cell: Cell,
              scene: tuple[Scene, np.ndarray], produced_by: str, model_id: str) -> WritePlan:
    """The writes that turn one cell's drafts into memories."""
    first = messages[0]
    plan = WritePlan(space=first.space, model_id=model_id, scene=scene,
                     cell=cell.model_copy(update={"status": "extracted", "scene_id": scene[0].id}))
    by_id = {m.id: m for m in messages}
    profile_cache: dict[str, list[MemoryRecord]] = {}
    restated: set[str] = set()  # texts whose every slot was said before: no new fact
    changed: set[str] = set()
    now = utcnow()
    # profile items first: whether a fact restates what is known depends on them
    for d, vec in sorted(zip(drafts, vectors, strict=True), key=lambda dv: dv[0].kind != "profile"):
        inherited = shared_metadata([by_id[i] for i in d.message_ids if i in by_id])
        rec = MemoryRecord(
            id=new_id("mem"), space=first.space, kind=d.kind,  # type: ignore[arg-type]
            user_id=first.user_id, agent_id=first.agent_id, conversation_id=first.conversation_id,
            session_id=first.session_id, speaker=d.speaker, text=d.text, observed_at=d.observed_at,
            event_start=d.event_start, event_end=d.event_end, valid_from=d.valid_from,
            valid_to=d.valid_to, cell_id=cell.id, scene_id=scene[0].id, message_ids=d.message_ids,
            metadata={**inherited, **d.metadata}, produced_by=produced_by, created_at=now, updated_at=now)
        if d.kind == "profile":
            kept = _consolidate_profile(store, plan, rec, profile_cache)
            (changed if kept is not None or rec.metadata.get("ended") else restated).add(rec.text)
            if kept is None:
                continue
            rec = kept
        elif d.kind == "fact" and rec.text in restated and rec.text not in changed:
            continue  # a restatement: the profile item it repeats took it as evidence
        if d.kind == "fact" and rec.text in plan.replaced_facts:
            rec = rec.model_copy(update={"supersedes": plan.replaced_facts[rec.text]})
        update = d.metadata.get("update")
        if isinstance(update, dict):
            older = store.get_memories(rec.space, [str(update["older"])])
            if update["label"] == "duplicate":  # said again: evidence for the older one, not a row
                if older and older[0].status == "active":
                    plan.add_evidence(older[0], rec)
                continue
            if older and older[0].status == "active":
                plan.supersede(older[0], rec, produced_by)
            rec = rec.model_copy(update={"supersedes": update["older"]})
        plan.memories.append(rec)
        plan.vectors.append(vec)
        plan.history.append(history_entry(rec.id, "create", produced_by, None, {"text": rec.text, "kind": rec.kind}))
    plan.entity_links = (first.user_id, cell_links(plan.memories, messages), messages[-1].timestamp)
    return plan


def _consolidate_profile(store: Store, plan: WritePlan, rec: MemoryRecord,
                         cache: dict[str, list[MemoryRecord]]) -> MemoryRecord | None:
    """The profile item to store (None: nothing new), after superseding what it updates
    or ends, with the facts that stated the replaced values."""
    speaker = rec.speaker or ""
    if speaker not in cache:
        cache[speaker] = store.list_memories(rec.space, Filters(user_id=rec.user_id, kinds=["profile"],
                                                                speaker=speaker), limit=500).items
    existing = cache[speaker] + [r for r in plan.memories if r.kind == "profile" and r.speaker == speaker]
    if rec.metadata.get("attribute") == "gone":
        _end_the_departed(store, plan, rec, existing)
        return None
    decision = profiles.decide(rec.metadata, existing, requested=rec.metadata.get("op"))
    if decision.action == "keep":
        for older in decision.previous:
            plan.add_evidence(older, rec)
        return None
    replaced = [m for m in decision.previous if m.status == "active"]
    newer = rec if decision.action == "update" else None
    for older in replaced:
        plan.supersede(older, newer, rec.produced_by, at=rec.observed_at)
    if replaced:
        _supersede_facts(store, plan, rec, replaced, newer)
    if decision.action == "end":
        identity = str(rec.metadata.get("identity", ""))
        if replaced or ":" not in identity:
            return None
        # the end of a value no item held ("we had to put Biscuit down", Biscuit never
        # named as a pet before) still says it was one, until now: kept as ended, so
        # that older lines naming it are known for what they are
        until = rec.valid_from or rec.observed_at
        return rec.model_copy(update={"status": "superseded", "valid_to": until, "text": _ended_text(rec, until)})
    if decision.action == "update" and decision.latest is not None:
        return rec.model_copy(update={"supersedes": decision.latest.id,
                                      "valid_from": rec.valid_from or rec.observed_at})
    return rec


# what someone who died may have been to the speaker
_DEPARTED = ("partner", "family", "pet")


def _end_the_departed(store: Store, plan: WritePlan, rec: MemoryRecord, existing: list[MemoryRecord]) -> None:
    """"Since Frank passed": the speaker's items that name Frank (husband, relative or
    pet) end now, with the facts that stated them; with none, nothing is kept (a
    death says no more about who Frank was)."""
    name = str(rec.metadata.get("value", "")).strip()
    if not name:
        return
    pattern = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)", re.I)
    for older in existing:
        value = str(older.metadata.get("value", ""))
        if older.status != "active" or older.metadata.get("attribute") not in _DEPARTED or not pattern.search(value):
            continue
        plan.supersede(older, None, rec.produced_by, at=rec.observed_at)
        as_older = rec.model_copy(update={"metadata": {**rec.metadata, "attribute": older.metadata.get("attribute"),
                                                       "identity": older.metadata.get("identity")}})
        _supersede_facts(store, plan, as_older, [older], None)


def _supersede_facts(store: Store, plan: WritePlan, rec: MemoryRecord, replaced: list[MemoryRecord],
                     newer: MemoryRecord | None) -> None:
    """Facts stating a value that was just replaced or ended go with it."""
    subject, identity = rec.metadata.get("subject"), rec.metadata.get("identity")
    if not isinstance(subject, str) or not isinstance(identity, str):
        return
    facts = store.list_memories(rec.space, Filters(user_id=rec.user_id, kinds=["fact"],
                                                   metadata={"subject": subject, "identity": identity}),
                                limit=200).items
    facts += [m for m in plan.memories if m.kind == "fact" and m.metadata.get("identity") == identity
              and m.metadata.get("subject") == subject]
    old_values = [m.metadata.get("value", "") for m in replaced]
    for fact in facts:
        if fact.status == "active" and fact.observed_at <= rec.observed_at and \
                any(profiles.same_value(fact.metadata.get("value", ""), v) for v in old_values):
            plan.supersede(fact, newer, rec.produced_by, at=rec.observed_at)
            if newer is not None:
                plan.replaced_facts.setdefault(rec.text, fact.id)


def plan_compaction(space: str, first: Message, cell: Cell, drafts: list[Draft], vectors: np.ndarray,
                    replaced: list[list[str]], store: Store, actor: str, model_id: str) -> WritePlan:
    """The writes of a profile compaction: the merged items, each superseding the items
    it replaces."""
    plan = WritePlan(space=space, model_id=model_id)
    now = utcnow()
    for d, vec, olds in zip(drafts, vectors, replaced, strict=True):
        rec = MemoryRecord(
            id=new_id("mem"), space=space, kind="profile", user_id=first.user_id, agent_id=first.agent_id,
            conversation_id=first.conversation_id, speaker=d.speaker, text=d.text, observed_at=d.observed_at,
            valid_from=d.valid_from, cell_id=cell.id, scene_id=cell.scene_id, message_ids=d.message_ids,
            metadata=d.metadata, produced_by=actor, created_at=now, updated_at=now)
        plan.memories.append(rec)
        plan.vectors.append(vec)
        plan.history.append(history_entry(rec.id, "create", actor, None, {"text": rec.text, "compaction": True}))
        for older in store.get_memories(space, olds):
            if older.status == "active":
                plan.supersede(older, rec, actor)
    return plan


_ZH_ATTRIBUTES = {"pet": "宠物", "family": "家人", "hobby": "爱好", "likes": "喜欢的", "dislikes": "不喜欢的"}


def _ended_text(rec: MemoryRecord, until: datetime) -> str:
    """The text of a value known only from its ending: what it was, and until when (the
    ending statement keeps its own words as a fact and a turn)."""
    who, attribute = rec.metadata.get("subject") or rec.speaker or "", str(rec.metadata.get("attribute", ""))
    value = rec.metadata.get("value", "")
    if has_cjk(rec.text):
        return f"{who}的{_ZH_ATTRIBUTES.get(attribute, attribute)}：{value}（到{format_date(until.date(), 'zh')}为止）"
    return f"{who}'s {attribute}: {value} (until {format_date(until.date())})"


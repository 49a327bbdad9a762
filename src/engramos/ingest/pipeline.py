"""Ingestion in one place: what ``Memory.add`` stores at once (raw messages and their
turn memories, in one transaction, idempotently) and the durable jobs that turn stored
messages into MemCells, memories and scenes afterwards.

The stages (offline or LLM) are chosen once (:func:`.stages.make_stages`); the jobs
hand them context and apply what consolidation plans in one transaction."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .._util import new_id, utcnow
from ..config import Config
from ..consolidate.plan import plan_cell, plan_compaction
from ..consolidate.scenes import choose_scene, join_scene, rebuild_scene, scene_label
from ..errors import ConflictError
from ..jobs.queue import JobQueue
from ..providers.embeddings import Embedder
from ..providers.llm import ChatModel
from ..records import render_turn, turn_id, turn_record
from ..store.base import Store
from ..types import Cell, Filters, Job, MemoryRecord, Message
from ..validation import MessageIn
from .extract import Draft
from .segment import Segment
from .stages import SAME_SLOT, CellContext, SegmentContext, make_stages

if TYPE_CHECKING:
    from ..governance.pii import Sealed


@dataclass
class Stored:
    """What storing a batch of messages did."""

    message_ids: list[str]  # one per input, in order (the existing id for a duplicate)
    inserted: int
    job_id: str | None  # the segmentation job it enqueued


class Pipeline:
    def __init__(self, store: Store, embedder: Embedder, config: Config, queue: JobQueue,
                 llm: ChatModel | None = None) -> None:
        self.store = store
        self.embedder = embedder
        self.config = config
        self.queue = queue
        self.stages = make_stages(config, embedder, llm)
        queue.register("segment", self._segment_job)
        queue.register("extract", self._extract_job)
        queue.register("rebuild_scenes", self._rebuild_scenes_job)

    # -------------------------------------------------------------------- add
    def store_messages(self, space: str, parsed: Sequence[MessageIn], *, user_id: str, agent_id: str | None,
                       conversation_id: str, session_id: str | None, flush: bool,
                       sealed: Sequence[Sealed] = ()) -> Stored:
        """Raw messages and their turn memories in one transaction (idempotent by
        content hash), and a segmentation job when anything is new or ``flush``."""
        now = utcnow()
        with self.store.transaction():
            # A conversation belongs to the user of its first message: checked inside the
            # write transaction (SQLite serialises writers; on PostgreSQL a racing first
            # writer fails on the conversation's unique sequence numbers).
            first = self.store.list_messages(space, conversation_id, limit=1)
            if first and first[0].user_id != user_id:
                raise ConflictError(f"conversation_id {conversation_id!r} belongs to another user; "
                                    "a conversation has one owner")
            seq = self.store.next_seq(space, conversation_id)
            rows = [Message(id=new_id("msg"), space=space, user_id=user_id, agent_id=agent_id,
                            conversation_id=conversation_id, session_id=session_id, seq=seq + i, sender=m.sender,
                            sender_name=m.sender_name, role=m.role, content=m.content, timestamp=m.timestamp,
                            external_id=m.external_id, metadata=m.metadata, content_hash=m.content_hash(),
                            created_at=now) for i, m in enumerate(parsed)]
            outcome = self.store.insert_messages(rows)
            if sealed:  # vaulted PII of these messages, in the same transaction
                self.store.vault_put(space, user_id, conversation_id, [(x.token, x.kind, x.ciphertext) for x in sealed])
            fresh = [r for r, (_, inserted) in zip(rows, outcome, strict=True) if inserted]
            if fresh:
                self.store.insert_memories([turn_record(r) for r in fresh])
            job_id = self.request_segmentation(space, user_id, conversation_id, flush=flush, agent_id=agent_id) \
                if fresh or flush else None
        return Stored([i for i, _ in outcome], len(fresh), job_id)

    def request_segmentation(self, space: str, user_id: str, conversation_id: str, *, flush: bool,
                             agent_id: str | None = None) -> str | None:
        """A segmentation job; its payload names the conversation's user and agent, so
        that job listings can be scoped like the rows they work on."""
        key = f"segment:{conversation_id}:{'flush' if flush else 'open'}"
        return self.queue.enqueue(space, "segment", {"user_id": user_id, "agent_id": agent_id,
                                                     "conversation_id": conversation_id, "flush": flush},
                                  dedupe_key=key)

    def turn_vectors(self, space: str, messages: Sequence[Message]) -> np.ndarray:
        """Vectors of the messages' turn memories, embedding (and storing) missing ones."""
        ids = [turn_id(m.id) for m in messages]
        have = self.store.get_vectors(space, ids)
        missing = [(i, m) for i, (tid, m) in enumerate(zip(ids, messages, strict=True)) if tid not in have]
        if missing:
            vecs = self.embedder.embed([render_turn(m) for _, m in missing], "passage")
            self.store.set_vectors(space, [ids[i] for i, _ in missing], vecs, self.embedder.model_id)
            for (i, _), v in zip(missing, vecs, strict=True):
                have[ids[i]] = v
        return np.vstack([have[t] for t in ids]) if ids else np.zeros((0, self.embedder.dim), np.float32)

    # ---------------------------------------------------------------- segment
    def _seen_key(self, space: str, conv: str) -> str:
        return f"llm_boundary_seen/{space}/{conv}"

    def _segment_job(self, job: Job) -> dict[str, Any] | None:
        space, conv = job.space, job.payload["conversation_id"]
        pending = self.store.list_messages(space, conv, unassigned=True)
        if not pending:
            return None
        seen_before = self.store.get_meta(self._seen_key(space, conv))
        ctx = SegmentContext(conv, pending, self.turn_vectors(space, pending), bool(job.payload.get("flush")),
                             set(json.loads(seen_before or "[]")))
        with self.stages.spending() as usage:
            segments = self.stages.segmenter.segment(ctx)
        self._close_cells(space, conv, segments)
        if ctx.seen or seen_before:
            assigned = {m.seq for s in segments for m in s.messages}
            self.store.set_meta(self._seen_key(space, conv), json.dumps(sorted(ctx.seen - assigned)))
        return usage or None

    def _close_cells(self, space: str, conv: str, segments: list[Segment]) -> None:
        with self.store.transaction():
            for seg in segments:
                first, last = seg.messages[0], seg.messages[-1]
                cell = Cell(id=new_id("cell"), space=space, user_id=first.user_id, conversation_id=conv,
                            first_seq=first.seq, last_seq=last.seq, start_at=first.timestamp,
                            end_at=last.timestamp, status="closed", boundary=seg.boundary)
                self.store.upsert_cell(cell)
                self.store.assign_cell(space, [m.id for m in seg.messages], cell.id)
                self.queue.enqueue(space, "extract", {"cell_id": cell.id, "user_id": first.user_id,
                                                      "agent_id": first.agent_id, "conversation_id": conv},
                                   dedupe_key=f"extract:{cell.id}")

    # ----------------------------------------------------------------- extract
    def _extract_job(self, job: Job) -> dict[str, Any] | None:
        space = job.space
        cell = self.store.get_cell(space, job.payload["cell_id"])
        if cell is None or cell.status == "extracted":
            return None  # forgotten meanwhile, or already done by an earlier run of this job
        messages = self.store.list_messages(space, cell.conversation_id, seq_from=cell.first_seq,
                                            seq_to=cell.last_seq)
        first = messages[0]
        turn_vecs = self.turn_vectors(space, messages)
        cell_vec = _unit(turn_vecs.mean(axis=0))
        extractor = self.stages.extractor
        with self.stages.spending() as usage:
            def known() -> list[MemoryRecord]:
                return self.store.list_memories(space, Filters(user_id=first.user_id, kinds=["profile"]),
                                                limit=100).items

            drafts, vectors = extractor.extract(CellContext(messages, turn_vecs, cell_vec, known))
            extractor.label_updates(drafts, vectors, lambda vec, draft: self._older_facts(first, vec, draft))
        scene = self._scene(space, messages, cell, cell_vec)
        with self.store.transaction():
            fresh = self.store.get_cell(space, cell.id)
            if fresh is None or fresh.status == "extracted":
                return usage or None
            plan_cell(self.store, drafts, vectors, messages, cell, scene, extractor.produced_by,
                      self.embedder.model_id).apply(self.store)
        if extractor.profile_cap is not None:
            with self.stages.spending() as spent:
                self._compact_profiles(space, first, cell.model_copy(update={"scene_id": scene[0].id}))
            for key, value in spent.items():
                if isinstance(value, int):
                    usage[key] = usage.get(key, 0) + value
        return usage or None

    def _older_facts(self, first: Message, vector: np.ndarray, draft: Draft) -> list[tuple[MemoryRecord, float]]:
        """Facts and plans a new statement may update (a plan may be called off): the most
        similar ones, and those about the same subject and attribute however they are
        worded ("lives in Leeds" / "the movers dropped the boxes at our flat in Porto")."""
        scope = Filters(user_id=first.user_id, kinds=["fact", "foresight"])
        near = dict(self.store.search_vectors(first.space, vector, scope, limit=10))
        subject, attribute = draft.metadata.get("subject"), draft.metadata.get("attribute")
        if isinstance(subject, str) and isinstance(attribute, str):
            same = self.store.list_memories(first.space, scope.model_copy(update={
                "metadata": {"subject": subject, "attribute": attribute}}), limit=10).items
            near.update({m.id: SAME_SLOT for m in same})
        records = {r.id: r for r in self.store.get_memories(first.space, list(near))}
        return [(records[mid], score) for mid, score in near.items() if mid in records]

    def _scene(self, space: str, messages: list[Message], cell: Cell, cell_vec: np.ndarray) -> Any:
        first = messages[0]
        chosen = choose_scene(self.store.list_scenes(space, first.user_id), cell_vec,
                              cell.start_at, cell.end_at, self.config.scenes, self.embedder.scene_similarity)
        names = {w.lower() for m in messages for w in m.sender_name.split()}
        return join_scene(chosen, cell_vec, space=space, user_id=first.user_id, start=cell.start_at,
                          end=cell.end_at, label=scene_label([m.content for m in messages], names))

    # ------------------------------------------------------------ rebuild scenes
    def request_scene_rebuild(self, space: str, user_id: str, agent_id: str | None) -> str | None:
        """A job that rebuilds the user's scenes a forget left without a label (enqueued
        before the forget, so a crash between the two leaves a job with nothing to do,
        not a scene that is never rebuilt)."""
        return self.queue.enqueue(space, "rebuild_scenes", {"user_id": user_id, "agent_id": agent_id},
                                  dedupe_key=f"rebuild_scenes:{user_id}")

    def _rebuild_scenes_job(self, job: Job) -> None:
        space, user = job.space, job.payload["user_id"]
        for scene, _ in self.store.list_scenes(space, user):
            if scene.label:
                continue
            parts = []
            for cell in self.store.list_cells(space, scene_id=scene.id):
                messages = self.store.list_messages(space, cell.conversation_id, seq_from=cell.first_seq,
                                                    seq_to=cell.last_seq)
                if messages:
                    parts.append((cell, messages, _unit(self.turn_vectors(space, messages).mean(axis=0))))
            if parts:  # else the forget that emptied it has removed it too
                self.store.upsert_scene(*rebuild_scene(scene, parts))

    def _compact_profiles(self, space: str, first: Message, cell: Cell) -> None:
        extractor = self.stages.extractor
        cap = extractor.profile_cap or 0
        items = self.store.list_memories(space, Filters(user_id=first.user_id, kinds=["profile"]), limit=5000).items
        by_person: dict[str, list[MemoryRecord]] = {}
        for m in items:
            if m.status == "active":
                by_person.setdefault(m.speaker or "", []).append(m)
        for person, active in by_person.items():
            if len(active) <= cap:
                continue
            merged = extractor.compact(person, active)
            plan_compaction(space, first, cell, merged.drafts, merged.vectors, merged.replaced, self.store,
                            extractor.produced_by, self.embedder.model_id).apply(self.store)


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return (v / n).astype(np.float32) if n > 0 else v.astype(np.float32)


"""The offline ingestion pipeline: what ``add()`` stores at once, and the jobs that
turn stored messages into MemCells, memories and scenes afterwards."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._util import new_id, utcnow
from ..config import Config
from ..consolidate import profiles
from ..consolidate.scenes import choose_scene, join_scene, scene_label
from ..jobs.queue import JobQueue
from ..providers.embeddings import Embedder
from ..providers.llm import ChatModel
from ..store.base import Store
from ..types import Cell, Filters, HistoryEntry, Job, MemoryRecord, Message
from .extract import Draft, extract_cell, render_turn
from .llm_stages import LLMExtractor, LLMSegmenter, ProfileCompactor
from .segment import Segment, segment

PRODUCED_BY = "offline"


def turn_id(message_id: str) -> str:
    """The id of the turn memory that mirrors a raw message."""
    return "turn_" + message_id.removeprefix("msg_")


def turn_record(m: Message) -> MemoryRecord:
    return MemoryRecord(
        id=turn_id(m.id), space=m.space, kind="turn", user_id=m.user_id, agent_id=m.agent_id,
        conversation_id=m.conversation_id, session_id=m.session_id, speaker=m.sender_name,
        text=render_turn(m), observed_at=m.timestamp, message_ids=[m.id],
        metadata={"seq": m.seq, **({"external_id": m.external_id} if m.external_id else {})},
        produced_by=PRODUCED_BY, created_at=m.created_at, updated_at=m.created_at)


def history_entry(memory_id: str, action: str, actor: str, before: dict[str, Any] | None,
                  after: dict[str, Any] | None) -> HistoryEntry:
    return HistoryEntry(id=new_id("hist"), memory_id=memory_id, action=action,  # type: ignore[arg-type]
                        actor=actor, at=utcnow(), before=before, after=after)


class Pipeline:
    def __init__(self, store: Store, embedder: Embedder, config: Config, queue: JobQueue,
                 llm: ChatModel | None = None) -> None:
        self.store = store
        self.embedder = embedder
        self.config = config
        self.queue = queue
        self.llm = llm
        self.segmenter = LLMSegmenter(llm, store, config) if llm else None
        self.extractor = LLMExtractor(llm, store, embedder) if llm else None
        self.compactor = ProfileCompactor(llm, store, embedder, config.llm.profile_cap) if llm else None
        queue.register("segment", self._segment_job)
        queue.register("extract", self._extract_job)

    # ----------------------------------------------------------------- segment
    def request_segmentation(self, space: str, user_id: str, conversation_id: str, *, flush: bool) -> str | None:
        key = f"segment:{conversation_id}:{'flush' if flush else 'open'}"
        return self.queue.enqueue(space, "segment", {"user_id": user_id, "conversation_id": conversation_id,
                                                     "flush": flush}, dedupe_key=key)

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

    def _segment_job(self, job: Job) -> dict[str, Any] | None:
        space, conv = job.space, job.payload["conversation_id"]
        pending = self.store.list_messages(space, conv, unassigned=True)
        if not pending:
            return None
        vectors = self.turn_vectors(space, pending)
        flush = bool(job.payload.get("flush"))
        usage = None
        if self.segmenter is not None and self.llm is not None:
            with self.llm.track() as spent:
                segments = self.segmenter.segment(space, conv, pending, flush=flush)
            usage = spent.as_dict()
        else:
            segments, _tail = segment(pending, vectors, self.config.segmentation, flush=flush)
        self._close_cells(space, conv, segments)
        return usage

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
                                                      "conversation_id": conv}, dedupe_key=f"extract:{cell.id}")

    # ----------------------------------------------------------------- extract
    def _extract_job(self, job: Job) -> dict[str, Any] | None:
        space = job.space
        cell = self.store.get_cell(space, job.payload["cell_id"])
        if cell is None or cell.status == "extracted":
            return None  # forgotten meanwhile, or already done by an earlier run of this job
        messages = self.store.list_messages(space, cell.conversation_id, seq_from=cell.first_seq,
                                            seq_to=cell.last_seq)
        turn_vecs = self.turn_vectors(space, messages)
        cell_vec = _unit(turn_vecs.mean(axis=0))
        usage = None
        if self.extractor is not None and self.llm is not None:
            with self.llm.track() as spent:
                drafts, vecs = self.extractor.extract(messages)
            usage = spent.as_dict()
            vec_of = {id(d): v for d, v in zip(drafts, vecs, strict=True)}
            produced_by = self.llm.model_id
        else:
            drafts = extract_cell(messages)
            # One embedding per message: a sentence-level memory (fact, foresight, profile)
            # reuses its source turn's vector.  Embedding every sentence costs ~2.5x more on
            # LoCoMo for little gain, since BM25 sees the rewritten, dated sentence anyway.
            by_message = {m.id: v for m, v in zip(messages, turn_vecs, strict=True)}
            vec_of = {id(d): by_message[d.message_ids[0]] for d in drafts if d.kind != "episode"}
            vec_of[id(drafts[0])] = cell_vec
            produced_by = PRODUCED_BY
        first = messages[0]
        chosen = choose_scene(self.store.list_scenes(space, first.user_id), cell_vec,
                              cell.start_at, cell.end_at, self.config.scenes, self.embedder.scene_similarity)
        names = {w.lower() for m in messages for w in m.sender_name.split()}
        scene, centroid = join_scene(chosen, cell_vec, space=space, user_id=first.user_id,
                                     start=cell.start_at, end=cell.end_at,
                                     label=scene_label([m.content for m in messages], names))
        with self.store.transaction():
            fresh = self.store.get_cell(space, cell.id)
            if fresh is None or fresh.status == "extracted":
                return usage
            records, vectors, history = self._records(drafts, vec_of, first, cell, scene.id, produced_by)
            self.store.insert_memories(records, np.vstack(vectors), self.embedder.model_id)
            self.store.add_history(space, history)
            self.store.upsert_scene(scene, centroid)
            self.store.upsert_cell(cell.model_copy(update={"status": "extracted", "scene_id": scene.id}))
        if self.compactor is not None and self.llm is not None and usage is not None:
            with self.llm.track() as spent:
                self._compact_profiles(space, first, cell, scene.id)
            for key, value in spent.as_dict().items():
                if isinstance(value, int):
                    usage[key] = usage.get(key, 0) + value
        return usage

    def _compact_profiles(self, space: str, first: Message, cell: Cell, scene_id: str) -> None:
        assert self.compactor is not None and self.llm is not None
        actor = self.llm.model_id
        for person, items in self.compactor.over_cap(space, first.user_id).items():
            drafts, vectors, replaced = self.compactor.compact(person, items)
            now = utcnow()
            records = [MemoryRecord(
                id=new_id("mem"), space=space, kind="profile", user_id=first.user_id, agent_id=first.agent_id,
                conversation_id=first.conversation_id, speaker=d.speaker, text=d.text, observed_at=d.observed_at,
                valid_from=d.valid_from, cell_id=cell.id, scene_id=scene_id, message_ids=d.message_ids,
                metadata=d.metadata, produced_by=actor, created_at=now, updated_at=now) for d in drafts]
            history = [history_entry(r.id, "create", actor, None, {"text": r.text, "compaction": True})
                       for r in records]
            with self.store.transaction():
                self.store.insert_memories(records, vectors, self.embedder.model_id)
                for rec, olds in zip(records, replaced, strict=True):
                    for old in olds:
                        self._supersede(space, old, rec, actor, history)
                self.store.add_history(space, history)

    def _records(self, drafts: list[Draft], vec_of: dict[int, np.ndarray], first: Message, cell: Cell,
                 scene_id: str, produced_by: str
                 ) -> tuple[list[MemoryRecord], list[np.ndarray], list[HistoryEntry]]:
        records: list[MemoryRecord] = []
        vectors: list[np.ndarray] = []
        history: list[HistoryEntry] = []
        now = utcnow()
        existing_profile: dict[str, list[MemoryRecord]] = {}
        for d in drafts:
            rec = MemoryRecord(
                id=new_id("mem"), space=first.space, kind=d.kind,  # type: ignore[arg-type]
                user_id=first.user_id, agent_id=first.agent_id, conversation_id=first.conversation_id,
                session_id=first.session_id, speaker=d.speaker, text=d.text, observed_at=d.observed_at,
                event_start=d.event_start, event_end=d.event_end, valid_from=d.valid_from,
                valid_to=d.valid_to, cell_id=cell.id, scene_id=scene_id, message_ids=d.message_ids,
                metadata=d.metadata, produced_by=produced_by, created_at=now, updated_at=now)
            if d.kind == "profile":
                kept = self._consolidate_profile(rec, existing_profile, records, history)
                if kept is None:
                    continue
                rec = kept
            update = d.metadata.get("update")
            if isinstance(update, dict):
                if update["label"] == "duplicate":
                    continue
                self._supersede(rec.space, str(update["older"]), rec, produced_by, history)
                rec = rec.model_copy(update={"supersedes": update["older"]})
            records.append(rec)
            vectors.append(vec_of[id(d)])
            history.append(history_entry(rec.id, "create", produced_by, None, {"text": rec.text, "kind": rec.kind}))
        return records, vectors, history

    def _consolidate_profile(self, rec: MemoryRecord, cache: dict[str, list[MemoryRecord]],
                             pending: list[MemoryRecord], history: list[HistoryEntry]) -> MemoryRecord | None:
        speaker = rec.speaker or ""
        if speaker not in cache:
            page = self.store.list_memories(rec.space, Filters(user_id=rec.user_id, kinds=["profile"],
                                                               speaker=speaker), limit=500)
            cache[speaker] = page.items
        existing = cache[speaker] + [r for r in pending if r.kind == "profile" and r.speaker == speaker]
        decision = profiles.decide(str(rec.metadata["attribute"]), str(rec.metadata["value"]), existing,
                                   requested=rec.metadata.get("op"))
        if decision.action == "keep":
            return None
        if decision.action == "delete":
            if decision.previous is not None and not any(r is decision.previous for r in pending):
                self._supersede(rec.space, decision.previous.id, None, rec.produced_by, history)
            return None
        if decision.action == "update" and decision.previous is not None:
            prev = decision.previous
            if any(r is prev for r in pending):
                prev.status, prev.valid_to = "superseded", rec.observed_at
            else:
                self.store.update_memory(rec.space, prev.id, {"status": "superseded", "valid_to": rec.observed_at})
                prev.status = "superseded"
            history.append(history_entry(prev.id, "supersede", PRODUCED_BY, {"status": "active"},
                                         {"status": "superseded", "superseded_by": rec.id}))
            rec = rec.model_copy(update={"supersedes": prev.id})
        return rec


    def _supersede(self, space: str, older_id: str, newer: MemoryRecord | None, actor: str,
                   history: list[HistoryEntry]) -> None:
        """Close an older memory's validity (knowledge update, contradiction, deletion)."""
        older = self.store.get_memories(space, [older_id])
        if not older or older[0].status != "active":
            return
        closes_at = newer.observed_at if newer else utcnow()
        self.store.update_memory(space, older_id, {"status": "superseded", "valid_to": closes_at})
        history.append(history_entry(older_id, "supersede", actor, {"status": "active"},
                                     {"status": "superseded", "superseded_by": newer.id if newer else None}))


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return (v / n).astype(np.float32) if n > 0 else v.astype(np.float32)

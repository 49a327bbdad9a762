"""Reading a MemCube into a store that may already hold data.

Order of work: the whole cube is verified (hashes, rows, references); vectors are made
first when the cube's embedding model is not the store's (into a memory-mapped file, so
a large cube costs disk, not memory); then every row is written in one transaction,
so that a failure leaves the store as it was.

Ids.  A row keeps its id when it lands in the space and under the user it came from
(restoring a cube where it was made); otherwise its id is derived from the target
space, the target user and the old id (``<prefix>_<sha256 hex>``), so that importing the
same cube twice yields the same ids and the second import finds everything there.
A conversation id is kept unless the target space holds a different conversation of
that name, which then gets a derived suffix.  Messages are matched by content within a
conversation, as ``add`` does, so a re-import stores none twice."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Literal

import numpy as np
from pydantic import BaseModel, Field

from .._util import from_iso
from ..errors import CubeError, EmbeddingModelMismatchError
from ..providers.embeddings import Embedder
from ..store import Store
from ..types import Entity, HistoryEntry, MemoryRecord, Message, Scene
from .format import CubeReader, Manifest
from .idindex import IdIndex
from .verify import rows, verify_cube

OnConflict = Literal["skip", "replace", "keep-both"]
ON_CONFLICT: tuple[OnConflict, ...] = ("skip", "replace", "keep-both")
BATCH = 500
Progress = Callable[[str, int, int], None]  # (stage, done, total)


class ImportReport(BaseModel):
    """What an import did, part by part."""

    cube_id: str
    scope: str
    space: str
    users: dict[str, str]  # the cube's user -> the user it was imported as
    conversations: dict[str, str] = Field(default_factory=dict)  # renamed ones only
    inserted: dict[str, int] = Field(default_factory=dict)
    skipped: dict[str, int] = Field(default_factory=dict)  # already there (same id or same message)
    replaced: int = 0  # memories overwritten (on_conflict="replace")
    reembedded: int = 0  # memories given vectors by this store's model
    ids_remapped: bool = False


def import_cube(store: Store, embedder: Embedder, space: str, source: str | Path | IO[bytes], *,
                as_user: str | None = None, on_conflict: OnConflict = "skip", reembed: bool = True,
                sign_key: bytes | None = None, progress: Progress | None = None) -> ImportReport:
    if on_conflict not in ON_CONFLICT:
        raise CubeError(f"on_conflict must be one of {', '.join(ON_CONFLICT)}")
    manifest = verify_cube(source, sign_key=sign_key).manifest
    same_model = manifest.embedding is None or (manifest.embedding.model == embedder.model_id
                                                and manifest.embedding.dim == embedder.dim)
    if not same_model and not reembed:
        assert manifest.embedding is not None
        raise EmbeddingModelMismatchError(
            f"the cube's vectors were made by {manifest.embedding.model!r} (dimension {manifest.embedding.dim}); "
            f"this store's by {embedder.model_id!r}: import with re-embedding, or into a store of that model")
    _rewind(source)
    with CubeReader(source) as reader, IdIndex() as ids, tempfile.TemporaryDirectory(prefix="engram-cube-") as tmp:
        job = _Import(store, embedder, space, reader, ids, as_user, on_conflict, progress)
        vectors = None if same_model else job.embed_all(Path(tmp) / "vectors.f32")
        with store.bulk_load(manifest.counts.get("memories", 0)), store.transaction():
            job.run(vectors)
        return job.report


def _rewind(source: str | Path | IO[bytes]) -> None:
    if hasattr(source, "seek"):
        source.seek(0)


def derived_id(old: str, salt: str) -> str:
    prefix = old.split("_", 1)[0] if "_" in old else "id"
    return f"{prefix[:12]}_{hashlib.sha256(f'{salt}|{old}'.encode()).hexdigest()[:28]}"


class _Import:
    def __init__(self, store: Store, embedder: Embedder, space: str, reader: CubeReader, ids: IdIndex,
                 as_user: str | None, on_conflict: OnConflict, progress: Progress | None) -> None:
        self.store, self.embedder, self.space, self.r, self.ids = store, embedder, space, reader, ids
        self.m: Manifest = reader.manifest
        self.as_user, self.on_conflict, self.progress = as_user, on_conflict, progress
        self.report = ImportReport(cube_id=self.m.cube_id, scope=self.m.scope.describe(), space=space, users={})

    # ------------------------------------------------------------ ids
    def user(self, old: str) -> str:
        new = self.as_user or old
        self.report.users[old] = new
        return new

    def _keeps_ids(self, old_user: str) -> bool:
        return self.space == self.m.scope.space and self.user(old_user) == old_user

    def map_id(self, old: str, old_user: str) -> str:
        if self._keeps_ids(old_user):
            return old
        self.report.ids_remapped = True
        return derived_id(old, f"{self.space}|{self.user(old_user)}")

    def _count(self, what: str, inserted: bool) -> None:
        bucket = self.report.inserted if inserted else self.report.skipped
        bucket[what] = bucket.get(what, 0) + 1

    # ---------------------------------------------------------- vectors
    def embed_all(self, path: Path) -> np.memmap:
        """Vectors of this store's model for every memory, before anything is written."""
        total = self.m.counts.get("memories", 0)
        out = np.memmap(path, dtype=np.float32, mode="w+", shape=(max(total, 1), self.embedder.dim))
        batch: list[str] = []
        done = 0

        def flush() -> None:
            nonlocal done, batch
            if batch:
                out[done:done + len(batch)] = self.embedder.embed(batch, "passage")
                done += len(batch)
                batch = []
                if self.progress:
                    self.progress("embedding", done, total)

        for rec, _raw in rows(self.r, "memories.jsonl"):
            batch.append(rec.text)
            if len(batch) >= self.embedder.batch_size * 4:
                flush()
        flush()
        self.report.reembedded = done
        return out

    # ------------------------------------------------------------- run
    def run(self, new_vectors: np.memmap | None) -> None:
        self._conversations()
        self._messages()
        self._cells()
        self._scenes(new_vectors)
        self._plan_memories()
        self._memories(new_vectors)
        self._history()
        self._entities()

    def _conversations(self) -> None:
        firsts: dict[str, Message] = {}
        for msg, _ in rows(self.r, "messages.jsonl"):
            if msg.conversation_id not in firsts or msg.seq < firsts[msg.conversation_id].seq:
                firsts[msg.conversation_id] = msg
        for conv, first in firsts.items():
            target, n = conv, 0
            while not self._same_conversation(target, first):
                n += 1
                target = f"{conv}-{derived_id(conv, f'{self.space}|{self.user(first.user_id)}|{n}')[-8:]}"
            self.ids.add("conversation", conv, target)
            if target != conv:
                self.report.conversations[conv] = target

    def _same_conversation(self, conv: str, first: Message) -> bool:
        """Whether ``conv`` in the target is free, or is this very conversation (same
        owner, same first message)."""
        there = self.store.list_messages(self.space, conv, limit=1)
        return not there or (there[0].user_id == self.user(first.user_id)
                             and there[0].content_hash == first.content_hash)

    def _messages(self) -> None:
        batch: list[Message] = []
        for msg, _ in rows(self.r, "messages.jsonl"):
            conv = self.ids.get("conversation", msg.conversation_id) or msg.conversation_id
            batch.append(msg.model_copy(update={
                "id": self.map_id(msg.id, msg.user_id), "space": self.space, "user_id": self.user(msg.user_id),
                "conversation_id": conv,
                "cell_id": self.map_id(msg.cell_id, msg.user_id) if msg.cell_id else None,
                "metadata": {**msg.metadata, "_old_id": msg.id}}))
            if len(batch) >= BATCH:
                self._insert_messages(batch)
                batch = []
        self._insert_messages(batch)

    def _insert_messages(self, batch: list[Message]) -> None:
        if not batch:
            return
        for msg in batch:
            old = msg.metadata.pop("_old_id")
            self.ids.add("message", old, msg.id)
            taken = self.store.get_messages_by_seq(self.space, msg.conversation_id, [msg.seq])
            if taken and taken[0].content_hash != msg.content_hash:
                msg = msg.model_copy(update={"seq": self.store.next_seq(self.space, msg.conversation_id)})
            for (got, inserted) in self.store.insert_messages([msg]):
                self.ids.add("message", old, got)  # a message already there keeps its id
                self._count("messages", inserted)

    def _cells(self) -> None:
        for cell, _ in rows(self.r, "cells.jsonl"):
            new = cell.model_copy(update={
                "id": self.map_id(cell.id, cell.user_id), "space": self.space, "user_id": self.user(cell.user_id),
                "conversation_id": self.ids.get("conversation", cell.conversation_id) or cell.conversation_id,
                "scene_id": self.map_id(cell.scene_id, cell.user_id) if cell.scene_id else None})
            there = self.store.get_cell(self.space, new.id)
            if there is None or self.on_conflict == "replace":
                self.store.upsert_cell(new)
            self._count("cells", there is None)

    def _scenes(self, new_vectors: np.memmap | None) -> None:
        centroids = self.r.vectors("centroids.f32")
        fresh = self._fresh_centroids(new_vectors) if new_vectors is not None else {}
        existing: dict[str, set[str]] = {}
        for scene, raw in rows(self.r, "scenes.jsonl"):
            stored = next(centroids) if raw.get("centroid") is not None else None
            new: Scene = scene.model_copy(update={"id": self.map_id(scene.id, scene.user_id), "space": self.space,
                                                  "user_id": self.user(scene.user_id)})
            centroid = fresh.get(scene.id) if new_vectors is not None else stored
            if new.user_id not in existing:
                existing[new.user_id] = {s.id for s, _ in self.store.list_scenes(self.space, new.user_id)}
            there = new.id in existing[new.user_id]
            if centroid is not None and (not there or self.on_conflict == "replace"):
                self.store.upsert_scene(new, centroid)
            self._count("scenes", not there and centroid is not None)

    def _fresh_centroids(self, new_vectors: np.memmap) -> dict[str, np.ndarray]:
        """A scene's centroid by the store's model: the mean of its memories' new vectors."""
        sums: dict[str, np.ndarray] = {}
        for i, (rec, _) in enumerate(rows(self.r, "memories.jsonl")):
            if rec.scene_id:
                sums[rec.scene_id] = sums.get(rec.scene_id, 0) + np.asarray(new_vectors[i])
        return {sid: (v / max(float(np.linalg.norm(v)), 1e-12)).astype(np.float32) for sid, v in sums.items()}

    def _plan_memories(self) -> None:
        """Each memory's id in the target, and what to do with it: ``insert``, ``skip``
        (already there), ``replace``."""
        batch: list[tuple[str, str]] = []

        def decide() -> None:
            found = {r.id for r in self.store.get_memories(self.space, [new for _, new in batch])}
            for old, new in batch:
                action = "insert"
                if new in found:
                    if self.on_conflict == "replace":
                        action = "replace"
                    elif self.on_conflict == "keep-both":
                        new = derived_id(old, f"{self.space}|keep-both")
                        action = "skip" if self.store.get_memories(self.space, [new]) else "insert"
                    else:
                        action = "skip"
                self.ids.add("memory", old, f"{action}:{new}")

        for rec, _ in rows(self.r, "memories.jsonl"):
            batch.append((rec.id, self.map_id(rec.id, rec.user_id)))
            if len(batch) >= BATCH:
                decide()
                batch = []
        if batch:
            decide()

    def _memory_plan(self, old: str) -> tuple[str, str]:
        action, _, new = (self.ids.get("memory", old) or "skip:").partition(":")
        return action, new

    def _memories(self, new_vectors: np.memmap | None) -> None:
        stored = self.r.vectors("vectors.f32")
        records: list[MemoryRecord] = []
        vecs: list[np.ndarray | None] = []
        for i, (rec, raw) in enumerate(rows(self.r, "memories.jsonl")):
            vec = next(stored) if raw.get("vector") is not None else None
            if new_vectors is not None:
                vec = np.asarray(new_vectors[i])
            action, new_id = self._memory_plan(rec.id)
            if action == "skip":
                self._count("memories", False)
                continue
            if action == "replace":
                self.store.delete_memories(self.space, [new_id])
                self.report.replaced += 1
            records.append(self._mapped(rec, new_id))
            vecs.append(vec)
            if len(records) >= BATCH:
                self._insert_memories(records, vecs)
                records, vecs = [], []
                self._tick("memories", i + 1)
        self._insert_memories(records, vecs)
        self._tick("memories", self.m.counts.get("memories", 0))

    def _tick(self, stage: str, done: int) -> None:
        if self.progress:
            self.progress(stage, done, self.m.counts.get("memories", 0))

    def _mapped(self, rec: MemoryRecord, new_id: str) -> MemoryRecord:
        superseded = self._memory_plan(rec.supersedes)[1] if rec.supersedes else None
        self.ids.add("memory_user", new_id, self.user(rec.user_id))
        self.ids.add("memory_at", new_id, rec.observed_at.isoformat())
        return rec.model_copy(update={
            "id": new_id, "space": self.space, "user_id": self.user(rec.user_id),
            "conversation_id": self.ids.get("conversation", rec.conversation_id) or rec.conversation_id,
            "message_ids": [self.ids.get("message", m) or m for m in rec.message_ids],
            "cell_id": self.map_id(rec.cell_id, rec.user_id) if rec.cell_id else None,
            "scene_id": self.map_id(rec.scene_id, rec.user_id) if rec.scene_id else None,
            "supersedes": superseded or None})

    def _insert_memories(self, records: list[MemoryRecord], vecs: list[np.ndarray | None]) -> None:
        # one insert per run of memories that all have, or all lack, a vector
        start = 0
        while start < len(records):
            has = vecs[start] is not None
            end = start
            while end < len(records) and (vecs[end] is not None) == has:
                end += 1
            chunk = records[start:end]
            if has:
                self.store.insert_memories(chunk, np.stack([v for v in vecs[start:end] if v is not None]),
                                           self.embedder.model_id)
            else:
                self.store.insert_memories(chunk)
            for _ in chunk:
                self._count("memories", True)
            start = end

    def _history(self) -> None:
        batch: list[HistoryEntry] = []
        for entry, _ in rows(self.r, "history.jsonl"):
            action, new_mem = self._memory_plan(entry.memory_id)
            if action == "skip":
                continue
            batch.append(entry.model_copy(update={"id": derived_id(entry.id, f"{self.space}|{new_mem}")
                                                  if new_mem != entry.memory_id else entry.id,
                                                  "memory_id": new_mem}))
            self._count("history", True)
            if len(batch) >= BATCH:
                self.store.add_history(self.space, batch)
                batch = []
        if batch:
            self.store.add_history(self.space, batch)

    def _entities(self) -> None:
        names: dict[str, Entity] = {}
        for ent, _ in rows(self.r, "entities.jsonl"):
            names[ent.id] = ent  # entities are few per user: names and aliases only
        links: dict[str, list[tuple[str, str]]] = {}
        for raw in self.r.rows("entity_links.jsonl"):
            action, new_mem = self._memory_plan(raw["memory_id"])
            ent = names[raw["entity_id"]]
            if action != "skip":
                links.setdefault(new_mem, []).extend([(ent.name, ent.kind)] + [(a, ent.kind) for a in ent.aliases])
                self._count("entity_links", True)
            if len(links) >= BATCH:
                self._link(links)
                links = {}
        self._link(links)

    def _link(self, links: dict[str, list[tuple[str, str]]]) -> None:
        for mem, mentions in links.items():
            user = self.ids.get("memory_user", mem)
            at = self.ids.get("memory_at", mem)
            if user and at:
                self.store.link_entities(self.space, user, [(mem, mentions)], from_iso(at))


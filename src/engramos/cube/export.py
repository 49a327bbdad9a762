"""Writing a MemCube from a store: the rows of one scope, read page by page through the
:class:`~engramos.store.Store` protocol, so that any backend exports the same way and a
cube of any size needs the memory of one page."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from .._util import new_id, utcnow
from .._version import VERSION as __version__
from ..store import Store
from ..types import Filters, MemoryRecord, Message
from .format import CubeWriter, EmbeddingInfo, Manifest, Scope
from .idindex import IdIndex

PAGE = 500
Progress = Callable[[str, int], None]


def export_cube(store: Store, scope: Scope, out: str | Path | IO[bytes], *, model_id: str, dim: int,
                sign_key: bytes | None = None, key_id: str | None = None,
                progress: Progress | None = None) -> Manifest:
    """Write the cube of ``scope`` to ``out`` (a path or a writable binary file)."""
    writer = CubeWriter()
    try:
        with IdIndex() as seen:
            counts = _Export(store, scope, writer, seen, dim, progress).run()
        manifest = Manifest(format_version=1, engramos_version=__version__, cube_id=new_id("cube"),
                            created_at=utcnow(), scope=scope, counts=counts, parts={},
                            embedding=EmbeddingInfo(model=model_id, dim=dim) if writer.dim else None)
        return writer.finish(out, manifest, sign_key, key_id)
    except BaseException:
        writer.discard()
        raise


class _Export:
    def __init__(self, store: Store, scope: Scope, writer: CubeWriter, seen: IdIndex, dim: int,
                 progress: Progress | None) -> None:
        self.store, self.scope, self.w, self.seen, self.dim = store, scope, writer, seen, dim
        self.space = scope.space
        self.progress = progress
        self.counts: dict[str, int] = {}

    def run(self) -> dict[str, int]:
        users: set[str] = set()
        for user, conv in self._conversations():
            users.add(user)
            self._messages(conv)
            for cell in self.store.list_cells(self.space, conv):
                self.seen.add("cell", cell.id)
                if cell.scene_id:
                    self.seen.add("cell_scene", cell.scene_id)
                self.w.row("cells.jsonl", cell.model_dump(mode="json"))
        self._scenes(sorted(users))
        self._memories()
        # a memory may name the one it replaced further on, or one outside the scope: only
        # then is its part rewritten
        if self.seen.missing("supersedes", "memory") is not None:
            self.w.rewrite("memories.jsonl", self._fix_supersedes)
        for part, name in (("messages.jsonl", "messages"), ("cells.jsonl", "cells"), ("scenes.jsonl", "scenes"),
                           ("memories.jsonl", "memories"), ("vectors.f32", "vectors"), ("history.jsonl", "history"),
                           ("entities.jsonl", "entities"), ("entity_links.jsonl", "entity_links")):
            self.counts[name] = self.w.rows(part)
        return self.counts

    def _conversations(self) -> Iterator[tuple[str, str]]:
        s = self.scope
        for user, conv in self.store.iter_tenants(self.space):
            if (s.kind == "user" and user != s.user_id) or (s.kind == "conversation" and conv != s.conversation_id):
                continue
            if s.kind == "agent":
                first = self.store.list_messages(self.space, conv, limit=1)
                if not first or first[0].agent_id != s.agent_id:
                    continue
            yield user, conv

    def _messages(self, conv: str) -> None:
        seq = 1
        while True:
            batch = self.store.list_messages(self.space, conv, seq_from=seq, limit=PAGE)
            for m in batch:
                self.seen.add("message", m.id)
                self.w.row("messages.jsonl", _message_row(m))
            self._tick("messages", self.w.rows("messages.jsonl"))
            if len(batch) < PAGE:
                return
            seq = batch[-1].seq + 1

    def _scenes(self, users: list[str]) -> None:
        whole = self.scope.kind in ("space", "user")
        wanted = set() if whole else self.seen.values("cell_scene")
        for user in users:
            for scene, centroid in self.store.list_scenes(self.space, user):
                if not whole and scene.id not in wanted:
                    continue
                self.seen.add("scene", scene.id)
                row = scene.model_dump(mode="json")
                row["centroid"] = self.w.vector("centroids.f32", centroid) if centroid.shape == (self.dim,) else None
                self.w.row("scenes.jsonl", row)

    def _filters(self) -> Filters:
        s = self.scope
        return Filters(user_id=s.user_id if s.kind == "user" else None,
                       agent_id=s.agent_id if s.kind == "agent" else None,
                       conversation_id=s.conversation_id if s.kind == "conversation" else None,
                       include_inactive=True)

    def _memories(self) -> None:
        filters, cursor = self._filters(), None
        while True:
            page = self.store.list_memories(self.space, filters, limit=PAGE, cursor=cursor)
            # deleted memories are the user's trash: a cube carries what is remembered
            records = [r for r in page.items if r.status != "deleted"]
            ids = [r.id for r in records]
            vectors = self.store.get_vectors(self.space, ids)
            entities = self.store.entities_of(self.space, ids)
            for rec in records:
                self.seen.add("memory", rec.id)
                self.w.row("memories.jsonl", self._memory_row(rec, vectors.get(rec.id)))
                for entry in self.store.history(self.space, rec.id):
                    self.w.row("history.jsonl", entry.model_dump(mode="json"))
                for ent in entities.get(rec.id, []):
                    if not self.seen.has("entity", ent.id):
                        self.seen.add("entity", ent.id)
                        self.w.row("entities.jsonl", ent.model_dump(mode="json", exclude={"mentions", "space"}))
                    self.w.row("entity_links.jsonl", {"memory_id": rec.id, "entity_id": ent.id})
            self._tick("memories", self.w.rows("memories.jsonl"))
            cursor = page.next_cursor
            if cursor is None:
                return

    def _memory_row(self, rec: MemoryRecord, vec: Any) -> dict[str, Any]:
        row = rec.model_dump(mode="json", exclude={"space"})
        # what lies outside the cube is cut, so that every reference resolves inside it
        row["message_ids"] = [m for m in rec.message_ids if self.seen.has("message", m)]
        if rec.cell_id and not self.seen.has("cell", rec.cell_id):
            row["cell_id"] = None
        if rec.scene_id and not self.seen.has("scene", rec.scene_id):
            row["scene_id"] = None
        if rec.supersedes:
            self.seen.add("supersedes", rec.supersedes)
        row["vector"] = self.w.vector("vectors.f32", vec) if vec is not None and vec.shape == (self.dim,) else None
        return row

    def _fix_supersedes(self, row: dict[str, Any]) -> dict[str, Any]:
        if row.get("supersedes") and not self.seen.has("memory", row["supersedes"]):
            row["supersedes"] = None
        return row

    def _tick(self, what: str, n: int) -> None:
        if self.progress:
            self.progress(what, n)


def _message_row(m: Message) -> dict[str, Any]:
    return m.model_dump(mode="json", exclude={"space"})

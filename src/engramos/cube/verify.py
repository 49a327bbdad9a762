"""Checking a MemCube before anything reads it into a store: the manifest, every part's
size and sha256, every row's form, and every reference between rows (a memory's
messages, cell, scene and predecessor; a message's cell; history and entity links)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal

from pydantic import BaseModel, ValidationError

from ..errors import CubeError
from ..types import Cell, Entity, HistoryEntry, MemoryRecord, Message, Scene
from .format import CubeReader, Manifest, signature_holds
from .idindex import IdIndex

ROW_TYPES: dict[str, type[BaseModel]] = {
    "messages.jsonl": Message, "cells.jsonl": Cell, "scenes.jsonl": Scene, "memories.jsonl": MemoryRecord,
    "history.jsonl": HistoryEntry, "entities.jsonl": Entity}


class CubeReport(BaseModel):
    """What ``engram cube verify`` / ``inspect`` print."""

    manifest: Manifest
    signature: Literal["unsigned", "valid", "unchecked"]  # unchecked: signed, but no key was given
    checked: bool  # parts hashed and references followed (verify), or only the manifest read (inspect)


def parse(part: str, row: dict[str, Any], space: str, n: int) -> Any:
    """A row of a part as its EngramOS type (``space`` is the cube's; rows do not repeat it)."""
    model = ROW_TYPES[part]
    data = {k: v for k, v in row.items() if k not in ("vector", "centroid")}
    if "space" in model.model_fields:
        data["space"] = space
    if model is Entity:
        data.setdefault("mentions", 0)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        raise CubeError(f"row {n}: {where}: {err['msg']}", part) from exc


def rows(reader: CubeReader, part: str) -> Iterator[tuple[Any, dict[str, Any]]]:
    """``(typed row, raw row)`` of a part, in order."""
    space = reader.manifest.scope.space
    for n, raw in enumerate(reader.rows(part), 1):
        yield parse(part, raw, space, n), raw


def verify_cube(source: str | Path | IO[bytes], *, sign_key: bytes | None = None) -> CubeReport:
    """Check a cube end to end; :class:`CubeError` names the part at fault."""
    with CubeReader(source) as reader:
        reader.check_parts()
        with IdIndex() as ids:
            _Check(reader, ids).run()
        return CubeReport(manifest=reader.manifest, signature=_signature(reader.manifest, sign_key), checked=True)


def inspect_cube(source: str | Path | IO[bytes], *, sign_key: bytes | None = None) -> CubeReport:
    """The manifest only (fast: no part is read)."""
    with CubeReader(source) as reader:
        return CubeReport(manifest=reader.manifest, signature=_signature(reader.manifest, sign_key), checked=False)


def _signature(manifest: Manifest, key: bytes | None) -> Literal["unsigned", "valid", "unchecked"]:
    if manifest.signature is None:
        if key:
            raise CubeError("is not signed, but a signing key was given to check it", "manifest.json")
        return "unsigned"
    if key is None:
        return "unchecked"
    if not signature_holds(manifest, key):
        raise CubeError("signature does not match (another key, or the manifest was altered)", "manifest.json")
    return "valid"


class _Check:
    def __init__(self, reader: CubeReader, ids: IdIndex) -> None:
        self.r, self.ids = reader, ids

    def run(self) -> None:
        self._unique("messages.jsonl", "message", lambda m, raw: self._ref("message_cell", m.cell_id, m.id))
        self._unique("cells.jsonl", "cell", lambda c, raw: self._ref("cell_scene", c.scene_id, c.id))
        centroids = self.r.manifest.parts["centroids.f32"].rows
        self._unique("scenes.jsonl", "scene", lambda s, raw: self._vector_row("scenes.jsonl", raw, "centroid",
                                                                                centroids))
        vectors = self.r.manifest.parts["vectors.f32"].rows
        self._unique("memories.jsonl", "memory", lambda m, raw: self._memory(m, raw, vectors))
        self._unique("history.jsonl", "history", lambda h, raw: self._ref("history_memory", h.memory_id, h.id))
        self._unique("entities.jsonl", "entity", lambda e, raw: None)
        for n, raw in enumerate(self.r.rows("entity_links.jsonl"), 1):
            for key, kind in (("memory_id", "memory"), ("entity_id", "entity")):
                if not isinstance(raw.get(key), str) or not self.ids.has(kind, raw[key]):
                    raise CubeError(f"row {n}: {key} {raw.get(key)!r} is not a {kind} of the cube",
                                    "entity_links.jsonl")
        for refs, kind, part in (("message_cell", "cell", "messages.jsonl"), ("cell_scene", "scene", "cells.jsonl"),
                                 ("memory_message", "message", "memories.jsonl"),
                                 ("memory_cell", "cell", "memories.jsonl"), ("memory_scene", "scene", "memories.jsonl"),
                                 ("memory_supersedes", "memory", "memories.jsonl"),
                                 ("history_memory", "memory", "history.jsonl")):
            dangling = self.ids.missing(refs, kind)
            if dangling is not None:
                raise CubeError(f"refers to {kind} {dangling!r}, which the cube does not hold", part)
        self._counts()

    def _unique(self, part: str, kind: str, check: Any) -> None:
        for n, (item, raw) in enumerate(rows(self.r, part), 1):
            if self.ids.has(kind, item.id):
                raise CubeError(f"row {n}: id {item.id!r} appears twice", part)
            self.ids.add(kind, item.id)
            check(item, raw)
        said = self.r.manifest.parts[part].rows
        if said != self._seen(kind):
            raise CubeError(f"holds {self._seen(kind)} rows; the manifest says {said}", part)

    def _seen(self, kind: str) -> int:
        return self.ids.count(kind)

    def _ref(self, refs: str, target: str | None, _source: str) -> None:
        if target:
            self.ids.add(refs, target)

    def _vector_row(self, part: str, raw: dict[str, Any], key: str, total: int) -> None:
        row = raw.get(key)
        if row is None:
            return
        if not isinstance(row, int) or isinstance(row, bool) or not 0 <= row < total:
            raise CubeError(f"{key} {row!r} is not a row of the vector part ({total} rows)", part)

    def _memory(self, m: MemoryRecord, raw: dict[str, Any], vectors: int) -> None:
        self._vector_row("memories.jsonl", raw, "vector", vectors)
        for mid in m.message_ids:
            self.ids.add("memory_message", mid)
        self._ref("memory_cell", m.cell_id, m.id)
        self._ref("memory_scene", m.scene_id, m.id)
        self._ref("memory_supersedes", m.supersedes, m.id)

    def _counts(self) -> None:
        for name, kind in (("messages", "message"), ("memories", "memory"), ("cells", "cell"),
                           ("scenes", "scene"), ("history", "history"), ("entities", "entity")):
            said = self.r.manifest.counts.get(name)
            if said is not None and said != self._seen(kind):
                raise CubeError(f"counts.{name} is {said}, but the cube holds {self._seen(kind)}", "manifest.json")

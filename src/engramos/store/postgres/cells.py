"""MemCells and MemScenes of the PostgreSQL backend."""

from __future__ import annotations

import numpy as np

from ..._util import iso
from ...types import (
    Cell,
    Scene,
)
from .connection import PostgresConnection
from .rows import _cell


class CellsMixin(PostgresConnection):
    def upsert_cell(self, cell: Cell) -> None:
        self._x("INSERT INTO cells VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO "
                "UPDATE SET first_seq=excluded.first_seq, last_seq=excluded.last_seq, start_at=excluded.start_at, "
                "end_at=excluded.end_at, start_text=excluded.start_text, end_text=excluded.end_text, "
                "scene_id=excluded.scene_id, status=excluded.status, boundary=excluded.boundary",
                (cell.id, cell.space, cell.user_id, cell.conversation_id, cell.first_seq, cell.last_seq, cell.start_at,
                 cell.end_at, iso(cell.start_at), iso(cell.end_at), cell.scene_id, cell.status, cell.boundary))

    def get_cell(self, space: str, cell_id: str) -> Cell | None:
        rows = self._q("SELECT * FROM cells WHERE space=%s AND id=%s", (space, cell_id))
        return _cell(rows[0]) if rows else None

    def list_cells(self, space: str, conversation_id: str | None = None, *,
                   scene_id: str | None = None) -> list[Cell]:
        if scene_id is not None:
            return [_cell(r) for r in self._q("SELECT * FROM cells WHERE space=%s AND scene_id=%s "
                                              "ORDER BY start_at, id", (space, scene_id))]
        return [_cell(r) for r in self._q("SELECT * FROM cells WHERE space=%s AND conversation_id=%s "
                                          "ORDER BY first_seq", (space, conversation_id))]

    def upsert_scene(self, scene: Scene, centroid: np.ndarray) -> None:
        self._x("INSERT INTO scenes VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET "
                "label=excluded.label, size=excluded.size, first_at=excluded.first_at, last_at=excluded.last_at, "
                "centroid=excluded.centroid",
                (scene.id, scene.space, scene.user_id, scene.label, scene.size, scene.first_at, scene.last_at,
                 np.asarray(centroid, dtype=np.float32).tobytes()))

    def list_scenes(self, space: str, user_id: str) -> list[tuple[Scene, np.ndarray]]:
        rows = self._q("SELECT * FROM scenes WHERE space=%s AND user_id=%s ORDER BY last_at DESC", (space, user_id))
        return [(Scene(id=r[0], space=r[1], user_id=r[2], label=r[3], size=r[4], first_at=r[5], last_at=r[6]),
                 np.frombuffer(bytes(r[7]), dtype=np.float32)) for r in rows]

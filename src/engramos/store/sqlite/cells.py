"""MemCells and MemScenes of the SQLite backend."""

from __future__ import annotations

import numpy as np

from ..._util import from_iso, iso
from ...types import (
    Cell,
    Scene,
)
from .connection import SQLiteConnection
from .rows import (
    _cell,
)


class CellsMixin(SQLiteConnection):
    def upsert_cell(self, cell: Cell) -> None:
        self._x("INSERT OR REPLACE INTO cells VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (cell.id, cell.space, cell.user_id, cell.conversation_id, cell.first_seq,
                 cell.last_seq, iso(cell.start_at), iso(cell.end_at), cell.scene_id, cell.status,
                 cell.boundary))

    def get_cell(self, space: str, cell_id: str) -> Cell | None:
        rows = self._q("SELECT * FROM cells WHERE space=? AND id=?", (space, cell_id))
        return _cell(rows[0]) if rows else None

    def list_cells(self, space: str, conversation_id: str | None = None, *,
                   scene_id: str | None = None) -> list[Cell]:
        if scene_id is not None:
            return [_cell(r) for r in self._q(
                "SELECT * FROM cells WHERE space=? AND scene_id=? ORDER BY start_at, id", (space, scene_id))]
        return [_cell(r) for r in self._q(
            "SELECT * FROM cells WHERE space=? AND conversation_id=? ORDER BY first_seq",
            (space, conversation_id))]

    def upsert_scene(self, scene: Scene, centroid: np.ndarray) -> None:
        self._x("INSERT OR REPLACE INTO scenes VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (scene.id, scene.space, scene.user_id, scene.label, scene.size,
                 iso(scene.first_at), iso(scene.last_at),
                 np.asarray(centroid, dtype=np.float32).tobytes()))

    def list_scenes(self, space: str, user_id: str) -> list[tuple[Scene, np.ndarray]]:
        rows = self._q("SELECT * FROM scenes WHERE space=? AND user_id=? ORDER BY last_at DESC",
                       (space, user_id))
        return [(Scene(id=r[0], space=r[1], user_id=r[2], label=r[3], size=r[4],
                       first_at=from_iso(r[5]), last_at=from_iso(r[6])),
                 np.frombuffer(r[7], dtype=np.float32)) for r in rows]

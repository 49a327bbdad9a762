"""Export of every row of a PostgreSQL store (for ``engram migrate``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np

from ...types import AuditEntry, HistoryEntry, Scene
from .._sql import qualified
from .rows import _MEM, _MSG, _cell, _job, _key, _memory, _message


class ExportMixin:
    _q: Any

    def export(self) -> Iterator[tuple[str, Any]]:
        for k, v in self._q("SELECT key, value FROM meta ORDER BY key"):
            yield "meta", (k, v)
        for r in self._q(f"SELECT {_MSG} FROM messages ORDER BY pk"):
            yield "message", _message(r)
        for r in self._q(f"SELECT {qualified(_MEM)}, v.vec::text, v.model FROM memories m LEFT JOIN vectors v "
                         "ON v.memory_pk = m.pk ORDER BY m.pk"):
            vec = np.array(json.loads(r[-2]), dtype=np.float32) if r[-2] is not None else None
            yield "memory", (_memory(r[:-2]), vec, r[-1])
        for r in self._q("SELECT * FROM cells ORDER BY id"):
            yield "cell", _cell(r)
        for r in self._q("SELECT * FROM scenes ORDER BY id"):
            yield "scene", (Scene(id=r[0], space=r[1], user_id=r[2], label=r[3], size=r[4], first_at=r[5],
                                  last_at=r[6]), np.frombuffer(bytes(r[7]), dtype=np.float32))
        for r in self._q("SELECT id, memory_id, action, actor, at, before, after, space FROM history ORDER BY seq"):
            yield "history", (r[7], HistoryEntry(id=r[0], memory_id=r[1], action=r[2], actor=r[3], at=r[4],
                                                 before=r[5], after=r[6]))
        for r in self._q("SELECT * FROM jobs ORDER BY created_at, id"):
            yield "job", (_job(r), r[4])
        for r in self._q("SELECT id, space, name, role, users, agents, created_at, revoked_at, key_hash "
                         "FROM api_keys ORDER BY created_at, id"):
            yield "key", (_key(r[:8]), r[8])
        for r in self._q("SELECT * FROM audit ORDER BY id"):
            yield "audit", AuditEntry(id=r[0], space=r[1], actor=r[2], action=r[3], target=r[4], at=r[5],
                                      detail=r[6])


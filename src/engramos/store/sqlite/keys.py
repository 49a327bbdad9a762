"""API keys and the audit log of the SQLite backend."""

from __future__ import annotations

import json
from typing import Any

from ..._util import from_iso, iso, utcnow
from ...types import ApiKey, AuditEntry
from .rows import _key


class KeysMixin:
    _q: Any
    _x: Any

    # --------------------------------------------------------- keys / audit
    def create_key(self, key: ApiKey, key_hash: str) -> None:
        self._x("INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (key.id, key.space, key.name, key_hash, key.role,
                 json.dumps(key.users) if key.users is not None else None,
                 json.dumps(key.agents) if key.agents is not None else None, iso(key.created_at), None))

    def key_by_hash(self, key_hash: str) -> ApiKey | None:
        rows = self._q("SELECT id, space, name, role, users, agents, created_at, revoked_at FROM api_keys "
                       "WHERE key_hash=?", (key_hash,))
        return _key(rows[0]) if rows else None

    def list_keys(self, space: str | None = None) -> list[ApiKey]:
        sql = "SELECT id, space, name, role, users, agents, created_at, revoked_at FROM api_keys"
        rows = self._q(sql + " WHERE space=? ORDER BY created_at, id", (space,)) if space is not None \
            else self._q(sql + " ORDER BY created_at, id")
        return [_key(r) for r in rows]

    def revoke_key(self, key_id: str) -> bool:
        return self._x("UPDATE api_keys SET revoked_at=? WHERE id=? AND revoked_at IS NULL",
                       (iso(utcnow()), key_id)) > 0

    def add_audit(self, entry: AuditEntry) -> None:
        self._x("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?)",
                (entry.id, entry.space, entry.actor, entry.action, entry.target, iso(entry.at),
                 json.dumps(entry.detail, ensure_ascii=False, default=str)))

    def list_audit(self, space: str, *, limit: int = 100, before: str | None = None) -> list[AuditEntry]:
        sql, args = "SELECT * FROM audit WHERE space=?", [space]
        if before is not None:
            sql += " AND id < ?"
            args.append(before)
        rows = self._q(sql + " ORDER BY id DESC LIMIT ?", [*args, limit])
        return [AuditEntry(id=r[0], space=r[1], actor=r[2], action=r[3], target=r[4], at=from_iso(r[5]),
                           detail=json.loads(r[6])) for r in rows]


"""API keys and the audit log of the PostgreSQL backend."""

from __future__ import annotations

import json

from ..._util import utcnow
from ...types import (
    ApiKey,
    AuditEntry,
)
from .connection import PostgresConnection
from .rows import _key


class KeysMixin(PostgresConnection):
    def create_key(self, key: ApiKey, key_hash: str) -> None:
        self._x("INSERT INTO api_keys VALUES (%s, %s, %s, %s, %s, %s, %s, %s, NULL)",
                (key.id, key.space, key.name, key_hash, key.role,
                 None if key.users is None else json.dumps(key.users),
                 None if key.agents is None else json.dumps(key.agents), key.created_at))

    def key_by_hash(self, key_hash: str) -> ApiKey | None:
        rows = self._q("SELECT id, space, name, role, users, agents, created_at, revoked_at FROM api_keys "
                       "WHERE key_hash=%s", (key_hash,))
        return _key(rows[0]) if rows else None

    def list_keys(self, space: str | None = None) -> list[ApiKey]:
        sql = "SELECT id, space, name, role, users, agents, created_at, revoked_at FROM api_keys"
        rows = self._q(sql + " WHERE space=%s ORDER BY created_at, id", (space,)) if space is not None \
            else self._q(sql + " ORDER BY created_at, id")
        return [_key(r) for r in rows]

    def revoke_key(self, key_id: str) -> bool:
        return self._x("UPDATE api_keys SET revoked_at=%s WHERE id=%s AND revoked_at IS NULL", (utcnow(), key_id)) > 0

    def add_audit(self, entry: AuditEntry) -> None:
        self._x("INSERT INTO audit VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (entry.id, entry.space, entry.actor, entry.action, entry.target, entry.at,
                 json.dumps(entry.detail, default=str)))

    def list_audit(self, space: str, *, limit: int = 100, before: str | None = None) -> list[AuditEntry]:
        sql, args = "SELECT * FROM audit WHERE space=%s", [space]
        if before is not None:
            sql += " AND id < %s"
            args.append(before)
        rows = self._q(sql + " ORDER BY id DESC LIMIT %s", [*args, limit])
        return [AuditEntry(id=r[0], space=r[1], actor=r[2], action=r[3], target=r[4], at=r[5], detail=r[6])
                for r in rows]

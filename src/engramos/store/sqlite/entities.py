"""The entity graph of the SQLite backend (see :class:`engramos.store.base.EntityStore`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from ..._util import from_iso, iso, new_id
from ...types import Entity
from .._entities import ENTITY_COLS, EntityReads, entity_key, is_alias
from .connection import SQLiteConnection
from .rows import _chunks, _ph


def _entity(r: tuple) -> Entity:
    return Entity(id=r[0], space=r[1], user_id=r[2], name=r[3], kind=r[4], aliases=json.loads(r[5]),
                  first_at=from_iso(r[6]), last_at=from_iso(r[7]), mentions=r[8])


class EntitiesMixin(EntityReads, SQLiteConnection):
    PH = "?"
    _entity = staticmethod(_entity)

    def link_entities(self, space: str, user_id: str,
                      links: Sequence[tuple[str, Sequence[tuple[str, str]]]], at: datetime) -> None:
        with self.transaction():
            for memory_id, mentions in links:
                row = self._conn.execute("SELECT pk FROM memories WHERE +space=? AND id=?",
                                         (space, memory_id)).fetchone()
                if row is None:
                    continue
                for name, kind in mentions:
                    pk = self._entity_pk(space, user_id, name, kind, at)
                    if pk is not None:
                        self._conn.execute("INSERT OR IGNORE INTO memory_entities VALUES (?, ?)", (row[0], pk))

    def _entity_pk(self, space: str, user_id: str, name: str, kind: str, at: datetime) -> int | None:
        key = entity_key(name)
        if len(key) < 2:
            return None
        c = self._conn
        found = c.execute("SELECT pk FROM entities WHERE space=? AND user_id=? AND key=?",
                          (space, user_id, key)).fetchone() \
            or c.execute("SELECT entity_pk FROM entity_aliases WHERE space=? AND user_id=? AND alias=?",
                         (space, user_id, key)).fetchone()
        if found is None and kind == "person":
            for pk, other, aliases in c.execute(
                    "SELECT pk, key, aliases FROM entities WHERE space=? AND user_id=? AND kind='person'",
                    (space, user_id)).fetchall():
                if is_alias(key, other) or is_alias(other, key):
                    self._add_alias(space, user_id, pk, key, name, json.loads(aliases))
                    found = (pk,)
                    break
        if found is not None:
            c.execute("UPDATE entities SET first_at=min(first_at, ?), last_at=max(last_at, ?) WHERE pk=?",
                      (iso(at), iso(at), found[0]))
            return int(found[0])
        cur = c.execute("INSERT INTO entities (id, space, user_id, key, name, kind, aliases, first_at, last_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, '[]', ?, ?)",
                        (new_id("ent"), space, user_id, key, name.strip(), kind, iso(at), iso(at)))
        return int(cur.lastrowid or 0)

    def _add_alias(self, space: str, user_id: str, pk: int, key: str, name: str, aliases: list[str]) -> None:
        self._conn.execute("INSERT OR IGNORE INTO entity_aliases VALUES (?, ?, ?, ?)", (pk, space, user_id, key))
        if name.strip() not in aliases:
            self._conn.execute("UPDATE entities SET aliases=? WHERE pk=?",
                               (json.dumps([*aliases, name.strip()], ensure_ascii=False), pk))

    def entities_of(self, space: str, memory_ids: Sequence[str]) -> dict[str, list[Entity]]:
        out: dict[str, list[Entity]] = {}
        for chunk in _chunks(list(memory_ids)):
            for r in self._q(f"SELECT m.id, {ENTITY_COLS} FROM memories m "
                             "JOIN memory_entities l ON l.memory_pk = m.pk "
                             f"JOIN entities e ON e.pk = l.entity_pk WHERE +m.space=? AND m.id IN ({_ph(chunk)}) "
                             "ORDER BY m.id, e.name", [space, *chunk]):
                out.setdefault(r[0], []).append(_entity(r[1:]))
        return out

    def find_entities(self, space: str, names: Sequence[str], *, user_id: str | None = None) -> list[Entity]:
        keys = list(dict.fromkeys(k for k in (entity_key(n) for n in names) if k))
        if not keys:
            return []
        user = " AND e.user_id=?" if user_id is not None else ""
        uargs = [user_id] if user_id is not None else []
        out: dict[str, Entity] = {}
        for chunk in _chunks(keys):
            for r in self._q(f"SELECT {ENTITY_COLS} FROM entities e WHERE e.space=?{user} AND "
                             f"(e.key IN ({_ph(chunk)}) OR e.pk IN (SELECT entity_pk FROM entity_aliases "
                             f"WHERE space=? AND alias IN ({_ph(chunk)})))", [space, *uargs, *chunk, space, *chunk]):
                out[r[0]] = _entity(r)
        return list(out.values())


"""The entity graph of the PostgreSQL backend (see :class:`engramos.store.base.EntityStore`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from ..._util import new_id
from ...types import Entity
from .._entities import ENTITY_COLS, EntityReads, entity_key, is_alias
from .connection import PostgresConnection


def _entity(r: tuple) -> Entity:
    aliases = r[5] if isinstance(r[5], list) else json.loads(r[5])
    return Entity(id=r[0], space=r[1], user_id=r[2], name=r[3], kind=r[4], aliases=aliases,
                  first_at=r[6], last_at=r[7], mentions=r[8])


class EntitiesMixin(EntityReads, PostgresConnection):
    PH = "%s"
    _entity = staticmethod(_entity)

    def link_entities(self, space: str, user_id: str,
                      links: Sequence[tuple[str, Sequence[tuple[str, str]]]], at: datetime) -> None:
        with self.transaction():
            for memory_id, mentions in links:
                row = self._q("SELECT pk FROM memories WHERE space=%s AND id=%s", (space, memory_id))
                if not row:
                    continue
                for name, kind in mentions:
                    pk = self._entity_pk(space, user_id, name, kind, at)
                    if pk is not None:
                        self._x("INSERT INTO memory_entities VALUES (%s, %s) ON CONFLICT DO NOTHING", (row[0][0], pk))

    def _entity_pk(self, space: str, user_id: str, name: str, kind: str, at: datetime) -> int | None:
        key = entity_key(name)
        if len(key) < 2:
            return None
        found = self._q("SELECT pk FROM entities WHERE space=%s AND user_id=%s AND key=%s", (space, user_id, key)) \
            or self._q("SELECT entity_pk FROM entity_aliases WHERE space=%s AND user_id=%s AND alias=%s",
                       (space, user_id, key))
        if not found and kind == "person":
            for pk, other, aliases in self._q("SELECT pk, key, aliases FROM entities WHERE space=%s AND user_id=%s "
                                              "AND kind='person'", (space, user_id)):
                if is_alias(key, other) or is_alias(other, key):
                    self._x("INSERT INTO entity_aliases VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                            (pk, space, user_id, key))
                    if name.strip() not in aliases:
                        self._x("UPDATE entities SET aliases = aliases || %s::jsonb WHERE pk=%s",
                                (json.dumps([name.strip()], ensure_ascii=False), pk))
                    found = [(pk,)]
                    break
        if found:
            self._x("UPDATE entities SET first_at=least(first_at, %s), last_at=greatest(last_at, %s) WHERE pk=%s",
                    (at, at, found[0][0]))
            return int(found[0][0])
        return int(self._q("INSERT INTO entities (id, space, user_id, key, name, kind, aliases, first_at, last_at) "
                           "VALUES (%s, %s, %s, %s, %s, %s, '[]', %s, %s) RETURNING pk",
                           (new_id("ent"), space, user_id, key, name.strip(), kind, at, at))[0][0])

    def entities_of(self, space: str, memory_ids: Sequence[str]) -> dict[str, list[Entity]]:
        out: dict[str, list[Entity]] = {}
        for r in self._q(f"SELECT m.id, {ENTITY_COLS} FROM memories m JOIN memory_entities l ON l.memory_pk = m.pk "
                         "JOIN entities e ON e.pk = l.entity_pk WHERE m.space=%s AND m.id = ANY(%s) "
                         "ORDER BY m.id, e.name", (space, list(memory_ids))):
            out.setdefault(r[0], []).append(_entity(r[1:]))
        return out

    def find_entities(self, space: str, names: Sequence[str], *, user_id: str | None = None) -> list[Entity]:
        keys = list(dict.fromkeys(k for k in (entity_key(n) for n in names) if k))
        if not keys:
            return []
        user = " AND e.user_id=%s" if user_id is not None else ""
        uargs = [user_id] if user_id is not None else []
        rows = self._q(f"SELECT {ENTITY_COLS} FROM entities e WHERE e.space=%s{user} AND (e.key = ANY(%s) OR e.pk IN "
                       "(SELECT entity_pk FROM entity_aliases WHERE space=%s AND alias = ANY(%s)))",
                       [space, *uargs, keys, space, keys])
        return [_entity(r) for r in rows]


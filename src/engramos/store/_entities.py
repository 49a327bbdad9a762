"""What both backends share about entities: the normalised name an entity is found by,
and when a person's shorter name is an alias of a longer one."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ..types import Entity

_LEADING = re.compile(r"^(?:the|a|an|my|our|his|her|their)\s+", re.I)
_POSSESSIVE = re.compile(r"(?:'s|’s|s')$", re.I)
MIN_ALIAS = 3  # "Mel" for "Melanie"; "Al" is too short to say who


def entity_key(name: str) -> str:
    """"The Louvre" -> "louvre", "Melanie's" -> "melanie", "  New  York " -> "new york"."""
    key = re.sub(r"\s+", " ", name.strip()).lower()
    key = _LEADING.sub("", key)
    return _POSSESSIVE.sub("", key).strip(" .,;:!?\"'()[]")


def is_alias(short: str, long: str) -> bool:
    """A person's shorter name that starts the longer one ("mel" / "melanie", "jon" /
    "jon smith"), not a mere shared prefix of two whole names ("ann" / "anna" counts,
    "anna" / "annabel" counts too: a nickname is a prefix)."""
    return len(short) >= MIN_ALIAS and short != long and long.startswith(short)


# the same statements on both backends, ``{p}`` standing for the driver's placeholder
ENTITY_COLS = ("e.id, e.space, e.user_id, e.name, e.kind, e.aliases, e.first_at, e.last_at, "
               "(SELECT count(*) FROM memory_entities l WHERE l.entity_pk = e.pk)")
ENTITY_MEMORIES = ("SELECT m.id FROM entities e JOIN memory_entities l ON l.entity_pk = e.pk "
                   "JOIN memories m ON m.pk = l.memory_pk WHERE e.space={p} AND e.id={p} "
                   "ORDER BY m.observed_at DESC, m.id DESC LIMIT {p}")
RELATED_ENTITIES = (f"SELECT {ENTITY_COLS}, count(*) AS shared FROM entities x "
                    "JOIN memory_entities a ON a.entity_pk = x.pk "
                    "JOIN memory_entities b ON b.memory_pk = a.memory_pk AND b.entity_pk <> a.entity_pk "
                    "JOIN entities e ON e.pk = b.entity_pk "
                    "WHERE x.space={p} AND x.id={p} GROUP BY e.pk ORDER BY shared DESC, e.name LIMIT {p}")


LIST_ENTITIES = (f"SELECT {ENTITY_COLS} FROM entities e WHERE e.space={{p}} AND e.user_id={{p}} "
                 "ORDER BY e.last_at DESC, e.id LIMIT {p} OFFSET {p}")
GET_ENTITY = f"SELECT {ENTITY_COLS} FROM entities e WHERE e.space={{p}} AND e.id={{p}}"


class EntityReads:
    """The reads both backends run the same way, given their placeholder (``PH``) and
    their row -> :class:`Entity` conversion."""

    PH: str
    _q: Any

    @staticmethod
    def _entity(r: tuple) -> Entity:
        raise NotImplementedError

    def entity_memories(self, space: str, entity_ids: Sequence[str], *, limit: int = 200) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for eid in dict.fromkeys(entity_ids):
            rows = self._q(ENTITY_MEMORIES.format(p=self.PH), (space, eid, limit))
            if rows:
                out[eid] = [r[0] for r in rows]
        return out

    def list_entities(self, space: str, user_id: str, *, limit: int = 50, offset: int = 0) -> list[Entity]:
        rows = self._q(LIST_ENTITIES.format(p=self.PH), (space, user_id, limit, offset))
        return [self._entity(r) for r in rows]

    def get_entity(self, space: str, entity_id: str) -> Entity | None:
        rows = self._q(GET_ENTITY.format(p=self.PH), (space, entity_id))
        return self._entity(rows[0]) if rows else None

    def related_entities(self, space: str, entity_id: str, *, limit: int = 20) -> list[tuple[Entity, int]]:
        rows = self._q(RELATED_ENTITIES.format(p=self.PH), (space, entity_id, limit))
        return [(self._entity(r[:9]), int(r[9])) for r in rows]

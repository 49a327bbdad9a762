"""Which entities a cell's memories mention, for the entity graph
(:class:`engramos.store.base.EntityStore`): the names a statement's parse found by kind,
the person a slot is about and a slot's value when it names someone or something (a
pet, a partner, a city, an employer), and whoever said it.  A raw turn mentions what the
statements of its message do; an episode, what its cell's do."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..records import turn_id
from ..types import MemoryRecord, Message

# slot attribute -> the kind of entity its value is
_VALUE_KINDS = {"pet": "pet", "partner": "person", "family": "person", "home": "place", "hometown": "place",
                "employer": "org", "school": "org"}
_NAME_KINDS = frozenset({"person", "place", "org", "product"})  # amounts are no entities
Mention = tuple[str, str]


def mentions_of(rec: MemoryRecord) -> list[Mention]:
    meta = rec.metadata
    found: list[Mention] = []
    names = meta.get("names")
    if isinstance(names, dict):
        found += [(str(n), kind) for kind, values in names.items() if kind in _NAME_KINDS
                  and isinstance(values, list) for n in values]
    subject = meta.get("subject")
    if isinstance(subject, str) and subject and "'s " not in subject:
        found.append((subject, "person"))
    kind = _VALUE_KINDS.get(str(meta.get("attribute")))
    value = _named(meta)
    if kind and value and not value.isdigit():
        found.append((value, kind))
    if rec.speaker:
        found.append((rec.speaker, "person"))
    return list(dict.fromkeys(found))


def _named(meta: dict[str, object]) -> str:
    """The name in a slot's value: "Pepper (beagle)" -> "Pepper", "sister Jo" -> "Jo"."""
    value = meta.get("value")
    if not isinstance(value, str):
        return ""
    value = re.sub(r"\s*[(（].*?[)）]\s*", "", value).strip()
    key = meta.get("key")
    if meta.get("attribute") == "family" and isinstance(key, str) and key:
        # "sister Jo" / "妹妹小雨": the name is the key, as written in the value
        at = value.lower().rfind(key.lower())
        return value[at:at + len(key)] if at >= 0 else key
    return value


def cell_links(memories: Sequence[MemoryRecord], messages: Sequence[Message]) -> list[tuple[str, list[Mention]]]:
    """``(memory_id, mentions)`` for the cell's new memories and its messages' turns."""
    links = {rec.id: mentions_of(rec) for rec in memories if rec.kind != "episode"}
    by_message: dict[str, list[Mention]] = {}
    for rec in memories:
        for mid in rec.message_ids if rec.kind != "episode" else ():
            by_message.setdefault(mid, []).extend(links[rec.id])
    for m in messages:
        by_message.setdefault(m.id, []).append((m.sender_name, "person"))
        links[turn_id(m.id)] = list(dict.fromkeys(by_message[m.id]))
    whole = list(dict.fromkeys(x for m in messages for x in by_message.get(m.id, [])))
    for rec in memories:
        if rec.kind == "episode":
            links[rec.id] = whole
    return [(mid, found) for mid, found in links.items() if found]

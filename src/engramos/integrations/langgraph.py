"""LangGraph: a ``langgraph.store.base.BaseStore`` over EngramOS (``engramos[langgraph]``).

Items are memories written with :meth:`Memory.put`: the text EngramOS embeds and indexes
is the item's ``index`` fields (or the store's ``index_fields``, or the whole value), the
value itself travels in the memory's metadata, and ``(namespace, key)`` is the memory's
key, so putting an item again replaces it in place (its history keeps the old value).
Namespaces map to EngramOS scope: the element at ``user_index`` is the user (``("memories",
"alice")`` is alice's with the default 1), at ``agent_index`` the agent; the space is the
memory's or client's own.  ``search`` with a query is EngramOS recall (BM25 and vectors,
fused, with time and expansion), filtered to the namespace prefix; without one it lists
the newest items first.  Filters on a value's top-level scalar fields go to the store;
others are checked here on the fetched items.

Not supported: TTLs (``supports_ttl`` is False, so LangGraph refuses a ``ttl``).
``list_namespaces`` reads every item's namespace (a page of 1,000 at a time)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from typing import Any

from langgraph.store.base import (
    BaseStore,
    GetOp,
    Item,
    ListNamespacesOp,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
)

from ..types import MemoryRecord
from ._common import Backend, every_memory, in_thread

NS = "lg.ns"  # the namespace (a JSON list) of an item
VALUE = "lg.value"  # the item's value (a JSON object, as a string: any depth)
ITEM_KEY = "lg.key"
_FIELD = re.compile(r"^[A-Za-z0-9_\-]{1,56}$")  # value fields a store filter can name (lg.v.<field>)
_OPS = {"$eq": "eq", "$ne": "ne", "$gt": "gt", "$gte": "gte", "$lt": "lt", "$lte": "lte"}
_MAX_PUSHED = 14  # EngramOS takes 16 metadata conditions; the namespace takes one


def _prefix_key(depth: int) -> str:
    return f"lg.ns.{depth}"


def _ns_json(namespace: tuple[str, ...]) -> str:
    return json.dumps(list(namespace), ensure_ascii=False)


def memory_key(namespace: tuple[str, ...], key: str) -> str:
    """The EngramOS key of an item: short and fixed-length whatever the namespace."""
    return "lg:" + hashlib.sha256(json.dumps([list(namespace), key]).encode()).hexdigest()[:40]


class EngramStore(BaseStore):
    supports_ttl: bool = False

    def __init__(self, memory: Backend, *, user_index: int | None = 1, agent_index: int | None = None,
                 default_user: str = "default", index_fields: list[str] | None = None) -> None:
        self.memory = memory
        self.user_index, self.agent_index = user_index, agent_index
        self.default_user, self.index_fields = default_user, index_fields

    # ------------------------------------------------------------ the protocol
    def batch(self, ops: Iterable[Op]) -> list[Result]:
        return [self._one(op) for op in ops]

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        return await in_thread(self.batch, list(ops))

    def _one(self, op: Op) -> Result:
        if isinstance(op, GetOp):
            return self._get(op.namespace, op.key)
        if isinstance(op, PutOp):
            self._put(op)
            return None
        if isinstance(op, SearchOp):
            return self._search(op)
        if isinstance(op, ListNamespacesOp):
            return self._list_namespaces(op)
        raise TypeError(f"unknown LangGraph store operation {type(op).__name__}")

    # ------------------------------------------------------------------ scope
    def _scope(self, namespace: tuple[str, ...]) -> tuple[str | None, str | None]:
        """The user and agent a namespace (or a prefix of one) names, None where it is
        too short to say (a search then spans them)."""
        def at(i: int | None) -> str | None:
            return namespace[i] if i is not None and i < len(namespace) else None
        return at(self.user_index), at(self.agent_index)

    def _owner(self, namespace: tuple[str, ...]) -> tuple[str, str | None]:
        user, agent = self._scope(namespace)
        return user or self.default_user, agent

    # ------------------------------------------------------------------ items
    def _find(self, namespace: tuple[str, ...], key: str) -> MemoryRecord | None:
        user, agent = self._owner(namespace)
        page = self.memory.list(user_id=user, agent_id=agent, metadata={"key": memory_key(namespace, key)}, limit=10)
        return next((m for m in page.items if m.agent_id == agent), None)

    def _get(self, namespace: tuple[str, ...], key: str) -> Item | None:
        found = self._find(namespace, key)
        return None if found is None else _item(found)

    def _put(self, op: PutOp) -> None:
        if op.value is None:
            found = self._find(op.namespace, op.key)
            if found is not None:
                self.memory.forget(memory_id=found.id)
            return
        value = dict(op.value)
        user, agent = self._owner(op.namespace)
        meta: dict[str, Any] = {NS: _ns_json(op.namespace), ITEM_KEY: op.key,
                                VALUE: json.dumps(value, ensure_ascii=False, default=str)}
        for depth in range(1, len(op.namespace) + 1):
            meta[_prefix_key(depth)] = _ns_json(op.namespace[:depth])
        for field, v in value.items():
            if _FIELD.match(field) and isinstance(v, str | int | float | bool):
                meta[f"lg.v.{field}"] = v  # a top-level scalar: filters on it run in the store
        self.memory.put(self._text(value, op.index), user_id=user, agent_id=agent,
                        key=memory_key(op.namespace, op.key), metadata=meta)

    def _text(self, value: dict[str, Any], index: Any) -> str:
        fields = index if isinstance(index, list) else self.index_fields
        if fields:
            parts = [_field_text(value, f) for f in fields]
            text = "\n".join(p for p in parts if p)
            if text:
                return text
        strings = [v for v in value.values() if isinstance(v, str) and v.strip()]
        if len(strings) == 1 and len(value) <= 3:
            return strings[0]
        return json.dumps(value, ensure_ascii=False, default=str)

    # ----------------------------------------------------------------- search
    def _search(self, op: SearchOp) -> list[SearchItem]:
        user, agent = self._scope(op.namespace_prefix)
        pushed, rest = _split_filter(op.filter or {})
        meta: dict[str, Any] = {**pushed}
        if op.namespace_prefix:
            meta[_prefix_key(len(op.namespace_prefix))] = _ns_json(op.namespace_prefix)
        else:
            meta[NS] = {"exists": True}
        wanted = op.offset + op.limit
        scope = {"user_id": user, "agent_id": agent}
        found: list[tuple[MemoryRecord, float | None]] = []
        if op.query:
            res = self.memory.search(op.query, filters={**{k: v for k, v in scope.items() if v}, "metadata": meta},
                                     top_k=min(1000, max(wanted * (4 if rest else 1), 10)))
            found = [(h.memory, h.score) for h in res.hits]
        else:
            for rec in every_memory(self.memory, metadata=meta, user_id=user, agent_id=agent):
                found.append((rec, None))
                if not rest and len(found) >= wanted:
                    break
        items = [_item(rec, score) for rec, score in found if _matches(_value(rec), rest)]
        return items[op.offset:wanted]


    def _list_namespaces(self, op: ListNamespacesOp) -> list[tuple[str, ...]]:
        seen: set[tuple[str, ...]] = set()
        for rec in every_memory(self.memory, metadata={NS: {"exists": True}}):
            ns = tuple(json.loads(rec.metadata[NS]))
            if all(_holds(ns, c.match_type, tuple(c.path)) for c in op.match_conditions or ()):
                seen.add(ns[:op.max_depth] if op.max_depth is not None else ns)
        return sorted(seen)[op.offset:op.offset + op.limit]


def _field_text(value: dict[str, Any], path: str) -> str:
    cur: Any = value
    for part in path.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        else:
            return ""
    return cur if isinstance(cur, str) else json.dumps(cur, ensure_ascii=False, default=str)


def _value(rec: MemoryRecord) -> dict[str, Any]:
    raw = rec.metadata.get(VALUE)
    return json.loads(raw) if isinstance(raw, str) else {}


def _item(rec: MemoryRecord, score: float | None = None) -> SearchItem:
    namespace = tuple(json.loads(rec.metadata[NS]))
    return SearchItem(namespace=namespace, key=str(rec.metadata[ITEM_KEY]), value=_value(rec),
                      created_at=rec.created_at, updated_at=rec.updated_at, score=score)


def _split_filter(flt: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The conditions the store can check (scalars on named top-level fields) as
    EngramOS metadata conditions, and the rest, checked here."""
    pushed: dict[str, Any] = {}
    for field, cond in flt.items():
        if not _FIELD.match(field) or len(pushed) >= _MAX_PUSHED:
            continue
        if isinstance(cond, str | int | float | bool):
            pushed[f"lg.v.{field}"] = cond
        elif isinstance(cond, dict) and cond and all(op in _OPS and isinstance(v, str | int | float | bool)
                                                   for op, v in cond.items()):
            pushed[f"lg.v.{field}"] = {_OPS[op]: v for op, v in cond.items()}
    return pushed, dict(flt)  # every condition is checked again on the value


def _matches(value: dict[str, Any], flt: dict[str, Any]) -> bool:
    for field, cond in flt.items():
        present, got = field in value, value.get(field)
        conds = cond if isinstance(cond, dict) and cond and all(k.startswith("$") for k in cond) else {"$eq": cond}
        for op, want in conds.items():
            if not _compare(op, present, got, want):
                return False
    return True


def _compare(op: str, present: bool, got: Any, want: Any) -> bool:
    if op == "$eq":
        return present and bool(got == want)
    if op == "$ne":
        return bool(got != want)
    if op not in _OPS:
        raise ValueError(f"unsupported filter operator {op!r}")
    if not present or got is None:
        return False
    try:
        if op == "$gt":
            return bool(got > want)
        if op == "$gte":
            return bool(got >= want)
        return bool(got < want) if op == "$lt" else bool(got <= want)
    except TypeError:  # reason: values of different types do not compare (LangGraph: no match)
        return False


def _holds(ns: tuple[str, ...], match_type: str, path: tuple[str, ...]) -> bool:
    if len(path) > len(ns):
        return False
    part = ns[:len(path)] if match_type == "prefix" else ns[len(ns) - len(path):]
    return all(p == "*" or p == q for p, q in zip(path, part, strict=True))


__all__ = ["EngramStore", "memory_key"]

"""The LangGraph store adapter against the real ``langgraph`` package, embedded and remote."""

from __future__ import annotations

import asyncio
import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from langgraph.store.base import BaseStore, GetOp, ListNamespacesOp, PutOp, SearchOp

from engramos.integrations.langgraph import EngramStore

ROOT = Path(__file__).resolve().parents[2]


def test_the_interface_it_implements_is_the_one_pinned():
    """A LangGraph release that changes the store protocol fails here, loudly."""
    assert BaseStore.__abstractmethods__ == frozenset({"batch", "abatch"})
    assert GetOp._fields == ("namespace", "key", "refresh_ttl")
    assert SearchOp._fields == ("namespace_prefix", "filter", "limit", "offset", "query", "refresh_ttl")
    assert PutOp._fields == ("namespace", "key", "value", "index", "ttl")
    assert ListNamespacesOp._fields == ("match_conditions", "max_depth", "limit", "offset")


def test_items_put_get_replace_delete(backend: Any, uid: str):
    store = EngramStore(backend)
    ns = ("memories", uid)
    store.put(ns, "tea", {"text": "Ana's favourite tea is sencha", "rating": 4})
    item = store.get(ns, "tea")
    assert item is not None and item.value == {"text": "Ana's favourite tea is sencha", "rating": 4}
    assert item.namespace == ns and item.key == "tea"
    store.put(ns, "tea", {"text": "Ana's favourite tea is genmaicha", "rating": 5})
    again = store.get(ns, "tea")
    assert again is not None and again.value["rating"] == 5 and again.created_at == item.created_at
    assert again.updated_at >= item.updated_at
    assert len(backend.list(user_id=uid, limit=50).items) == 1  # replaced in place, one memory
    assert store.get(ns, "missing") is None and store.get(("memories", uid + "x"), "tea") is None
    store.delete(ns, "tea")
    assert store.get(ns, "tea") is None and backend.list(user_id=uid, limit=50).items == []


def test_search_is_recall_within_the_namespace(backend: Any, uid: str):
    store = EngramStore(backend)
    mine, other = ("memories", uid), ("memories", uid + "-other")
    facts = {"boat": "Ana restores a wooden sailing boat in Porto", "cat": "Ana adopted a grey cat named Miso",
             "job": "Ana works night shifts as a nurse", "diet": "Ana stopped eating meat last spring"}
    for i, (key, text) in enumerate(facts.items()):
        store.put(mine, key, {"text": text, "n": i, "tag": "pet" if key == "cat" else "life"})
    store.put(other, "cat", {"text": "Bo's cat is called Miso too", "n": 9, "tag": "pet"})
    hits = store.search(mine, query="Which pet does Ana have?", limit=2)
    assert hits[0].key == "cat" and hits[0].score is not None and all(h.namespace == mine for h in hits)
    assert [h.key for h in store.search(mine, filter={"tag": "pet"})] == ["cat"]
    assert {h.key for h in store.search(mine, filter={"n": {"$gte": 2}})} == {"job", "diet"}
    assert {h.key for h in store.search(mine, filter={"n": {"$ne": 0}, "tag": "life"})} == {"job", "diet"}
    listed = [h.key for h in store.search(mine, limit=10)]
    assert sorted(listed) == sorted(facts)
    assert store.search(mine, limit=2, offset=1) == store.search(mine, limit=10)[1:3]
    both = store.search(("memories",), query="cat Miso", limit=10)
    assert {h.namespace for h in both if h.key == "cat"} == {mine, other}


def test_list_namespaces(backend: Any, uid: str):
    store = EngramStore(backend)
    for ns in [("memories", uid, "prefs"), ("memories", uid, "facts"), ("docs", uid)]:
        store.put(ns, "k", {"text": f"an item in {'/'.join(ns)}"})
    found = store.list_namespaces(prefix=("memories", uid))
    assert found == [("memories", uid, "facts"), ("memories", uid, "prefs")]
    by_suffix = store.list_namespaces(suffix=("prefs",))
    assert ("memories", uid, "prefs") in by_suffix and all(n[-1] == "prefs" for n in by_suffix)
    assert ("memories", uid) in store.list_namespaces(prefix=("memories", uid), max_depth=2)
    assert store.list_namespaces(prefix=("memories", "*", "facts")) and all(
        n[2] == "facts" for n in store.list_namespaces(prefix=("memories", "*", "facts")))


def test_async_batch_and_ttl_refused(backend: Any, uid: str):
    store = EngramStore(backend)
    ns = ("memories", uid)

    async def run() -> list[Any]:
        await store.aput(ns, "a", {"text": "Ana swims on Mondays"})
        return await store.abatch([GetOp(ns, "a"), SearchOp(ns, query="swimming", limit=1), GetOp(ns, "zz")])

    got, found, missing = asyncio.run(run())
    assert got.value["text"] == "Ana swims on Mondays" and found[0].key == "a" and missing is None
    with pytest.raises(NotImplementedError):
        store.put(ns, "b", {"text": "x"}, ttl=5)


def test_a_graph_uses_it_as_its_store(backend: Any, uid: str):
    """The example's graph (remember, then recall, through the graph's runtime store)."""
    spec = importlib.util.spec_from_file_location("langgraph_example", ROOT / "examples" / "langgraph_store.py")
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    app = example.build_app(EngramStore(backend))
    out = app.invoke({"user": uid, "message": "I live in Glasgow now", "recalled": []})
    assert out["recalled"] == ["I live in Glasgow now"]


def test_the_example_runs_offline(tmp_path: Path):
    run = subprocess.run([sys.executable, str(ROOT / "examples" / "langgraph_store.py"), str(tmp_path / "home")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Glasgow" in run.stdout

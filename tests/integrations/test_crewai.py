"""The CrewAI storage backend against the real ``crewai`` package, embedded and remote,
under CrewAI's own unified ``Memory`` (shallow recall, explicit fields: no LLM call)."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("CREWAI_DISABLE_TELEMETRY", "true")
os.environ.setdefault("OTEL_SDK_DISABLED", "true")

from crewai.memory.storage.backend import StorageBackend
from crewai.memory.types import MemoryRecord
from crewai.memory.unified_memory import Memory as CrewMemory

from engramos.integrations.crewai import EngramStorage

ROOT = Path(__file__).resolve().parents[2]
PROTOCOL = ("save", "search", "delete", "update", "get_record", "list_records", "get_scope_info", "list_scopes",
            "list_categories", "count", "reset", "asave", "asearch", "adelete")


def test_the_interface_it_implements_is_the_one_pinned():
    members = {n for n in dir(StorageBackend) if not n.startswith("_")}
    assert members == set(PROTOCOL)
    assert list(inspect.signature(StorageBackend.search).parameters) == [
        "self", "query_embedding", "scope_prefix", "categories", "metadata_filter", "limit", "min_score"]
    for name in PROTOCOL:
        assert list(inspect.signature(getattr(StorageBackend, name)).parameters) == list(
            inspect.signature(getattr(EngramStorage, name)).parameters), name


def test_storage_protocol_directly(backend: Any, uid: str):
    storage = EngramStorage(backend, user_id=uid)
    assert isinstance(storage, StorageBackend)
    a = MemoryRecord(content="Ana moved to Glasgow for a nursing job.", scope="/crew/ana", categories=["home"],
                     importance=0.8, metadata={"team": "care"})
    b = MemoryRecord(content="Bo restores wooden boats in Porto.", scope="/crew/bo", categories=["hobby"])
    storage.save([a, b])
    got = storage.get_record(a.id)
    assert got is not None and got.content == a.content and got.scope == "/crew/ana" and got.importance == 0.8
    assert got.metadata == {"team": "care"} and got.categories == ["home"]
    [vec] = storage.embedder(["Where does Ana live?"])
    found = storage.search(vec, limit=5)
    assert found[0][0].id == a.id and 0 < found[0][1] < 0.85
    assert [r.id for r, _ in storage.search(vec, scope_prefix="/crew/bo")] == [b.id]
    assert storage.search(vec, categories=["hobby"])[0][0].id == b.id
    with pytest.raises(ValueError, match="embedder"):
        storage.search([0.1] * 256)
    assert storage.list_scopes("/crew") == ["/crew/ana", "/crew/bo"] and storage.count("/crew") == 2
    assert storage.list_categories() == {"home": 1, "hobby": 1}
    info = storage.get_scope_info("/crew")
    assert info.record_count == 2 and info.child_scopes == ["/crew/ana", "/crew/bo"]
    a.content = "Ana moved to Edinburgh for a nursing job."
    storage.update(a)
    assert storage.get_record(a.id).content.startswith("Ana moved to Edinburgh")  # type: ignore[union-attr]
    assert storage.count() == 2
    assert storage.delete(scope_prefix="/crew/bo") == 1 and storage.get_record(b.id) is None
    storage.reset()
    assert storage.count() == 0


def test_under_crewai_memory(backend: Any, uid: str):
    storage = EngramStorage(backend, user_id=uid)
    memory = CrewMemory(storage=storage, embedder=storage.embedder)
    memory.remember("Ana moved to Glasgow last month for a nursing job.", scope="/people/ana",
                    categories=["home"], importance=0.9)
    memory.remember("The team meets on Tuesdays at ten.", scope="/team", categories=["schedule"], importance=0.4)
    matches = memory.recall("Where does Ana live now?", depth="shallow", limit=3)
    assert "Glasgow" in matches[0].record.content
    assert memory.list_scopes("/") == ["/people", "/team"]
    memory.forget(scope="/team")
    assert storage.count() == 1


def test_the_example_runs_offline(tmp_path: Path):
    run = subprocess.run([sys.executable, str(ROOT / "examples" / "crewai_storage.py"), str(tmp_path / "home")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Glasgow" in run.stdout

"""copy_store into every backend: memories with and without vectors, several models and
dimensions, more than one insert batch; counts and checksums equal afterwards."""

from __future__ import annotations

import numpy as np

from engramos._util import utcnow
from engramos.store.migrate import _MemoryBatch, checksums, copy_store
from engramos.store.sqlite.store import SQLiteStore
from engramos.types import Filters, MemoryRecord


def test_copy_keeps_every_vector_of_mixed_models_and_dimensions(tmp_path, open_store):
    src = SQLiteStore(tmp_path / "src.db")
    rng = np.random.default_rng(4)
    n = _MemoryBatch.SIZE + 500
    for i in range(n):
        rec = MemoryRecord(id=f"mem_{i:05d}", space="s", kind="fact", user_id=f"u{i % 3}", conversation_id="c",
                           text=f"memory number {i}", observed_at=utcnow(), created_at=utcnow(), updated_at=utcnow())
        if i % 5 == 0:
            src.insert_memories([rec])  # no vector yet
        elif i % 7 == 0:
            src.insert_memories([rec], rng.standard_normal((1, 4)).astype(np.float32), "model-b")
        else:
            src.insert_memories([rec], rng.standard_normal((1, 8)).astype(np.float32), "model-a")
    dst = open_store()
    copied = copy_store(src, dst)
    assert copied["memory"] == n
    assert checksums(src) == checksums(dst)
    assert len(dst.ids_without_vectors("s", limit=n)) == len(range(0, n, 5))
    q = src.get_vectors("s", ["mem_00001"])["mem_00001"]
    assert dst.search_vectors("s", q, Filters(), limit=3) == src.search_vectors("s", q, Filters(), limit=3)
    src.close()

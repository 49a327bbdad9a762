from __future__ import annotations

import asyncio

import pytest

from engramos import AsyncMemory, EmbeddingModelMismatchError, InvalidInputError, Memory, NotFoundError
from engramos.providers.embeddings import Embedder

MSGS = [{"speaker": "Ana", "text": f"Ana note number {i} about gardening", "timestamp": 1700000000 + 60 * i}
        for i in range(5)]


def test_get_list_update_delete_history(memory: Memory):
    memory.add(MSGS, user_id="u", conversation_id="c", flush=True)
    page = memory.list(user_id="u", kinds=["fact"], limit=2)
    assert len(page.items) == 2 and page.next_cursor
    rest = memory.list(user_id="u", kinds=["fact"], limit=10, cursor=page.next_cursor)
    assert {m.id for m in page.items}.isdisjoint({m.id for m in rest.items})
    target = page.items[0]
    assert memory.get(target.id) == target
    updated = memory.update(target.id, text="Ana grows tomatoes on the balcony")
    assert updated.text == "Ana grows tomatoes on the balcony"
    assert memory.search("tomatoes balcony", expand=False).hits[0].memory.id == target.id
    memory.delete(target.id)
    assert memory.get(target.id).status == "deleted"
    assert target.id not in {h.memory.id for h in memory.search("tomatoes balcony").hits}
    assert [h.action for h in memory.history(target.id)] == ["create", "update", "delete"]
    memory.forget(memory_id=target.id)
    with pytest.raises(NotFoundError):
        memory.get(target.id)


def test_bad_arguments_name_the_field(memory: Memory):
    for call, field in [
        (lambda: memory.search(""), "query"),
        (lambda: memory.search("x", top_k=0), "top_k"),
        (lambda: memory.search("x", kinds=["nope"]), "filters.kinds.0"),  # type: ignore[list-item]
        (lambda: memory.search("x", time_range=("2024-01-02", "2024-01-01")), "time_range"),
        (lambda: memory.context("x", budget_tokens=3), "budget_tokens"),
        (lambda: memory.list(limit=0), "limit"),
        (lambda: memory.list(cursor="garbage"), "cursor"),
        (lambda: memory.forget(), "forget"),
        (lambda: memory.update("mem_x"), None),
    ]:
        with pytest.raises((InvalidInputError, NotFoundError)) as err:
            call()
        if field:
            assert err.value.field == field  # type: ignore[union-attr]
    with pytest.raises(NotFoundError):
        memory.history("mem_missing")


def test_forget_user_removes_everything_derived(memory: Memory):
    memory.add(MSGS, user_id="u1", conversation_id="c1", flush=True)
    memory.add([{"speaker": "Bo", "text": "Bo likes gardening too", "timestamp": 1700000000}],
               user_id="u2", conversation_id="c2", flush=True)
    counts = memory.forget(user_id="u1")
    assert counts["messages"] == 5 and counts["memories"] > 5 and counts["scenes"] >= 1
    assert memory.messages("c1") == []
    hits = memory.search("gardening").hits
    assert hits and all(h.memory.user_id == "u2" for h in hits)


def test_embedding_model_mismatch_is_refused(tmp_path, embedder):
    Memory(path=tmp_path / "h", embedder=embedder).close()

    class Other(Embedder):
        model_id, dim = "other-model", 384

        def _embed_batch(self, texts, purpose):
            raise AssertionError("never called")

    with pytest.raises(EmbeddingModelMismatchError):
        Memory(path=tmp_path / "h", embedder=Other())


def test_async_memory_has_the_same_surface(tmp_path, embedder):
    async def run() -> None:
        async with AsyncMemory(path=tmp_path / "a", embedder=embedder) as mem:
            added = await mem.add(MSGS, conversation_id="c", flush=True)
            assert added.inserted == 5
            res = await mem.search("gardening note")
            assert res.hits
            block = await mem.context("gardening", budget_tokens=200)
            assert block.tokens <= 200
            assert (await mem.get(res.hits[0].memory.id)).id == res.hits[0].memory.id

    asyncio.run(run())
    from engramos.memory_async import PUBLIC_METHODS

    assert set(PUBLIC_METHODS) <= set(dir(AsyncMemory))


def test_store_survives_reopen(tmp_path, embedder):
    with Memory(path=tmp_path / "h", embedder=embedder) as mem:
        mem.add(MSGS, conversation_id="c", flush=True)
    with Memory(path=tmp_path / "h", embedder=embedder) as mem:
        assert len(mem.messages("c")) == 5
        assert mem.search("gardening").hits
        assert mem.health()["integrity"] == "ok"

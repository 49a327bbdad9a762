"""The Store contract.  Every backend runs this file unchanged (the ``store`` fixture is
parametrized over the backends); nothing here knows which backend it talks to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from engramos._util import new_id, utcnow
from engramos.errors import NotFoundError, StoreError
from engramos.store import _ranking
from engramos.text import index_terms, query_terms
from engramos.types import Cell, Filters, HistoryEntry, Job, MemoryRecord, Message, Scene, TimeRange

T0 = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)


def msg(space: str = "s1", conv: str = "c1", seq: int = 1, content: str = "hello", user: str = "u1",
        h: str | None = None) -> Message:
    return Message(id=new_id("msg"), space=space, user_id=user, conversation_id=conv, seq=seq,
                   sender="ana", sender_name="Ana", role="user", content=content,
                   timestamp=T0 + timedelta(minutes=seq), content_hash=h or f"{conv}-{seq}-{content}",
                   created_at=utcnow())


def mem(text: str, *, space: str = "s1", user: str = "u1", conv: str = "c1", kind: str = "fact",
        observed: datetime = T0, event: datetime | None = None, message_ids: list[str] | None = None,
        **kw: object) -> MemoryRecord:
    return MemoryRecord(id=new_id("mem"), space=space, kind=kind, user_id=user,  # type: ignore[arg-type]
                        conversation_id=conv, text=text, observed_at=observed, event_start=event,
                        event_end=event, message_ids=message_ids or [], created_at=utcnow(),
                        updated_at=utcnow(), **kw)  # type: ignore[arg-type]


def unit(*xs: float) -> np.ndarray:
    v = np.array(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_health_reports_migrations_and_integrity(store):
    h = store.health()
    assert h["migrations"][:3] == ["0001_core", "0002_job_usage", "0003_keys_audit"]
    assert h["integrity"] == "ok"
    store.insert_memories([mem(f"words for the index {i}") for i in range(200)])
    grown = store.health()
    assert grown["rows_memories"] == 200
    assert grown["index_bytes"] > h["index_bytes"] > 0  # B-trees and the full-text index
    assert grown["size_bytes"] >= grown["index_bytes"]


def test_meta_roundtrip(store):
    assert store.get_meta("k") is None
    store.set_meta("k", "v1")
    store.set_meta("k", "v2")
    assert store.get_meta("k") == "v2"


def test_meta_by_prefix_and_delete(store):
    for key in ("a/s/1", "a/s/2", "a/s_/3", "a/t/1", "b/s/1", "a/%/1"):
        store.set_meta(key, key.upper())
    assert store.meta_items("a/s/") == [("a/s/1", "A/S/1"), ("a/s/2", "A/S/2")]
    assert store.meta_items("a/%") == [("a/%/1", "A/%/1")]  # no wildcard: "%" is a character
    assert [k for k, _ in store.meta_items("a/", limit=2)] == ["a/%/1", "a/s/1"]
    assert store.delete_meta("a/s/1") is True
    assert store.delete_meta("a/s/1") is False
    assert store.get_meta("a/s/1") is None and store.meta_items("a/s/") == [("a/s/2", "A/S/2")]


def test_messages_are_idempotent_by_content_hash(store):
    a = msg(seq=1, h="same")
    b = msg(seq=2, h="same")
    c = msg(seq=3, h="other")
    out = store.insert_messages([a, b, c])
    assert out == [(a.id, True), (a.id, False), (c.id, True)]
    assert store.insert_messages([msg(seq=4, h="other")]) == [(c.id, False)]
    assert [m.id for m in store.list_messages("s1", "c1")] == [a.id, c.id]
    assert store.next_seq("s1", "c1") == 4
    assert store.next_seq("s1", "new") == 1


def test_messages_scoped_by_space(store):
    a = msg(space="s1")
    store.insert_messages([a])
    assert store.get_messages("s2", [a.id]) == []
    assert store.get_messages("s1", [a.id, "msg_unknown"])[0].timestamp == a.timestamp


def test_transaction_rolls_back_everything(store):
    a = msg(seq=1)
    with pytest.raises(RuntimeError), store.transaction():
        store.insert_messages([a])
        store.insert_memories([mem("inside")])
        raise RuntimeError("boom")
    assert store.list_messages("s1", "c1") == []
    assert store.list_memories("s1", Filters()).items == []


def test_backend_errors_become_store_errors(store):
    m = mem("x")
    store.insert_memories([m])
    with pytest.raises(StoreError):
        store.insert_memories([m])  # duplicate id


def test_unassigned_messages_and_cells(store):
    ms = [msg(seq=i, content=f"m{i}") for i in range(1, 5)]
    store.insert_messages(ms)
    assert store.conversations_with_unassigned("s1") == ["c1"]
    cell = Cell(id="cell_1", space="s1", user_id="u1", conversation_id="c1", first_seq=1, last_seq=2,
                start_at=ms[0].timestamp, end_at=ms[1].timestamp)
    store.upsert_cell(cell)
    store.assign_cell("s1", [ms[0].id, ms[1].id], "cell_1")
    assert [m.seq for m in store.list_messages("s1", "c1", unassigned=True)] == [3, 4]
    assert [m.seq for m in store.list_messages("s1", "c1", seq_from=2, seq_to=3)] == [2, 3]
    assert [m.seq for m in store.get_messages_by_seq("s1", "c1", [4, 0, 2, 2])] == [2, 4]
    assert store.get_messages_by_seq("s2", "c1", [1]) == []
    store.upsert_cell(cell.model_copy(update={"status": "extracted"}))
    assert store.get_cell("s1", "cell_1").status == "extracted"
    assert store.get_cell("s2", "cell_1") is None
    assert [c.id for c in store.list_cells("s1", "c1")] == ["cell_1"]


def test_full_text_search_is_scoped_and_ranked(store):
    store.insert_memories([
        mem("Caroline went to the support group", user="u1"),
        mem("Melanie painted a lake at sunrise", user="u1"),
        mem("Caroline support group in another space", space="s2"),
        mem("Caroline support group of another user", user="u2"),
    ])
    hits = store.search_text("s1", ["support", "group"], Filters(user_id="u1"), limit=10)
    texts = [m.text for m in store.get_memories("s1", [h[0] for h in hits])]
    assert texts == ["Caroline went to the support group"]
    assert hits[0][1] > 0
    assert store.search_text("s1", [], Filters(), limit=10) == []
    both = store.search_text("s1", ["support"], Filters(), limit=10)
    assert len(both) == 2  # u1 and u2 of space s1, never s2


def test_full_text_search_stems_english_and_segments_chinese(store):
    store.insert_memories([mem("She adopted two dogs"), mem("我上周五去了上海看望奶奶")])
    assert len(store.search_text("s1", ["adopt", "dog"], Filters(), limit=5)) == 1
    assert len(store.search_text("s1", ["上海"], Filters(), limit=5)) == 1
    assert store.search_text("s1", ["北京"], Filters(), limit=5) == []


def reference_bm25(rows: list[MemoryRecord], terms: list[str],
                   candidates: list[MemoryRecord]) -> list[tuple[str, float]]:
    """BM25 as store/_ranking.py defines it, computed naively over every row of the store."""
    indexed = {r.id: index_terms(r.text) for r in rows}
    n = len(rows)
    avg = sum(_ranking.row_length(t) for t in indexed.values()) / n
    df = {t: sum(t in set(x) for x in indexed.values()) for t in terms}
    out = []
    for r in candidates:
        tokens, length = indexed[r.id], _ranking.row_length(indexed[r.id])
        score = sum(_ranking.idf(n, df[t]) * tokens.count(t) * (_ranking.K1 + 1)
                    / (tokens.count(t) + _ranking.K1 * (1 - _ranking.B + _ranking.B * length / avg))
                    for t in terms if t in tokens)
        if any(t in tokens for t in terms):
            out.append((r.id, score))
    order = {r.id: i for i, r in enumerate(rows)}  # rows are given in the order they were stored
    return sorted(out, key=lambda x: (-x[1], order[x[0]]))


def test_full_text_ranks_by_the_shared_bm25_with_index_wide_statistics(store):
    texts = ["Caroline went to the LGBTQ support group yesterday", "Melanie painted a lake at sunrise",
             "Caroline is researching adoption agencies", "The support group was powerful, Caroline said",
             "Melanie runs, and running keeps her calm; she ran a charity race", "我上周五去了上海看望奶奶",
             "Caroline Caroline Caroline", "a long memory about painting " + "and more words " * 12,
             "The support group was powerful, Caroline said"]  # a tie: the row stored first ranks first
    rows = [mem(t, user=f"u{i % 2}", kind="fact" if i % 3 else "turn") for i, t in enumerate(texts)]
    rows += [mem("Caroline support in another space", space="s2"), mem("gone soon: caroline group", conv="c9")]
    store.insert_memories(rows)
    rows[0] = store.update_memory("s1", rows[0].id, {"text": "Caroline went to the support group on 7 May"})
    rows[1] = store.update_memory("s1", rows[1].id, {"status": "superseded"})
    assert store.delete_memories("s1", [rows[2].id]) == 1
    assert store.forget("s1", conversation_id="c9")["memories"] == 1
    alive = [r for i, r in enumerate(rows) if i != 2 and r.conversation_id != "c9"]
    for query in (["caroline", "support", "group"], ["running", "race"], ["painting"], ["上海", "奶奶"],
                  ["caroline"], ["nothing", "matches"]):
        terms = query_terms(query)
        want = reference_bm25(alive, terms, [r for r in alive if r.space == "s1" and r.status == "active"])
        got = store.search_text("s1", query, Filters(), limit=20)
        assert [g[0] for g in got] == [w[0] for w in want], query
        assert [g[1] for g in got] == pytest.approx([w[1] for w in want], rel=1e-9, abs=1e-9), query


def test_reopening_applies_no_migration_twice(store, open_store):
    a = mem("Caroline went to the support group")
    store.insert_memories([a])
    again = open_store()
    assert again.health()["migrations"] == store.health()["migrations"]
    assert [h[0] for h in again.search_text("s1", ["support"], Filters(), limit=5)] == [a.id]


def test_full_text_query_syntax_is_escaped(store):
    """FTS5 operators and quotes in a query are searched as words, never as syntax."""
    target = mem('quote " and OR NOT NEAR ( parens a:b star*')
    store.insert_memories([target, mem("unrelated words only")])
    for w in ["or", "not", "near", "and", "parens", "quote"]:  # segmented, lower-cased words, as the contract says
        found = [i for i, _ in store.search_text("s1", [w], Filters(), limit=5)]
        assert found == [target.id], w
    for w in ['"', "(", "*", ":"]:  # punctuation alone is no search term
        assert store.search_text("s1", [w], Filters(), limit=5) == []


FILTER_CASES = [
    Filters(),
    Filters(speaker="Ana"),
    Filters(agent_id="ag1"),
    Filters(session_id="s2", kinds=["fact", "turn"]),
    Filters(metadata={"topic": "home"}),
    Filters(metadata={"n": 2}),
    Filters(metadata={"n": {"gte": 2}}),
    Filters(metadata={"n": {"gt": 1, "lt": 3.5}}),
    Filters(metadata={"n": {"lte": "b"}}),
    Filters(metadata={"topic": {"in": ["home", "work"]}}),
    Filters(metadata={"topic": {"not_in": ["home"]}}),
    Filters(metadata={"topic": {"ne": "home"}}),
    Filters(metadata={"flag": True}),
    Filters(metadata={"flag": {"exists": False}}),
    Filters(metadata={"topic": {"exists": True}, "n": {"in": [1, 3]}}),
    Filters(metadata={"topic": {"in": []}}),
]


def test_store_filters_agree_with_filters_matches(store):
    """The SQL both backends build from a Filters selects exactly what Filters.matches
    accepts, for listing, full text and vectors (metadata conditions included)."""
    variants: list[tuple[dict[str, object], dict[str, object]]] = [
        ({"speaker": "Ana", "agent_id": "ag1", "session_id": "s2"}, {"topic": "home", "n": 2, "flag": True}),
        ({"speaker": "Bo"}, {"topic": "work", "n": 3.5}),
        ({"speaker": "Ana", "session_id": "s2"}, {"topic": 2, "n": "a"}),
        ({"agent_id": "ag2"}, {"n": 1, "flag": False}),
        ({}, {}),
        ({"speaker": "Bo", "agent_id": "ag1"}, {"topic": "home", "n": True}),
    ]
    records = [mem(f"shared words row {i}", kind="fact" if i % 2 else "turn", metadata=meta, **scope)
               for i, (scope, meta) in enumerate(variants)]
    store.insert_memories(records, np.stack([unit(1, 0.1 * i) for i in range(len(records))]), "m")
    for f in FILTER_CASES:
        want = {r.id for r in records if f.matches(r)}
        listed = {m.id for m in store.list_memories("s1", f, limit=100).items}
        text = {i for i, _ in store.search_text("s1", ["shared"], f, limit=100)}
        vec = {i for i, _ in store.search_vectors("s1", unit(1, 0), f, limit=100)}
        assert listed == text == vec == want, f


def test_search_filters_kind_status_and_time(store):
    old = mem("trip to Paris", event=datetime(2022, 6, 1, tzinfo=UTC))
    new = mem("trip to Rome", event=datetime(2023, 6, 1, tzinfo=UTC), kind="foresight")
    store.insert_memories([old, new], np.stack([unit(1, 0), unit(1, 0.1)]), "m")
    f = Filters()
    rng = TimeRange(start=datetime(2023, 1, 1, tzinfo=UTC), end=datetime(2023, 12, 31, tzinfo=UTC))
    assert [i for i, _ in store.search_text("s1", ["trip"], f, limit=5, time_range=rng)] == [new.id]
    assert [i for i, _ in store.search_vectors("s1", unit(1, 0), f, limit=5, time_range=rng)] == [new.id]
    assert [i for i, _ in store.search_text("s1", ["trip"], Filters(kinds=["fact"]), limit=5)] == [old.id]
    store.update_memory("s1", old.id, {"status": "deleted"})
    assert [i for i, _ in store.search_vectors("s1", unit(1, 0), f, limit=5)] == [new.id]
    assert [i for i, _ in store.search_text("s1", ["paris"], f, limit=5)] == []
    assert len(store.search_text("s1", ["paris"], Filters(include_inactive=True), limit=5)) == 1


def test_vector_search_is_restricted_to_the_tenant(store):
    a = mem("a", user="u1", conv="c1")
    b = mem("b", user="u1", conv="c2")
    c = mem("c", user="u2", conv="c1")
    d = mem("d", space="s2", user="u1", conv="c1")
    store.insert_memories([a, b, c], np.stack([unit(1, 0), unit(0.9, 0.1), unit(1, 0)]), "m")
    store.insert_memories([d], np.stack([unit(1, 0)]), "m")
    hits = store.search_vectors("s1", unit(1, 0), Filters(user_id="u1"), limit=10)
    assert [h[0] for h in hits] == [a.id, b.id]
    assert hits[0][1] == pytest.approx(1.0, abs=1e-5)
    assert [h[0] for h in store.search_vectors("s1", unit(1, 0), Filters(user_id="u1", conversation_id="c2"),
                                               limit=10)] == [b.id]
    assert {h[0] for h in store.search_vectors("s1", unit(1, 0), Filters(), limit=10)} == {a.id, b.id, c.id}


def test_vector_search_is_exact_and_ordered_by_score_then_row_order(store):
    rng = np.random.default_rng(3)
    vecs = rng.standard_normal((40, 8)).astype(np.float32)
    vecs[7] = vecs[3]  # a duplicate: ties go to the row stored first
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    rows = [mem(f"memory {i}") for i in range(40)]
    store.insert_memories(rows, vecs, "m")
    for q in (vecs[3], unit(*rng.standard_normal(8))):
        got = store.search_vectors("s1", q, Filters(), limit=10)
        sims = vecs @ q
        want = sorted(range(40), key=lambda i: (-round(float(sims[i]), 5), i))[:10]
        assert [g[0] for g in got] == [rows[i].id for i in want]
        assert [g[1] for g in got] == pytest.approx([float(sims[i]) for i in want], abs=1e-5)


def test_bulk_load_keeps_vector_search_exact_and_survives_an_error(store):
    rng = np.random.default_rng(11)
    vecs = rng.standard_normal((60, 8)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    rows = [mem(f"bulk row {i}") for i in range(60)]

    def assert_exact(n: int) -> None:
        for q in vecs[:3]:
            want = sorted(range(n), key=lambda i: (-round(float(vecs[i] @ q), 5), i))[:10]
            assert [g[0] for g in store.search_vectors("s1", q, Filters(), limit=10)] == [rows[i].id for i in want]

    store.insert_memories(rows[:20], vecs[:20], "m")
    with pytest.raises(RuntimeError, match="load aborted"), store.bulk_load(40):
        store.insert_memories(rows[20:40], vecs[20:40], "m")
        assert_exact(40)
        raise RuntimeError("load aborted")
    assert_exact(40)  # what was committed before the error stays, and is found
    with store.bulk_load(20), store.transaction():
        store.insert_memories(rows[40:], vecs[40:], "m")
    assert_exact(60)
    with store.transaction(), pytest.raises(StoreError), store.bulk_load(5):
        pass


def test_vectors_of_two_dimensions_live_side_by_side(store):
    a, b, c = mem("a"), mem("b"), mem("c")
    store.insert_memories([a, b], np.stack([unit(1, 0), unit(0, 1)]), "old-model")
    store.insert_memories([c], np.stack([unit(1, 0, 0)]), "new-model")
    assert [h[0] for h in store.search_vectors("s1", unit(1, 0), Filters(), limit=5)] == [a.id, b.id]
    assert [h[0] for h in store.search_vectors("s1", unit(1, 0, 0), Filters(), limit=5)] == [c.id]


def test_vectors_added_later_and_replaced_are_seen(store):
    a, b = mem("a"), mem("b")
    store.insert_memories([a, b])
    assert set(store.ids_without_vectors("s1")) == {a.id, b.id}
    store.set_vectors("s1", [a.id], np.stack([unit(1, 0)]), "m")
    assert store.search_vectors("s1", unit(1, 0), Filters(), limit=5)[0][0] == a.id
    store.set_vectors("s1", [b.id], np.stack([unit(1, 0)]), "m")
    store.set_vectors("s1", [a.id], np.stack([unit(0, 1)]), "m")
    assert store.search_vectors("s1", unit(1, 0), Filters(), limit=1)[0][0] == b.id
    assert set(store.get_vectors("s1", [a.id, b.id])) == {a.id, b.id}
    with pytest.raises(NotFoundError):
        store.set_vectors("s1", ["mem_nope"], np.stack([unit(1, 0)]), "m")


def test_list_paginates_newest_first(store):
    recs = [mem(f"m{i}", observed=T0 + timedelta(hours=i)) for i in range(7)]
    store.insert_memories(recs)
    seen, cursor = [], None
    while True:
        page = store.list_memories("s1", Filters(), limit=3, cursor=cursor)
        seen += [m.text for m in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [f"m{i}" for i in range(6, -1, -1)]


def test_update_keeps_fulltext_in_step_and_drops_stale_vector(store):
    a = mem("old words")
    store.insert_memories([a], np.stack([unit(1, 0)]), "m")
    updated = store.update_memory("s1", a.id, {"text": "new words"})
    assert updated.text == "new words" and updated.updated_at >= a.updated_at
    assert store.search_text("s1", ["old"], Filters(), limit=5) == []
    assert len(store.search_text("s1", ["new"], Filters(), limit=5)) == 1
    assert store.get_vectors("s1", [a.id]) == {}
    with pytest.raises(NotFoundError):
        store.update_memory("s2", a.id, {"text": "x"})
    with pytest.raises(StoreError):
        store.update_memory("s1", a.id, {"space": "s2"})


def test_delete_memories_removes_index_entries(store):
    a, b = mem("alpha"), mem("beta")
    store.insert_memories([a, b], np.stack([unit(1, 0), unit(0, 1)]), "m")
    assert store.delete_memories("s2", [a.id]) == 0
    assert store.delete_memories("s1", [a.id]) == 1
    assert store.search_text("s1", ["alpha"], Filters(), limit=5) == []
    assert [h[0] for h in store.search_vectors("s1", unit(1, 0), Filters(), limit=5)] == [b.id]


def test_list_by_cells_and_scene(store):
    a, b, c = mem("a", cell_id="cell_a"), mem("b", cell_id="cell_b", scene_id="scn_1"), mem("c")
    store.insert_memories([a, b, c])
    assert {m.id for m in store.list_memories("s1", Filters(), cell_ids=["cell_a", "cell_b"]).items} == {a.id, b.id}
    assert store.list_memories("s1", Filters(), cell_ids=[]).items == []
    assert [m.id for m in store.list_memories("s1", Filters(), scene_id="scn_1").items] == [b.id]


def test_scenes_roundtrip(store):
    sc = Scene(id="scn_1", space="s1", user_id="u1", label="dogs", size=2, first_at=T0, last_at=T0)
    store.upsert_scene(sc, unit(1, 1))
    [(got, centroid)] = store.list_scenes("s1", "u1")
    assert got == sc and np.allclose(centroid, unit(1, 1))
    assert store.list_scenes("s1", "u2") == []


def test_history_is_ordered_and_scoped(store):
    entries = [HistoryEntry(id=new_id("h"), memory_id="mem_1", action=a, actor="t", at=T0 + timedelta(seconds=i),
                            before=None, after={"i": i}) for i, a in enumerate(["create", "update"])]
    store.add_history("s1", entries)
    assert [e.action for e in store.history("s1", "mem_1")] == ["create", "update"]
    assert store.history("s2", "mem_1") == []


def _job(space: str = "s1", **payload: object) -> Job:
    now = utcnow()
    return Job(id=new_id("job"), space=space, kind="k", payload=dict(payload), status="pending", attempts=0,
               max_attempts=3, run_after=now, created_at=now, updated_at=now)


def test_jobs_claim_lease_expiry_and_dedupe(store):
    assert store.enqueue(_job(), dedupe_key="x")
    assert not store.enqueue(_job(), dedupe_key="x")
    [j] = store.claim_jobs("s1", "w1", lease_seconds=60)
    assert j.attempts == 1 and j.status == "running"
    assert store.claim_jobs("s1", "w2", lease_seconds=60) == []
    later = utcnow() + timedelta(seconds=120)
    [again] = store.claim_jobs("s1", "w2", lease_seconds=60, now=later)  # w1 crashed
    assert again.id == j.id and again.attempts == 2
    store.finish_job(j.id, "w1")  # w1 lost its lease: no effect
    assert store.job_counts("s1")["running"] == 1
    store.finish_job(j.id, "w2", {"llm_calls": 2})
    assert store.job_counts("s1")["done"] == 1
    assert store.list_jobs("s1", ["done"])[0].usage == {"llm_calls": 2}
    assert store.job_usage("s1") == {"llm_calls": 2, "prompt_tokens": 0, "completion_tokens": 0}
    assert store.job_usage("s2") == {"llm_calls": 0, "prompt_tokens": 0, "completion_tokens": 0}
    assert store.enqueue(_job(), dedupe_key="x")  # done jobs do not block


def test_work_arriving_for_a_running_job_makes_it_run_again(store):
    """The lost wake-up: a message added while its conversation's segmentation runs is
    deduped against the running job, which may have read its input already; that job
    must then run again rather than finish."""
    assert store.enqueue(_job(), dedupe_key="seg")
    [j] = store.claim_jobs("s1", "w1", lease_seconds=60)
    assert not store.enqueue(_job(), dedupe_key="seg")  # deduped: the running job is told
    store.finish_job(j.id, "w1")
    [again] = store.claim_jobs("s1", "w2", lease_seconds=60)
    assert again.id == j.id and again.attempts == 1
    store.finish_job(again.id, "w2")  # nothing arrived meanwhile: done for good
    assert store.claim_jobs("s1", "w3", lease_seconds=60) == []
    assert store.job_counts("s1")["done"] == 1


def test_jobs_lease_extended_only_by_its_holder(store):
    store.enqueue(_job())
    [j] = store.claim_jobs("s1", "w1", lease_seconds=1)
    assert store.extend_lease(j.id, "w1", lease_seconds=600)
    assert store.claim_jobs("s1", "w2", lease_seconds=60, now=utcnow() + timedelta(seconds=120)) == []
    [again] = store.claim_jobs("s1", "w2", lease_seconds=60, now=utcnow() + timedelta(seconds=700))
    assert again.id == j.id
    assert not store.extend_lease(j.id, "w1", lease_seconds=600)  # w1 lost it to w2
    store.finish_job(j.id, "w2")
    assert not store.extend_lease(j.id, "w2", lease_seconds=600)  # finished


def test_jobs_fail_retry_park_and_requeue(store):
    store.enqueue(_job())
    [j] = store.claim_jobs("s1", "w", lease_seconds=60)
    store.fail_job(j.id, "w", "boom", retry_at=utcnow() + timedelta(hours=1))
    assert store.claim_jobs("s1", "w", lease_seconds=60) == []
    [j] = store.claim_jobs("s1", "w", lease_seconds=60, now=utcnow() + timedelta(hours=2))
    store.fail_job(j.id, "w", "boom again", retry_at=None)
    [parked] = store.list_jobs("s1", ["parked"])
    assert parked.last_error == "boom again"
    assert store.requeue_jobs("s1") == 1
    [j] = store.claim_jobs("s1", "w", lease_seconds=60)
    assert j.attempts == 1


def test_forget_conversation_and_user(store):
    m1, m2, m3 = msg(conv="c1", user="u1"), msg(conv="c2", user="u1", seq=1), msg(conv="c3", user="u2")
    store.insert_messages([m1, m2, m3])
    r1 = mem("one", conv="c1", message_ids=[m1.id])
    r2 = mem("two", conv="c2", message_ids=[m2.id])
    r3 = mem("three", conv="c3", user="u2", message_ids=[m3.id])
    store.insert_memories([r1, r2, r3], np.stack([unit(1, 0)] * 3), "m")
    store.add_history("s1", [HistoryEntry(id="h1", memory_id=r1.id, action="create", actor="t", at=T0)])
    store.enqueue(_job(conversation_id="c1", user_id="u1"))
    counts = store.forget("s1", conversation_id="c1")
    assert counts["messages"] == 1 and counts["memories"] == 1 and counts["jobs"] == 1
    assert store.get_memories("s1", [r1.id]) == [] and store.history("s1", r1.id) == []
    assert store.search_text("s1", ["one"], Filters(), limit=5) == []
    counts = store.forget("s1", user_id="u1")
    assert counts["messages"] == 1 and counts["memories"] == 1
    assert [m.id for m in store.get_memories("s1", [r2.id, r3.id])] == [r3.id]
    assert list(store.iter_tenants("s1")) == [("u2", "c3")]


def test_api_keys_store_only_hashes_and_revoke(store):
    from engramos.types import ApiKey

    k = ApiKey(id="key_1", space="s1", name="ci", role="write", users=["u1"], created_at=T0)
    store.create_key(k, "hash-1")
    assert store.key_by_hash("hash-1") == k
    assert store.key_by_hash("nope") is None
    assert [x.id for x in store.list_keys("s1")] == ["key_1"] and store.list_keys("s2") == []
    assert store.revoke_key("key_1") and not store.revoke_key("key_1")
    assert store.key_by_hash("hash-1").revoked_at is not None
    with pytest.raises(StoreError):
        store.create_key(k.model_copy(update={"id": "key_2"}), "hash-1")  # hashes are unique


def test_audit_log_is_scoped_and_newest_first(store):
    from engramos.types import AuditEntry

    for i in range(3):
        store.add_audit(AuditEntry(id=f"aud_{i}", space="s1", actor="key_1", action="memory.update",
                                   target=f"mem_{i}", at=T0 + timedelta(seconds=i), detail={"i": i}))
    store.add_audit(AuditEntry(id="aud_x", space="s2", actor="k", action="forget", target="u", at=T0))
    assert [e.id for e in store.list_audit("s1")] == ["aud_2", "aud_1", "aud_0"]
    assert [e.id for e in store.list_audit("s1", limit=1, before="aud_2")] == ["aud_1"]
    assert store.list_audit("s1")[0].detail == {"i": 2}


ROLE_MODULES = {"MessageStore": "messages", "MemoryStore": "memories", "SearchIndex": "search", "CellStore": "cells",
                "JobStore": "jobs", "KeyStore": "keys", "ExportStore": "export"}


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_each_backend_mirrors_the_store_roles_file_for_file(backend):
    """Every role protocol of store/base.py is implemented by the module of the same role
    in each backend, and the two backends split the same way."""
    import importlib
    import inspect

    from engramos.store import base

    for role, module_name in ROLE_MODULES.items():
        protocol = getattr(base, role)
        wanted = {n for n, v in vars(protocol).items() if inspect.isfunction(v) and not n.startswith("_")}
        module = importlib.import_module(f"engramos.store.{backend}.{module_name}")
        mixins = [c for c in vars(module).values() if inspect.isclass(c) and c.__module__ == module.__name__
                  and c.__name__.endswith("Mixin")]
        assert len(mixins) == 1, (backend, module_name)
        assert wanted <= set(vars(mixins[0])), (backend, role, wanted - set(vars(mixins[0])))
    assert isinstance(base.Store, type) and issubclass(base.Store, tuple(getattr(base, r) for r in ROLE_MODULES))


def test_a_vector_set_on_an_older_row_after_a_search_is_found(store, open_store):
    """Jobs finish out of order (two workers, a retry): a turn embedded after newer
    memories were searched must still be found, by this process and by another."""
    older, newer = mem("the kiln reached 1200 degrees"), mem("tomatoes on the balcony")
    store.insert_memories([older])  # stored first, embedded later
    store.insert_memories([newer], np.stack([unit(0, 1)]), "m")
    assert [i for i, _ in store.search_vectors("s1", unit(1, 0), Filters(user_id="u1"), limit=5)] == [newer.id]
    other = open_store()  # another process's handle, its cache filled now
    assert [i for i, _ in other.search_vectors("s1", unit(1, 0), Filters(user_id="u1"), limit=5)] == [newer.id]
    store.set_vectors("s1", [older.id], np.stack([unit(1, 0)]), "m")
    for handle in (store, other):
        assert [i for i, _ in handle.search_vectors("s1", unit(1, 0), Filters(user_id="u1"), limit=5)] == \
            [older.id, newer.id]


def test_superseded_citing_finds_the_stale_memories_of_messages(store):
    old_fact = mem("lives in Leeds", message_ids=["m1"], status="superseded")
    old_profile = mem("home: Leeds", kind="profile", message_ids=["m1", "m2"], status="superseded",
                      observed=T0 + timedelta(days=1))
    current = mem("lives in Glasgow", message_ids=["m3"])
    turn = mem("Ana: I live in Leeds", kind="turn", message_ids=["m4"], status="superseded")
    elsewhere = mem("lives in Leeds", space="s2", message_ids=["m5"], status="superseded")
    store.insert_memories([old_fact, old_profile, current, turn, elsewhere])
    assert store.superseded_citing("s1", ["m1", "m2", "m3", "m4", "m5", "m_unknown"]) == \
        {"m1": old_profile.id, "m2": old_profile.id}
    assert store.superseded_citing("s1", []) == {}


def test_successors_name_the_newest_memory_that_replaced_each(store):
    old, mid_value = mem("lives in Leeds"), mem("lives in York", observed=T0 + timedelta(days=1))
    store.insert_memories([old, mid_value])
    newest = mem("lives in Glasgow", observed=T0 + timedelta(days=2), supersedes=old.id)
    again = mem("lives in York again", observed=T0 + timedelta(days=1), supersedes=old.id)
    other_space = mem("elsewhere", space="s2", supersedes=old.id)
    store.insert_memories([newest, again, other_space])
    assert store.successors("s1", [old.id, mid_value.id, "mem_unknown"]) == {old.id: newest.id}
    assert store.successors("s2", [old.id]) == {old.id: other_space.id}
    assert store.successors("s1", []) == {}

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engramos import Memory
from engramos.config import Config, RerankerConfig
from engramos.recall.context import assemble
from engramos.recall.fusion import rrf
from engramos.recall.query import analyze
from engramos.recall.rerank import HttpReranker
from engramos.text import count_tokens

CONV = [
    ("Caroline", "I went to a LGBTQ support group yesterday and it was so powerful.", "2023-05-08T13:56:00Z", "D1:3"),
    ("Melanie", "That's amazing! I painted a lake sunrise last year.", "2023-05-08T13:57:00Z", "D1:4"),
    ("Caroline", "I'm planning to study counseling next year.", "2023-05-08T13:58:00Z", "D1:5"),
    ("Melanie", "We went camping with the kids last weekend, they loved the stars.", "2023-06-20T10:00:00Z", "D2:1"),
    ("Caroline", "I signed up for a pottery workshop that starts next month.", "2023-06-20T10:01:00Z", "D2:2"),
    ("Melanie", "My daughter turned seven two days ago!", "2023-06-20T10:02:00Z", "D2:3"),
]


@pytest.fixture
def loaded(memory: Memory) -> Memory:
    memory.add([{"speaker": s, "text": t, "timestamp": ts, "id": i} for s, t, ts, i in CONV],
               user_id="u", conversation_id="conv", flush=True)
    return memory


def test_rrf_sums_reciprocal_ranks():
    fused = rrf([([("a", 9.0), ("b", 1.0)], 1.0), ([("b", 0.9)], 1.0)], k=60)
    assert fused["b"] == pytest.approx(1 / 62 + 1 / 61) and fused["a"] == pytest.approx(1 / 61)


def test_query_analysis_finds_time_range_and_when_questions():
    ref = datetime(2023, 7, 1, tzinfo=UTC)
    plan = analyze("What did Melanie do last month?", ref)
    assert plan.time_range is not None and plan.time_range.start.date().isoformat() == "2023-06-01"
    assert not plan.wants_date
    assert analyze("When did Caroline go to the support group?", ref).wants_date
    assert analyze("玛雅什么时候去的上海？", ref).wants_date
    assert "caroline" in analyze("When did Caroline go?", ref).words


def test_search_returns_cited_dated_hits_with_score_breakdown(loaded: Memory):
    res = loaded.search("When did Caroline go to the LGBTQ support group?", user_id="u")
    top = res.hits[0]
    assert "D1:3" in [c.label() for c in top.citations]
    assert "7 May 2023" in top.memory.text
    assert top.scores.fusion > 0 and (top.scores.bm25 or top.scores.vector)
    assert res.wants_date


def test_time_range_in_question_prefers_matching_items(loaded: Memory):
    res = loaded.search("What did Melanie do last weekend?", user_id="u",
                        reference_time="2023-06-20T12:00:00Z")
    assert res.time_range is not None
    assert "camping" in res.hits[0].memory.text


def test_explicit_time_range_and_kind_filters(loaded: Memory):
    res = loaded.search("Melanie", time_range=("2023-06-01T00:00:00Z", "2023-06-30T23:59:59Z"),
                        kinds=["fact"], expand=False)
    assert res.hits and all(h.memory.kind == "fact" for h in res.hits)
    assert res.hits[0].memory.observed_at.month == 6


def test_expansion_reaches_neighbours_and_the_cell_episode(loaded: Memory):
    from engramos.recall.expand import expansions
    from engramos.records import turn_id

    [seed] = [m for m in loaded.list(kinds=["fact", "foresight"]).items if "pottery" in m.text]
    found = expansions(loaded._store, loaded.space, [(seed, 1.0)], loaded.config.recall)
    msgs = loaded.messages("conv")
    pos = next(i for i, m in enumerate(msgs) if m.id == seed.message_ids[0])
    neighbours = {i for i, _, how in found if how == "neighbour"}
    assert neighbours == {turn_id(msgs[pos - 1].id), turn_id(msgs[pos + 1].id)}
    assert any(how == "cell" for _, _, how in found) and all(s < 1.0 for _, s, _ in found)
    episode = next(i for i, _, how in found if how == "cell")
    assert loaded.get(episode).kind == "episode" and loaded.get(episode).cell_id == seed.cell_id


def test_context_is_chronological_cited_and_within_budget(loaded: Memory):
    # asked when the plans were still ahead (asked today, they are past plans and sink)
    block = loaded.context("What are Caroline's plans?", user_id="u", budget_tokens=120,
                           reference_time="2023-06-21T00:00:00Z")
    assert block.tokens <= 120 and count_tokens(block.text) == block.tokens
    assert "(D1:5)" in block.text or "D1:5" in block.text
    lines = [ln for ln in block.text.splitlines() if ln.startswith("[")]
    dates = [datetime.strptime(ln[1:ln.index("]")] + " +0000", "%d %B %Y %z") for ln in lines]
    assert dates == sorted(dates)
    big = loaded.context("What are Caroline's plans?", user_id="u", budget_tokens=2000)
    assert len(big.message_ids) >= len(block.message_ids)


def test_context_skips_items_whose_messages_are_covered(loaded: Memory):
    res = loaded.search("support group", user_id="u", top_k=30)
    block = assemble(res.query, res.hits, 4000)
    chosen = {h.memory.id for h in block.hits}
    covered: list[str] = []
    for h in res.hits:  # in rank order, the order assembly takes them in
        if h.memory.id in chosen:
            assert not set(h.memory.message_ids) <= set(covered)
            covered += h.memory.message_ids
        else:
            assert set(h.memory.message_ids) <= set(covered)  # skipped: nothing new


def test_top_k_counts_distinct_evidence_and_each_hit_says_what_it_covers(loaded: Memory):
    every = loaded.search("What did Melanie paint?", user_id="u", top_k=50, collapse=False)
    # stored several ways: the turn, its fact and the episode of its cell each come back
    painted = [h for h in every.hits if any(c.label() == "D1:4" for c in h.citations)]
    assert {h.memory.kind for h in painted} >= {"turn", "fact", "episode"}
    res = loaded.search("What did Melanie paint?", user_id="u", top_k=50)
    cited = [set(h.memory.message_ids) for h in res.hits]
    for i, a in enumerate(cited):  # no hit's messages hold or lie within another's
        assert not any(a <= b or b <= a for b in cited[i + 1:])
    ids = {h.memory.id for h in res.hits} | {c.memory_id for h in res.hits for c in h.covers}
    assert ids >= {h.memory.id for h in every.hits}  # nothing lost: folded, and said so
    top = res.hits[0]
    assert "D1:4" in [c.label() for c in top.citations] and top.covers
    assert all(c.score <= top.score for c in top.covers)
    assert len(res.hits) < len(every.hits)
    assert len(loaded.search("What did Melanie paint?", user_id="u", top_k=2).hits) == 2


def test_http_reranker_over_a_real_socket(http_server, tmp_path, embedder):
    def route(path, body):
        return 200, {"results": [{"index": i, "relevance_score": float("pottery" in d)}
                                 for i, d in enumerate(body["documents"])]}

    url = http_server(route)
    assert HttpReranker(url).score("q", ["a pottery class", "camping"]) == [1.0, 0.0]
    cfg = Config(home=tmp_path / "h", reranker=RerankerConfig(provider="http", url=url, weight=1.0))
    mem = Memory(config=cfg, embedder=embedder)
    mem.add([{"speaker": s, "text": t, "timestamp": ts} for s, t, ts, _ in CONV], conversation_id="c", flush=True)
    res = mem.search("what happened in June?", expand=False)
    assert res.hits[0].scores.rerank == 1.0 and "pottery" in res.hits[0].memory.text
    mem.close()


def test_embedding_reranker_with_second_model(tmp_path, embedder):
    pytest.importorskip("onnxruntime")
    cfg = Config(home=tmp_path / "h", reranker=RerankerConfig(provider="embedding"))
    mem = Memory(config=cfg, embedder=embedder)
    mem.add([{"speaker": s, "text": t, "timestamp": ts} for s, t, ts, _ in CONV], conversation_id="c", flush=True)
    res = mem.search("stars and tents with children")
    assert res.hits[0].scores.rerank is not None
    assert "camping" in res.hits[0].memory.text
    mem.close()


def test_chinese_message_recall(memory: Memory):
    memory.add([{"speaker": "玛雅", "text": "我上周五去了上海看望我的奶奶。", "timestamp": "2024-04-20T09:36:00+08:00"},
                {"speaker": "Leo", "text": "Porto is lovely in spring.", "timestamp": "2024-04-20T09:37:00+08:00"}],
               conversation_id="zh", flush=True)
    res = memory.search("玛雅去上海看谁了？")
    assert "上海" in res.hits[0].memory.text and "2024年4月12日" in res.hits[0].memory.text


def test_a_question_reaches_memories_through_the_entities_it_names(tmp_path, embedder):
    """"Mel" is an alias of Melanie in the entity graph: the memories that name Melanie
    come back through it (``scores.entity``), never another user's."""
    with Memory(tmp_path / "ents", embedder=embedder) as mem:
        mem.add([{"speaker": "Caroline", "text": "Melanie painted a lake at sunrise, it was stunning.",
                  "timestamp": "2023-05-08T10:00:00Z", "id": "c1"},
                 {"speaker": "Caroline", "text": "Mel said hi from the studio.", "timestamp": "2023-05-09T10:00:00Z",
                  "id": "c2"}], user_id="u1", conversation_id="a", flush=True)
        mem.add([{"speaker": "Dora", "text": "Melanie painted my fence.", "timestamp": "2023-05-08T10:00:00Z",
                  "id": "d1"}], user_id="u2", conversation_id="b", flush=True)
        hits = mem.search("What did Mel paint?", user_id="u1", top_k=10).hits
        through = [h for h in hits if h.scores.entity is not None]
        assert through and any("lake" in h.memory.text for h in through)
        assert all(h.memory.user_id == "u1" for h in hits)


def test_a_time_word_said_in_passing_in_a_dialogue_does_not_override_its_topic(tmp_path, embedder):
    with Memory(tmp_path / "dlg", embedder=embedder) as mem:
        for mid, day, text in (
                ("w", "2024-07-13", "Went to my cousin's wedding in Lyon, lovely weekend."),
                ("s", "2024-08-02", "Tried surfing in Biarritz for the first time, so much fun."),
                ("b", "2024-08-20", "Picked up a second-hand road bike for the summer rides."),
                ("k", "2025-02-01", "My knee is acting up again, the physio says no running for a month.")):
            mem.add([{"speaker": "Ana", "text": text, "timestamp": f"{day}T18:00:00Z", "id": mid}],
                    user_id="ana", conversation_id=mid, flush=True)
        dialogue = ("Bo: hey, how are you holding up?\n"
                    "Ana: not great honestly, it's like last summer all over again, I can't do anything fun\n"
                    "Bo: oh no, is it your knee again? what did the physio say?")
        res = mem.search(dialogue, user_id="ana", reference_time="2025-03-01T12:00:00Z", top_k=3)
        assert res.time_range is not None and res.time_range_soft  # found, and only a tie-breaker
        assert [c.label() for c in res.hits[0].citations] == ["k"]
        # the same words as the question itself still keep to their time
        asked = mem.search("What did Ana do last summer?", user_id="ana", reference_time="2025-03-01T12:00:00Z")
        assert not asked.time_range_soft and asked.hits[0].citations[0].label() in {"w", "s", "b"}


def test_a_dialogue_query_embeds_its_latest_lines_once_each(embedder):
    import numpy as np

    from engramos.recall.query_vector import DIALOGUE_VECTOR_CHARS, QueryEmbedder, latest_lines

    turns = [f"{'Ana' if i % 2 else 'Bo'}: line {i} about the garden, the tomatoes and the new shed"
             for i in range(30)]
    dialogue = "\n".join(turns)
    kept = latest_lines(dialogue)
    assert kept == turns[-len(kept):] and 1 < len(kept) < 30
    assert sum(map(len, kept)) <= DIALOGUE_VECTOR_CHARS
    assert latest_lines("x" * 5000) == ["x" * DIALOGUE_VECTOR_CHARS]  # one long line: its tail
    cold, warm = QueryEmbedder(embedder), QueryEmbedder(embedder)
    warm.vector("\n".join(turns[:-1]))  # the window before the newest line
    before = embedder.texts_embedded
    v = warm.vector(dialogue)
    assert embedder.texts_embedded - before == 1  # only the newest line was embedded
    assert np.allclose(v, cold.vector(dialogue), atol=1e-6)  # the cache never changes the result
    assert abs(float(np.linalg.norm(v)) - 1.0) < 1e-5
    question = "What did Ana plant?"
    assert np.allclose(cold.vector(question), embedder.embed_query(question), atol=1e-6)


def test_a_dialogue_query_does_not_return_the_lines_it_holds(tmp_path, embedder):
    with Memory(tmp_path / "said", embedder=embedder) as mem:
        lines = [("Ana", "I finally booked the flights to Lisbon for March.", "2024-01-10T09:00:00Z", "a1"),
                 ("Bo", "Nice! Are you staying in Alfama again?", "2024-01-10T09:01:00Z", "a2"),
                 ("Ana", "Yes, the same little flat near the tram stop.", "2024-01-10T09:02:00Z", "a3"),
                 ("Ana", "We went to Lisbon in 2019 and loved the tram 28 ride.", "2023-06-01T10:00:00Z", "o1")]
        mem.add([{"speaker": s, "text": t, "timestamp": ts, "id": i} for s, t, ts, i in lines],
                user_id="ana", conversation_id="c", flush=True)
        dialogue = "\n".join(f"{s}: {t}" for s, t, _, _ in lines[:3]) + "\nBo: when were you there before?"
        res = mem.search(dialogue, user_id="ana", reference_time="2024-01-10T09:03:00Z", collapse=False)
        cited = [{c.label() for c in h.citations} for h in res.hits]
        assert cited and cited[0] == {"o1"}  # the news: what the dialogue does not already say
        assert not any(c <= {"a1", "a2", "a3"} for c in cited)  # the caller's own lines are not hits
        assert all(h.memory.kind != "episode" or h.via == "cell" for h in res.hits)

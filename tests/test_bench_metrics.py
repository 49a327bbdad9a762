from __future__ import annotations

import math

import pytest

from engramos.bench import metrics as M


def test_evidence_recall_partial_duplicates_and_empty():
    assert M.evidence_recall({"D1:1", "D1:2"}, ["D1:1", "D1:1", "D9:9"]) == 0.5
    assert M.evidence_recall({"D1:1"}, []) == 0.0
    assert M.evidence_recall(set(), ["D1:1"]) is None  # no gold: left out, not 0 or 1


def test_recall_at_k_counts_each_evidence_once_and_respects_k():
    units = [{"a"}, {"a"}, {"b", "c"}, {"d"}]
    assert M.recall_at_k({"a", "b"}, units, 1) == 0.5
    assert M.recall_at_k({"a", "b"}, units, 2) == 0.5  # a duplicate hit adds nothing
    assert M.recall_at_k({"a", "b"}, units, 3) == 1.0
    assert M.recall_at_k(set(), units, 3) is None
    assert M.recall_at_k({"a"}, [], 5) == 0.0


def test_session_keys_recall_any_all_and_ndcg():
    units = [{"s2:0"}, {"s1:3", "s2:1"}, {"s3:0"}]
    keys = M.ranked_keys(units, {"s1:3": "s1", "s2:0": "s2", "s2:1": "s2", "s3:0": "s3"})
    assert keys == ["s2", "s1", "s3"]
    assert M.recall_any({"s1", "s9"}, keys, 2) == 1.0
    assert M.recall_all({"s1", "s9"}, keys, 3) == 0.0
    assert M.recall_all({"s1", "s2"}, keys, 2) == 1.0
    assert M.ndcg({"s1"}, keys, 3) == pytest.approx(1 / math.log2(3))
    assert M.ndcg({"s2"}, keys, 3) == 1.0
    assert M.ndcg({"s1", "s2"}, keys, 2) == pytest.approx(1.0)
    assert M.ndcg(set(), keys, 3) is None


def test_answer_in_context_normalises_and_accepts_all_content_words():
    assert M.answer_in_context("7 May 2023", "Caroline went (7 May, 2023).")
    assert M.answer_in_context("The Lisbon office", "she works at an office in lisbon")
    assert not M.answer_in_context("Porto", "she lives in Lisbon")
    assert not M.answer_in_context("", "anything")
    assert M.is_short_answer("7 May 2023") and not M.is_short_answer(None)
    assert not M.is_short_answer("a long answer with many many words in it here")


def test_percentiles_and_mean():
    p = M.percentiles([1.0, 2.0, 3.0, 4.0, 100.0])
    assert p["p50"] == 3.0 and p["p99"] > 90
    assert math.isnan(M.percentiles([])["p50"])
    assert M.mean([None, 1.0, 0.0]) == 0.5 and M.mean([None]) is None


def test_informal_pieces_keep_their_turn_and_the_same_seed_gives_the_same_variant():
    from datetime import UTC, datetime

    from engramos.bench.datasets import Conversation, Question, Turn
    from engramos.bench.variants import informal

    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    turns = [Turn("D1:1", "s1", "Ana", "user", "Hello there! I moved to Porto. It is sunny.", t0),
             Turn("D1:3", "s1", "Ana", "user", "...", t0.replace(minute=2)),
             Turn("D1:2", "s1", "Ben", "user", "Nice.", t0.replace(minute=1))]
    conv = Conversation("c", [("s1", t0, turns)],
                        [Question("q", "Where?", "Porto", "single-hop", {"D1:1"}, {"s1"}, t0)])
    (v,) = informal([conv])
    pieces = [t for t in v.turns if v.parent.get(t.id) == "D1:1"]
    assert [t.id for t in pieces] == ["D1:1#1", "D1:1#2", "D1:1#3"] and v.parent["D1:2"] == "D1:2"
    assert [t.timestamp for t in pieces] == sorted(t.timestamp for t in pieces) < [turns[1].timestamp]
    assert " ".join(t.text.lower().strip(".!") for t in pieces).startswith("hello there")
    assert v.questions[0].evidence_turns == {"D1:1"}  # gold stays by turn
    assert [t.text for t in informal([conv])[0].turns] == [t.text for t in v.turns]  # deterministic
    assert all(t.text.strip() for seed in range(20) for t in informal([conv], seed=seed)[0].turns)  # never empty

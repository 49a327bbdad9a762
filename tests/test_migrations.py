"""Migration 0004 (shared index terms) on a store written before it: both backends
re-index their rows and then rank exactly like a store created afresh."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from engramos.text import query_terms, words
from engramos.types import Filters

from .test_store_contract import mem, reference_bm25

_NAME = "0004_shared_index_terms"


def _as_before_0004(store: Any) -> None:
    """Puts the store's full-text index back in its pre-0004 form (the database stemmed)."""
    if store.backend == "sqlite":
        conn = sqlite3.connect(store.path)
        with conn:
            conn.execute("DROP TABLE memories_fts")
            conn.execute("CREATE VIRTUAL TABLE memories_fts USING fts5 (scope, body, "
                         "tokenize = 'porter unicode61 remove_diacritics 2')")
            for pk, text in conn.execute("SELECT pk, text FROM memories").fetchall():
                conn.execute("INSERT INTO memories_fts (rowid, scope, body) VALUES (?, 'x', ?)",
                             (pk, " ".join(words(text, keep_stopwords=True))))
            conn.execute("DELETE FROM schema_migrations WHERE name = ?", (_NAME,))
        conn.close()
        return
    with store.transaction():
        for sql in ("ALTER TABLE memories DROP COLUMN doc_len", "DROP TABLE text_terms", "DROP TABLE text_totals",
                    "UPDATE memories SET tsv = to_tsvector('english', text)"):
            store._x(sql)
        store._x("DELETE FROM schema_migrations WHERE name = %s", (_NAME,))


def test_stores_written_before_0004_are_reindexed(store, open_store):
    rows = [mem("Caroline went to the LGBTQ support group yesterday"), mem("Melanie runs; running calms her"),
            mem("The support group was powerful, Caroline said", user="u2"), mem("我上周五去了上海看望奶奶")]
    store.insert_memories(rows)
    store.close()
    old = open_store()
    _as_before_0004(old)
    assert _NAME not in old.health()["migrations"]
    old.close()
    new = open_store()
    assert _NAME in new.health()["migrations"]
    for query in (["caroline", "support"], ["running"], ["上海"]):
        want = reference_bm25(rows, query_terms(query), rows)
        got = new.search_text("s1", query, Filters(), limit=10)
        assert [g[0] for g in got] == [w[0] for w in want]
        assert [g[1] for g in got] == pytest.approx([w[1] for w in want], rel=1e-9, abs=1e-9)

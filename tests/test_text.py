"""Index terms: the one tokenizer both store backends index and query with."""

from __future__ import annotations

import random
import string
from concurrent.futures import ThreadPoolExecutor

import snowballstemmer

from engramos.text import index_terms, query_terms, stem


def test_index_terms_stem_english_and_keep_chinese_words():
    assert index_terms("Melanie's running; she ran races") == ["melani", "run", "she", "ran", "race"]
    assert index_terms("I don't know") == ["i", "dont", "know"]
    assert index_terms("我上周五去了上海") == ["我", "上周五", "去", "了", "上海"]
    assert query_terms(["running", "runs", "run", " "]) == ["run"]


def test_stemming_is_thread_safe():
    """Scale ingest stems from several writer threads at once (a shared Snowball
    stemmer raised IndexError there)."""
    rng = random.Random(1)
    words = ["".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 12))) for _ in range(50_000)]
    reference = snowballstemmer.stemmer("english")
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(stem, words, chunksize=50))
    assert got == [reference.stemWord(w) for w in words]

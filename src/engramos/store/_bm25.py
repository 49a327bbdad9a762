"""The one BM25 both backends rank full text by.

It is the Okapi BM25 that SQLite's FTS5 ``bm25()`` computes, written down so that the
PostgreSQL backend computes the same numbers from the same inputs:

* terms come from :func:`engramos.text.index_terms` (segmentation and stemming happen
  in Python, once, for both backends);
* statistics are index-wide, as in FTS5, Lucene and Elasticsearch: ``N`` rows, ``n(t)``
  rows containing term ``t``, the average row length;
* a row's length counts its words plus the :data:`SCOPE_TOKENS` tenancy tokens that the
  SQLite index stores beside them (space, user, conversation, kind, status);
* ``idf(t) = ln((N - n(t) + 0.5) / (n(t) + 0.5))``, floored at 1e-6 for terms in more than
  half the rows; ``score = sum idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avglen))``.
"""

from __future__ import annotations

import math

K1 = 1.2
B = 0.75
SCOPE_TOKENS = 5
_MIN_IDF = 1e-6


def idf(rows: int, rows_with_term: int) -> float:
    value = math.log((rows - rows_with_term + 0.5) / (rows_with_term + 0.5))
    return value if value > 0 else _MIN_IDF


def row_length(terms: list[str]) -> int:
    return len(terms) + SCOPE_TOKENS

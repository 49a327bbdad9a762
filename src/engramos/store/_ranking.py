"""What both backends agree on when they rank, so that one query gives the same hits in
the same order on SQLite and on PostgreSQL.

Vectors: cosine similarity rounded to :data:`COSINE_DECIMALS` places (float32 precision;
SQLite computes in float32, pgvector partly in double, so unrounded scores differ in the
eighth digit and would break near-ties differently), ties broken by row order.

Full text: the Okapi BM25 that SQLite's FTS5 ``bm25()`` computes, written down so that the
PostgreSQL backend computes the same numbers from the same inputs:

* terms come from :func:`engramos.text.index_terms` (segmentation and stemming happen
  in Python, once, for both backends);
* statistics are index-wide, as in FTS5, Lucene and Elasticsearch: ``N`` rows, ``n(t)``
  rows containing term ``t``, the average row length;
* a row's length counts its words plus the :data:`SCOPE_TOKENS` tenancy tokens that the
  SQLite index stores beside them (space, user, conversation, kind, status);
* scores are rounded to :data:`BM25_DECIMALS` places before ordering (the summation
  order of the terms differs between, and even within, the databases' plans, which moves
  the last bits), and ties go by row order, as for vectors;
* ``idf(t) = ln((N - n(t) + 0.5) / (n(t) + 0.5))``, floored at 1e-6 for terms in more than
  half the rows; ``score = sum idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avglen))``.
"""

from __future__ import annotations

import math

COSINE_DECIMALS = 6
BM25_DECIMALS = 9
K1 = 1.2
B = 0.75
SCOPE_TOKENS = 5
_MIN_IDF = 1e-6


def idf(rows: int, rows_with_term: int) -> float:
    value = math.log((rows - rows_with_term + 0.5) / (rows_with_term + 0.5))
    return value if value > 0 else _MIN_IDF


def row_length(terms: list[str]) -> int:
    return len(terms) + SCOPE_TOKENS

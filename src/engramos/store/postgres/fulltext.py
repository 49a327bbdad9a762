"""Full text on PostgreSQL, ranked by the BM25 of :mod:`engramos.store._ranking`.

Rows store their index terms (from :func:`engramos.text.index_terms`) as a ``tsvector``
built literally, so PostgreSQL neither parses nor stems them: the positions give each
term's frequency, ``doc_len`` the row length.  The index-wide statistics BM25 needs live
in two tables kept exact by the writers' own transactions:

* ``text_terms (term, df)``: rows containing each term;
* ``text_totals (shard, docs, tokens)``: row count and summed row lengths, spread over
  :data:`_SHARDS` rows keyed by the writer's backend so concurrent writers rarely meet.

A transaction collects its changes in a :class:`TextStatsDelta` and applies them in one
statement just before it commits, terms in sorted order: every writer takes the same row
locks in the same order and holds them only for the commit, so writers never deadlock.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from ...text import index_terms
from .. import _ranking

_SHARDS = 16


def tsvector_literal(terms: Sequence[str]) -> str:
    """``'term':1,4 'other':2`` for terms in row order (positions are 1-based)."""
    positions: dict[str, list[int]] = {}
    for i, term in enumerate(terms, start=1):
        positions.setdefault(term, []).append(min(i, 16383))  # PostgreSQL's largest position
    return " ".join(f"{_quote(t)}:{','.join(map(str, dict.fromkeys(p)))}" for t, p in positions.items())


def tsquery_literal(terms: Iterable[str]) -> str:
    return " | ".join(_quote(t) for t in terms)


def _quote(term: str) -> str:
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def indexed(text: str) -> tuple[list[str], str, int]:
    """The index terms of ``text``, their tsvector literal and the row length."""
    terms = index_terms(text)
    return terms, tsvector_literal(terms), _ranking.row_length(terms)


class TextStatsDelta:
    """Changes to the index-wide statistics made by one transaction."""

    def __init__(self) -> None:
        self.df: Counter[str] = Counter()
        self.docs = 0
        self.tokens = 0

    def clear(self) -> None:
        self.df.clear()
        self.docs = self.tokens = 0

    def add(self, distinct_terms: Iterable[str], row_length: int, sign: int = 1) -> None:
        for term in set(distinct_terms):
            self.df[term] += sign
        self.docs += sign
        self.tokens += sign * row_length

    def flush(self, cur: Any) -> None:
        if self.docs or self.tokens:
            cur.execute("INSERT INTO text_totals VALUES (pg_backend_pid() %% %s, %s, %s) ON CONFLICT (shard) DO "
                        "UPDATE SET docs = text_totals.docs + excluded.docs, "
                        "tokens = text_totals.tokens + excluded.tokens", (_SHARDS, self.docs, self.tokens))
        changed = sorted((t, d) for t, d in self.df.items() if d)
        if changed:
            cur.execute("INSERT INTO text_terms (term, df) SELECT * FROM unnest(%s::text[], %s::bigint[]) AS c(t, d) "
                        "ORDER BY t ON CONFLICT (term) DO UPDATE SET df = text_terms.df + excluded.df",
                        ([t for t, _ in changed], [d for _, d in changed]))
            gone = [t for t, d in changed if d < 0]
            if gone:  # a term no row holds any more is not kept (it may be forgotten text)
                cur.execute("DELETE FROM text_terms WHERE term = ANY(%s) AND df <= 0", (gone,))
        self.clear()


# A row's BM25 over the query terms ``q(term, w)`` (w = idf), as FTS5 computes it; every
# constant is float8 so that PostgreSQL does the same double arithmetic as SQLite.
_SCORE = (f"sum(q.w * (t.tf * ({_ranking.K1}::float8 + 1.0::float8)) / (t.tf + {_ranking.K1}::float8 * "
          f"(1.0::float8 - {_ranking.B}::float8 + {_ranking.B}::float8 * m.doc_len::float8 / %s::float8)))")


def search(cur: Any, terms: Sequence[str], where: str, args: Sequence[Any], limit: int) -> list[tuple[str, float]]:
    """The ``limit`` best rows (by BM25, then row order) matching any of ``terms`` and ``where``
    (a condition on ``m``, the memories table)."""
    cur.execute("SELECT coalesce(sum(docs), 0), coalesce(sum(tokens), 0) FROM text_totals")
    rows, tokens = (int(x) for x in cur.fetchone())
    if rows <= 0:
        return []
    cur.execute("SELECT term, df FROM text_terms WHERE term = ANY(%s) AND df > 0", (list(terms),))
    df = dict(cur.fetchall())
    present = [t for t in terms if t in df]
    if not present:
        return []
    weights = [_ranking.idf(rows, int(df[t])) for t in present]
    cur.execute(
        "WITH q(term, w) AS (SELECT * FROM unnest(%s::text[], %s::float8[])) "
        f"SELECT m.id, round(({_SCORE})::numeric, {_ranking.BM25_DECIMALS}) AS s FROM memories m "
        "CROSS JOIN LATERAL (SELECT u.lexeme, cardinality(u.positions)::float8 AS tf FROM unnest(m.tsv) u) t "
        f"JOIN q ON q.term = t.lexeme WHERE m.tsv @@ %s::tsquery AND {where} "
        "GROUP BY m.pk, m.id ORDER BY s DESC, m.pk LIMIT %s",
        [present, weights, tokens / rows, tsquery_literal(present), *args, limit])
    return [(r[0], float(r[1])) for r in cur.fetchall()]


def migrate_to_shared_terms(cur: Any) -> None:
    """Migration 0004: rows get the shared index terms (instead of PostgreSQL's English
    stemming), ``doc_len``, and the statistics tables, filled from the rows."""
    cur.execute("ALTER TABLE memories ADD COLUMN doc_len INTEGER NOT NULL DEFAULT 0")
    cur.execute("CREATE TABLE text_terms (term TEXT PRIMARY KEY, df BIGINT NOT NULL)")
    cur.execute("CREATE TABLE text_totals (shard INTEGER PRIMARY KEY, docs BIGINT NOT NULL, tokens BIGINT NOT NULL)")
    last = 0
    while True:
        cur.execute("SELECT pk, text FROM memories WHERE pk > %s ORDER BY pk LIMIT 5000", (last,))
        batch = cur.fetchall()
        if not batch:
            break
        updates = []
        for pk, text in batch:
            _, tsv, length = indexed(text)
            updates.append((tsv, length, pk))
        cur.executemany("UPDATE memories SET tsv = %s::tsvector, doc_len = %s WHERE pk = %s", updates)
        last = batch[-1][0]
    cur.execute("INSERT INTO text_terms SELECT u.lexeme, count(*) FROM memories m, unnest(m.tsv) u GROUP BY u.lexeme")
    cur.execute("INSERT INTO text_totals SELECT 0, count(*), coalesce(sum(doc_len), 0) FROM memories")

"""Full-text (FTS5 BM25) and vector (exact k-NN) search of the SQLite backend (the Store's search-index role)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import numpy as np

from ..._util import epoch
from ...errors import StoreError
from ...text import query_terms
from ...types import (
    Filters,
    TimeRange,
)
from .._filters import SQLITE, search_sql
from .._ranking import BM25_DECIMALS
from .connection import SQLiteConnection
from .rows import (
    _chunks,
    _filter_sql,
    _ph,
    scope_token,
)


def _fts_phrase(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


class SearchMixin(SQLiteConnection):
    def search_text(self, space: str, words: Sequence[str], filters: Filters, *, limit: int,
                    time_range: TimeRange | None = None) -> list[tuple[str, float]]:
        terms = query_terms(words)
        if not terms:
            return []
        # Only the most selective tenant token goes into the MATCH: a token that every
        # row carries (the space, "active") makes FTS5 walk a doclist as long as the table.
        if filters.conversation_id is not None:
            scope = scope_token("cv", filters.conversation_id)
        elif filters.user_id is not None:
            scope = scope_token("us", filters.user_id)
        else:
            scope = scope_token("sp", space)
        match = f"scope:{scope} AND body:(" + " OR ".join(_fts_phrase(t) for t in terms) + ")"
        where, args = search_sql(SQLITE, space, filters, alias="m.", time_range=time_range)
        # FTS5's bm25() is the BM25 of store/_ranking.py (the scope column weighs 0); ties
        # go by row order, as on PostgreSQL.
        rows = self._q(
            f"SELECT m.id, round(bm25(memories_fts, 0.0, 1.0), {BM25_DECIMALS}) AS s FROM memories_fts "
            "JOIN memories m ON m.pk = memories_fts.rowid "
            f"WHERE memories_fts MATCH ? AND {where} ORDER BY s, m.pk LIMIT ?",
            [match, *args, limit])
        return [(r[0], -float(r[1])) for r in rows]

    def search_vectors(self, space: str, vector: np.ndarray, filters: Filters, *, limit: int,
                       time_range: TimeRange | None = None) -> list[tuple[str, float]]:
        window = (epoch(time_range.start), epoch(time_range.end)) if time_range else None
        # the cache scans by user, conversation, kind, status and time; other filters are
        # applied by the SQL below, so fetch more when they may discard rows
        extra = filters.beyond({"user_id", "conversation_id", "kinds"})
        with self._lock:
            try:
                hits = self._vectors.search(
                    self._conn, space, filters.user_id, np.asarray(vector, dtype=np.float32),
                    limit=limit * 4 if extra else limit, conversation_id=filters.conversation_id,
                    kinds=list(filters.kinds) if filters.kinds else None,
                    statuses="all" if filters.include_inactive else "archived" if filters.include_archived
                    else "active", time_window=window)
            except sqlite3.Error as exc:
                raise StoreError(f"SQLite: {exc}") from exc
        if not hits:
            return []
        score = dict(hits)
        where, args = _filter_sql(space, filters, alias="", with_status=False)
        where = "+" + where  # look rows up by primary key, not through a (space, ...) index
        keep: dict[int, str] = {}
        for chunk in _chunks(list(score)):
            keep.update(self._q(f"SELECT pk, id FROM memories WHERE {where} AND pk IN ({_ph(chunk)})",
                                [*args, *chunk]))
        return [(keep[pk], s) for pk, s in hits if pk in keep][:limit]

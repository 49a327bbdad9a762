"""Full-text (BM25 in SQL) and vector (exact scan or HNSW) search of the PostgreSQL
backend (the Store's search-index role)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..._util import epoch
from ...text import query_terms
from ...types import (
    Filters,
    TimeRange,
)
from . import fulltext, knn
from .connection import PostgresConnection
from .rows import _filter_sql


class SearchMixin(PostgresConnection):
    def search_text(self, space: str, words: Sequence[str], filters: Filters, *, limit: int,
                    time_range: TimeRange | None = None) -> list[tuple[str, float]]:
        terms = query_terms(words)
        if not terms:
            return []
        where, args = _filter_sql(space, filters, "m.", with_status=False)
        if not filters.include_inactive:
            where += " AND m.status = 'active'"
        if time_range is not None:
            where += " AND m.t_end >= %s AND m.t_start <= %s"
            args += [epoch(time_range.start), epoch(time_range.end)]
        with self._cursor() as cur:
            return fulltext.search(cur, terms, where, args, limit)

    def search_vectors(self, space: str, vector: np.ndarray, filters: Filters, *, limit: int,
                       time_range: TimeRange | None = None) -> list[tuple[str, float]]:
        where, args = _filter_sql(space, filters, "m.", with_status=False)
        if not filters.include_inactive:
            where += " AND m.status = 'active'"
        if time_range is not None:
            where += " AND m.t_end >= %s AND m.t_start <= %s"
            args += [epoch(time_range.start), epoch(time_range.end)]
        with self.transaction(), self._cursor() as cur:  # SET LOCAL inside: safe behind PgBouncer
            return knn.search(cur, space, filters.user_id, np.asarray(vector), where, args, limit)

"""Full-text (BM25 in SQL) and vector (exact scan or HNSW) search of the PostgreSQL
backend (the Store's search-index role)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...text import query_terms
from ...types import (
    Filters,
    TimeRange,
)
from .._filters import POSTGRES, search_sql
from . import fulltext, knn
from .connection import PostgresConnection


class SearchMixin(PostgresConnection):
    def search_text(self, space: str, words: Sequence[str], filters: Filters, *, limit: int,
                    time_range: TimeRange | None = None) -> list[tuple[str, float]]:
        terms = query_terms(words)
        if not terms:
            return []
        where, args = search_sql(POSTGRES, space, filters, alias="m.", time_range=time_range)
        with self._cursor() as cur:
            return fulltext.search(cur, terms, where, args, limit)

    def search_vectors(self, space: str, vector: np.ndarray, filters: Filters, *, limit: int,
                       time_range: TimeRange | None = None) -> list[tuple[str, float]]:
        where, args = search_sql(POSTGRES, space, filters, alias="m.", time_range=time_range)
        with self.transaction(), self._cursor() as cur:  # SET LOCAL inside: safe behind PgBouncer
            return knn.search(cur, space, filters.user_id, np.asarray(vector), where, args, limit)

"""k-NN on PostgreSQL with the ordering rules of :mod:`engramos.store._ranking`.

A tenant (the space, or the space and user) with at most :data:`EXACT_SCAN_MAX` vectors
is scanned exactly, as SQLite does: the same hits, and faster than walking a graph built
over every tenant (Qdrant's full-scan threshold is the same idea).  A larger tenant goes
through the HNSW index of the dimension.

One partial HNSW index per dimension (``vectors_hnsw_<dim>``) covers every tenant.  A
bulk load drops it and builds it again at the end when that is cheaper than inserting
into it (see :func:`rebuild_pays`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._ranking import COSINE_DECIMALS

EXACT_SCAN_MAX = 20_000
# Measured here (pgvector 0.8, 384 dims, m 16, ef_construction 64): inserting a vector
# into a 20k-vector index costs ~2.1 ms, building the index costs ~0.24 ms per vector
# (x9), and the gap widens as the index grows.
INSERT_OVER_BUILD = 8
HNSW_PARAMS = "m = 16, ef_construction = 64"


def index_name(dim: int) -> str:
    return f"vectors_hnsw_{dim}"


def create_index_sql(dim: int) -> str:
    return (f"CREATE INDEX IF NOT EXISTS {index_name(dim)} ON vectors USING hnsw ((vec::vector({dim})) "
            f"vector_cosine_ops) WITH ({HNSW_PARAMS}) WHERE dim = {dim}")


def indexed_dims(cur: Any) -> list[int]:
    cur.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'vectors' AND indexname LIKE %s",
                ("vectors_hnsw_%",))
    return sorted(int(r[0].rsplit("_", 1)[1]) for r in cur.fetchall())


def rebuild_pays(existing: int, rows: int) -> bool:
    """Whether dropping the index and building it over ``existing + rows`` vectors costs
    less than inserting ``rows`` vectors into it."""
    return rows * INSERT_OVER_BUILD >= existing + rows and rows > 0


def vector_literal(v: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.9g}" for x in np.asarray(v, dtype=np.float32)) + "]"  # exact float32 round trip


def search(cur: Any, space: str, user_id: str | None, vector: np.ndarray, where: str, args: list[Any],
           limit: int) -> list[tuple[str, float]]:
    """The ``limit`` nearest rows of the tenant matching ``where`` (a condition on ``m``,
    the memories table), best first, ties by row order.  ``cur`` must be inside a
    transaction: the HNSW settings are set for it alone."""
    dim = int(vector.shape[0])
    tenant = "v.space = %s" + (" AND v.user_id = %s" if user_id is not None else "")
    targs: list[Any] = [space] + ([user_id] if user_id is not None else [])
    cur.execute(f"SELECT count(*) FROM (SELECT 1 FROM vectors v WHERE {tenant} LIMIT %s) t",
                [*targs, EXACT_SCAN_MAX + 1])
    exact = int(cur.fetchone()[0]) <= EXACT_SCAN_MAX
    q = vector_literal(vector)
    similarity = f"round((1 - (v.vec::vector({dim}) <=> %s::vector({dim})))::numeric, {COSINE_DECIMALS})"
    rows = f"FROM vectors v JOIN memories m ON m.pk = v.memory_pk WHERE v.dim = {dim} AND {tenant} AND {where}"
    if exact:
        cur.execute(f"WITH nn AS MATERIALIZED (SELECT m.id, m.pk, {similarity} AS s {rows}) "
                    "SELECT id, s FROM nn ORDER BY s DESC, pk LIMIT %s", [q, *targs, *args, limit])
    else:
        # A candidate list of at least twice the limit (pgvector's default is 40);
        # relaxed-order iterative scans keep filtered recall but may return rows slightly
        # out of order, hence the re-sort outside the CTE.
        cur.execute("SELECT set_config('hnsw.ef_search', %s, true), "
                    "set_config('hnsw.iterative_scan', 'relaxed_order', true)", (str(min(1000, max(40, 2 * limit))),))
        cur.execute(f"WITH nn AS MATERIALIZED (SELECT m.id, m.pk, {similarity} AS s {rows} "
                    f"ORDER BY v.vec::vector({dim}) <=> %s::vector({dim}) LIMIT %s) "
                    "SELECT id, s FROM nn ORDER BY s DESC, pk", [q, *targs, *args, q, limit])
    return [(r[0], float(r[1])) for r in cur.fetchall()]

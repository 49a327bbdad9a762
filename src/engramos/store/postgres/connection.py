"""The PostgreSQL backend's connection: a psycopg 3 pool, transactions held per thread (joined
when nested) that flush the full-text statistics last, migrations under an advisory lock;
driver errors become StoreError."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ..._util import iso, utcnow
from ...errors import StoreError
from . import fulltext
from .migrations import MIGRATIONS

_LOCK_ID = 7_420_001  # advisory lock serialising migrations across processes
ANALYZE_MIN_ROWS = 500


log = logging.getLogger(__name__)


def _warn_about_memory(diag: Any) -> None:
    # pgvector's notice that an HNSW build spilled out of maintenance_work_mem (it then
    # runs many times slower): worth a warning in the operator's log
    if "maintenance_work_mem" in (diag.message_primary or ""):
        log.warning("PostgreSQL: %s (%s)", diag.message_primary, diag.message_detail or "")


class PostgresConnection:
    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10) -> None:
        try:
            import psycopg
            from psycopg_pool import ConnectionPool
        except ImportError as exc:
            raise StoreError("the PostgreSQL backend needs engramos[postgres] (psycopg, psycopg_pool)") from exc
        self._psycopg = psycopg
        self.url = url
        try:
            self.pool = ConnectionPool(url, min_size=min_size, max_size=max_size, open=True, timeout=30,
                                       kwargs={"autocommit": True}, configure=self._configure)
            self.pool.wait(timeout=30)
        except Exception as exc:  # any driver or pool failure to connect is a StoreError
            raise StoreError(f"cannot connect to PostgreSQL: {exc}") from exc
        self._local = threading.local()
        self._growth_lock = threading.Lock()
        self._grown = 0  # memories written since the last check
        self._unanalysed = 0  # memories this process wrote since it last ran ANALYZE
        self._hnsw: set[int] = set()  # dimensions whose index is known to exist
        self._bulk_dims: set[int] | None = None  # inside bulk_load: dimensions to index on exit
        self._migrate()

    @staticmethod
    def _configure(conn: Any) -> None:
        conn.execute("SET TIME ZONE 'UTC'")
        conn.add_notice_handler(_warn_about_memory)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if getattr(self._local, "conn", None) is not None:
            yield  # joins the outer transaction
            return
        delta = self._text_delta()
        delta.clear()
        try:
            with self.pool.connection() as conn, conn.transaction():
                self._local.conn = conn
                try:
                    yield
                    with conn.cursor() as cur:
                        delta.flush(cur)  # last, so its row locks are held only for the commit
                finally:
                    self._local.conn = None
        except self._psycopg.Error as exc:
            raise StoreError(f"PostgreSQL: {exc}") from exc
        self._analyze_if_grown()

    def _note_growth(self, rows: int) -> None:
        with self._growth_lock:
            self._grown += rows

    def _analyze_if_grown(self) -> None:
        """Fresh planner statistics once the memories table has changed by
        ``ANALYZE_MIN_ROWS`` plus a tenth of its size since it was last analysed (the
        server's count, or this process's own writes when the server's lags behind).
        Autovacuum gets there too, but up to a minute later: the searches of a space
        filled just before were planned as if the space were empty (LoCoMo's second
        conversation: p50 88 ms, p95 127 ms, max 291 ms; docs/benchmarks.md)."""
        with self._growth_lock:
            grown, self._grown = self._grown, 0
        if not grown:
            return
        with self._cursor() as cur:
            cur.execute("SELECT s.n_mod_since_analyze, c.reltuples FROM pg_stat_user_tables s "
                        "JOIN pg_class c ON c.oid = s.relid WHERE s.relid = 'memories'::regclass")
            row = cur.fetchone()
            changed, size = (float(row[0] or 0), max(float(row[1] or 0), 0.0)) if row else (0.0, 0.0)
            with self._growth_lock:
                self._unanalysed += grown
                changed = max(changed, self._unanalysed)
                if changed < ANALYZE_MIN_ROWS + size / 10:
                    return
                self._unanalysed = 0
            cur.execute("ANALYZE memories, vectors, messages, text_terms, memory_entities, entities")

    def _text_delta(self) -> fulltext.TextStatsDelta:
        delta: fulltext.TextStatsDelta | None = getattr(self._local, "text_delta", None)
        if delta is None:
            delta = self._local.text_delta = fulltext.TextStatsDelta()
        return delta

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        conn = getattr(self._local, "conn", None)
        try:
            if conn is not None:
                with conn.cursor() as cur:
                    yield cur
            else:
                with self.pool.connection() as c, c.cursor() as cur:
                    yield cur
        except self._psycopg.Error as exc:
            raise StoreError(f"PostgreSQL: {exc}") from exc

    def _q(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        with self._cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall() if cur.description else []

    def _x(self, sql: str, args: Sequence[Any] = ()) -> int:
        with self._cursor() as cur:
            cur.execute(sql, args)
            return int(cur.rowcount)

    def _migrate(self) -> None:
        with self.transaction():
            self._x("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
            self._x("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
            applied = {r[0] for r in self._q("SELECT name FROM schema_migrations")}
            for name, step in MIGRATIONS:
                if name in applied:
                    continue
                if callable(step):
                    with self._cursor() as cur:
                        step(cur)
                else:
                    self._x(step)
                self._x("INSERT INTO schema_migrations VALUES (%s, %s)", (name, iso(utcnow())))

    def close(self) -> None:
        self.pool.close()

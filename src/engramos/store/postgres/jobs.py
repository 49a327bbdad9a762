"""The job queue of the PostgreSQL backend: ``FOR UPDATE SKIP LOCKED`` claims, leases,
retries, dedupe of live jobs under a per-key advisory lock."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, get_args

from ..._util import epoch, utcnow
from ...types import Job, JobStatus
from .rows import _job


class JobsMixin:
    _q: Any
    _x: Any
    transaction: Any

    def enqueue(self, job: Job, *, dedupe_key: str | None = None) -> bool:
        with self.transaction():
            if dedupe_key is not None:
                self._x("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"{job.space}/{dedupe_key}",))
                # a running twin may have read its input already: tell it to run again
                self._x("UPDATE jobs SET rerun=true WHERE space=%s AND dedupe_key=%s AND status='running'",
                        (job.space, dedupe_key))
                if self._q("SELECT 1 FROM jobs WHERE space=%s AND dedupe_key=%s AND status IN ('pending','running')",
                           (job.space, dedupe_key)):
                    return False
            self._x("INSERT INTO jobs VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, NULL, NULL, %s, %s, %s, NULL, "
                    "false)",
                    (job.id, job.space, job.kind, json.dumps(job.payload), dedupe_key, job.status, job.attempts,
                     job.max_attempts, epoch(job.run_after), job.last_error, job.created_at, job.updated_at))
        return True

    def claim_jobs(self, space: str | None, worker: str, *, lease_seconds: float, limit: int = 1,
                   now: datetime | None = None) -> list[Job]:
        t = epoch(now or utcnow())
        scope = " AND space = %s" if space is not None else ""
        args: list[Any] = [t, t] + ([space] if space is not None else []) + [limit]
        with self.transaction():
            ids = [r[0] for r in self._q(
                "SELECT id FROM jobs WHERE ((status='pending' AND run_after <= %s) OR "
                f"(status='running' AND lease_until < %s)){scope} ORDER BY run_after, id LIMIT %s "
                "FOR UPDATE SKIP LOCKED", args)]
            if not ids:
                return []
            rows = self._q("UPDATE jobs SET status='running', attempts=attempts+1, lease_until=%s, worker=%s, "
                           "updated_at=%s WHERE id = ANY(%s) RETURNING *", (t + lease_seconds, worker, utcnow(), ids))
        by_id = {r[0]: _job(r) for r in rows}
        return [by_id[i] for i in ids if i in by_id]

    def finish_job(self, job_id: str, worker: str, usage: dict[str, Any] | None = None) -> None:
        now = utcnow()
        self._x("UPDATE jobs SET status=CASE WHEN rerun THEN 'pending' ELSE 'done' END, "
                "run_after=CASE WHEN rerun THEN %s ELSE run_after END, "
                "attempts=CASE WHEN rerun THEN 0 ELSE attempts END, rerun=false, lease_until=NULL, updated_at=%s, "
                "usage=%s WHERE id=%s AND worker=%s AND status='running'",
                (epoch(now), now, json.dumps(usage) if usage else None, job_id, worker))

    def extend_lease(self, job_id: str, worker: str, *, lease_seconds: float) -> bool:
        return self._x("UPDATE jobs SET lease_until=%s WHERE id=%s AND worker=%s AND status='running'",
                       (epoch(utcnow()) + lease_seconds, job_id, worker)) > 0

    def fail_job(self, job_id: str, worker: str, error: str, *, retry_at: datetime | None) -> None:
        self._x("UPDATE jobs SET status=%s, last_error=%s, run_after=coalesce(%s, run_after), lease_until=NULL, "
                "updated_at=%s WHERE id=%s AND worker=%s AND status='running'",
                ("pending" if retry_at is not None else "parked", error[:2000],
                 epoch(retry_at) if retry_at else None, utcnow(), job_id, worker))

    def requeue_jobs(self, space: str, statuses: Sequence[str] = ("failed", "parked")) -> int:
        return self._x("UPDATE jobs SET status='pending', attempts=0, run_after=%s, updated_at=%s "
                       "WHERE space=%s AND status = ANY(%s)", (epoch(utcnow()), utcnow(), space, list(statuses)))

    def job_counts(self, space: str) -> dict[str, int]:
        counts = {s: 0 for s in get_args(JobStatus)}
        counts.update({r[0]: int(r[1]) for r in self._q(
            "SELECT status, count(*) FROM jobs WHERE space=%s GROUP BY status", (space,))})
        return counts

    def job_usage(self, space: str) -> dict[str, int]:
        keys = ("llm_calls", "prompt_tokens", "completion_tokens")
        row = self._q("SELECT " + ", ".join(f"coalesce(sum((usage->>'{k}')::bigint), 0)" for k in keys)
                      + " FROM jobs WHERE space=%s AND status='done' AND usage IS NOT NULL", (space,))[0]
        return {k: int(v) for k, v in zip(keys, row, strict=True)}

    def list_jobs(self, space: str | None, statuses: Sequence[str] | None = None, limit: int = 100) -> list[Job]:
        sql = "SELECT * FROM jobs WHERE " + ("space=%s" if space is not None else "TRUE")
        args: list[Any] = [space] if space is not None else []
        if statuses:
            sql += " AND status = ANY(%s)"
            args.append(list(statuses))
        return [_job(r) for r in self._q(sql + " ORDER BY created_at DESC LIMIT %s", [*args, limit])]

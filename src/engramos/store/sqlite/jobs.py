"""The job queue of the SQLite backend: leases, retries, dedupe of live jobs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, get_args

from ..._util import epoch, iso, utcnow
from ...types import Job, JobStatus
from .rows import _job, _ph


class JobsMixin:
    _conn: Any
    _q: Any
    _x: Any
    transaction: Any

    def enqueue(self, job: Job, *, dedupe_key: str | None = None) -> bool:
        with self.transaction():
            if dedupe_key is not None:
                # a running twin may have read its input already: tell it to run again
                self._conn.execute("UPDATE jobs SET rerun=1 WHERE space=? AND dedupe_key=? AND status='running'",
                                   (job.space, dedupe_key))
                if self._conn.execute(
                        "SELECT 1 FROM jobs WHERE space=? AND dedupe_key=? AND status IN ('pending','running')",
                        (job.space, dedupe_key)).fetchone():
                    return False
            self._conn.execute(
                "INSERT INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 0)",
                (job.id, job.space, job.kind, json.dumps(job.payload), dedupe_key, job.status,
                 job.attempts, job.max_attempts, epoch(job.run_after), None, None, job.last_error,
                 iso(job.created_at), iso(job.updated_at)))
        return True

    def claim_jobs(self, space: str | None, worker: str, *, lease_seconds: float,
                   limit: int = 1, now: datetime | None = None) -> list[Job]:
        t = epoch(now or utcnow())
        sql = ("SELECT id FROM jobs WHERE ((status='pending' AND run_after <= ?) OR "
               "(status='running' AND lease_until < ?))")
        args: list[Any] = [t, t]
        if space is not None:
            sql += " AND space = ?"
            args.append(space)
        with self.transaction():
            ids = [r[0] for r in self._conn.execute(sql + " ORDER BY run_after, id LIMIT ?",
                                                    [*args, limit]).fetchall()]
            for jid in ids:
                self._conn.execute(
                    "UPDATE jobs SET status='running', attempts=attempts+1, lease_until=?, worker=?, "
                    "updated_at=? WHERE id=?", (t + lease_seconds, worker, iso(utcnow()), jid))
            return self._jobs_by_id(ids)

    def _jobs_by_id(self, ids: Sequence[str]) -> list[Job]:
        if not ids:
            return []
        rows = self._conn.execute(f"SELECT * FROM jobs WHERE id IN ({_ph(ids)})", list(ids)).fetchall()
        by_id = {r[0]: _job(r) for r in rows}
        return [by_id[i] for i in ids if i in by_id]

    def finish_job(self, job_id: str, worker: str, usage: dict[str, Any] | None = None) -> None:
        now = utcnow()
        self._x("UPDATE jobs SET status=CASE WHEN rerun THEN 'pending' ELSE 'done' END, "
                "run_after=CASE WHEN rerun THEN ? ELSE run_after END, "
                "attempts=CASE WHEN rerun THEN 0 ELSE attempts END, rerun=0, lease_until=NULL, updated_at=?, usage=? "
                "WHERE id=? AND worker=? AND status='running'",
                (epoch(now), iso(now), json.dumps(usage) if usage else None, job_id, worker))

    def extend_lease(self, job_id: str, worker: str, *, lease_seconds: float) -> bool:
        return self._x("UPDATE jobs SET lease_until=? WHERE id=? AND worker=? AND status='running'",
                       (epoch(utcnow()) + lease_seconds, job_id, worker)) > 0

    def fail_job(self, job_id: str, worker: str, error: str, *, retry_at: datetime | None) -> None:
        status = "pending" if retry_at is not None else "parked"
        self._x("UPDATE jobs SET status=?, last_error=?, run_after=coalesce(?, run_after), "
                "lease_until=NULL, updated_at=? WHERE id=? AND worker=? AND status='running'",
                (status, error[:2000], epoch(retry_at) if retry_at else None, iso(utcnow()),
                 job_id, worker))

    def requeue_jobs(self, space: str, statuses: Sequence[str] = ("failed", "parked")) -> int:
        return self._x(f"UPDATE jobs SET status='pending', attempts=0, run_after=?, updated_at=? "
                       f"WHERE space=? AND status IN ({_ph(statuses)})",
                       [epoch(utcnow()), iso(utcnow()), space, *statuses])

    def job_counts(self, space: str) -> dict[str, int]:
        counts = {s: 0 for s in get_args(JobStatus)}
        counts.update(dict(self._q("SELECT status, count(*) FROM jobs WHERE space=? GROUP BY status", (space,))))
        return counts

    def job_usage(self, space: str) -> dict[str, int]:
        keys = ("llm_calls", "prompt_tokens", "completion_tokens")
        row = self._q("SELECT " + ", ".join(f"coalesce(sum(json_extract(usage, '$.{k}')), 0)" for k in keys)
                      + " FROM jobs WHERE space=? AND status='done' AND usage IS NOT NULL", (space,))[0]
        return {k: int(v) for k, v in zip(keys, row, strict=True)}

    def list_jobs(self, space: str | None, statuses: Sequence[str] | None = None, limit: int = 100) -> list[Job]:
        sql, args = "SELECT * FROM jobs WHERE " + ("space=?" if space is not None else "1=1"), \
            [space] if space is not None else []
        if statuses:
            sql += f" AND status IN ({_ph(statuses)})"
            args += list(statuses)
        return [_job(r) for r in self._q(sql + " ORDER BY created_at DESC LIMIT ?", [*args, limit])]

"""Durable jobs: work for later is a row with a lease, never a fire-and-forget task.

A job is claimed with a lease (``claim_jobs``) that the worker extends while the job
runs (a heartbeat); a worker that dies loses the lease and the job is claimed again once
it expires.  A failing job is retried with exponential
backoff and parked, with its last error, after ``max_attempts``.  Handlers must be
idempotent (they check what is already done), which makes "exactly once" hold for
their effects even when a job runs twice after a crash.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from .._util import new_id, utcnow
from ..errors import StoreError
from ..store.base import JobStore
from ..types import Job

log = logging.getLogger("engramos.jobs")

Handler = Callable[[Job], "dict[str, Any] | None"]


class JobQueue:
    def __init__(self, store: JobStore, *, lease_seconds: float = 30.0, backoff_seconds: float = 2.0,
                 max_attempts: int = 5) -> None:
        self.store = store
        self.handlers: dict[str, Handler] = {}
        self.lease_seconds = lease_seconds
        self.backoff_seconds = backoff_seconds
        self.max_attempts = max_attempts
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{_PROCESS_TAG}.{new_id('w')[-4:]}"

    def register(self, kind: str, handler: Handler) -> None:
        self.handlers[kind] = handler

    def enqueue(self, space: str, kind: str, payload: dict[str, Any], *,
                dedupe_key: str | None = None, run_after: datetime | None = None) -> str | None:
        """The new job's id, or None when an equivalent job is already pending; due at
        ``run_after`` (default now)."""
        now = utcnow()
        job = Job(id=new_id("job"), space=space, kind=kind, payload=payload, status="pending",
                  attempts=0, max_attempts=self.max_attempts, run_after=run_after or now, created_at=now,
                  updated_at=now)
        return job.id if self.store.enqueue(job, dedupe_key=dedupe_key) else None

    def reclaim_orphans(self, space: str | None) -> int:
        """Put back to pending, due now, the running jobs of ``space`` (None: of every
        space) whose worker was a process of this host that is gone (``kill -9``, a
        crash): they need not wait for their lease to run out.  The number reclaimed."""
        host = socket.gethostname()
        reclaimed = 0
        for job in self.store.list_jobs(space, ["running"], limit=1000):
            if job.worker and _dead_local_process(job.worker, host):
                self.store.fail_job(job.id, job.worker, f"its worker {job.worker} is gone", retry_at=utcnow())
                reclaimed += 1
        return reclaimed

    def run_pending(self, space: str | None, *, max_jobs: int | None = None) -> int:
        """Claim and run due jobs one at a time until none is due; the number run."""
        if space is not None:
            self.reclaim_orphans(space)
        done = 0
        while max_jobs is None or done < max_jobs:
            jobs = self.store.claim_jobs(space, self.worker_id, lease_seconds=self.lease_seconds)
            if not jobs:
                break
            self.run_one(jobs[0])
            done += 1
        return done

    @contextmanager
    def _heartbeat(self, job: Job) -> Iterator[None]:
        """Keeps extending the job's lease while its handler runs, so that only a worker
        that died loses its job; a slow one (a long LLM call, a busy machine) keeps it."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self.lease_seconds / 3):
                try:
                    if not self.store.extend_lease(job.id, self.worker_id, lease_seconds=self.lease_seconds):
                        log.warning("job %s: lease lost to another worker", job.id)
                        return
                except StoreError as exc:  # the next beat tries again; the lease may still be valid
                    log.warning("job %s: could not extend the lease: %s", job.id, exc)

        thread = threading.Thread(target=beat, name=f"lease-{job.id}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def run_one(self, job: Job) -> bool:
        handler = self.handlers.get(job.kind)
        if handler is None:
            self.store.fail_job(job.id, self.worker_id, f"no handler for job kind {job.kind!r}", retry_at=None)
            return False
        try:
            with self._heartbeat(job):
                usage = handler(job)
        except Exception as exc:  # noqa: BLE001 - any handler failure is recorded on the job row and retried
            log.warning("job %s (%s) failed on attempt %d: %s", job.id, job.kind, job.attempts, exc)
            retry_at = None
            if job.attempts < job.max_attempts:
                retry_at = utcnow() + timedelta(seconds=self.backoff_seconds * 2 ** (job.attempts - 1))
            self.store.fail_job(job.id, self.worker_id, f"{type(exc).__name__}: {exc}", retry_at=retry_at)
            return False
        self.store.finish_job(job.id, self.worker_id, usage)
        return True


_PROCESS_TAG = new_id("p")[-6:]  # tells this process from an earlier one with the same pid


def _dead_local_process(worker: str, host: str) -> bool:
    """Whether a worker id (``host:pid:tag``) names a process of this host that is gone."""
    parts = worker.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != host or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        # this process's own jobs are not orphans; an earlier process that had the same
        # pid (a restarted container numbers its processes alike) is gone
        return not parts[2].startswith(_PROCESS_TAG + ".")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, under another user
        return False
    return False

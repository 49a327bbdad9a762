"""``engram worker``: processes jobs of every space from the store.

Several workers may run at once against one store: jobs are claimed with leases
(``claim_jobs``), so two workers never run the same job, and a job whose worker died is
claimed again once its lease expires.  A stop request (SIGTERM / SIGINT) lets the current
job finish, then the loop exits."""

from __future__ import annotations

import logging
import threading

from ..config import Config
from ..memory import Memory
from ..providers.embeddings import Embedder

log = logging.getLogger("engramos.worker")


class Worker:
    def __init__(self, config: Config, *, embedder: Embedder | None = None, lease_seconds: float = 30.0,
                 poll_seconds: float = 1.0) -> None:
        jobs = config.jobs.model_copy(update={"lease_seconds": lease_seconds})
        self.memory = Memory(config=config.model_copy(update={"process_inline": False, "jobs": jobs}),
                             embedder=embedder)
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self.processed = 0

    @property
    def worker_id(self) -> str:
        return self.memory.admin.worker_id

    def stop(self) -> None:
        """Finish the job in hand, then return from :meth:`run`."""
        self._stop.set()

    def run(self, *, max_jobs: int | None = None, until_idle: bool = False) -> int:
        while not self._stop.is_set():
            if not self.memory.admin.work(all_spaces=True):
                if until_idle:
                    break
                self._stop.wait(self.poll_seconds)
                continue
            self.processed += 1
            if max_jobs is not None and self.processed >= max_jobs:
                break
        return self.processed

    def close(self) -> None:
        self.memory.close()

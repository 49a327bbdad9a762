"""The memory scheduler: triggers in the application's path (a message added, a question
asked, a session started, the conversation gone idle) enqueue demand for a
conversation's working memory as durable job rows; the ``working`` job refreshes the
block.  Bursts coalesce (one pending job per conversation and trigger kind, by dedupe
key); a per-space CPU budget defers work past the budget to the next minute; a worker
that dies leaves its job to be reclaimed like any other."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

from .._util import utcnow
from ..config import WorkingConfig
from ..jobs.queue import JobQueue
from ..store.base import Store
from ..types import Job
from .block import Refresher

Trigger = str  # "message", "question", "session", "idle"
WINDOW_S = 60.0


class Scheduler:
    def __init__(self, store: Store, queue: JobQueue, refresher: Refresher, config: WorkingConfig) -> None:
        self.store, self.queue, self.refresher, self.config = store, queue, refresher, config
        queue.register("working", self._run)

    def trigger(self, space: str, conversation_id: str, event: Trigger, *, user_id: str,
                agent_id: str | None = None) -> str | None:
        """Demand for a conversation's working memory; the job id, or None when a pending
        one already covers it (or prefetching is off)."""
        if not self.config.prefetch:
            return None
        payload = {"conversation_id": conversation_id, "user_id": user_id, "agent_id": agent_id, "event": event}
        job = self.queue.enqueue(space, "working", payload, dedupe_key=f"working:{conversation_id}")
        if event in ("message", "session"):  # and a rebuild once the conversation goes quiet
            at = utcnow() + timedelta(seconds=self.config.idle_seconds)
            self.queue.enqueue(space, "working", {**payload, "event": "idle"}, run_after=at,
                               dedupe_key=f"working-idle:{conversation_id}:{at:%Y%m%dT%H%M}")
        return job

    def event_for(self, space: str, conversation_id: str, session_id: str | None) -> Trigger:
        """``session`` when messages of a new session are about to be added (the first of
        the conversation, or a session id other than its last message's), else ``message``."""
        if not self.config.prefetch:
            return "message"
        last = self.store.next_seq(space, conversation_id) - 1
        if last < 1:
            return "session"
        previous = self.store.list_messages(space, conversation_id, seq_from=last, limit=1)
        return "session" if session_id is not None and previous and previous[0].session_id != session_id \
            else "message"

    def _run(self, job: Job) -> dict[str, Any] | None:
        space, conv = job.space, job.payload["conversation_id"]
        if not self._budget_left(space):
            at = utcnow() + timedelta(seconds=WINDOW_S)
            self.queue.enqueue(space, "working", job.payload, run_after=at,
                               dedupe_key=f"working-deferred:{conv}")
            return {"working": "deferred"}
        started = time.perf_counter()
        idle = job.payload.get("event") == "idle"
        if idle and not self._quiet(space, conv):
            return {"working": "not idle"}  # a later message scheduled its own idle run
        self.refresher.refresh(space, conv, self.config.budget_tokens, rebuild=idle)
        self._spend(space, (time.perf_counter() - started) * 1000)
        return None

    def _quiet(self, space: str, conv: str) -> bool:
        last = self.store.list_messages(space, conv, seq_from=max(1, self.store.next_seq(space, conv) - 1))
        return not last or (utcnow() - last[-1].created_at).total_seconds() >= self.config.idle_seconds * 0.99

    # ------------------------------------------------------------- CPU budget
    def _window(self, space: str) -> dict[str, float]:
        raw = self.store.get_meta(f"working-cpu/{space}")
        state = json.loads(raw) if raw else {"start": 0.0, "ms": 0.0}
        if time.time() - state["start"] >= WINDOW_S:
            state = {"start": time.time(), "ms": 0.0}
        return state

    def _budget_left(self, space: str) -> bool:
        return self._window(space)["ms"] < self.config.cpu_ms_per_minute

    def _spend(self, space: str, ms: float) -> None:
        state = self._window(space)
        state["ms"] += ms
        self.store.set_meta(f"working-cpu/{space}", json.dumps(state))

    def usage(self, space: str) -> dict[str, Any]:
        state = self._window(space)
        pending = [j for j in self.store.list_jobs(space, ["pending", "running"], limit=1000) if j.kind == "working"]
        return {"prefetch": self.config.prefetch, "budget_tokens": self.config.budget_tokens,
                "cpu_ms_this_minute": round(state["ms"], 1), "cpu_ms_per_minute": self.config.cpu_ms_per_minute,
                "pending_jobs": len(pending)}

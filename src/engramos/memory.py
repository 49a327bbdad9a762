"""The facade: :class:`Memory` (and :class:`AsyncMemory`), the one door to memory.

The REST server, the worker, the CLI, the MCP server and the benchmark call these
methods (and :attr:`Memory.admin` for keys, audit and workers); none of them reaches the
store, the queue or the recall engine, which are private here."""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import numpy as np

from ._util import utcnow
from .admin import Admin
from .config import Config
from .cube import ON_CONFLICT, ImportReport, Manifest, OnConflict, Scope, training
from .cube.export import export_cube
from .cube.importer import import_cube
from .cube.training import TrainingFormat
from .errors import ConfigError, EmbeddingModelMismatchError, InvalidInputError, NotFoundError
from .governance import retention
from .governance.forgetting import forget_message
from .governance.pii import Redactor, Sealed
from .governance.retention import RetentionReport
from .governance.sharing import with_mounts
from .ingest.direct import put_fact
from .ingest.pipeline import Pipeline
from .jobs.queue import JobQueue
from .providers.embeddings import Embedder, make_embedder
from .providers.llm import ChatModel, make_chat_model
from .recall.answering import answer_with
from .recall.context import assemble
from .recall.recall import RecallEngine
from .recall.rerank import Reranker, make_reranker
from .records import history_entry
from .requests import AnswerRequest, ContextRequest, SearchRequest
from .store import Store, is_store_location, open_store
from .types import (
    DEFAULT_USER,
    AddResult,
    AnswerResult,
    ContextBlock,
    ConversationRef,
    Filters,
    HistoryEntry,
    Job,
    MemoryRecord,
    Message,
    Page,
    Scene,
    SearchResult,
    WorkingMemory,
    default_conversation,
)
from .validation import (
    MessageIn,
    check_id,
    check_metadata,
    clean_text,
    normalize_messages,
    validated,
)
from .vocab import JOB_STATUSES, HistoryAction, JobStatus, MemoryStatus
from .working.adapters import AdapterRegistry
from .working.block import Refresher
from .working.block import load as load_working
from .working.local_chat import LocalAnswerer
from .working.prompt import with_working, working_budget
from .working.scheduler import Scheduler


class Memory:
    """Long-term memory for one space.

    >>> mem = Memory(path="/tmp/engram-doc")                        # doctest: +SKIP
    >>> mem.add([{"speaker": "Ana", "text": "I moved to Lisbon yesterday",
    ...           "timestamp": "2024-03-02T10:00:00Z"}], user_id="ana")  # doctest: +SKIP
    >>> mem.search("Where does Ana live?", user_id="ana").hits[0].memory.text  # doctest: +SKIP
    """

    def __init__(self, path: str | Path | None = None, config: Config | None = None, *,
                 embedder: Embedder | None = None, reranker: Reranker | None = None,
                 store: Store | None = None, llm: ChatModel | None = None) -> None:
        cfg = config or Config()
        if path is not None and not is_store_location(str(path)):
            cfg = cfg.model_copy(update={"home": Path(str(path)).expanduser()})
        location: str | Path = str(path) if path is not None and is_store_location(str(path)) \
            else cfg.db or cfg.db_path
        self.config = cfg
        self.space = check_id("space", cfg.space) or "default"
        self._store: Store = store or open_store(location)
        self._owns_store = store is None
        self._embedder = embedder or make_embedder(cfg.embedder)
        self._check_embedding_model()
        self._llm = llm or make_chat_model(cfg.llm)
        self._reranker = reranker or make_reranker(cfg.reranker)
        self._queue = JobQueue(self._store, lease_seconds=cfg.jobs.lease_seconds,
                               backoff_seconds=cfg.jobs.backoff_seconds, max_attempts=cfg.jobs.max_attempts)
        self._pipeline = Pipeline(self._store, self._embedder, cfg, self._queue, self._llm)
        self._engine = RecallEngine(self._store, self._embedder, cfg, self._reranker, self._llm)
        self._redactor = Redactor(cfg.pii)
        self._refresher = Refresher(self._store, self._engine)
        self._scheduler = Scheduler(self._store, self._queue, self._refresher, cfg.working)
        self._queue.register("retention", self._retention_job)
        self._adapters = AdapterRegistry(self._store, cfg.local_folder, max_bytes=cfg.local.max_adapter_bytes)
        self._local = LocalAnswerer(cfg.local, cfg.local_folder, self._adapters)
        self._owns_local = True
        self.admin = Admin(self)
        if cfg.retention.for_space(self.space):
            self._schedule_retention(utcnow())

    def _check_embedding_model(self) -> None:
        stored = self._store.get_meta("embedding_model")
        if stored is None:
            self._store.set_meta("embedding_model", self._embedder.model_id)
        elif stored != self._embedder.model_id:
            raise EmbeddingModelMismatchError(
                f"this store's vectors were made by {stored!r}, but the configured embedder is "
                f"{self._embedder.model_id!r}; configure that model, or use a new store")

    def for_space(self, space: str) -> Memory:
        """The memory of another space of the same deployment, sharing this one's store,
        embedder, reranker and LLM (closing it leaves them open)."""
        if space == self.space:
            return self
        other = Memory(config=self.config.model_copy(update={"space": space}), store=self._store,
                       embedder=self._embedder, reranker=self._reranker, llm=self._llm)
        other._local, other._owns_local = self._local, False  # one loaded model per deployment
        return other

    @property
    def embedding_model(self) -> str:
        return self._embedder.model_id

    @property
    def llm_model(self) -> str | None:
        return self._llm.model_id if self._llm else None

    # ------------------------------------------------------------------ life
    def close(self) -> None:
        self._engine.close()
        if self._owns_local:
            self._local.close()
        if self._owns_store:
            self._store.close()

    def __enter__(self) -> Memory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------- add
    def add(self, messages: Any, *, user_id: str | None = None, agent_id: str | None = None,
            conversation_id: str | None = None, session_id: str | None = None,
            flush: bool = False, process: bool | None = None) -> AddResult:
        """Store raw messages (one transaction, idempotent), then process them.

        ``process`` overrides ``config.process_inline`` for this call: True runs the
        jobs before returning, False leaves them to a worker (the returned ``job_ids``).
        Without ``conversation_id``, the user's default conversation
        (:func:`~engramos.types.default_conversation`).  The open tail of a conversation
        (no boundary seen yet) stays searchable as raw turns until a later message closes
        it or ``flush=True`` / :meth:`flush`."""
        user = check_id("user_id", DEFAULT_USER if user_id is None else user_id) or DEFAULT_USER
        conv = check_id("conversation_id", default_conversation(user) if conversation_id is None else conversation_id)
        agent = check_id("agent_id", agent_id, required=False)
        session = check_id("session_id", session_id, required=False)
        assert user is not None and conv is not None
        limits = self.config.limits
        parsed = normalize_messages(messages, max_chars=self.config.max_message_chars, default_time=utcnow(),
                                    max_messages=limits.max_messages_per_request,
                                    max_metadata_bytes=limits.max_metadata_bytes)
        parsed, sealed = self._redact_messages(parsed)
        event = self._scheduler.event_for(self.space, conv, session)  # before: is this session new?
        stored = self._pipeline.store_messages(self.space, parsed, user_id=user, agent_id=agent,
                                               conversation_id=conv, session_id=session, flush=flush,
                                               sealed=sealed)
        if stored.inserted:
            self._scheduler.trigger(self.space, conv, event, user_id=user, agent_id=agent)
        inline = self.config.process_inline if process is None else process
        ran = self.run_jobs() if inline else 0
        return AddResult(message_ids=stored.message_ids, inserted=stored.inserted,
                         duplicates=len(parsed) - stored.inserted, jobs_run=ran,
                         pending_jobs=self.job_counts()["pending"],
                         job_ids=[stored.job_id] if stored.job_id else [])

    def _redact_messages(self, parsed: builtins.list[MessageIn]) -> tuple[builtins.list[MessageIn],
                                                                          builtins.list[Sealed]]:
        """PII replaced as the space's mode says (``config.pii``), before anything is stored."""
        if self._redactor.mode(self.space) == "off":
            return parsed, []
        out, sealed = [], []
        for m in parsed:
            text, found = self._redactor.redact(self.space, m.content)
            out.append(dataclasses.replace(m, content=text))
            sealed += found
        return out, sealed

    def flush(self, *, user_id: str | None = None, conversation_id: str | None = None) -> int:
        """Close the open tails of a conversation (or of all conversations, or of all of a
        user's) into MemCells and process them; the number of jobs run."""
        if conversation_id is not None:
            check_id("conversation_id", conversation_id)
        check_id("user_id", user_id, required=False)
        convs = [conversation_id] if conversation_id else self._store.conversations_with_unassigned(self.space)
        for conv in convs:
            owner = self.conversation_owner(conv)
            if user_id is not None and owner is not None and owner.user_id != user_id:
                continue  # another user's conversation: a flush for one user leaves it open
            user = user_id or (owner.user_id if owner else DEFAULT_USER)
            self._pipeline.request_segmentation(self.space, user, conv, flush=True,
                                                agent_id=owner.agent_id if owner else None)
        return self.run_jobs() if self.config.process_inline else 0

    # ------------------------------------------------------------------ jobs
    def run_jobs(self, max_jobs: int | None = None) -> int:
        """Run due jobs of this space now (what a worker does); the number run."""
        return self._queue.run_pending(self.space, max_jobs=max_jobs)

    def job_counts(self) -> dict[str, int]:
        return self._store.job_counts(self.space)

    def jobs(self, status: builtins.list[JobStatus] | None = None, *, limit: int = 100) -> builtins.list[Job]:
        """This space's jobs, optionally of the given statuses, newest first."""
        if status is not None:
            bad = [s for s in status if s not in JOB_STATUSES]
            if bad:
                raise InvalidInputError("status", f"unknown status(es) {bad}; expected any of {list(JOB_STATUSES)}")
        _check_limit(limit, 1000)
        return self._store.list_jobs(self.space, status, limit)

    def status(self) -> dict[str, Any]:
        """Jobs by status, the reasons of failed and parked ones, and LLM usage so far."""
        problems = self._store.list_jobs(self.space, ["failed", "parked", "pending", "running"], limit=200)
        return {"counts": self.job_counts(), "llm": self.llm_model,
                "working": self._scheduler.usage(self.space),
                "llm_usage_done_jobs": self._store.job_usage(self.space),
                "jobs": [{"id": j.id, "kind": j.kind, "status": j.status, "attempts": j.attempts,
                          "run_after": j.run_after.isoformat(), "error": j.last_error,
                          "conversation_id": j.payload.get("conversation_id")} for j in problems]}

    def retry(self) -> int:
        """Requeue failed, parked and backing-off jobs, and running ones whose worker on
        this host is gone, to run now, then run them (library mode); the number of jobs
        requeued."""
        n = self._queue.reclaim_orphans(self.space)
        n += self._store.requeue_jobs(self.space, ("failed", "parked", "pending"))
        if self.config.process_inline:
            self.run_jobs()
        return n

    def llm_usage(self) -> dict[str, Any] | None:
        """LLM calls and tokens this process has spent through this memory (None offline)."""
        if self._llm is None:
            return None
        u = self._llm.usage
        return {"model": self._llm.model_id, "llm_calls": u.calls, "prompt_tokens": u.prompt_tokens,
                "completion_tokens": u.completion_tokens}

    # ---------------------------------------------------------------- recall
    def search(self, request: SearchRequest | str | None = None, /, **options: Any) -> SearchResult:
        """Ranked hits with score breakdown and citations.  Give a :class:`SearchRequest`,
        or the query and any of its fields as keywords (``user_id=`` and the other filter
        fields may be given at the top level)."""
        return self._recall(SearchRequest.of(request, options))

    def _recall(self, req: SearchRequest, *, query_vector: np.ndarray | None = None) -> SearchResult:
        limit = self.config.limits.max_query_chars
        if len(req.query) > limit:
            raise InvalidInputError("query", f"is {len(req.query)} characters; the limit is {limit} "
                                             "(limits.max_query_chars)")
        result = self._engine.search(self.space, req, query_vector=query_vector)
        conv, user = req.filters.conversation_id, req.filters.user_id
        if conv is not None and self.config.working.prefetch:  # a question: the next turn's memory, ahead of need
            owner = self.conversation_owner(conv)
            if owner is not None:
                self._scheduler.trigger(self.space, conv, "question", user_id=user or owner.user_id,
                                        agent_id=owner.agent_id)
        return with_mounts(self._store, self._engine, self.space, req, result)

    def context(self, request: ContextRequest | str | None = None, /, **options: Any) -> ContextBlock:
        """The best evidence for the query that fits ``budget_tokens``, as a prompt block."""
        req = ContextRequest.of(request, options)
        budget = req.budget_tokens or self.config.recall.budget_tokens
        conv = req.filters.conversation_id
        if req.working and conv is None:
            raise InvalidInputError("conversation_id", "working=True needs the conversation (filters.conversation_id)")
        wm = self.working_memory(conv, budget_tokens=working_budget(budget, self.config.working.budget_tokens)) \
            if req.working and conv is not None else None
        result = self._recall(req)
        if wm is None:
            return assemble(result.query, result.hits, budget)
        return with_working(wm, result.query, result.hits, budget)

    def answer(self, request: AnswerRequest | str | None = None, /, **options: Any) -> AnswerResult:
        """Answer from memory with the configured LLM: (agentic) recall, context within the
        budget, one answer call; the result cites the message ids it used."""
        req = AnswerRequest.of(request, options)
        if self.config.local.answer:
            user = req.filters.user_id  # the user it answers for, or its conversation's owner
            if user is None and req.filters.conversation_id is not None:
                owner = self.conversation_owner(req.filters.conversation_id)
                user = owner.user_id if owner else None
            return self._local.answer(req, self._adapters.get(self.space, user) if user else None, self.context)
        if self._llm is None:
            raise ConfigError("answer() needs an LLM: set config.llm (or ENGRAM_LLM_BASE_URL / ENGRAM_LLM_MODEL)")
        return answer_with(self._llm, req, self.context)

    # ----------------------------------------------------------------- CRUD
    def get(self, memory_id: str) -> MemoryRecord:
        check_id("memory_id", memory_id)
        found = self._store.get_memories(self.space, [memory_id])
        if not found:
            raise NotFoundError("memory", memory_id)
        return found[0]

    def list(self, *, filters: Filters | dict[str, Any] | None = None, limit: int = 50, cursor: str | None = None,
             **scope: Any) -> Page:
        """Memories newest first, one page at a time (``cursor``: the previous page's
        ``next_cursor``).  Filter fields may be given as ``filters`` or as keywords."""
        _check_limit(limit, 1000)
        check_id("cursor", cursor, required=False)  # opaque, but bounded like an id before a store reads it
        return self._store.list_memories(self.space, _filters(filters, scope), limit=limit, cursor=cursor)

    def put(self, text: str, *, user_id: str | None = None, agent_id: str | None = None, key: str | None = None,
            metadata: dict[str, Any] | None = None, timestamp: Any = None, actor: str = "user") -> MemoryRecord:
        """Write one fact as the application states it (a preference, an instruction,
        an agent framework's stored document): no message and no extraction; embedded and
        indexed like any memory, ``produced_by="api"``.  With ``key`` (kept as
        ``metadata.key``), the active memory of that key for this user and agent is
        replaced in place, its history keeping the old text; ``timestamp`` (default now)
        is when it was stated."""
        return put_fact(self._store, self._embedder, self._redactor, self.config, self.space, text,
                        user_id=user_id, agent_id=agent_id, key=key, metadata=metadata, timestamp=timestamp,
                        actor=actor)

    def update(self, memory_id: str, *, text: str | None = None, metadata: dict[str, Any] | None = None,
               actor: str = "user") -> MemoryRecord:
        """Change a memory's text and/or metadata; re-embeds a changed text; recorded in history."""
        before = self.get(memory_id)
        changes: dict[str, Any] = {}
        sealed: builtins.list[Sealed] = []
        if text is not None:
            changes["text"], sealed = self._redactor.redact(
                self.space, clean_text(text, "text", self.config.max_message_chars))
        if metadata is not None:
            if not isinstance(metadata, dict):
                raise InvalidInputError("metadata", "must be an object")
            check_metadata(metadata, "metadata", max_bytes=self.config.limits.max_metadata_bytes)
            changes["metadata"] = {**before.metadata, **metadata}
        if not changes:
            raise InvalidInputError("text", "nothing to update: give text and/or metadata")
        vec = self._embedder.embed([changes["text"]], "passage") if "text" in changes else None
        with self._store.transaction():
            if sealed:
                self._store.vault_put(self.space, before.user_id, before.conversation_id,
                                      [(x.token, x.kind, x.ciphertext) for x in sealed])
            after = self._store.update_memory(self.space, memory_id, changes)
            if vec is not None:
                self._store.set_vectors(self.space, [memory_id], vec, self._embedder.model_id)
            self._store.add_history(self.space, [history_entry(
                memory_id, "update", actor, {k: getattr(before, k) for k in changes},
                {k: getattr(after, k) for k in changes})])
        return after

    def delete(self, memory_id: str, *, actor: str = "user") -> MemoryRecord:
        """Soft delete: the memory leaves search and listings but stays in history."""
        before = self.get(memory_id)
        with self._store.transaction():
            after = self._store.update_memory(self.space, memory_id, {"status": "deleted"})
            self._store.add_history(self.space, [history_entry(
                memory_id, "delete", actor, {"status": before.status}, {"status": "deleted"})])
        return after

    def archive(self, memory_id: str, *, actor: str = "user") -> MemoryRecord:
        """Keep a memory out of recall (search and context) without losing it: listed,
        found with ``include_archived``, and restorable."""
        return self._set_status(memory_id, "archived", "archive", actor, frm=("active", "superseded", "expired"))

    def restore(self, memory_id: str, *, actor: str = "user") -> MemoryRecord:
        """Undo a delete, an archive or an expiry: the memory gets back the status it had
        before (``active``, or ``superseded`` if it had been replaced)."""
        before = self.get(memory_id)
        if before.status not in ("deleted", "archived", "expired"):
            raise InvalidInputError("memory_id", f"memory {memory_id} is {before.status}: nothing to restore")
        previous = next((h.before.get("status") for h in reversed(self._store.history(self.space, memory_id))
                         if h.action in ("delete", "archive", "expire") and h.before), "active")
        status: MemoryStatus = "superseded" if previous == "superseded" else "active"
        return self._set_status(memory_id, status, "restore", actor, frm=(before.status,))

    def _set_status(self, memory_id: str, status: MemoryStatus, action: HistoryAction, actor: str, *,
                    frm: tuple[str, ...]) -> MemoryRecord:
        before = self.get(memory_id)
        if before.status not in frm:
            raise InvalidInputError("memory_id", f"memory {memory_id} is {before.status}; {action} applies to "
                                                 f"{' or '.join(frm)} memories")
        with self._store.transaction():
            after = self._store.update_memory(self.space, memory_id, {"status": status})
            self._store.add_history(self.space, [history_entry(
                memory_id, action, actor, {"status": before.status}, {"status": status})])
        return after

    def retention(self, *, apply: bool = False) -> RetentionReport:
        """What this space's retention rules (``config.retention``) would do now (a dry
        run, the default), or, with ``apply``, a job that does it (run at once in
        library mode, else by a worker).  Nothing happens without configured rules."""
        rules, now = self.config.retention.for_space(self.space), utcnow()
        if not apply:
            return RetentionReport(space=self.space, dry_run=True, at=now,
                                   rules=retention.plan(self._store, self.space, rules, now))
        due = retention.plan(self._store, self.space, rules, now)
        job_id = self._queue.enqueue(self.space, "retention", {"user_id": None}, dedupe_key="retention:now")
        if self.config.process_inline:
            self.run_jobs()
        return RetentionReport(space=self.space, dry_run=False, at=now, rules=due, job_id=job_id)

    def _retention_job(self, job: Job) -> dict[str, Any]:
        rules = self.config.retention.for_space(job.space)
        done = retention.apply(self._store, job.space, rules, utcnow())
        if rules:
            self._schedule_retention(utcnow() + timedelta(hours=self.config.retention.interval_hours), job.space)
        return {"retention": {o.rule: o.memories for o in done}}

    def _schedule_retention(self, at: datetime, space: str | None = None) -> None:
        """One pending retention job per space at a time (the next run of the chain)."""
        space = space or self.space
        if any(j.kind == "retention" for j in self._store.list_jobs(space, ["pending"], limit=1000)):
            return
        self._queue.enqueue(space, "retention", {"user_id": None}, dedupe_key=f"retention:{at:%Y%m%dT%H%M}",
                            run_after=at)

    def forget(self, *, memory_id: str | None = None, conversation_id: str | None = None,
               user_id: str | None = None, message_id: str | None = None) -> dict[str, int]:
        """Hard delete a memory, a message (with every memory drawn from it), a
        conversation, or a user, with everything derived from it."""
        given = [x for x in (memory_id, conversation_id, user_id, message_id) if x is not None]
        if len(given) != 1:
            raise InvalidInputError("forget", "give exactly one of memory_id, message_id, conversation_id, user_id")
        if message_id is not None:
            return forget_message(self._store, self.space, self.admin.message(message_id))
        if memory_id is not None:
            self.get(memory_id)
            with self._store.transaction():
                n = self._store.delete_memories(self.space, [memory_id])
            self._store.scrub()
            return {"memories": n}
        if conversation_id is not None:
            check_id("conversation_id", conversation_id)
            owner = self.conversation_owner(conversation_id)
            if owner is not None:  # scenes it shared with the owner's other talks are rebuilt
                self._pipeline.request_scene_rebuild(self.space, owner.user_id, owner.agent_id)
            return self._store.forget(self.space, conversation_id=conversation_id)
        check_id("user_id", user_id)
        assert user_id is not None
        detached = self._adapters.detach(self.space, user_id)
        counts = self._store.forget(self.space, user_id=user_id)
        return {**counts, "adapters": 1} if detached else counts

    def history(self, memory_id: str) -> builtins.list[HistoryEntry]:
        check_id("memory_id", memory_id)
        entries = self._store.history(self.space, memory_id)
        if not entries and not self._store.get_memories(self.space, [memory_id]):
            raise NotFoundError("memory", memory_id)
        return entries

    # ------------------------------------------------------------- tenancy
    def users(self) -> builtins.list[str]:
        """Users of this space that hold messages, sorted."""
        return sorted({u for u, _ in self._store.iter_tenants(self.space)})

    def conversations(self, *, user_id: str | None = None) -> builtins.list[ConversationRef]:
        """Conversations of this space (of one user), with their owner."""
        check_id("user_id", user_id, required=False)
        return [ConversationRef(user_id=u, conversation_id=c) for u, c in self._store.iter_tenants(self.space)
                if user_id is None or u == user_id]

    def conversation_owner(self, conversation_id: str) -> ConversationRef | None:
        """Who a conversation belongs to (its first message's user and agent), or None
        when it holds no message."""
        check_id("conversation_id", conversation_id)
        msgs = self._store.list_messages(self.space, conversation_id, limit=1)
        if not msgs:
            return None
        return ConversationRef(user_id=msgs[0].user_id, conversation_id=conversation_id, agent_id=msgs[0].agent_id)

    def messages(self, conversation_id: str, *, limit: int = 1000, latest: bool = False) -> builtins.list[Message]:
        """A conversation's raw messages in order: the first ``limit``, or with
        ``latest`` the last ``limit``."""
        check_id("conversation_id", conversation_id)
        _check_limit(limit, 10_000)
        if latest:
            return self._store.list_messages(self.space, conversation_id, limit=limit, newest_first=True)[::-1]
        return self._store.list_messages(self.space, conversation_id, limit=limit)

    def scenes(self, *, user_id: str) -> builtins.list[Scene]:
        """A user's MemScenes, most recently active first."""
        check_id("user_id", user_id)
        return [s for s, _ in self._store.list_scenes(self.space, user_id)]

    def profile(self, *, user_id: str) -> builtins.list[MemoryRecord]:
        """A user's profile items, active and superseded (``status``), newest first."""
        check_id("user_id", user_id)
        return self._store.list_memories(self.space, Filters(user_id=user_id, kinds=["profile"]), limit=1000).items

    # ---------------------------------------------------------------- working
    def working_memory(self, conversation_id: str, *, budget_tokens: int | None = None) -> WorkingMemory:
        """The conversation's working memory: its people's profiles, open plans, the key
        facts of its current scene and the memories predicted for its next turns, as a
        block that changes append-mostly (a stable prompt prefix).  Refreshed here when a
        message came since, or when an entry stopped being true."""
        check_id("conversation_id", conversation_id)
        budget = self.config.working.budget_tokens if budget_tokens is None else budget_tokens
        if not isinstance(budget, int) or isinstance(budget, bool) or not 64 <= budget <= 32_000:
            raise InvalidInputError("budget_tokens", "must be an integer from 64 to 32000")
        last = self._store.next_seq(self.space, conversation_id) - 1
        if last < 1:
            raise NotFoundError("conversation", conversation_id)
        wm = load_working(self._store, self.space, conversation_id)
        if wm is not None and wm.last_seq == last and wm.budget_tokens == budget:
            alive = self._store.get_memories(self.space, [e.memory_id for e in wm.entries])
            if len(alive) == len(wm.entries) and all(m.status == "active" for m in alive):
                return wm
        fresh = self._refresher.refresh(self.space, conversation_id, budget)
        assert fresh is not None
        return fresh

    # ----------------------------------------------------------------- cubes
    def export_cube(self, out: str | Path | IO[bytes], *, user_id: str | None = None, agent_id: str | None = None,
                    conversation_id: str | None = None, sign_key: str | None = None,
                    key_id: str | None = None) -> Manifest:
        """Write a MemCube (``docs/memcube.md``) of this space, or of one user, agent or
        conversation, to a path or a binary file; signed (HMAC-SHA256) when ``sign_key``
        is given.  Returns its manifest."""
        given = {k: v for k, v in (("user", user_id), ("agent", agent_id), ("conversation", conversation_id))
                 if v is not None}
        if len(given) > 1:
            raise InvalidInputError("scope", "give at most one of user_id, agent_id, conversation_id")
        for name, value in given.items():
            check_id(f"{name}_id", value)
        kind = next(iter(given), "space")
        scope = Scope(kind=kind, space=self.space, user_id=user_id, agent_id=agent_id,  # type: ignore[arg-type]
                      conversation_id=conversation_id)
        return export_cube(self._store, scope, out, model_id=self._embedder.model_id, dim=self._embedder.dim,
                           sign_key=sign_key.encode() if sign_key else None, key_id=key_id)

    def export_training(self, out: str | Path | IO[bytes], *, user_id: str,
                        format: TrainingFormat = "sft") -> int:
        """A user's memory as a fine-tuning set in chat JSONL (``cube/training.py``):
        ``sft`` question/answer pairs from facts and profile items, with their dates and
        cited message ids; ``preference`` pairs from knowledge updates, the current value
        chosen over the superseded one.  The number of rows written."""
        check_id("user_id", user_id)
        if format not in ("sft", "preference"):
            raise InvalidInputError("format", "must be sft or preference")
        return training.write(self._store, self.space, user_id, format, out)

    def import_cube(self, source: str | Path | IO[bytes], *, as_user: str | None = None,
                    on_conflict: OnConflict = "skip", reembed: bool = True, sign_key: str | None = None,
                    progress: Callable[[str, int, int], None] | None = None) -> ImportReport:
        """Read a MemCube into this space, which may already hold data: verified whole
        first, then written in one transaction (ids remapped where they would collide;
        importing the same cube twice changes nothing).  ``as_user`` files every row under
        that user; ``on_conflict`` says what a memory already here becomes; a cube made
        by another embedding model is re-embedded (``progress(stage, done, total)``), or
        refused when ``reembed`` is False."""
        check_id("as_user", as_user, required=False)
        if on_conflict not in ON_CONFLICT:
            raise InvalidInputError("on_conflict", f"must be one of {', '.join(ON_CONFLICT)}")
        report = import_cube(self._store, self._embedder, self.space, source, as_user=as_user,
                             on_conflict=on_conflict, reembed=reembed,
                             sign_key=sign_key.encode() if sign_key else None, progress=progress)
        return report

    def health(self) -> dict[str, Any]:
        report = self._store.health()
        report["embedding_model"] = self._embedder.model_id
        report["jobs"] = self.job_counts()
        return report


def _check_limit(limit: object, most: int) -> None:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= most:
        raise InvalidInputError("limit", f"must be an integer from 1 to {most}")


def _filters(filters: Filters | dict[str, Any] | None, scope: dict[str, Any]) -> Filters:
    base = filters.model_dump(exclude_defaults=True) if isinstance(filters, Filters) else dict(filters or {})
    given = {k: v for k, v in scope.items() if v is not None}
    return validated(Filters, {**base, **given}, "filters")

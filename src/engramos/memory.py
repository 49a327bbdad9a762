"""The facade: :class:`Memory` (and :class:`AsyncMemory`).  The CLI, the benchmark and
later the server call these same methods."""

from __future__ import annotations

import asyncio
import builtins
import functools
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from ._util import new_id, utcnow
from .config import Config
from .errors import ConfigError, EmbeddingModelMismatchError, InvalidInputError, NotFoundError
from .ingest.messages import check_id, clean_text, normalize_messages, parse_timestamp
from .ingest.pipeline import Pipeline, history_entry, turn_record
from .jobs.queue import JobQueue
from .prompts.recall_prompts import answer_messages
from .prompts.schemas import Answer
from .providers.embeddings import Embedder, make_embedder
from .providers.llm import ChatModel, make_chat_model
from .recall.context import assemble
from .recall.recall import RecallEngine
from .recall.rerank import Reranker, make_reranker
from .store import Store, open_store
from .types import (
    DEFAULT_CONVERSATION,
    DEFAULT_USER,
    MEMORY_KINDS,
    AddResult,
    AnswerResult,
    ContextBlock,
    Filters,
    HistoryEntry,
    MemoryKind,
    MemoryRecord,
    Message,
    Page,
    SearchResult,
    TimeRange,
)


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
        if path is not None:
            text = str(path)
            if text.startswith(("sqlite:", "postgresql://", "postgres://")) or text.endswith((".db", ".sqlite")) \
                    or text == ":memory:":
                location: str | Path = text
            else:
                cfg = cfg.model_copy(update={"home": Path(text).expanduser()})
                location = cfg.db_path
        else:
            location = cfg.db or cfg.db_path
        self.config = cfg
        self.space = check_id("space", cfg.space) or "default"
        self.store: Store = store or open_store(location)
        self.embedder = embedder or make_embedder(cfg.embedder)
        self._check_embedding_model()
        self.queue = JobQueue(self.store)
        self.llm = llm or make_chat_model(cfg.llm)
        self.pipeline = Pipeline(self.store, self.embedder, cfg, self.queue, self.llm)
        self.engine = RecallEngine(self.store, self.embedder, cfg, reranker or make_reranker(cfg.reranker),
                                   self.llm)

    def _check_embedding_model(self) -> None:
        stored = self.store.get_meta("embedding_model")
        if stored is None:
            self.store.set_meta("embedding_model", self.embedder.model_id)
        elif stored != self.embedder.model_id:
            raise EmbeddingModelMismatchError(
                f"this store's vectors were made by {stored!r}, but the configured embedder is "
                f"{self.embedder.model_id!r}; configure that model, or use a new store")

    # ------------------------------------------------------------------ life
    def close(self) -> None:
        self.store.close()

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

        With ``config.process_inline`` (library mode) the segmentation and extraction
        jobs run before this returns; otherwise a worker runs them.  The open tail of a
        conversation (no boundary seen yet) stays searchable as raw turns until a later
        message closes it or ``flush=True`` / :meth:`flush`."""
        user = check_id("user_id", DEFAULT_USER if user_id is None else user_id)
        conv = check_id("conversation_id", DEFAULT_CONVERSATION if conversation_id is None else conversation_id)
        agent = check_id("agent_id", agent_id, required=False)
        session = check_id("session_id", session_id, required=False)
        assert user is not None and conv is not None
        parsed = normalize_messages(messages, max_chars=self.config.max_message_chars, default_time=utcnow())
        now = utcnow()
        with self.store.transaction():
            seq = self.store.next_seq(self.space, conv)
            rows: list[Message] = []
            for m in parsed:
                rows.append(Message(
                    id=new_id("msg"), space=self.space, user_id=user, agent_id=agent, conversation_id=conv,
                    session_id=session, seq=seq, sender=m.sender, sender_name=m.sender_name, role=m.role,
                    content=m.content, timestamp=m.timestamp, external_id=m.external_id,
                    metadata=m.metadata, content_hash=m.content_hash(), created_at=now))
                seq += 1
            outcome = self.store.insert_messages(rows)
            fresh = [r for r, (_, inserted) in zip(rows, outcome, strict=True) if inserted]
            if fresh:
                self.store.insert_memories([turn_record(r) for r in fresh])
            job_id = self.pipeline.request_segmentation(self.space, user, conv, flush=flush) \
                if fresh or flush else None
        inline = self.config.process_inline if process is None else process
        ran = self.run_jobs() if inline else 0
        return AddResult(message_ids=[i for i, _ in outcome], inserted=len(fresh),
                         duplicates=len(rows) - len(fresh), jobs_run=ran,
                         pending_jobs=self.store.job_counts(self.space)["pending"],
                         job_ids=[job_id] if job_id else [])

    def flush(self, *, user_id: str | None = None, conversation_id: str | None = None) -> int:
        """Close the open tails of a conversation (or of all conversations) into MemCells
        and process them; the number of jobs run."""
        convs = [conversation_id] if conversation_id else self.store.conversations_with_unassigned(self.space)
        for conv in convs:
            user = user_id or self._owner(conv)
            self.pipeline.request_segmentation(self.space, user, conv, flush=True)
        return self.run_jobs() if self.config.process_inline else 0

    def _owner(self, conversation_id: str) -> str:
        msgs = self.store.list_messages(self.space, conversation_id, limit=1)
        return msgs[0].user_id if msgs else DEFAULT_USER

    def run_jobs(self, max_jobs: int | None = None) -> int:
        """Run due jobs of this space now (what a worker does); the number run."""
        return self.queue.run_pending(self.space, max_jobs=max_jobs)

    def job_counts(self) -> dict[str, int]:
        return self.store.job_counts(self.space)

    def status(self) -> dict[str, Any]:
        """Jobs by status, the reasons of failed and parked ones, and LLM usage so far."""
        problems = self.store.list_jobs(self.space, ["failed", "parked", "pending", "running"], limit=200)
        return {"counts": self.job_counts(), "llm": self.llm.model_id if self.llm else None,
                "llm_usage_done_jobs": self.store.job_usage(self.space),
                "jobs": [{"id": j.id, "kind": j.kind, "status": j.status, "attempts": j.attempts,
                          "run_after": j.run_after.isoformat(), "error": j.last_error,
                          "conversation_id": j.payload.get("conversation_id")} for j in problems]}

    def retry(self) -> int:
        """Requeue failed, parked and backing-off jobs to run now, then run them (library
        mode); the number of jobs requeued."""
        n = self.store.requeue_jobs(self.space, ("failed", "parked", "pending"))
        if self.config.process_inline:
            self.run_jobs()
        return n

    # ---------------------------------------------------------------- recall
    def search(self, query: str, *, filters: Filters | None = None, top_k: int = 10,
               time_range: TimeRange | tuple[Any, Any] | None = None,
               reference_time: datetime | str | float | None = None, user_id: str | None = None,
               conversation_id: str | None = None, kinds: list[MemoryKind] | None = None,
               expand: bool = True, agentic: bool = False) -> SearchResult:
        """Ranked hits with score breakdown and citations.  ``reference_time`` is "now"
        for relative expressions in the query ("last week"); it defaults to the wall clock."""
        q = clean_text(query, "query", 4000)
        if not isinstance(top_k, int) or isinstance(top_k, bool) or not 1 <= top_k <= 1000:
            raise InvalidInputError("top_k", "must be an integer from 1 to 1000")
        f = self._filters(filters, user_id, conversation_id, kinds)
        ref = parse_timestamp(reference_time, "reference_time") if reference_time is not None else utcnow()
        if agentic:
            return self.engine.agentic_recall(self.space, q, f, top_k=top_k, reference_time=ref,
                                              time_range=_time_range(time_range))
        return self.engine.recall(self.space, q, f, top_k=top_k, reference_time=ref,
                                  time_range=_time_range(time_range), expand=expand)

    def context(self, query: str, *, budget_tokens: int | None = None, top_k: int = 50,
                **search_args: Any) -> ContextBlock:
        """The best evidence for ``query`` that fits ``budget_tokens``, as a prompt block."""
        budget = budget_tokens or self.config.recall.budget_tokens
        if not isinstance(budget, int) or budget < 32:
            raise InvalidInputError("budget_tokens", "must be an integer of at least 32")
        result = self.search(query, top_k=top_k, **search_args)
        return assemble(result.query, result.hits, budget)

    def answer(self, question: str, *, budget_tokens: int | None = None, agentic: bool = True,
               **search_args: Any) -> AnswerResult:
        """Answer from memory with the configured LLM: (agentic) recall, context within the
        budget, one answer call; the result cites the message ids it used."""
        if self.llm is None:
            raise ConfigError("answer() needs an LLM: set config.llm (or ENGRAM_LLM_BASE_URL / ENGRAM_LLM_MODEL)")
        with self.llm.track() as spent:
            block = self.context(question, budget_tokens=budget_tokens, agentic=agentic, **search_args)
            reply = self.llm.structured(answer_messages(question, block.text), Answer, purpose="answer")
        labels = {c.label(): c.message_id for h in block.hits for c in h.citations}
        used = [labels.get(r, r) for r in reply.message_ids if labels.get(r, r) in block.message_ids]
        return AnswerResult(question=question, answer=reply.answer, message_ids=list(dict.fromkeys(used)),
                            context=block, llm_calls=spent.calls, prompt_tokens=spent.prompt_tokens,
                            completion_tokens=spent.completion_tokens)

    def _filters(self, filters: Filters | None, user_id: str | None, conversation_id: str | None,
                 kinds: list[MemoryKind] | None) -> Filters:
        f = filters or Filters()
        updates: dict[str, Any] = {}
        if user_id is not None:
            updates["user_id"] = check_id("user_id", user_id)
        if conversation_id is not None:
            updates["conversation_id"] = check_id("conversation_id", conversation_id)
        if kinds is not None:
            bad = [k for k in kinds if k not in MEMORY_KINDS]
            if bad:
                raise InvalidInputError("kinds", f"unknown kind(s) {bad}; expected any of {list(MEMORY_KINDS)}")
            updates["kinds"] = kinds
        return f.model_copy(update=updates) if updates else f

    # ----------------------------------------------------------------- CRUD
    def get(self, memory_id: str) -> MemoryRecord:
        check_id("memory_id", memory_id)
        found = self.store.get_memories(self.space, [memory_id])
        if not found:
            raise NotFoundError("memory", memory_id)
        return found[0]

    def list(self, *, filters: Filters | None = None, user_id: str | None = None,
             conversation_id: str | None = None, kinds: list[MemoryKind] | None = None,
             limit: int = 50, cursor: str | None = None) -> Page:
        if not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise InvalidInputError("limit", "must be an integer from 1 to 1000")
        return self.store.list_memories(self.space, self._filters(filters, user_id, conversation_id, kinds),
                                        limit=limit, cursor=cursor)

    def update(self, memory_id: str, *, text: str | None = None, metadata: dict[str, Any] | None = None,
               actor: str = "user") -> MemoryRecord:
        """Change a memory's text and/or metadata; re-embeds a changed text; recorded in history."""
        before = self.get(memory_id)
        changes: dict[str, Any] = {}
        if text is not None:
            changes["text"] = clean_text(text, "text", self.config.max_message_chars)
        if metadata is not None:
            if not isinstance(metadata, dict):
                raise InvalidInputError("metadata", "must be an object")
            changes["metadata"] = {**before.metadata, **metadata}
        if not changes:
            raise InvalidInputError("text", "nothing to update: give text and/or metadata")
        vec = self.embedder.embed([changes["text"]], "passage") if "text" in changes else None
        with self.store.transaction():
            after = self.store.update_memory(self.space, memory_id, changes)
            if vec is not None:
                self.store.set_vectors(self.space, [memory_id], vec, self.embedder.model_id)
            self.store.add_history(self.space, [history_entry(
                memory_id, "update", actor, {k: getattr(before, k) for k in changes},
                {k: getattr(after, k) for k in changes})])
        return after

    def delete(self, memory_id: str, *, actor: str = "user") -> MemoryRecord:
        """Soft delete: the memory leaves search and listings but stays in history."""
        before = self.get(memory_id)
        with self.store.transaction():
            after = self.store.update_memory(self.space, memory_id, {"status": "deleted"})
            self.store.add_history(self.space, [history_entry(
                memory_id, "delete", actor, {"status": before.status}, {"status": "deleted"})])
        return after

    def forget(self, *, memory_id: str | None = None, conversation_id: str | None = None,
               user_id: str | None = None) -> dict[str, int]:
        """Hard delete a memory, or a conversation, or a user with everything derived from it."""
        given = [x for x in (memory_id, conversation_id, user_id) if x is not None]
        if len(given) != 1:
            raise InvalidInputError("forget", "give exactly one of memory_id, conversation_id, user_id")
        if memory_id is not None:
            self.get(memory_id)
            with self.store.transaction():
                n = self.store.delete_memories(self.space, [memory_id])
            return {"memories": n}
        if conversation_id is not None:
            check_id("conversation_id", conversation_id)
            return self.store.forget(self.space, conversation_id=conversation_id)
        check_id("user_id", user_id)
        return self.store.forget(self.space, user_id=user_id)

    def history(self, memory_id: str) -> builtins.list[HistoryEntry]:
        check_id("memory_id", memory_id)
        entries = self.store.history(self.space, memory_id)
        if not entries and not self.store.get_memories(self.space, [memory_id]):
            raise NotFoundError("memory", memory_id)
        return entries

    def messages(self, conversation_id: str, *, limit: int = 1000) -> builtins.list[Message]:
        check_id("conversation_id", conversation_id)
        return self.store.list_messages(self.space, conversation_id, limit=limit)

    def health(self) -> dict[str, Any]:
        report = self.store.health()
        report["embedding_model"] = self.embedder.model_id
        report["jobs"] = self.job_counts()
        return report


def _time_range(value: TimeRange | tuple[Any, Any] | None) -> TimeRange | None:
    if value is None or isinstance(value, TimeRange):
        return value
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise InvalidInputError("time_range", "must be a TimeRange or a (start, end) pair")
    start = parse_timestamp(value[0], "time_range.start")
    end = parse_timestamp(value[1], "time_range.end")
    if end < start:
        raise InvalidInputError("time_range", "end is before start")
    return TimeRange(start=start, end=end, source="caller")


def _in_thread(method: Callable[..., Any]) -> Any:
    @functools.wraps(method)
    async def wrapper(self: AsyncMemory, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(getattr(self._sync, method.__name__), *args, **kwargs)

    return wrapper


class AsyncMemory:
    """The same surface as :class:`Memory`, awaitable.  Calls run in worker threads
    over one store (which serialises its writes)."""

    def __init__(self, path: str | Path | None = None, config: Config | None = None, **kwargs: Any) -> None:
        self._sync = Memory(path, config, **kwargs)

    @property
    def sync(self) -> Memory:
        return self._sync

    async def __aenter__(self) -> AsyncMemory:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    add = _in_thread(Memory.add)
    flush = _in_thread(Memory.flush)
    run_jobs = _in_thread(Memory.run_jobs)
    search = _in_thread(Memory.search)
    answer = _in_thread(Memory.answer)
    status = _in_thread(Memory.status)
    retry = _in_thread(Memory.retry)
    context = _in_thread(Memory.context)
    get = _in_thread(Memory.get)
    list = _in_thread(Memory.list)
    update = _in_thread(Memory.update)
    delete = _in_thread(Memory.delete)
    forget = _in_thread(Memory.forget)
    history = _in_thread(Memory.history)
    messages = _in_thread(Memory.messages)
    health = _in_thread(Memory.health)
    close = _in_thread(Memory.close)

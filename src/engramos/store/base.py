"""The one storage interface, made of role protocols (messages, memories, search index,
cells and scenes, jobs, keys and audit, export), each mirrored by a module of the same
role in every backend (``sqlite/messages.py``, ``postgres/messages.py``, ...).  Code that
needs one role can ask for that protocol; :class:`Store` is all of them.  Everything
above it talks to these protocols and never knows which backend it is.  A backend
passes ``tests/test_store_contract.py`` unchanged.

Rules every backend keeps:

* Every method is scoped to one ``space``; rows of another space are invisible
  (a foreign id behaves exactly like a missing one).
* Every write method is atomic on its own.  Inside ``with store.transaction():`` all calls
  share one transaction: either all of them land or none does.  Transactions nest (an
  inner block joins the outer one).
* Backend errors (locked, corrupt, constraint...) surface as
  :class:`engramos.errors.StoreError`, never as a driver exception.
* Datetimes go in and come out timezone-aware.
* Vectors are float32 rows, L2-normalised, all made by the store's one embedding model
  (``meta['embedding_model']``); scores from :meth:`search_vectors` are cosine similarities.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..types import (
    ApiKey,
    AuditEntry,
    Cell,
    Entity,
    Filters,
    HistoryEntry,
    Job,
    MemoryRecord,
    Message,
    Mount,
    Page,
    Scene,
    Share,
    TimeRange,
)


@runtime_checkable
class MessageStore(Protocol):
    """Raw messages: the source of truth (``messages.py`` in each backend)."""

    def insert_messages(self, messages: Sequence[Message]) -> list[tuple[str, bool]]:
        """Insert raw messages; for each input, in order, ``(id, inserted)``.

        Idempotent by ``(space, conversation_id, content_hash)``: a message whose hash
        is already stored is not inserted again and its existing id is returned with
        ``inserted=False`` (also for duplicates inside the same call).  ``seq`` given by
        the caller is kept; the caller obtains it from :meth:`next_seq` inside the same
        transaction."""

    def next_seq(self, space: str, conversation_id: str) -> int:
        """1 + the highest ``seq`` in the conversation, or 1 for a new conversation."""

    def get_messages(self, space: str, ids: Sequence[str]) -> list[Message]:
        """The messages with these ids, in ``ids`` order; unknown ids are skipped."""

    def list_messages(
        self, space: str, conversation_id: str, *, unassigned: bool = False,
        seq_from: int | None = None, seq_to: int | None = None, limit: int = 10_000,
        newest_first: bool = False,
    ) -> list[Message]:
        """A conversation's messages by ascending ``seq`` (descending with
        ``newest_first``: the latest ``limit``); ``unassigned`` keeps only those not yet
        in a cell; ``seq_from``/``seq_to`` are inclusive bounds."""

    def get_messages_by_seq(self, space: str, conversation_id: str, seqs: Sequence[int]) -> list[Message]:
        """The conversation's messages at these sequence numbers, by ascending seq;
        missing numbers are skipped."""

    def conversations_with_unassigned(self, space: str) -> list[str]:
        """Ids of conversations that still have messages not in any cell."""

    def assign_cell(self, space: str, message_ids: Sequence[str], cell_id: str) -> None:
        """Mark messages as belonging to a cell."""

    def iter_tenants(self, space: str) -> Iterator[tuple[str, str]]:
        """``(user_id, conversation_id)`` pairs that hold messages."""

@runtime_checkable
class MemoryStore(Protocol):
    """Memories, their vectors and their history (``memories.py``)."""

    def insert_memories(
        self, records: Sequence[MemoryRecord], vectors: np.ndarray | None = None,
        model_id: str | None = None,
    ) -> None:
        """Insert memories (and their full-text entries); ``vectors[i]`` belongs to
        ``records[i]``.  Raises StoreError on a duplicate id."""

    def set_vectors(self, space: str, ids: Sequence[str], vectors: np.ndarray, model_id: str) -> None:
        """Attach or replace the vectors of existing memories."""

    def lifecycle_due(self, space: str, *, kinds: Sequence[str], before: datetime, by: str = "observed",
                      cell_extracted: bool = False, limit: int = 1000) -> list[str]:
        """Ids of active memories of these kinds whose time is before ``before``: their
        observation (``by="observed"``) or the end of their validity (``by="valid_to"``;
        memories without one are never due); with ``cell_extracted``, only those whose
        MemCell (or, for a turn, its message's) has been extracted.  Oldest rows first, at
        most ``limit``; [] for no kinds."""

    def ids_without_vectors(self, space: str, limit: int = 1000) -> list[str]:
        """Memories that have no vector yet (turns are indexed for full text at once and
        embedded later)."""

    def get_memories(self, space: str, ids: Sequence[str]) -> list[MemoryRecord]:
        """In ``ids`` order; unknown ids (or ids of another space) are skipped."""

    def get_vectors(self, space: str, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors of these memories (those that have one)."""

    def successors(self, space: str, ids: Sequence[str]) -> dict[str, str]:
        """For those of ``ids`` that a newer memory supersedes: old id -> the newest such
        memory's id (a hard-deleted successor is not reported)."""

    def superseded_citing(self, space: str, message_ids: Sequence[str]) -> dict[str, str]:
        """For those of ``message_ids`` that a superseded fact, plan or profile item cites
        (not a turn or an episode): message id -> one such memory's id (the most recently
        observed).  Recall marks the raw turn of such a message stale even when the
        superseded memory itself is not among the candidates."""

    def list_memories(
        self, space: str, filters: Filters, *, limit: int = 50, cursor: str | None = None,
        cell_ids: Sequence[str] | None = None, scene_id: str | None = None,
    ) -> Page:
        """Newest first (by observed time, then id).  ``cursor`` is opaque: the value of
        ``next_cursor`` from the previous page.  Deleted memories only with
        ``filters.include_inactive``.  ``cell_ids`` keeps memories of any of those cells."""

    def update_memory(self, space: str, memory_id: str, changes: dict[str, Any]) -> MemoryRecord:
        """Apply field changes (text, status, valid_to, metadata, event_start, ...), keep
        the full-text entry in step, bump ``updated_at``; NotFoundError if absent.  A text
        change drops the old vector (the caller re-embeds)."""

    def delete_memories(self, space: str, ids: Sequence[str]) -> int:
        """Hard delete, with vectors, full-text entries and history.  Returns the number
        removed."""

    def add_history(self, space: str, entries: Sequence[HistoryEntry]) -> None: ...

    def history(self, space: str, memory_id: str) -> list[HistoryEntry]:
        """Oldest first; empty once the memory is hard deleted."""

    def bulk_load(self, rows: int) -> AbstractContextManager[None]:
        """A load of about ``rows`` vectors (an import, a migration, a benchmark's fill)
        follows.  A backend with an ANN index that is cheaper to build than to insert
        into may suspend its upkeep during the load and rebuild it on exit, also when
        the block raises; searches meanwhile stay exact (they scan).  Writes inside
        commit as usual.  Enter it outside any transaction, once at a time, with every
        write of the load finished before the block ends; live writers of other
        processes stay correct but may be slower.  A no-op where there is nothing to
        gain (SQLite, or a small load into a large index)."""

@runtime_checkable
class SearchIndex(Protocol):
    """Full-text and vector search over memories (``search.py``)."""

    def search_text(
        self, space: str, words: Sequence[str], filters: Filters, *, limit: int,
        time_range: TimeRange | None = None,
    ) -> list[tuple[str, float]]:
        """BM25 full-text search: any of ``words`` (already segmented and lower-cased);
        ``(memory_id, score)`` best first, higher is better.  Only active memories unless
        ``filters.include_inactive``.  ``time_range`` keeps memories whose event time (or
        observed time when there is none) overlaps it.  Empty ``words`` gives []."""

    def search_vectors(
        self, space: str, vector: np.ndarray, filters: Filters, *, limit: int,
        time_range: TimeRange | None = None,
    ) -> list[tuple[str, float]]:
        """Exact or approximate k-NN by cosine, restricted to the tenant named by the
        filters (never scanning other users' or spaces' vectors); same filter semantics
        as :meth:`search_text`.  Only vectors of the query's dimension take part (a store
        being re-embedded by another model holds two kinds side by side)."""

@runtime_checkable
class CellStore(Protocol):
    """MemCells and MemScenes (``cells.py``)."""

    def upsert_cell(self, cell: Cell) -> None:
        """Insert or replace a cell."""

    def get_cell(self, space: str, cell_id: str) -> Cell | None: ...

    def list_cells(self, space: str, conversation_id: str | None = None, *,
                   scene_id: str | None = None) -> list[Cell]:
        """A conversation's cells by ``first_seq``, or a scene's by start time (then id);
        give one of the two."""

    def upsert_scene(self, scene: Scene, centroid: np.ndarray) -> None: ...

    def list_scenes(self, space: str, user_id: str) -> list[tuple[Scene, np.ndarray]]:
        """The user's scenes with their centroids (most recently active first)."""

@runtime_checkable
class JobStore(Protocol):
    """The durable job queue (``jobs.py``)."""

    def enqueue(self, job: Job, *, dedupe_key: str | None = None) -> bool:
        """Add a job; with ``dedupe_key``, nothing is added (False) while a pending or
        running job with the same key exists.  A running one is then marked to run again
        (its input may have been read before this call's work was stored):
        :meth:`finish_job` puts it back to pending instead of done, so no wake-up is lost."""

    def claim_jobs(self, space: str | None, worker: str, *, lease_seconds: float,
                   limit: int = 1, now: datetime | None = None) -> list[Job]:
        """Atomically lease due jobs: pending ones whose ``run_after`` has passed, and
        running ones whose lease expired (a crashed worker).  Claiming increments
        ``attempts``.  Two concurrent callers never get the same job."""

    def finish_job(self, job_id: str, worker: str, usage: dict[str, Any] | None = None) -> None:
        """Mark done (only if ``worker`` still holds the lease), recording what the job
        spent (LLM calls and tokens) when given; a job marked to run again (see
        :meth:`enqueue`) goes back to pending, due now, instead."""

    def extend_lease(self, job_id: str, worker: str, *, lease_seconds: float) -> bool:
        """Push the lease of a running job that ``worker`` holds to now + ``lease_seconds``
        (a worker's heartbeat while a long job runs).  False, and nothing changes, when
        the job is not running under ``worker`` any more."""

    def fail_job(self, job_id: str, worker: str, error: str, *, retry_at: datetime | None) -> None:
        """Record the error; back to pending at ``retry_at``, or parked when None."""

    def requeue_jobs(self, space: str, statuses: Sequence[str] = ("failed", "parked")) -> int:
        """Put failed / parked jobs back to pending with their attempts reset."""

    def job_counts(self, space: str) -> dict[str, int]: ...

    def job_usage(self, space: str) -> dict[str, int]:
        """``llm_calls``, ``prompt_tokens`` and ``completion_tokens`` summed over the space's
        finished jobs (0 each when none recorded usage)."""

    def list_jobs(self, space: str | None, statuses: Sequence[str] | None = None, limit: int = 100) -> list[Job]:
        """Newest first; ``space`` None: every space (for workers)."""

@runtime_checkable
class KeyStore(Protocol):
    """API keys and the audit log (``keys.py``)."""

    def create_key(self, key: ApiKey, key_hash: str) -> None:
        """Store a key record with the hash of its secret (never the secret)."""

    def key_by_hash(self, key_hash: str) -> ApiKey | None:
        """The key (of any space) whose secret hashes to this, revoked or not."""

    def list_keys(self, space: str | None = None) -> list[ApiKey]:
        """Keys of a space (all spaces with None), oldest first."""

    def revoke_key(self, key_id: str) -> bool:
        """Mark a key revoked; False when unknown or already revoked."""

    def add_audit(self, entry: AuditEntry) -> None: ...

    def list_audit(self, space: str, *, limit: int = 100, before: str | None = None) -> list[AuditEntry]:
        """Newest first; ``before``: an entry id to page from."""

@runtime_checkable
class EntityStore(Protocol):
    """The entity graph: who and what memories mention, per user."""

    def link_entities(self, space: str, user_id: str,
                      links: Sequence[tuple[str, Sequence[tuple[str, str]]]], at: datetime) -> None:
        """For each ``(memory_id, [(name, kind), ...])``, link the memory to those
        entities of ``user_id``, creating an entity the first time its normalised name
        (lower case, no leading "the", no possessive) is seen for that user, else counting
        the mention and widening its first/last times with ``at``.  A person named by a
        prefix of a known person's name of the same user ("Mel" and "Melanie", at least 3
        letters) is that person, the shorter name kept as an alias.  Linking the same
        memory to the same entity twice is one link.  A memory id of another space or
        that does not exist is skipped."""

    def entities_of(self, space: str, memory_ids: Sequence[str]) -> dict[str, list[Entity]]:
        """The entities each memory is linked to (memories with none are absent)."""

    def find_entities(self, space: str, names: Sequence[str], *, user_id: str | None = None) -> list[Entity]:
        """Entities whose normalised name or an alias equals one of ``names`` (normalised
        the same way), of one user or (``user_id=None``) of the whole space."""

    def entity_memories(self, space: str, entity_ids: Sequence[str], *, limit: int = 200) -> dict[str, list[str]]:
        """Per entity, the ids of the memories linked to it, newest first, at most
        ``limit`` each (an entity mentioned everywhere must not flood the caller)."""

    def related_entities(self, space: str, entity_id: str, *, limit: int = 20) -> list[tuple[Entity, int]]:
        """Entities mentioned in the same memories as this one, with how many memories
        they share, most shared first."""

    def list_entities(self, space: str, user_id: str, *, limit: int = 50, offset: int = 0) -> list[Entity]:
        """A user's entities, most recently mentioned first, a page at a time."""

    def get_entity(self, space: str, entity_id: str) -> Entity | None:
        """One entity of the space, or None."""


@runtime_checkable
class VaultStore(Protocol):
    """PII originals kept encrypted (``pii.mode = "vault"``), per conversation
    (``store/_vault.py``).  The store holds ciphertext only; keys never reach it."""

    def vault_put(self, space: str, user_id: str, conversation_id: str,
                  items: Sequence[tuple[str, str, bytes]]) -> None:
        """Keep ``(token, kind, ciphertext)`` items of a conversation; a token already kept
        in that conversation is left as it is (the same value gives the same token)."""

    def vault_get(self, space: str, conversation_id: str, tokens: Sequence[str]) -> dict[str, tuple[str, bytes]]:
        """``token -> (kind, ciphertext)`` for those of ``tokens`` kept in the
        conversation; :meth:`Store.forget` removes a conversation's, user's or space's."""

    def vault_delete(self, space: str, conversation_id: str, tokens: Sequence[str]) -> int:
        """Remove these tokens of the conversation (those of a forgotten message that no
        other message holds); returns how many were kept."""


@runtime_checkable
class ShareStore(Protocol):
    """Shares and mounts (``store/_shares.py``): space A's admin shares A's memory (of
    one user or agent, or all of it) with space B; B's admin mounts the share under a
    name; B's searches may include it.  Share ids are global; a revoked share stays
    listed (with ``revoked_at``) and its mounts yield nothing."""

    def create_share(self, share: Share) -> None: ...

    def get_share(self, share_id: str) -> Share | None:
        """The share with this id, of any space (the mounting space checks ``to_space``)."""

    def list_shares(self, *, space: str | None = None, to_space: str | None = None) -> list[Share]:
        """Shares made by ``space`` and/or granted to ``to_space``, oldest first."""

    def revoke_share(self, space: str, share_id: str, at: datetime) -> bool:
        """Mark a share of ``space`` revoked; False when unknown, another space's, or
        already revoked."""

    def add_mount(self, mount: Mount) -> None:
        """Raises ConflictError when the space already has a mount of that name."""

    def list_mounts(self, space: str) -> list[Mount]:
        """The space's mounts by name."""

    def remove_mount(self, space: str, name: str) -> bool:
        """False when the space has no mount of that name."""


@runtime_checkable
class ExportStore(Protocol):
    """Every row, for copying a store (``export.py``)."""

    def export(self) -> Iterator[tuple[str, Any]]:
        """Every row of every space, for copying a store to another backend, as
        ``(table, item)`` in an order that satisfies references: ``("meta", (key, value))``,
        ``("message", Message)``, ``("memory", (MemoryRecord, vector | None, model | None))``,
        ``("cell", Cell)``, ``("scene", (Scene, centroid))``, ``("history", (space, HistoryEntry))``,
        ``("job", (Job, dedupe_key))``, ``("key", (ApiKey, key_hash))``, ``("audit", AuditEntry)``."""

@runtime_checkable
class Store(MessageStore, MemoryStore, SearchIndex, CellStore, JobStore, KeyStore, EntityStore, VaultStore,
            ShareStore, ExportStore, Protocol):
    """A whole backend: every role, plus the lifecycle, store-wide settings and forgetting
    (``connection.py`` and ``store.py`` in each backend)."""

    def close(self) -> None:
        """Release connections.  Idempotent."""

    def transaction(self) -> AbstractContextManager[None]:
        """One atomic unit of work; nested calls join the outermost transaction.  An
        exception inside rolls everything back and propagates."""

    def scrub(self) -> None:
        """Remove what the backend keeps of rows already deleted (full-text index
        segments, the write-ahead log) where it keeps any; called after a forget.  May
        cost time in proportion to the full-text index."""

    def health(self) -> dict[str, Any]:
        """Backend name, location, schema version (applied migrations), integrity check,
        row counts (``rows_<table>``), ``size_bytes`` (on SQLite the file and its WAL; on
        PostgreSQL the database) and ``index_bytes`` (every index, full text and vector
        included; None where the backend cannot tell).  Never raises for an unhealthy
        store: it reports."""

    def get_meta(self, key: str) -> str | None:
        """A store-wide setting, or None."""

    def set_meta(self, key: str, value: str) -> None:
        """Create or replace a store-wide setting."""

    def delete_meta(self, key: str) -> bool:
        """Remove a setting; False when there was none."""

    def meta_items(self, prefix: str, *, limit: int = 1000) -> list[tuple[str, str]]:
        """Settings whose key starts with ``prefix`` (compared byte for byte: no
        wildcard in it has a meaning), by key, at most ``limit``."""

    def forget(self, space: str, *, user_id: str | None = None, conversation_id: str | None = None,
               message_id: str | None = None) -> dict[str, int]:
        """Hard delete one message (``message_id``: the message, every memory that drew
        on it, its cell's episode included, and the store settings of its conversation,
        such as its working memory; its cell stays, with its other messages and their
        memories, and its vault tokens are the caller's, who knows which other messages
        hold them), or everything of a conversation (or of a user, or with none, of
        the whole space), leaving no trace of its text: messages, memories (with those of
        other conversations that drew on its messages, such as a merged profile item),
        vectors, full-text entries (and the terms only they held), cells, history, jobs
        whose payload names it, entities no remaining memory mentions (their names are
        text of the forgotten messages), its PII vault rows, shares of its memory (a
        user's, or all of a space's, with their mounts; a forgotten space's mounts too),
        store settings of its conversations (``meta`` keys ending in
        ``/<space>/<conversation_id>``), and scenes: a user's or space's all go; a
        conversation's go where no other cell is in them, and the others are left with an
        empty label for the caller to rebuild from the cells that remain.  A backend that
        keeps deleted bytes (index segments, a write-ahead log) scrubs them before
        returning.  Returns counts per table."""

"""``Memory.admin``: what operators and the surfaces' plumbing need beyond memory itself:
API keys, the audit log, running jobs of every space (workers), bulk loads, and copying a
store.  The server, worker, CLI and benchmark reach the store only through this part and
:class:`engramos.Memory`.

API keys are scoped to one space, with a role (admin > write > read), optionally limited
to given users or agents.  Only a SHA-256 of each secret is stored; secrets are 256-bit
random tokens, so a fast hash is enough (as for GitHub or Stripe keys)."""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from ._util import new_id, utcnow
from .cube import inspect_cube
from .errors import AuthError, ForbiddenError, InvalidInputError, NotFoundError
from .governance.pii import tokens_in
from .requests import SearchRequest
from .store import Store
from .types import (
    AdapterInfo,
    ApiKey,
    AuditEntry,
    Cell,
    Entity,
    KeyRole,
    MemoryRecord,
    Message,
    Mount,
    Revealed,
    SearchResult,
    Share,
)
from .validation import check_id
from .vocab import KEY_ROLES

_RECLAIM_EVERY_SECONDS = 10.0

if TYPE_CHECKING:
    from .memory import Memory

KEY_PREFIX = "engram_"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Admin:
    def __init__(self, memory: Memory) -> None:
        self._memory = memory
        self._reclaimed_at = -math.inf  # when work() last looked for jobs of dead workers

    @property
    def _store(self) -> Store:
        return self._memory._store

    # ------------------------------------------------------------------- keys
    def create_key(self, name: str = "key", role: KeyRole = "write", *, space: str | None = None,
                   users: Sequence[str] | None = None, agents: Sequence[str] | None = None) -> tuple[ApiKey, str]:
        """A new key of ``space`` (default: this memory's) and its secret, shown once and
        never stored."""
        key_space = check_id("space", space or self._memory.space)
        assert key_space is not None
        if role not in KEY_ROLES:
            raise InvalidInputError("role", f"must be one of {list(KEY_ROLES)}")
        for field, ids in (("users", users), ("agents", agents)):
            for i in ids or []:
                check_id(field, i)
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        key = ApiKey(id=new_id("key"), space=key_space, name=name or "key", role=role,
                     users=list(users) if users else None, agents=list(agents) if agents else None,
                     created_at=utcnow())
        self._store.create_key(key, hash_secret(secret))
        return key, secret

    def authenticate(self, secret: str | None) -> ApiKey:
        """The active key whose secret this is; :class:`AuthError` otherwise."""
        if not secret:
            raise AuthError("an API key is required (Authorization: Bearer <key>)")
        key = self._store.key_by_hash(hash_secret(secret.strip()))
        if key is None or key.revoked_at is not None:
            raise AuthError("unknown or revoked API key")
        return key

    def list_keys(self, *, all_spaces: bool = False) -> list[ApiKey]:
        """Keys of this memory's space (every space's with ``all_spaces``), oldest first."""
        return self._store.list_keys(None if all_spaces else self._memory.space)

    def revoke_key(self, key_id: str) -> ApiKey:
        """Revoke a key (it stops working at once)."""
        check_id("key_id", key_id)
        if not self._store.revoke_key(key_id):
            raise InvalidInputError("key_id", f"{key_id} is unknown or already revoked")
        return next(k for k in self._store.list_keys(None) if k.id == key_id)

    # ------------------------------------------------------------------ audit
    def record(self, actor: str, action: str, target: str, **detail: Any) -> None:
        """Append an entry to this space's audit log."""
        self._store.add_audit(AuditEntry(id=new_id("aud"), space=self._memory.space, actor=actor, action=action,
                                         target=target, at=utcnow(), detail=detail))

    def audit(self, *, limit: int = 100, before: str | None = None) -> list[AuditEntry]:
        """This space's audit log, newest first; ``before``: an entry id to page from."""
        check_id("before", before, required=False)
        return self._store.list_audit(self._memory.space, limit=limit, before=before)

    # ------------------------------------------------------------------- jobs
    @property
    def worker_id(self) -> str:
        return str(self._memory._queue.worker_id)

    def work(self, *, all_spaces: bool = True, lease_seconds: float | None = None) -> bool:
        """Claim one due job (of any space, by default) and run it; False when none is
        due.  What ``engram worker`` does in a loop."""
        queue = self._memory._queue
        if lease_seconds is not None:
            queue.lease_seconds = lease_seconds
        space = None if all_spaces else self._memory.space
        if time.monotonic() - self._reclaimed_at > _RECLAIM_EVERY_SECONDS:
            # jobs held by a dead worker of this host run now, not when their lease ends
            queue.reclaim_orphans(space)
            self._reclaimed_at = time.monotonic()
        jobs = self._store.claim_jobs(space, queue.worker_id, lease_seconds=queue.lease_seconds)
        if not jobs:
            return False
        queue.run_one(jobs[0])
        return True

    # ------------------------------------------------------- shares / mounts
    def share(self, name: str, to_space: str, *, user_id: str | None = None, agent_id: str | None = None) -> Share:
        """Let ``to_space`` mount this space's memory read-only: one user's, one agent's,
        or (neither given) all of it.  Its admin then mounts it (:meth:`mount`)."""
        for field, value in (("name", name), ("to_space", to_space)):
            check_id(field, value)
        check_id("user_id", user_id, required=False)
        check_id("agent_id", agent_id, required=False)
        if to_space == self._memory.space:
            raise InvalidInputError("to_space", "a space does not share with itself")
        share = Share(id=new_id("shr"), space=self._memory.space, name=name, to_space=to_space, user_id=user_id,
                      agent_id=agent_id, created_at=utcnow())
        self._store.create_share(share)
        return share

    def shares(self) -> list[Share]:
        """Shares this space made and shares granted to it."""
        space = self._memory.space
        return self._store.list_shares(space=space) + self._store.list_shares(to_space=space)

    def revoke_share(self, share_id: str) -> bool:
        """Stop a share of this space: every mount of it yields nothing from now on."""
        check_id("share_id", share_id)
        return self._store.revoke_share(self._memory.space, share_id, utcnow())

    def mount(self, share_id: str, name: str) -> Mount:
        """Mount a share granted to this space under ``name`` (searches name it in
        ``mounts``)."""
        check_id("share_id", share_id)
        check_id("name", name)
        if name == "*":
            raise InvalidInputError("name", "'*' means every mount; choose another name")
        share = self._store.get_share(share_id)
        if share is None or share.to_space != self._memory.space:
            raise NotFoundError("share", share_id)
        if share.revoked_at is not None:
            raise ForbiddenError(f"share {share_id} was revoked by space {share.space!r}")
        mount = Mount(space=self._memory.space, name=name, share_id=share_id, created_at=utcnow())
        self._store.add_mount(mount)
        return mount

    def mount_cube(self, source: str | Path | IO[bytes], name: str, *, sign_key: str | None = None) -> Mount:
        """Mount a MemCube file read-only under ``name`` (a team handbook, an agent's
        skills): it is imported into a space of its own, ``cube-<cube id>`` (once: the
        import is idempotent), which shares it with this space."""
        check_id("name", name)
        manifest = inspect_cube(source).manifest
        if hasattr(source, "seek"):
            source.seek(0)
        holder = self._memory.for_space(f"cube-{manifest.cube_id.removeprefix('cube_')}")
        holder.import_cube(source, sign_key=sign_key)
        share = next((s for s in self._store.list_shares(space=holder.space, to_space=self._memory.space)
                      if s.revoked_at is None), None) \
            or holder.admin.share(f"cube {manifest.cube_id}", self._memory.space)
        return self.mount(share.id, name)

    def mounts(self) -> list[Mount]:
        return self._store.list_mounts(self._memory.space)

    def unmount(self, name: str) -> bool:
        check_id("name", name)
        return self._store.remove_mount(self._memory.space, name)

    # ------------------------------------------------------------------- PII
    # ------------------------------------------------------------- entities
    def entities(self, user_id: str, *, limit: int = 50, offset: int = 0) -> list[Entity]:
        """A user's entities (people, places, pets...), most recently mentioned first."""
        check_id("user_id", user_id)
        return self._store.list_entities(self._memory.space, user_id, limit=min(limit, 500), offset=max(offset, 0))

    def entity(self, entity_id: str, *,
               limit: int = 100) -> tuple[Entity, list[MemoryRecord], list[tuple[Entity, int]]]:
        """An entity, its memories newest first (its timeline), and its neighbours with how
        many memories they share."""
        check_id("entity_id", entity_id)
        found = self._store.get_entity(self._memory.space, entity_id)
        if found is None:
            raise NotFoundError("entity", entity_id)
        ids = self._store.entity_memories(self._memory.space, [entity_id], limit=limit).get(entity_id, [])
        return found, self._store.get_memories(self._memory.space, ids), \
            self._store.related_entities(self._memory.space, entity_id)

    def scene_cells(self, scene_ids: Sequence[str]) -> dict[str, list[Cell]]:
        """The MemCells of each scene, by start time (the console's time axis)."""
        return {sid: self._store.list_cells(self._memory.space, scene_id=sid) for sid in scene_ids}

    def entities_of(self, memory_ids: Sequence[str]) -> dict[str, list[Entity]]:
        return self._store.entities_of(self._memory.space, list(memory_ids))

    # ------------------------------------------------------------- adapters
    def attach_adapter(self, user_id: str, path: str | Path, *, scale: float = 1.0) -> AdapterInfo:
        """Register a LoRA adapter (GGUF) for a user of this space: the local runtime
        (``config.local``) applies it when it answers for them.  Checked by loading it
        into the configured model; replaces the user's earlier adapter."""
        m = self._memory
        local = m._local
        return m._adapters.attach(m.space, user_id, Path(path), scale=scale,
                                  base_model=local.chat().runtime.model_id, check=local.check_adapter)

    def adapters(self) -> list[AdapterInfo]:
        return self._memory._adapters.list(self._memory.space)

    def detach_adapter(self, user_id: str) -> bool:
        check_id("user_id", user_id)
        assert user_id is not None
        return self._memory._adapters.detach(self._memory.space, user_id)

    def message(self, message_id: str) -> Message:
        """One stored message of this space, as stored (vault tokens in place)."""
        check_id("message_id", message_id)
        found = self._store.get_messages(self._memory.space, [message_id])
        if not found:
            raise NotFoundError("message", message_id)
        return found[0]

    def reveal(self, message_id: str) -> Revealed:
        """A message with the PII values the vault keeps for it put back (``pii.mode =
        "vault"``); the server lets only admin keys call it, and audits each call."""
        msg = self.message(message_id)
        kept = self._store.vault_get(self._memory.space, msg.conversation_id, tokens_in([msg.content]))
        text, values = self._memory._redactor.reveal(msg.content, kept)
        return Revealed(message_id=msg.id, user_id=msg.user_id, agent_id=msg.agent_id,
                        conversation_id=msg.conversation_id, text=text, values=values)

    # ------------------------------------------------------- check / repair
    def check(self) -> dict[str, int]:
        """Unfinished work in this space: memories without a vector (not found by vector
        search), messages not yet in a MemCell (open tails, or segmentation that never
        ran), and running jobs whose worker on this host is gone."""
        space = self._memory.space
        unsegmented = sum(len(self._store.list_messages(space, c, unassigned=True))
                          for c in self._store.conversations_with_unassigned(space))
        return {"memories_without_vectors": len(self._store.ids_without_vectors(space, limit=1_000_000)),
                "messages_without_cells": unsegmented,
                "running_jobs": self._memory.job_counts()["running"]}

    def repair(self, *, batch: int = 256) -> dict[str, int]:
        """Finish what :meth:`check` finds: reclaim jobs of dead workers, embed memories
        that have no vector, and close every conversation's open tail into MemCells
        (processed now in library mode)."""
        memory, space = self._memory, self._memory.space
        reclaimed = memory._queue.reclaim_orphans(space)
        embedded = 0
        while ids := self._store.ids_without_vectors(space, limit=batch):
            records = self._store.get_memories(space, ids)
            vectors = memory._embedder.embed([r.text for r in records], "passage")
            self._store.set_vectors(space, [r.id for r in records], vectors, memory._embedder.model_id)
            embedded += len(records)
        unsegmented = self.check()["messages_without_cells"]
        jobs = memory.flush() if unsegmented else 0
        return {"jobs_reclaimed": reclaimed, "memories_embedded": embedded, "messages_to_cells": unsegmented,
                "jobs_run": jobs}

    # ------------------------------------------------- bulk loads and copies
    @contextmanager
    def bulk_load(self, rows: int) -> Iterator[None]:
        """Announce a load of about ``rows`` memories (see ``Store.bulk_load``)."""
        with self._store.bulk_load(rows):
            yield

    def load_memories(self, records: Sequence[MemoryRecord], vectors: np.ndarray | None) -> None:
        """Write prepared memories (and their vectors, by this store's embedder) of this
        space in one transaction: imports and synthetic benchmark loads."""
        for r in records:
            if r.space != self._memory.space:
                raise InvalidInputError("records", f"memory {r.id} belongs to space {r.space!r}, "
                                        f"not {self._memory.space!r}")
        with self._store.transaction():
            self._store.insert_memories(records, vectors, self._memory._embedder.model_id)

    def vectors(self, memory_ids: Sequence[str]) -> dict[str, np.ndarray]:
        return self._store.get_vectors(self._memory.space, list(memory_ids))

    def recall_with_vector(self, request: SearchRequest, query_vector: np.ndarray) -> SearchResult:
        """Recall with a precomputed query embedding (benchmarks that batch theirs, or
        whose vectors are synthetic)."""
        return self._memory._recall(request, query_vector=query_vector)

    def copy_to(self, location: str, *, progress: Callable[[str, int], None] | None = None) -> dict[str, Any]:
        """Copy the whole store (every space) into an empty store at ``location`` and
        verify row counts and checksums on both sides."""
        from .store import open_store
        from .store.migrate import checksums, copy_store

        dst = open_store(location)
        try:
            copied = copy_store(self._store, dst, progress=progress)
            before, after = checksums(self._store), checksums(dst)
        finally:
            dst.close()
        return {"copied": copied, "verified": before == after, "source": before, "destination": after}

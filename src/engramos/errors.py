"""The exception tree.  Every error EngramOS raises is an :class:`EngramError`.

Errors from SQLite (and later PostgreSQL or HTTP) are translated into this tree at the
store / provider boundary, so callers never need to import a driver to catch them.
"""

from __future__ import annotations


class EngramError(Exception):
    """Base class of every EngramOS error.  ``code`` is stable and machine-readable."""

    code = "engram_error"

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": str(self)}


class InvalidInputError(EngramError, ValueError):
    """Input that cannot be accepted.  ``field`` names the offending field."""

    code = "invalid_input"

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": str(self), "field": self.field}


class NotFoundError(EngramError, LookupError):
    """An id that does not exist in the caller's space (or was hard-deleted)."""

    code = "not_found"

    def __init__(self, kind: str, ident: str) -> None:
        self.kind = kind
        self.ident = ident
        super().__init__(f"{kind} {ident!r} not found")


class ConfigError(EngramError):
    """Configuration that cannot work (unknown provider, missing model, bad path)."""

    code = "config_error"


class EmbeddingModelMismatchError(ConfigError):
    """The store holds vectors of another embedding model than the one configured."""

    code = "embedding_model_mismatch"


class StoreError(EngramError):
    """A storage failure (the database is locked, corrupt, full, unreachable...)."""

    code = "store_error"


class ProviderError(EngramError):
    """An embedding / LLM / reranker provider failed (after its retries)."""

    code = "provider_error"


class JobError(EngramError):
    """A background job failed; the job row keeps the reason and may be retried."""

    code = "job_error"

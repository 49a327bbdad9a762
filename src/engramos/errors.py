"""The exception tree.  Every error EngramOS raises is an :class:`EngramError`.

Errors from SQLite, PostgreSQL and HTTP are translated into this tree at the store,
provider and client boundaries, so callers never need to import a driver to catch them.
Each class has a stable ``code`` (the REST API's error code) and the HTTP status the
server answers it with.
"""

from __future__ import annotations


class EngramError(Exception):
    """Base class of every EngramOS error.  ``code`` is stable and machine-readable."""

    code = "engram_error"
    http_status = 400

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": str(self)}


class InvalidInputError(EngramError, ValueError):
    """Input that cannot be accepted.  ``field`` names the offending field."""

    code = "invalid_input"
    http_status = 422

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": str(self), "field": self.field}


class NotFoundError(EngramError, LookupError):
    """An id that does not exist in the caller's space (or was hard-deleted)."""

    code = "not_found"
    http_status = 404

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
    http_status = 503


class ProviderError(EngramError):
    """An embedding / LLM / reranker provider failed (after its retries)."""

    code = "provider_error"
    http_status = 502


class JobError(EngramError):
    """A background job failed; the job row keeps the reason and may be retried."""

    code = "job_error"


class AuthError(EngramError):
    """A missing, unknown or revoked API key."""

    code = "unauthorized"
    http_status = 401


class ForbiddenError(EngramError):
    """The key's role, users or agents do not allow this."""

    code = "forbidden"
    http_status = 403


class ConflictError(EngramError):
    """The write contradicts what is stored (a conversation that belongs to another user)."""

    code = "conflict"
    http_status = 409


class CubeError(EngramError):
    """A MemCube that cannot be read or imported: a missing, corrupt or truncated part,
    an unknown format version, a broken reference or a bad signature.  ``part`` names the
    part of the archive at fault (``manifest.json``, ``memories.jsonl``, ...)."""

    code = "invalid_cube"
    http_status = 422

    def __init__(self, message: str, part: str | None = None) -> None:
        self.part = part
        super().__init__(f"{part}: {message}" if part else message)

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": str(self), "part": self.part}


class TooLargeError(EngramError):
    """A request over a configured limit (the limit is named in the message)."""

    code = "too_large"
    http_status = 413


class RateLimitedError(EngramError):
    """Too many requests for this API key; retry after the time the server names."""

    code = "rate_limited"
    http_status = 429


class ServerError(EngramError):
    """The server failed, or could not be reached (raised by the client)."""

    code = "server_error"
    http_status = 500


def error_classes() -> list[type[EngramError]]:
    """Every class of the tree, the base included (the client maps codes back to them)."""
    found: list[type[EngramError]] = [EngramError]
    for cls in found:
        found.extend(sub for sub in cls.__subclasses__() if sub not in found)
    return found

"""Turn the message shapes applications send into validated :class:`MessageIn` values.

Accepted shapes (per message):

* chat: ``{"role": "user" | "assistant" | ..., "content": str, "timestamp"?: ..., "name"?: str}``
* speaker: ``{"speaker" | "sender": str, "text" | "content": str, "timestamp": ...}``

Optional everywhere: ``id`` / ``dia_id`` (an external id, kept for citations),
``metadata`` (dict), ``image_caption`` / ``blip_caption`` (text describing a shared image).
Timestamps: ISO-8601 strings (a naive one is taken as UTC), epoch seconds or
milliseconds (int/float), or ``datetime``.  A chat message without a timestamp takes the
``default_time`` given to :func:`normalize_messages` (the facade passes "now" only for
chat-shaped input; speaker-shaped input must carry its time).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from .errors import InvalidInputError

M = TypeVar("M", bound=BaseModel)

_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ID_RE = re.compile(r"^[^\x00-\x1f\x7f]{1,200}$")


@dataclass
class MessageIn:
    sender: str
    sender_name: str
    role: str
    content: str
    timestamp: datetime
    external_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def content_hash(self) -> str:
        h = hashlib.sha256()
        for part in (self.sender, self.role, self.timestamp.isoformat(), self.content,
                     self.external_id or ""):
            h.update(part.encode())
            h.update(b"\x1f")
        return h.hexdigest()


def check_id(field_name: str, value: object, *, required: bool = True) -> str | None:
    """Validate a tenant id (user, agent, conversation, session, space)."""
    if value is None:
        if required:
            raise InvalidInputError(field_name, "is required")
        return None
    if not isinstance(value, str):
        raise InvalidInputError(field_name, f"must be a string, got {type(value).__name__}")
    _no_surrogates(value, field_name)
    if not valid_id(value):
        raise InvalidInputError(field_name, ID_RULE)
    return value


ID_RULE = "must be 1-200 printable characters"


def valid_id(value: str) -> bool:
    return bool(_ID_RE.match(value)) and bool(value.strip())


def validated(model: type[M], data: object, where: str = "") -> M:
    """``model`` validated from ``data``; a pydantic error becomes an
    :class:`InvalidInputError` naming the first offending field (``filters.user_id``)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid_input(exc, where) from None


def invalid_input(exc: ValidationError, where: str = "") -> InvalidInputError:
    first = exc.errors()[0]
    path = ".".join(str(p) for p in first["loc"] if p not in ("function-after", "function-before"))
    field = ".".join(x for x in (where, path) if x) or "request"
    message = str(first["msg"]).removeprefix("Value error, ").removeprefix(f"{path}: ")
    return InvalidInputError(field, message)


MIN_YEAR, MAX_YEAR = 1000, 9000  # room for date arithmetic (plans a year ahead, "a century ago")
MAX_METADATA_DEPTH = 16


def parse_timestamp(value: object, field_name: str) -> datetime:
    dt = _parse_timestamp(value, field_name)
    if not MIN_YEAR <= dt.year <= MAX_YEAR:
        raise InvalidInputError(field_name, f"year {dt.year} is outside {MIN_YEAR}-{MAX_YEAR}")
    return dt


def _parse_timestamp(value: object, field_name: str) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, bool):
        raise InvalidInputError(field_name, "must be an ISO-8601 string or epoch seconds, got a boolean")
    if isinstance(value, int | float):
        seconds = float(value)
        if seconds > 1e11:  # milliseconds
            seconds /= 1000.0
        if not 0 <= seconds < 32503680000:  # year 3000
            raise InvalidInputError(field_name, f"epoch value {value!r} is out of range")
        return datetime.fromtimestamp(seconds, UTC)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise InvalidInputError(field_name, "is empty")
        if re.fullmatch(r"\d+(\.\d+)?", text):
            return _parse_timestamp(float(text), field_name)
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInputError(field_name, f"cannot parse {value!r} as an ISO-8601 time") from None
        return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    raise InvalidInputError(field_name, f"must be an ISO-8601 string or epoch seconds, got {type(value).__name__}")


def _no_surrogates(value: str, field_name: str) -> None:
    if _SURROGATE_RE.search(value):
        raise InvalidInputError(field_name, "holds a lone UTF-16 surrogate, which is not text")


def _text_ok(value: str, field_name: str) -> None:
    _no_surrogates(value, field_name)
    if "\x00" in value:  # JSON can say it, but no backend stores it as text (PostgreSQL refuses it)
        raise InvalidInputError(field_name, "holds a NUL character, which is not text")


def check_metadata(value: object, field_name: str, depth: int = 0, *, max_bytes: int | None = None) -> None:
    """JSON-shaped metadata: string keys, finite numbers, text without lone surrogates or NUL,
    at most :data:`MAX_METADATA_DEPTH` levels and, given ``max_bytes``, at most that
    many bytes as UTF-8 JSON."""
    if max_bytes is not None:
        check_metadata(value, field_name, depth)
        size = len(json.dumps(value, ensure_ascii=False).encode())
        if size > max_bytes:
            raise InvalidInputError(field_name, f"is {size} bytes as JSON; the limit is {max_bytes} "
                                                "(limits.max_metadata_bytes)")
        return
    if depth > MAX_METADATA_DEPTH:
        raise InvalidInputError(field_name, f"nests deeper than {MAX_METADATA_DEPTH} levels")
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise InvalidInputError(field_name, "keys must be strings")
            _text_ok(k, field_name)
            check_metadata(v, f"{field_name}.{k}", depth + 1)
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            check_metadata(v, f"{field_name}[{i}]", depth + 1)
    elif isinstance(value, str):
        _text_ok(value, field_name)
    elif isinstance(value, float) and not math.isfinite(value):
        raise InvalidInputError(field_name, "numbers must be finite (no NaN or Infinity)")
    elif value is not None and not isinstance(value, bool | int | float):
        raise InvalidInputError(field_name, f"must be JSON (got {type(value).__name__})")


def clean_text(value: object, field_name: str, max_chars: int) -> str:
    if not isinstance(value, str):
        raise InvalidInputError(field_name, f"must be a string, got {type(value).__name__}")
    _no_surrogates(value, field_name)
    text = unicodedata.normalize("NFC", _CONTROL_RE.sub("", value)).strip()
    if not text:
        raise InvalidInputError(field_name, "is empty")
    if len(text) > max_chars:
        raise InvalidInputError(field_name, f"is {len(text)} characters; the limit is {max_chars}")
    return text


def normalize_messages(
    messages: object, *, max_chars: int, default_time: datetime | None = None,
    max_messages: int | None = None, max_metadata_bytes: int | None = None,
) -> list[MessageIn]:
    """Validate every message before anything is stored: one bad message rejects the
    whole batch with an error that names it (``messages[3].timestamp: ...``)."""
    if isinstance(messages, dict | str):
        messages = [messages]
    if not isinstance(messages, list | tuple):
        raise InvalidInputError("messages", f"must be a list of messages, got {type(messages).__name__}")
    if not messages:
        raise InvalidInputError("messages", "is empty")
    if max_messages is not None and len(messages) > max_messages:
        raise InvalidInputError("messages", f"holds {len(messages)} messages; the limit is {max_messages} "
                                            "(limits.max_messages_per_request)")
    return [_one(m, f"messages[{i}]", max_chars, default_time, max_metadata_bytes) for i, m in enumerate(messages)]


def _one(raw: object, where: str, max_chars: int, default_time: datetime | None,
         max_metadata_bytes: int | None = None) -> MessageIn:
    if isinstance(raw, str):
        raw = {"role": "user", "content": raw}
    if not isinstance(raw, dict):
        raise InvalidInputError(where, f"must be an object, got {type(raw).__name__}")
    speaker = raw.get("speaker", raw.get("sender"))
    role = raw.get("role")
    if speaker is None and role is None:
        raise InvalidInputError(f"{where}.speaker", "a message needs 'speaker'/'sender' or 'role'")
    body = raw.get("text", raw.get("content"))
    if body is None:
        raise InvalidInputError(f"{where}.content", "a message needs 'content' or 'text'")
    content = clean_text(body, f"{where}.content", max_chars)
    if role is not None and not isinstance(role, str):
        raise InvalidInputError(f"{where}.role", f"must be a string, got {type(role).__name__}")
    if speaker is not None:
        sender = clean_text(speaker, f"{where}.speaker", 200)
    else:
        name = raw.get("name")
        sender = clean_text(name, f"{where}.name", 200) if name is not None else str(role)
    ts_raw = raw.get("timestamp", raw.get("time", raw.get("created_at")))
    if ts_raw is None:
        if speaker is not None or default_time is None:
            raise InvalidInputError(f"{where}.timestamp", "is required")
        timestamp = default_time
    else:
        timestamp = parse_timestamp(ts_raw, f"{where}.timestamp")
    metadata = raw.get("metadata")
    metadata = {} if metadata is None else metadata
    if not isinstance(metadata, dict):
        raise InvalidInputError(f"{where}.metadata", "must be an object")
    check_metadata(metadata, f"{where}.metadata", max_bytes=max_metadata_bytes)
    caption = raw.get("image_caption", raw.get("blip_caption"))
    if caption is not None:
        metadata = {**metadata, "image_caption": clean_text(caption, f"{where}.image_caption", max_chars)}
    ext = raw.get("id", raw.get("dia_id"))
    external_id = None
    if ext is not None:
        external_id = check_id(f"{where}.id", str(ext) if isinstance(ext, int) else ext)
    return MessageIn(sender=sender, sender_name=sender, role=str(role or "user"), content=content,
                     timestamp=timestamp, external_id=external_id, metadata=metadata)

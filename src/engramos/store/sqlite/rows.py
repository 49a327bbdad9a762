"""Row <-> model conversions and small SQL helpers of the SQLite backend."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from ..._util import from_iso, iso
from ...types import ApiKey, Cell, Filters, Job, MemoryRecord, Message
from .._filters import SQLITE, filter_sql

_MEM_COLS = (
    "id, space, kind, user_id, agent_id, conversation_id, session_id, speaker, text, "
    "observed_at, event_start, event_end, valid_from, valid_to, status, supersedes, cell_id, "
    "scene_id, message_ids, metadata, produced_by, created_at, updated_at"
)
_MSG_COLS = (
    "id, space, user_id, agent_id, conversation_id, session_id, seq, sender, sender_name, "
    "role, content, ts, external_id, metadata, content_hash, cell_id, created_at"
)
_DT_FIELDS = ("observed_at", "event_start", "event_end", "valid_from", "valid_to",
              "created_at", "updated_at")
_UPDATABLE = {"text", "status", "valid_from", "valid_to", "event_start", "event_end",
              "metadata", "supersedes", "scene_id", "speaker"}


def _split_sql(script: str) -> list[str]:
    """Statements of a migration script (``--`` comments removed first)."""
    code = "\n".join(line.split("--", 1)[0] for line in script.splitlines())
    return [s.strip() for s in code.split(";") if s.strip()]


def _ph(items: Sequence[Any]) -> str:
    return ", ".join("?" * len(items))


def _chunks(items: list[Any], size: int = 500) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def scope_token(prefix: str, value: str) -> str:
    """An FTS-safe token standing for one tenant value (ids may hold any characters)."""
    return prefix + hashlib.blake2b(value.encode(), digest_size=8).hexdigest()


def _scope(rec: MemoryRecord) -> str:
    """The tenancy tokens of a row's FTS entry: exactly ``_ranking.SCOPE_TOKENS`` of them."""
    return scope_tokens(rec.space, rec.user_id, rec.conversation_id, rec.kind, rec.status)


def scope_tokens(space: str, user_id: str, conversation_id: str, kind: str, status: str) -> str:
    return " ".join([
        scope_token("sp", space), scope_token("us", user_id),
        scope_token("cv", conversation_id), "kd" + kind, "st" + status,
    ])


def _index_text(rec: MemoryRecord) -> str:
    from ...text import index_text

    return index_text(rec.text)


def _filter_sql(space: str, f: Filters, *, alias: str, with_status: bool = True) -> tuple[str, list[Any]]:
    return filter_sql(SQLITE, space, f, alias=alias, with_status=with_status)


def _memory_row(rec: MemoryRecord) -> tuple[Any, ...]:
    d = rec.model_dump()
    vals: list[Any] = []
    for col in (c.strip() for c in _MEM_COLS.split(",")):
        v = d[col]
        if col in _DT_FIELDS:
            v = iso(v) if v is not None else None
        elif col in ("message_ids", "metadata"):
            v = json.dumps(v, ensure_ascii=False, default=str)
        vals.append(v)
    return tuple(vals)


def _memory(r: tuple) -> MemoryRecord:
    cols = [c.strip() for c in _MEM_COLS.split(",")]
    d: dict[str, Any] = dict(zip(cols, r, strict=True))
    for col in _DT_FIELDS:
        if d[col] is not None:
            d[col] = from_iso(d[col])
    d["message_ids"] = json.loads(d["message_ids"])
    d["metadata"] = json.loads(d["metadata"])
    return MemoryRecord.model_validate(d)


def _message(r: tuple) -> Message:
    cols = [c.strip() for c in _MSG_COLS.split(",")]
    d: dict[str, Any] = dict(zip(cols, r, strict=True))
    d["timestamp"] = from_iso(d.pop("ts"))
    d["created_at"] = from_iso(d["created_at"])
    d["metadata"] = json.loads(d["metadata"])
    return Message.model_validate(d)


def _cell(r: tuple) -> Cell:
    return Cell(id=r[0], space=r[1], user_id=r[2], conversation_id=r[3], first_seq=r[4],
                last_seq=r[5], start_at=from_iso(r[6]), end_at=from_iso(r[7]), scene_id=r[8],
                status=r[9], boundary=r[10])


def _job(r: tuple) -> Job:
    return Job(id=r[0], space=r[1], kind=r[2], payload=json.loads(r[3]), status=r[5], attempts=r[6],
               max_attempts=r[7], run_after=datetime.fromtimestamp(r[8], UTC),
               lease_until=datetime.fromtimestamp(r[9], UTC) if r[9] is not None else None,
               worker=r[10], last_error=r[11], created_at=from_iso(r[12]), updated_at=from_iso(r[13]),
               usage=json.loads(r[14]) if len(r) > 14 and r[14] else None)



def _key(r: tuple) -> ApiKey:
    return ApiKey(id=r[0], space=r[1], name=r[2], role=r[3], users=json.loads(r[4]) if r[4] else None,
                  agents=json.loads(r[5]) if r[5] else None, created_at=from_iso(r[6]),
                  revoked_at=from_iso(r[7]) if r[7] else None)

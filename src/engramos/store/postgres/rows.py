"""Row <-> model conversions and SQL helpers of the PostgreSQL backend."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from ..._util import from_iso, iso
from ...types import ApiKey, Cell, Filters, Job, MemoryRecord, Message
from .._filters import POSTGRES, filter_sql

_MEM = ("id, space, kind, user_id, agent_id, conversation_id, session_id, speaker, text, observed_text, "
        "event_start, event_end, valid_from, valid_to, status, supersedes, cell_id, scene_id, message_ids, "
        "metadata, produced_by, created_at, updated_at")
_MSG = ("id, space, user_id, agent_id, conversation_id, session_id, seq, sender, sender_name, role, content, "
        "ts_text, external_id, metadata, content_hash, cell_id, created_at")
_UPDATABLE = {"text", "status", "valid_from", "valid_to", "event_start", "event_end", "metadata", "supersedes",
              "scene_id", "speaker"}
def _filter_sql(space: str, f: Filters, alias: str, with_status: bool = True) -> tuple[str, list[Any]]:
    return filter_sql(POSTGRES, space, f, alias=alias, with_status=with_status)


def _memory_row(rec: MemoryRecord) -> tuple[Any, ...]:
    return (rec.id, rec.space, rec.kind, rec.user_id, rec.agent_id, rec.conversation_id, rec.session_id, rec.speaker,
            rec.text, iso(rec.observed_at), rec.event_start, rec.event_end, rec.valid_from, rec.valid_to, rec.status,
            rec.supersedes, rec.cell_id, rec.scene_id, json.dumps(rec.message_ids),
            json.dumps(rec.metadata, ensure_ascii=False, default=str), rec.produced_by, rec.created_at,
            rec.updated_at)


def _memory(r: Sequence[Any]) -> MemoryRecord:
    cols = [c.strip() for c in _MEM.split(",")]
    d = dict(zip(cols, r, strict=True))
    d["observed_at"] = from_iso(d.pop("observed_text"))
    return MemoryRecord.model_validate(d)


def _message(r: Sequence[Any]) -> Message:
    cols = [c.strip() for c in _MSG.split(",")]
    d = dict(zip(cols, r, strict=True))
    d["timestamp"] = from_iso(d.pop("ts_text"))
    return Message.model_validate(d)


def _cell(r: Sequence[Any]) -> Cell:
    return Cell(id=r[0], space=r[1], user_id=r[2], conversation_id=r[3], first_seq=r[4], last_seq=r[5],
                start_at=from_iso(r[8]), end_at=from_iso(r[9]), scene_id=r[10], status=r[11], boundary=r[12])


def _job(r: Sequence[Any]) -> Job:
    return Job(id=r[0], space=r[1], kind=r[2], payload=r[3], status=r[5], attempts=r[6], max_attempts=r[7],
               run_after=datetime.fromtimestamp(r[8], UTC),
               lease_until=datetime.fromtimestamp(r[9], UTC) if r[9] is not None else None,
               worker=r[10], last_error=r[11], created_at=r[12], updated_at=r[13], usage=r[14])


def _key(r: Sequence[Any]) -> ApiKey:
    return ApiKey(id=r[0], space=r[1], name=r[2], role=r[3], users=r[4], agents=r[5], created_at=r[6],
                  revoked_at=r[7])


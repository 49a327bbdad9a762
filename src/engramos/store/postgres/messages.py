"""Raw messages of the PostgreSQL backend (the Store's message role)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from ..._util import iso
from ...types import (
    Message,
)
from .connection import PostgresConnection
from .rows import _MSG, _message


class MessagesMixin(PostgresConnection):
    def insert_messages(self, messages: Sequence[Message]) -> list[tuple[str, bool]]:
        out: list[tuple[str, bool]] = []
        with self.transaction():
            for m in messages:
                row = self._q("SELECT id FROM messages WHERE space=%s AND conversation_id=%s AND content_hash=%s",
                              (m.space, m.conversation_id, m.content_hash))
                if row:
                    out.append((row[0][0], False))
                    continue
                self._x(f"INSERT INTO messages ({_MSG}, ts) VALUES ({', '.join(['%s'] * 18)})",
                        (m.id, m.space, m.user_id, m.agent_id, m.conversation_id, m.session_id, m.seq, m.sender,
                         m.sender_name, m.role, m.content, iso(m.timestamp), m.external_id, json.dumps(m.metadata),
                         m.content_hash, m.cell_id, m.created_at, m.timestamp))
                out.append((m.id, True))
        return out

    def next_seq(self, space: str, conversation_id: str) -> int:
        return int(self._q("SELECT coalesce(max(seq), 0) + 1 FROM messages WHERE space=%s AND conversation_id=%s",
                           (space, conversation_id))[0][0])

    def get_messages(self, space: str, ids: Sequence[str]) -> list[Message]:
        if not ids:
            return []
        found = {r[0]: _message(r) for r in self._q(
            f"SELECT {_MSG} FROM messages WHERE space=%s AND id = ANY(%s)", (space, list(ids)))}
        return [found[i] for i in ids if i in found]

    def get_messages_by_seq(self, space: str, conversation_id: str, seqs: Sequence[int]) -> list[Message]:
        return [_message(r) for r in self._q(
            f"SELECT {_MSG} FROM messages WHERE space=%s AND conversation_id=%s AND seq = ANY(%s) ORDER BY seq",
            (space, conversation_id, sorted(set(seqs))))]

    def list_messages(self, space: str, conversation_id: str, *, unassigned: bool = False,
                      seq_from: int | None = None, seq_to: int | None = None, limit: int = 10_000,
                      newest_first: bool = False) -> list[Message]:
        sql = f"SELECT {_MSG} FROM messages WHERE space=%s AND conversation_id=%s"
        args: list[Any] = [space, conversation_id]
        if unassigned:
            sql += " AND cell_id IS NULL"
        if seq_from is not None:
            sql += " AND seq >= %s"
            args.append(seq_from)
        if seq_to is not None:
            sql += " AND seq <= %s"
            args.append(seq_to)
        order = " ORDER BY seq DESC" if newest_first else " ORDER BY seq"
        return [_message(r) for r in self._q(sql + order + " LIMIT %s", [*args, limit])]

    def conversations_with_unassigned(self, space: str) -> list[str]:
        return [r[0] for r in self._q(
            "SELECT DISTINCT conversation_id FROM messages WHERE space=%s AND cell_id IS NULL", (space,))]

    def assign_cell(self, space: str, message_ids: Sequence[str], cell_id: str) -> None:
        self._x("UPDATE messages SET cell_id=%s WHERE space=%s AND id = ANY(%s)", (cell_id, space, list(message_ids)))

    def iter_tenants(self, space: str) -> Iterator[tuple[str, str]]:
        yield from self._q("SELECT DISTINCT user_id, conversation_id FROM messages WHERE space=%s "
                           "ORDER BY user_id, conversation_id", (space,))

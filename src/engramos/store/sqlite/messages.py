"""Raw messages of the SQLite backend (the Store's message role)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from ..._util import epoch, iso
from ...types import (
    Message,
)
from .connection import SQLiteConnection
from .rows import (
    _MSG_COLS,
    _chunks,
    _message,
    _ph,
)


class MessagesMixin(SQLiteConnection):
    def insert_messages(self, messages: Sequence[Message]) -> list[tuple[str, bool]]:
        out: list[tuple[str, bool]] = []
        with self.transaction():
            for m in messages:
                row = self._conn.execute(
                    "SELECT id FROM messages WHERE space=? AND conversation_id=? AND content_hash=?",
                    (m.space, m.conversation_id, m.content_hash)).fetchone()
                if row:
                    out.append((row[0], False))
                    continue
                self._conn.execute(
                    f"INSERT INTO messages ({_MSG_COLS}, ts_epoch) VALUES ({', '.join('?' * 18)})",
                    (m.id, m.space, m.user_id, m.agent_id, m.conversation_id, m.session_id, m.seq,
                     m.sender, m.sender_name, m.role, m.content, iso(m.timestamp), m.external_id,
                     json.dumps(m.metadata, ensure_ascii=False), m.content_hash, m.cell_id,
                     iso(m.created_at), epoch(m.timestamp)))
                out.append((m.id, True))
        return out

    def next_seq(self, space: str, conversation_id: str) -> int:
        rows = self._q("SELECT max(seq) FROM messages WHERE space=? AND conversation_id=?",
                       (space, conversation_id))
        return (rows[0][0] or 0) + 1

    def get_messages(self, space: str, ids: Sequence[str]) -> list[Message]:
        if not ids:
            return []
        found: dict[str, Message] = {}
        for chunk in _chunks(list(ids)):
            rows = self._q(f"SELECT {_MSG_COLS} FROM messages WHERE +space=? AND id IN ({_ph(chunk)})",
                           [space, *chunk])
            found.update((r[0], _message(r)) for r in rows)
        return [found[i] for i in ids if i in found]

    def list_messages(self, space: str, conversation_id: str, *, unassigned: bool = False,
                      seq_from: int | None = None, seq_to: int | None = None,
                      limit: int = 10_000, newest_first: bool = False) -> list[Message]:
        sql = f"SELECT {_MSG_COLS} FROM messages WHERE space=? AND conversation_id=?"
        args: list[Any] = [space, conversation_id]
        if unassigned:
            sql += " AND cell_id IS NULL"
        if seq_from is not None:
            sql += " AND seq >= ?"
            args.append(seq_from)
        if seq_to is not None:
            sql += " AND seq <= ?"
            args.append(seq_to)
        sql += f" ORDER BY seq{' DESC' if newest_first else ''} LIMIT ?"
        args.append(limit)
        return [_message(r) for r in self._q(sql, args)]

    def get_messages_by_seq(self, space: str, conversation_id: str, seqs: Sequence[int]) -> list[Message]:
        out: list[Message] = []
        for chunk in _chunks(sorted(set(seqs))):
            out += [_message(r) for r in self._q(
                f"SELECT {_MSG_COLS} FROM messages WHERE space=? AND conversation_id=? AND seq IN ({_ph(chunk)}) "
                "ORDER BY seq", [space, conversation_id, *chunk])]
        return out

    def conversations_with_unassigned(self, space: str) -> list[str]:
        return [r[0] for r in self._q(
            "SELECT DISTINCT conversation_id FROM messages WHERE space=? AND cell_id IS NULL", (space,))]

    def assign_cell(self, space: str, message_ids: Sequence[str], cell_id: str) -> None:
        with self.transaction():
            for chunk in _chunks(list(message_ids)):
                self._conn.execute(f"UPDATE messages SET cell_id=? WHERE space=? AND id IN ({_ph(chunk)})",
                                   [cell_id, space, *chunk])

    def iter_tenants(self, space: str) -> Iterator[tuple[str, str]]:
        yield from self._q("SELECT DISTINCT user_id, conversation_id FROM messages WHERE space=? "
                           "ORDER BY user_id, conversation_id", (space,))

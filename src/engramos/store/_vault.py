"""The PII vault, written once for both backends: the SQL is the same but for the
placeholder (``?`` / ``%s``) and the time type, which each backend's connection maps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._util import utcnow


class VaultMixin:
    PH: str
    _q: Any
    _x: Any
    _time: Any  # a datetime as the backend's time column takes it

    def vault_put(self, space: str, user_id: str, conversation_id: str,
                  items: Sequence[tuple[str, str, bytes]]) -> None:
        p = self.PH
        for token, kind, ciphertext in items:
            self._x(f"INSERT INTO pii_vault VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}) "
                    "ON CONFLICT (space, conversation_id, token) DO NOTHING",
                    (space, user_id, conversation_id, token, kind, ciphertext, self._time(utcnow())))

    def vault_get(self, space: str, conversation_id: str, tokens: Sequence[str]) -> dict[str, tuple[str, bytes]]:
        if not tokens:
            return {}
        p = self.PH
        marks = ", ".join([p] * len(tokens))
        rows = self._q(f"SELECT token, kind, ciphertext FROM pii_vault WHERE space={p} AND conversation_id={p} "
                       f"AND token IN ({marks})", (space, conversation_id, *tokens))
        return {r[0]: (r[1], bytes(r[2])) for r in rows}

    def vault_delete(self, space: str, conversation_id: str, tokens: Sequence[str]) -> int:
        if not tokens:
            return 0
        p = self.PH
        marks = ", ".join([p] * len(tokens))
        return int(self._x(f"DELETE FROM pii_vault WHERE space={p} AND conversation_id={p} AND token IN ({marks})",
                           (space, conversation_id, *tokens)))

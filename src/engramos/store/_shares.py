"""Shares and mounts, written once for both backends (the SQL differs only in the
placeholder and the time type, which each backend maps with ``_time`` / ``_read_time``)."""

from __future__ import annotations

from typing import Any

from ..errors import ConflictError
from ..types import Mount, Share

_SHARE_COLS = "id, space, name, to_space, user_id, agent_id, created_at, revoked_at"


class SharesMixin:
    PH: str
    _q: Any
    _x: Any
    _time: Any
    _read_time: Any
    transaction: Any

    def _share(self, r: tuple) -> Share:
        return Share(id=r[0], space=r[1], name=r[2], to_space=r[3], user_id=r[4], agent_id=r[5],
                     created_at=self._read_time(r[6]), revoked_at=self._read_time(r[7]) if r[7] else None)

    def create_share(self, share: Share) -> None:
        p = self.PH
        self._x(f"INSERT INTO shares ({_SHARE_COLS}) VALUES ({', '.join([p] * 8)})",
                (share.id, share.space, share.name, share.to_space, share.user_id, share.agent_id,
                 self._time(share.created_at), None))

    def get_share(self, share_id: str) -> Share | None:
        rows = self._q(f"SELECT {_SHARE_COLS} FROM shares WHERE id={self.PH}", (share_id,))
        return self._share(rows[0]) if rows else None

    def list_shares(self, *, space: str | None = None, to_space: str | None = None) -> list[Share]:
        p = self.PH
        where, args = [], []
        for col, value in (("space", space), ("to_space", to_space)):
            if value is not None:
                where.append(f"{col}={p}")
                args.append(value)
        sql = f"SELECT {_SHARE_COLS} FROM shares" + (" WHERE " + " AND ".join(where) if where else "")
        return [self._share(r) for r in self._q(sql + " ORDER BY created_at, id", args)]

    def revoke_share(self, space: str, share_id: str, at: Any) -> bool:
        p = self.PH
        return int(self._x(f"UPDATE shares SET revoked_at={p} WHERE space={p} AND id={p} AND revoked_at IS NULL",
                           (self._time(at), space, share_id))) > 0

    def add_mount(self, mount: Mount) -> None:
        p = self.PH
        with self.transaction():
            if self._q(f"SELECT 1 FROM mounts WHERE space={p} AND name={p}", (mount.space, mount.name)):
                raise ConflictError(f"space {mount.space!r} already has a mount named {mount.name!r}")
            self._x(f"INSERT INTO mounts (space, name, share_id, created_at) VALUES ({p}, {p}, {p}, {p})",
                    (mount.space, mount.name, mount.share_id, self._time(mount.created_at)))

    def list_mounts(self, space: str) -> list[Mount]:
        return [Mount(space=r[0], name=r[1], share_id=r[2], created_at=self._read_time(r[3])) for r in self._q(
            f"SELECT space, name, share_id, created_at FROM mounts WHERE space={self.PH} ORDER BY name", (space,))]

    def remove_mount(self, space: str, name: str) -> bool:
        return int(self._x(f"DELETE FROM mounts WHERE space={self.PH} AND name={self.PH}", (space, name))) > 0

    def _forget_shares(self, space: str, user_id: str | None) -> int:
        """A forgotten user's shares (and their mounts, by cascade) go; a forgotten space's
        shares go, and its mounts of others'."""
        p = self.PH
        if user_id is not None:
            return int(self._x(f"DELETE FROM shares WHERE space={p} AND user_id={p}", (space, user_id)))
        self._x(f"DELETE FROM mounts WHERE space={p}", (space,))
        return int(self._x(f"DELETE FROM shares WHERE space={p}", (space,)))

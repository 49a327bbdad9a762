"""Sharing memory between spaces: ``/v1/shares`` (grants, made and revoked by the sharing
space's admin) and ``/v1/mounts`` (a granted share mounted by the receiving space's
admin).  Searches name mounts in ``mounts``; every change is audited."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from ...errors import NotFoundError
from ...types import Mount, Share
from ..auth import Auth, Caller

router = APIRouter(prefix="/v1", tags=["sharing"])


class ShareBody(BaseModel):
    name: str
    to_space: str
    user_id: str | None = None
    agent_id: str | None = None


class MountBody(BaseModel):
    share_id: str
    name: str


def _check_scope(c: Caller, user_id: str | None, agent_id: str | None) -> None:
    """A limited admin shares (and revokes) only what it may see: one of its users or agents."""
    if not c.limited:
        return
    if user_id is None and agent_id is None:
        c.require_unlimited("sharing the whole space")
    if c.key.users is not None:
        c.check_user(user_id)
    if c.key.agents is not None:
        c.check_agent(agent_id)


def _visible(share: Share, c: Caller) -> bool:
    """Shares a key may see: made by its space within its limits, or granted to its space."""
    if share.to_space == c.space and share.space != c.space:
        return True
    if not c.limited:
        return True
    return (c.key.users is None or share.user_id in c.key.users) and \
        (c.key.agents is None or share.agent_id in c.key.agents)


@router.post("/shares")
def create_share(body: ShareBody, c: Auth) -> Share:
    c.require("admin")
    _check_scope(c, body.user_id, body.agent_id)
    share = c.memory.admin.share(body.name, body.to_space, user_id=body.user_id, agent_id=body.agent_id)
    c.audit("share.create", share.id, to_space=share.to_space, user_id=share.user_id, agent_id=share.agent_id)
    return share


@router.get("/shares")
def list_shares(c: Auth) -> list[Share]:
    c.require("admin")
    return [s for s in c.memory.admin.shares() if _visible(s, c)]


@router.delete("/shares/{share_id}")
def revoke_share(share_id: str, c: Auth) -> dict[str, str]:
    c.require("admin")
    mine = {s.id: s for s in c.memory.admin.shares() if s.space == c.space}
    if share_id not in mine or not _visible(mine[share_id], c) or not c.memory.admin.revoke_share(share_id):
        raise NotFoundError("share", share_id)
    c.audit("share.revoke", share_id)
    return {"revoked": share_id}


@router.post("/mounts")
def add_mount(body: MountBody, c: Auth) -> Mount:
    c.require("admin")
    c.require_unlimited("a mount serves the whole space")
    mount = c.memory.admin.mount(body.share_id, body.name)
    c.audit("mount.add", mount.name, share_id=mount.share_id)
    return mount


@router.get("/mounts")
def list_mounts(c: Auth) -> list[Mount]:
    c.require("read")
    return c.memory.admin.mounts()


@router.delete("/mounts/{name}")
def remove_mount(name: str, c: Auth) -> dict[str, str]:
    c.require("admin")
    c.require_unlimited("a mount serves the whole space")
    if not c.memory.admin.unmount(name):
        raise NotFoundError("mount", name)
    c.audit("mount.remove", name)
    return {"unmounted": name}

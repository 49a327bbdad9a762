"""MemCubes over HTTP: ``GET /v1/cube`` streams an export, ``POST /v1/cube`` imports
the zip in the body (streamed to a temporary file, capped at ``max_cube_bytes``).  Both
need the write role; a key limited to users or agents reaches only what it sees."""

from __future__ import annotations

import os
import tempfile
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Header, Request
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from ...cube import ImportReport, OnConflict, inspect_cube
from ...cube.training import TrainingFormat
from ...errors import ForbiddenError, TooLargeError
from ...types import Mount
from ..auth import Auth, Caller

router = APIRouter(prefix="/v1", tags=["cube"])
CUBE_KEY = Header(description="Shared secret to sign (export) or check (import) the cube.")


def _check_export_scope(c: Caller, user_id: str | None, agent_id: str | None, conversation_id: str | None) -> None:
    if conversation_id is not None:
        c.check_conversation(conversation_id)
    elif agent_id is not None:
        c.check_agent(agent_id)
        if c.key.users is not None:
            raise ForbiddenError("a user-limited key exports users or conversations, not a whole agent")
    elif user_id is not None:
        c.check_user(user_id)
        if c.key.agents is not None:
            raise ForbiddenError("a user's memory spans agents: an agent-limited key exports its agent")
    else:
        c.require_unlimited("exporting the whole space")


@router.get("/users/{user_id}/training", response_class=FileResponse,
            responses={200: {"content": {"application/jsonl": {}}, "description": "the training set"}})
async def export_training(user_id: str, c: Auth, format: TrainingFormat = "sft") -> FileResponse:
    """A user's memory as a fine-tuning set (chat JSONL; see Memory.export_training)."""
    c.require("write")
    c.check_user(user_id)
    if c.key.agents is not None:
        raise ForbiddenError("a user's memory spans agents: an agent-limited key cannot export it")
    fd, path = tempfile.mkstemp(prefix="engram-training-", suffix=".jsonl")
    os.close(fd)
    try:
        rows = await anyio.to_thread.run_sync(lambda: c.memory.export_training(path, user_id=user_id,
                                                                               format=format))
    except BaseException:
        os.unlink(path)
        raise
    c.audit("training.export", user_id, format=format, rows=rows)
    return FileResponse(path, media_type="application/jsonl", filename=f"{user_id}-{format}.jsonl",
                        background=BackgroundTask(os.unlink, path))


@router.get("/cube", response_class=FileResponse,
            responses={200: {"content": {"application/zip": {}}, "description": "the MemCube"}})
async def export_cube(c: Auth, user_id: str | None = None, agent_id: str | None = None,
                      conversation_id: str | None = None, key_id: str | None = None,
                      x_engram_cube_key: Annotated[str | None, CUBE_KEY] = None) -> FileResponse:
    c.require("write")
    await anyio.to_thread.run_sync(_check_export_scope, c, user_id, agent_id, conversation_id)
    fd, path = tempfile.mkstemp(prefix="engram-export-", suffix=".cube")
    os.close(fd)
    try:
        manifest = await anyio.to_thread.run_sync(lambda: c.memory.export_cube(
            path, user_id=user_id, agent_id=agent_id, conversation_id=conversation_id,
            sign_key=x_engram_cube_key, key_id=key_id))
    except BaseException:
        os.unlink(path)
        raise
    c.audit("cube.export", manifest.scope.describe(), cube_id=manifest.cube_id, counts=manifest.counts)
    return FileResponse(path, media_type="application/zip", filename=f"{manifest.cube_id}.cube",
                        background=BackgroundTask(os.unlink, path))


_ZIP_BODY = {"requestBody": {"required": True, "content": {
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}}


@router.post("/cube", openapi_extra=_ZIP_BODY)
async def import_cube(request: Request, c: Auth, as_user: str | None = None, on_conflict: OnConflict = "skip",
                      reembed: bool = True,
                      x_engram_cube_key: Annotated[str | None, CUBE_KEY] = None) -> ImportReport:
    c.require("write")
    if c.key.agents is not None:
        raise ForbiddenError("an agent-limited key cannot import a cube (its rows may belong to other agents)")
    if c.key.users is not None:
        c.check_user(as_user)  # a user-limited key files everything under one of its users
    path = await _receive(request, c.memory.config.limits.max_cube_bytes)
    try:
        scope = (await anyio.to_thread.run_sync(inspect_cube, path)).manifest.scope.describe()
        report = await anyio.to_thread.run_sync(lambda: c.memory.import_cube(
            path, as_user=as_user, on_conflict=on_conflict, reembed=reembed, sign_key=x_engram_cube_key))
    finally:
        os.unlink(path)
    c.audit("cube.import", scope, cube_id=report.cube_id, inserted=report.inserted, as_user=as_user)
    return report


async def _receive(request: Request, cap: int) -> str:
    """The request body, streamed to a temporary file (deleted by the caller), at most
    ``cap`` bytes."""
    fd, path = tempfile.mkstemp(prefix="engram-upload-", suffix=".cube")
    try:
        with os.fdopen(fd, "wb") as out:
            size = 0
            async for chunk in request.stream():
                size += len(chunk)
                if size > cap:
                    raise TooLargeError(f"the request body is over the limit max_cube_bytes = {cap}")
                out.write(chunk)
    except BaseException:
        os.unlink(path)
        raise
    return path


@router.post("/mounts/cube", openapi_extra=_ZIP_BODY)
async def mount_cube(request: Request, c: Auth, name: str,
                     x_engram_cube_key: Annotated[str | None, CUBE_KEY] = None) -> Mount:
    """Mount the MemCube in the body read-only under ``name`` (admin)."""
    c.require("admin")
    c.require_unlimited("a mount serves the whole space")
    path = await _receive(request, c.memory.config.limits.max_cube_bytes)
    try:
        mount = await anyio.to_thread.run_sync(lambda: c.memory.admin.mount_cube(path, name,
                                                                                  sign_key=x_engram_cube_key))
    finally:
        os.unlink(path)
    c.audit("mount.add", mount.name, share_id=mount.share_id, cube=True)
    return mount

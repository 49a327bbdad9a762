"""Operations: health, metrics, jobs and the audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse

from ... import __version__
from ...types import AuditEntry, Job, JobStatus
from ..auth import Auth

router = APIRouter(tags=["ops"])


@router.get("/v1/health")
def health(request: Request) -> dict[str, Any]:
    h = request.app.state.spaces.root.health()
    return {"status": "ok" if h.get("integrity") == "ok" else "degraded", "version": __version__,
            "backend": h.get("backend"), "migrations": h.get("migrations", [])}


@router.get("/metrics", response_class=PlainTextResponse)
def prometheus(request: Request) -> str:
    state = request.app.state
    return str(state.metrics.render(state.spaces.root.job_counts()))


@router.get("/v1/jobs")
def jobs(c: Auth, status: Annotated[list[JobStatus] | None, Query()] = None,
         limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[Job]:
    c.require("read")
    return c.memory.jobs(status, limit=limit)


@router.get("/v1/jobs/status")
def job_status(c: Auth) -> dict[str, Any]:
    c.require("read")
    return c.memory.status()


@router.post("/v1/jobs/retry")
def retry(c: Auth) -> dict[str, int]:
    c.require("write")
    return {"requeued": c.memory.retry()}


@router.get("/v1/audit")
def audit_log(c: Auth, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
              before: str | None = None) -> list[AuditEntry]:
    c.require("admin")
    return c.memory.admin.audit(limit=limit, before=before)

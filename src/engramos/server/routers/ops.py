"""Operations: health, metrics, jobs and the audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse

from ... import __version__
from ...types import AuditEntry, Job, JobStatus
from ..auth import Auth, Caller

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
    if not c.limited:
        return c.memory.jobs(status, limit=limit)
    return [j for j in c.memory.jobs(status, limit=1000) if _sees_job(c, j)][:limit]


def _sees_job(c: Caller, job: Job) -> bool:
    user, agent = job.payload.get("user_id"), job.payload.get("agent_id")
    return isinstance(user, str) and c.sees(user, agent if isinstance(agent, str) else None)


@router.get("/v1/jobs/status")
def job_status(c: Auth) -> dict[str, Any]:
    c.require("read")
    report = c.memory.status()
    if not c.limited:
        return report
    # a limited key sees its own users' and agents' jobs only, and no space-wide totals
    jobs = [j for j in c.memory.jobs(None, limit=1000) if _sees_job(c, j)]
    seen = {j.id for j in jobs}
    counts = {s: 0 for s in report["counts"]}
    for j in jobs:
        counts[j.status] += 1
    return {"counts": counts, "llm": report["llm"], "llm_usage_done_jobs": None,
            "jobs": [j for j in report["jobs"] if j["id"] in seen]}


@router.post("/v1/jobs/retry")
def retry(c: Auth) -> dict[str, int]:
    c.require("write")
    c.require_unlimited("retry requeues the jobs of the whole space")
    return {"requeued": c.memory.retry()}


@router.get("/v1/audit")
def audit_log(c: Auth, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
              before: str | None = None) -> list[AuditEntry]:
    c.require("admin")
    c.require_unlimited("the audit log records the actions on every user and agent of the space")
    return c.memory.admin.audit(limit=limit, before=before)

"""The search debugger (each hit's score by stage, the parsed time range, the context a
prompt would get) and operations (jobs, LLM usage, store health; for admins, keys and
the audit log)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from ...errors import InvalidInputError
from ...types import JOB_STATUSES, KEY_ROLES
from ._common import Console, page, require_write, users_for
from .session import check_csrf

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/search", response_class=HTMLResponse)
def search(request: Request, c: Console, q: Annotated[str | None, Query(max_length=2000)] = None,
           user: str | None = None, reference_time: str | None = None, kind: str | None = None,
           budget: Annotated[int, Query(ge=32, le=32_000)] = 512,
           top_k: Annotated[int, Query(ge=1, le=100)] = 10) -> HTMLResponse:
    kind, reference_time = kind or None, reference_time or None  # a form's empty fields
    users, chosen = users_for(c, user)
    result = block = None
    if q:
        filters: dict[str, Any] = {"user_id": chosen, "kinds": [kind] if kind else None,
                                   "agent_id": c.key.agents[0] if c.key.agents else None}
        options: dict[str, Any] = {"filters": {k: v for k, v in filters.items() if v is not None}}
        if reference_time:
            options["reference_time"] = reference_time
        result = c.memory.search(q, top_k=top_k, **options)
        result.hits = [h for h in result.hits if c.sees(h.memory.user_id, h.memory.agent_id)]
        block = c.memory.context(q, budget_tokens=budget, **options)
    return page(request, c, "search.html", users=users, user=chosen, q=q or "", result=result, block=block,
                budget=budget, top_k=top_k, reference_time=reference_time or "", kind=kind or "")


@router.get("/ops", response_class=HTMLResponse)
def ops(request: Request, c: Console, status: str | None = None) -> HTMLResponse:
    status = status or None
    if status and status not in JOB_STATUSES:
        raise InvalidInputError("status", f"must be one of {', '.join(JOB_STATUSES)}")
    limited = c.limited
    jobs = [] if limited else c.memory.jobs([status] if status else None, limit=200)
    admin = c.key.role == "admin" and not limited
    return page(request, c, "ops.html", jobs=jobs, status=status, statuses=JOB_STATUSES, limited=limited,
                counts=None if limited else c.memory.status(), usage=c.memory.llm_usage(),
                health=c.memory.health() if admin else None,
                keys=c.memory.admin.list_keys() if admin else [], audit=c.memory.admin.audit(limit=50) if admin else [],
                roles=KEY_ROLES, made=None)


@router.post("/ops/retry")
async def retry(request: Request, c: Console) -> RedirectResponse:
    check_csrf(request, await request.form())
    require_write(c)
    c.require_unlimited("requeueing the space's jobs")
    c.audit("jobs.retry", c.space, requeued=c.memory.retry(), via="console")
    return RedirectResponse("/console/ops", status_code=303)


@router.post("/ops/keys", response_class=HTMLResponse)
async def create_key(request: Request, c: Console) -> HTMLResponse:
    form = await request.form()
    check_csrf(request, form)
    c.require("admin")
    c.require_unlimited("managing keys")
    role = str(form.get("role") or "read")
    if role not in KEY_ROLES:
        raise InvalidInputError("role", f"must be one of {', '.join(KEY_ROLES)}")
    users = [u.strip() for u in str(form.get("users") or "").split(",") if u.strip()] or None
    key, secret = c.memory.admin.create_key(str(form.get("name") or "console")[:100], role, space=c.space,
                                            users=users)
    c.audit("key.create", key.id, role=role, via="console")
    return page(request, c, "ops.html", jobs=[], status=None, statuses=JOB_STATUSES, limited=False,
                counts=c.memory.status(), usage=c.memory.llm_usage(), health=c.memory.health(),
                keys=c.memory.admin.list_keys(), audit=c.memory.admin.audit(limit=50), roles=KEY_ROLES,
                made=(key, secret))


@router.post("/ops/keys/{key_id}/revoke")
async def revoke_key(request: Request, c: Console, key_id: str) -> RedirectResponse:
    check_csrf(request, await request.form())
    c.require("admin")
    c.require_unlimited("managing keys")
    if not any(k.id == key_id for k in c.memory.admin.list_keys()):
        from ...errors import NotFoundError
        raise NotFoundError("key", key_id)
    c.memory.admin.revoke_key(key_id)
    c.audit("key.revoke", key_id, via="console")
    return RedirectResponse("/console/ops", status_code=303)


__all__ = ["router", "users_for"]

"""The memory browser, a memory's detail (sources, validity, history as diffs,
supersedes chain, scene), edits, status changes and forgetting with a confirmation."""

from __future__ import annotations

import difflib
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from ...errors import InvalidInputError, NotFoundError
from ...types import MEMORY_KINDS, MEMORY_STATUSES, MemoryRecord
from ._common import PAGE, Console, page, require_write, users_for
from .session import check_csrf

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/memories", response_class=HTMLResponse)
def memories(request: Request, c: Console, user: str | None = None, agent: str | None = None,
             kind: str | None = None, status: str | None = None, q: Annotated[str | None, Query(max_length=500)] = None,
             since: str | None = None, until: str | None = None, cursor: str | None = None) -> HTMLResponse:
    # a form sends its empty fields as "": not given
    agent, kind, status, q, since, until, cursor = (v or None for v in (agent, kind, status, q, since, until, cursor))
    users, chosen = users_for(c, user)
    if agent:
        c.check_agent(agent)
    elif c.key.agents is not None:
        agent = c.key.agents[0]
    if kind and kind not in MEMORY_KINDS:
        raise InvalidInputError("kind", f"must be one of {', '.join(MEMORY_KINDS)}")
    if status and status not in MEMORY_STATUSES:
        raise InvalidInputError("status", f"must be one of {', '.join(MEMORY_STATUSES)}")
    inactive = status not in (None, "", "active")
    filters: dict[str, Any] = {"user_id": chosen, "agent_id": agent, "kinds": [kind] if kind else None,
                               "include_inactive": inactive, "include_archived": inactive}
    low, high = _day(since, "since"), _day(until, "until", end=True)
    next_cursor = None
    if q:
        time_range = [low or datetime.min.replace(tzinfo=UTC), high or datetime.max.replace(tzinfo=UTC)] \
            if (low or high) else None
        res = c.memory.search(q, filters={k: v for k, v in filters.items() if v is not None}, top_k=PAGE,
                              time_range=time_range)
        items = [h.memory for h in res.hits]
    else:
        listed = c.memory.list(filters={k: v for k, v in filters.items() if v is not None}, limit=PAGE, cursor=cursor)
        items, next_cursor = listed.items, listed.next_cursor
    items = [m for m in items if c.sees(m.user_id, m.agent_id) and (not status or m.status == status)
             and (low is None or m.observed_at >= low) and (high is None or m.observed_at <= high)]
    args = {"user": chosen, "agent": agent, "kind": kind, "status": status, "q": q, "since": since, "until": until}
    return page(request, c, "memories.html", users=users, items=items, next_cursor=next_cursor, kinds=MEMORY_KINDS,
                statuses=MEMORY_STATUSES, args={k: v for k, v in args.items() if v})


def _day(value: str | None, field: str, *, end: bool = False) -> datetime | None:
    """A day as the first (or with ``end``, the last) instant of it, in UTC."""
    if not value:
        return None
    try:
        day = datetime.fromisoformat(value[:10]).replace(tzinfo=UTC)
    except ValueError as exc:
        raise InvalidInputError(field, "must be a date (YYYY-MM-DD)") from exc
    return day + timedelta(days=1, microseconds=-1) if end else day


@router.get("/memories/{memory_id}", response_class=HTMLResponse)
def memory_detail(request: Request, c: Console, memory_id: str) -> HTMLResponse:
    rec = c.visible_memory(memory_id)
    sources = []
    for mid in rec.message_ids[:50]:
        try:
            sources.append(c.memory.admin.message(mid))
        except NotFoundError:
            continue  # a source forgotten on its own since
    history = [(h, _diff(h.before, h.after)) for h in c.memory.history(memory_id)]
    chain: list[MemoryRecord] = []
    seen = {rec.id}
    cur = rec
    while cur.supersedes and cur.supersedes not in seen and len(chain) < 20:
        seen.add(cur.supersedes)
        try:
            cur = c.visible_memory(cur.supersedes)
        except NotFoundError:
            break
        chain.append(cur)
    entities = c.memory.admin.entities_of([rec.id]).get(rec.id, []) if c.key.agents is None else []
    return page(request, c, "memory.html", m=rec, sources=sources, history=history, chain=chain, entities=entities)


def _diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[tuple[str, list[tuple[str, str]]]]:
    """Per changed field, the words removed ("-"), added ("+") and kept (" ")."""
    out = []
    for field in sorted(set(before or {}) | set(after or {})):
        a, b = str((before or {}).get(field, "")), str((after or {}).get(field, ""))
        if a == b:
            continue
        words = []
        for op in difflib.ndiff(a.split(), b.split()):
            if op[0] in "+- ":
                words.append((op[0], op[2:]))
        out.append((field, words))
    return out


@router.post("/memories/{memory_id}/edit")
async def memory_edit(request: Request, c: Console, memory_id: str) -> RedirectResponse:
    form = await request.form()
    check_csrf(request, form)
    require_write(c)
    c.visible_memory(memory_id)
    c.memory.update(memory_id, text=str(form.get("text") or ""), actor=c.key.id)
    c.audit("memory.update", memory_id, via="console")
    return RedirectResponse(f"/console/memories/{memory_id}", status_code=303)


@router.post("/memories/{memory_id}/{action}")
async def memory_status(request: Request, c: Console, memory_id: str, action: str) -> RedirectResponse:
    if action not in ("delete", "restore", "archive"):
        raise NotFoundError("action", action)
    check_csrf(request, await request.form())
    require_write(c)
    c.visible_memory(memory_id)
    getattr(c.memory, action)(memory_id, actor=c.key.id)
    c.audit(f"memory.{action}", memory_id, via="console")
    return RedirectResponse(f"/console/memories/{memory_id}", status_code=303)


@router.get("/forget", response_class=HTMLResponse)
def forget_confirm(request: Request, c: Console, memory_id: str | None = None, conversation_id: str | None = None,
                   user_id: str | None = None) -> HTMLResponse:
    """What would go, before anything goes."""
    require_write(c)
    c.check_forget(memory_id=memory_id, conversation_id=conversation_id, user_id=user_id)
    what: dict[str, Any] = {}
    if memory_id:
        what = {"memory": c.visible_memory(memory_id).text}
    elif conversation_id:
        what = {"messages": len(c.memory.messages(conversation_id, limit=10_000)),
                "memories": len(c.memory.list(conversation_id=conversation_id, limit=1000).items)}
    elif user_id:
        what = {"conversations": len(c.memory.conversations(user_id=user_id)),
                "memories (first page)": len(c.memory.list(user_id=user_id, limit=1000).items)}
    else:
        raise InvalidInputError("forget", "give a memory, a conversation or a user")
    target = {"memory_id": memory_id, "conversation_id": conversation_id, "user_id": user_id}
    return page(request, c, "forget.html", what=what, target={k: v for k, v in target.items() if v})


@router.post("/forget", response_class=HTMLResponse)
async def forget(request: Request, c: Console) -> HTMLResponse:
    form = await request.form()
    check_csrf(request, form)
    require_write(c)
    target = {k: str(form[k]) for k in ("memory_id", "conversation_id", "user_id") if form.get(k)}
    if len(target) != 1:
        raise InvalidInputError("forget", "give exactly one of memory_id, conversation_id, user_id")
    c.check_forget(memory_id=target.get("memory_id"), conversation_id=target.get("conversation_id"),
                   user_id=target.get("user_id"))
    counts = c.memory.forget(**target)
    c.audit("forget", next(iter(target.values())), counts=counts, via="console")
    return page(request, c, "forgotten.html", counts=counts, target=target)

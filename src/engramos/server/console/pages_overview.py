"""Signing in and out, the overview with its plots, conversations and their timeline,
profiles and scenes."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from ...errors import AuthError
from ...types import MEMORY_KINDS
from . import charts
from ._common import PAGE, Console, page, templates, users_for
from .session import COOKIE, check_csrf

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "login.html", {"request": request, "error": None})


@router.post("/login", response_model=None)
def login(request: Request, key: Annotated[str, Form(max_length=200)]) -> HTMLResponse | RedirectResponse:
    try:
        request.app.state.spaces.root.admin.authenticate(key.strip())
    except AuthError:
        return templates.TemplateResponse(request, "login.html", {"request": request,
                                                                  "error": "That key is not valid."}, status_code=401)
    response = RedirectResponse("/console/", status_code=303)
    response.set_cookie(COOKIE, key.strip(), httponly=True, samesite="strict", path="/console",
                        secure=request.url.scheme == "https")
    return response


@router.post("/logout")
async def logout(request: Request) -> RedirectResponse:
    check_csrf(request, await request.form())
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(COOKIE, path="/console")
    return response


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, c: Console, user: str | None = None) -> HTMLResponse:
    users, chosen = users_for(c, user)
    agent = c.key.agents[0] if c.key.agents and len(c.key.agents) == 1 else None
    newest = [m for m in c.memory.list(user_id=chosen, agent_id=agent, limit=1000, include_inactive=True).items
              if c.sees(m.user_id, m.agent_id)]  # a limited key counts only the rows it may see
    by_month: dict[str, Counter[str]] = defaultdict(Counter)
    for m in newest:
        by_month[m.observed_at.strftime("%Y-%m")][m.kind] += 1
    months = sorted(by_month)[-18:]
    kinds = [k for k in MEMORY_KINDS if any(by_month[mo][k] for mo in months)]
    memories_chart = charts.stacked_bars("Memories by month and kind (the newest 1,000)", months,
                                         {k: [by_month[mo][k] for mo in months] for k in kinds})
    latency = request.app.state.metrics.recent(route="/v1/search")
    latency_chart = charts.line("Search latency, last requests (ms)", [s * 1000 for s in latency], unit=" ms")
    jobs = c.memory.jobs(["done"], limit=500) if not c.limited else []
    per_minute: Counter[str] = Counter(j.updated_at.strftime("%H:%M") for j in jobs)
    minutes = sorted(per_minute)[-30:]
    jobs_chart = charts.stacked_bars("Jobs done per minute (the last 500)", minutes,
                                     {"done": [per_minute[m] for m in minutes]})
    return page(request, c, "overview.html", users=users, user=chosen, counts=c.memory.status() if not c.limited
                else None, memories_chart=memories_chart, latency_chart=latency_chart, jobs_chart=jobs_chart,
                shown=len(newest))


@router.get("/conversations", response_class=HTMLResponse)
def conversations(request: Request, c: Console, user: str | None = None,
                  offset: Annotated[int, Query(ge=0)] = 0) -> HTMLResponse:
    users, chosen = users_for(c, user)
    refs = [r for r in c.memory.conversations(user_id=chosen) if c.sees(r.user_id, r.agent_id)]
    return page(request, c, "conversations.html", users=users, user=chosen, refs=refs[offset:offset + PAGE],
                offset=offset, more=len(refs) > offset + PAGE, total=len(refs))


@router.get("/conversations/{conversation_id}", response_class=HTMLResponse)
def conversation(request: Request, c: Console, conversation_id: str,
                 offset: Annotated[int, Query(ge=0)] = 0) -> HTMLResponse:
    owner = c.memory.conversation_owner(conversation_id)
    if owner is None or not c.sees(owner.user_id, owner.agent_id):
        from ...errors import NotFoundError
        raise NotFoundError("conversation", conversation_id)
    messages = c.memory.messages(conversation_id, limit=min(offset + 200, 10_000))[offset:offset + 200]
    derived: dict[str, list] = defaultdict(list)
    cursor = None
    for _ in range(20):  # up to 20,000 memories of one conversation
        listed = c.memory.list(conversation_id=conversation_id, limit=1000, cursor=cursor)
        for m in listed.items:
            if m.kind != "turn":
                derived[m.cell_id or ""].append(m)
        cursor = listed.next_cursor
        if not cursor:
            break
    pending = [j for j in (c.memory.jobs(["pending", "running"], limit=200) if not c.limited else [])
               if j.payload.get("conversation_id") == conversation_id]
    return page(request, c, "conversation.html", conversation_id=conversation_id, owner=owner, messages=messages,
                derived=derived, pending=pending, offset=offset, more=len(messages) == 200)


@router.get("/profile", response_class=HTMLResponse)
def profile(request: Request, c: Console, user: str | None = None) -> HTMLResponse:
    users, chosen = users_for(c, user)
    items = [m for m in c.memory.profile(user_id=chosen) if c.sees(m.user_id, m.agent_id)] if chosen else []
    people: dict[str, list] = defaultdict(list)
    for m in items:
        people[m.speaker or m.metadata.get("person") or "?"].append(m)
    return page(request, c, "profile.html", users=users, user=chosen, people=dict(people))


@router.get("/scenes", response_class=HTMLResponse)
def scenes(request: Request, c: Console, user: str | None = None) -> HTMLResponse:
    users, chosen = users_for(c, user)
    if chosen:
        c.refuse_agent_limited("scenes")
    found = c.memory.scenes(user_id=chosen)[:200] if chosen else []
    cells = c.memory.admin.scene_cells([s.id for s in found])
    span = (min((s.first_at for s in found), default=None), max((s.last_at for s in found), default=None))
    return page(request, c, "scenes.html", users=users, user=chosen, scenes=found, span=span, cells=cells)

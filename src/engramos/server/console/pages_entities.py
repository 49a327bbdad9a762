"""Entities: a user's people, places, pets and things, and one entity's timeline (the
memories that mention it) with its neighbours as a small graph."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from ...errors import NotFoundError
from ._common import PAGE, Console, page, users_for

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/entities", response_class=HTMLResponse)
def entities(request: Request, c: Console, user: str | None = None,
             offset: Annotated[int, Query(ge=0)] = 0) -> HTMLResponse:
    users, chosen = users_for(c, user or None)
    found = []
    if chosen:
        c.refuse_agent_limited("entities")  # an entity's mentions span the user's agents
        found = c.memory.admin.entities(chosen, limit=PAGE + 1, offset=offset)
    return page(request, c, "entities.html", users=users, user=chosen, entities=found[:PAGE], offset=offset,
                more=len(found) > PAGE)


@router.get("/entities/{entity_id}", response_class=HTMLResponse)
def entity(request: Request, c: Console, entity_id: str) -> HTMLResponse:
    found, memories, neighbours = c.memory.admin.entity(entity_id)
    if not c.sees_user(found.user_id):
        raise NotFoundError("entity", entity_id)
    c.refuse_agent_limited("entities")
    memories = [m for m in memories if c.sees(m.user_id, m.agent_id)]
    # neighbours on a circle around the entity, the line as thick as the memories they share
    top = neighbours[:12]
    most = max((n for _, n in top), default=1)
    nodes = [(e, n, 200 + 140 * math.cos(2 * math.pi * i / max(len(top), 1)),
              150 + 110 * math.sin(2 * math.pi * i / max(len(top), 1))) for i, (e, n) in enumerate(top)]
    return page(request, c, "entity.html", e=found, memories=memories, nodes=nodes, most=most)

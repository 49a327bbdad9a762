"""What the console's pages share: templates, the signed-in caller, the users a key may
look at, and the page context every template gets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from ...errors import ForbiddenError
from ..auth import Caller
from .session import COOKIE, console_caller, csrf_token

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
PAGE = 50

Console = Annotated[Caller, Depends(console_caller)]


def users_for(c: Caller, wanted: str | None) -> tuple[list[str], str | None]:
    """The users the key may look at, and the one chosen (``wanted``, or the first)."""
    known = c.memory.users()
    allowed = [u for u in known if c.sees_user(u)] if c.key.users is not None else known
    if c.key.users is not None:
        allowed = sorted(set(allowed) | set(c.key.users))
    if wanted:
        c.check_user(wanted)
        return allowed, wanted
    return allowed, (allowed[0] if allowed and c.key.users is not None else None)


def can_write(c: Caller) -> bool:
    return c.key.role in ("write", "admin")


def require_write(c: Caller) -> None:
    if not can_write(c):
        raise ForbiddenError(f"this key's role is {c.key.role!r}; 'write' is required")


def page(request: Request, c: Caller, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    secret = request.cookies.get(COOKIE, "")
    context = {"request": request, "key": c.key, "space": c.space, "writer": can_write(c),
               "admin": c.key.role == "admin" and not c.limited, "csrf": csrf_token(secret), **values}
    return templates.TemplateResponse(request, template, context, status_code=status_code)

"""Errors on console pages: a page, not JSON; without a valid key, the sign-in page."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from ...errors import AuthError, EngramError
from ._common import templates
from .session import COOKIE


def console_error(request: Request, exc: EngramError) -> Response:
    if isinstance(exc, AuthError) and request.method == "GET":
        response = RedirectResponse("/console/login", status_code=303)
        if request.cookies.get(COOKIE):
            response.delete_cookie(COOKIE, path="/console")  # a revoked key: sign in again
        return response
    return templates.TemplateResponse(request, "error.html", {"request": request, "status": exc.http_status,
                                                              "code": exc.code, "message": str(exc)},
                                      status_code=exc.http_status)

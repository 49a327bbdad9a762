"""Signing in to the console: the API key, checked like the REST API's, kept in a
session cookie (no expiry: it lives as long as the browser session; HttpOnly, so page
scripts never read it; SameSite=Strict, so no other site's page sends it), and a CSRF
token derived from it that every form posts back."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from fastapi import Request

from ...errors import AuthError, ForbiddenError
from ..auth import Caller

COOKIE = "engram_console"


def csrf_token(secret: str) -> str:
    return hmac.new(secret.encode(), b"engram-console-csrf", hashlib.sha256).hexdigest()[:40]


def console_caller(request: Request) -> Caller:
    """The signed-in key's caller; AuthError (the sign-in page) without a valid key."""
    secret = request.cookies.get(COOKIE)
    if not secret:
        raise AuthError("sign in with an API key")
    spaces = request.app.state.spaces
    key = spaces.root.admin.authenticate(secret)
    return Caller(key, spaces.get(key.space))


def check_csrf(request: Request, form: Any) -> None:
    """A form must carry the token of the key that is signed in (a forged post has none)."""
    secret = request.cookies.get(COOKIE) or ""
    sent = str(form.get("csrf") or "")
    if not secret or not hmac.compare_digest(sent, csrf_token(secret)):
        raise ForbiddenError("this form did not come from your console session (CSRF token missing or wrong)")

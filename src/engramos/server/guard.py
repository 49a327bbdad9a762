"""The gate in front of every ``/v1`` route, before any body is read: the API key is
checked (401 otherwise), and the body is capped at ``config.limits.max_body_bytes`` (413,
whether it says its length or streams it).  A raw ASGI middleware, because FastAPI reads
a route's body before its dependencies run."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import AuthError, EngramError, TooLargeError
from .auth import bearer_token

OPEN_PATHS = ("/v1/health",)


class TooLarge(Exception):
    pass


class Guard:
    def __init__(self, app: ASGIApp, *, spaces: Any, max_body_bytes: int) -> None:
        self.app, self.spaces, self.max_body = app, spaces, max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/v1/") or path in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        try:
            self.spaces.root.admin.authenticate(bearer_token(headers.get("authorization")))
        except AuthError as exc:
            await _error(send, 401, exc)
            return
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body:
            await _error(send, 413, _too_large(self.max_body))
            return
        # read the body here, never more than the limit plus one chunk, then replay it
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away: let the app see it
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = bool(message.get("more_body"))
            if size > self.max_body:
                await _error(send, 413, _too_large(self.max_body))
                return
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _too_large(limit: int) -> EngramError:
    return TooLargeError(f"the request body is over the limit max_body_bytes = {limit}")


async def _error(send: Send, status: int, exc: EngramError) -> None:
    body = json.dumps({"error": exc.to_dict()}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})

"""The gate in front of every ``/v1`` route, before any body is read: the API key is
checked (401 otherwise), its rate limited (429 with ``Retry-After``, a token bucket per
key), and the body capped at ``config.limits.max_body_bytes`` (413, whether it says its
length or streams it).  A raw ASGI middleware, because FastAPI reads
a route's body before its dependencies run."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie

import anyio.to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..config import LimitsConfig
from ..errors import AuthError, EngramError, RateLimitedError, TooLargeError
from ..types import ApiKey
from .auth import bearer_token

OPEN_PATHS = ("/v1/health",)
# bodies streamed to disk by their route, which enforces its own, larger cap as it reads
STREAMED_PATHS = {"/v1/cube": "max_cube_bytes", "/v1/mounts/cube": "max_cube_bytes"}


class TooLarge(Exception):
    pass


class Buckets:
    """A token bucket per API key: ``rate`` requests a second, up to ``burst`` at once."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self._state: dict[str, tuple[float, float]] = {}  # key id -> (tokens, last time)
        self._lock = threading.Lock()

    def take(self, key_id: str) -> float:
        """0 when a request may go now; otherwise the seconds until it may."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._state.get(key_id, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._state[key_id] = (tokens - 1, now)
                return 0.0
            self._state[key_id] = (tokens, now)
            return (1 - tokens) / self.rate


class Guard:
    """``authenticate``: an API key's secret (or None) to its key, raising AuthError;
    ``prefix``: the paths it guards (the REST API's ``/v1/``, the MCP endpoint's ``/mcp``,
    the console's ``/console/``).  With ``cookie`` (the console), the key comes from that
    cookie and a request without a valid one goes on to the app, which answers with its
    sign-in page: it is still held to the body limit, and a signed-in key to its rate."""

    def __init__(self, app: ASGIApp, *, authenticate: Callable[[str | None], ApiKey], limits: LimitsConfig,
                 prefix: str = "/v1/", cookie: str | None = None) -> None:
        self.app, self.authenticate, self.prefix, self.max_body = app, authenticate, prefix, limits.max_body_bytes
        self.cookie = cookie
        self.limits = limits
        self.buckets = Buckets(limits.requests_per_second, limits.burst) if limits.requests_per_second else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(self.prefix) or path in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        try:
            key = await self._key(headers)
        except AuthError as exc:
            await _error(send, 401, exc)
            return
        if key is not None:
            scope.setdefault("state", {})["api_key"] = key  # the routes' caller() reads it: one lookup
        wait = self.buckets.take(key.id) if self.buckets and key is not None else 0.0
        if wait > 0:
            assert self.buckets is not None
            limited = RateLimitedError(f"this key is over the limit requests_per_second = {self.buckets.rate} "
                                       f"(burst {self.buckets.burst}); retry in {wait:.2f} s")
            await _error(send, 429, limited, retry_after=wait)
            return
        length = headers.get("content-length", "")
        streamed = STREAMED_PATHS.get(path)
        if streamed is not None:
            cap = int(getattr(self.limits, streamed))
            if length.isdigit() and int(length) > cap:
                await _error(send, 413, _too_large(cap, streamed))
                return
            await self.app(scope, receive, send)
            return
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

    async def _key(self, headers: dict[str, str]) -> ApiKey | None:
        if self.cookie is None:
            token = bearer_token(headers.get("authorization"))
        else:
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(headers.get("cookie", ""))
            except CookieError:
                return None  # a malformed Cookie header carries no key
            token = jar[self.cookie].value if self.cookie in jar else None
            if not token:
                return None
        try:
            # a store lookup: in a worker thread, so a slow database never stalls the event loop
            return await anyio.to_thread.run_sync(self.authenticate, token)
        except AuthError:
            if self.cookie is None:
                raise
            return None  # the console's own pages send it to sign in again


def _too_large(limit: int, name: str = "max_body_bytes") -> EngramError:
    return TooLargeError(f"the request body is over the limit {name} = {limit}")


async def _error(send: Send, status: int, exc: EngramError, *, retry_after: float | None = None) -> None:
    body = json.dumps({"error": exc.to_dict()}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if retry_after is not None:
        headers.append((b"retry-after", str(max(1, math.ceil(retry_after))).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

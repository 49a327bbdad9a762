"""The REST API (FastAPI), versioned under ``/v1``.

Every route authenticates an API key, takes the caller's space from it, and calls the
same :class:`engramos.Memory` methods the library exposes (``routers/``, one module per
resource).  Ids of another space (or of users a restricted key may not see) answer 404,
never data.  Errors are JSON: ``{"error": {"code", "message", "field"?}}`` with a stable
code and the status of the error's class in the exception tree.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..config import Config
from ..errors import EngramError, ServerError, error_classes
from ..memory import Memory
from ..providers.embeddings import Embedder
from .console import mount_console
from .console.errors import console_error
from .console.session import COOKIE as CONSOLE_COOKIE
from .guard import Guard
from .routers import ROUTERS


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": ", ".join(sorted({c.code for c in error_classes()
                                                                      if c.http_status == status}))}
    for status in sorted({c.http_status for c in error_classes()})}


class Spaces:
    """One Memory per space, sharing the store, embedder and LLM of the deployment."""

    def __init__(self, config: Config, *, embedder: Embedder | None = None, process_inline: bool = True) -> None:
        self.root = Memory(config=config.model_copy(update={"process_inline": process_inline}), embedder=embedder)
        self._by_space: dict[str, Memory] = {self.root.space: self.root}
        self._lock = threading.Lock()

    def get(self, space: str) -> Memory:
        with self._lock:
            if space not in self._by_space:
                self._by_space[space] = self.root.for_space(space)
            return self._by_space[space]

    def close(self) -> None:
        self.root.close()


class Metrics:
    def __init__(self) -> None:
        self.requests: dict[tuple[str, int], int] = {}
        self.seconds: dict[str, float] = {}
        self._recent: deque[tuple[str, float]] = deque(maxlen=2000)
        self._lock = threading.Lock()

    def observe(self, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(route, status)] = self.requests.get((route, status), 0) + 1
            self.seconds[route] = self.seconds.get(route, 0.0) + seconds
            self._recent.append((route, seconds))

    def recent(self, *, route: str) -> list[float]:
        """The durations of the last requests of a route (of the last 2,000 requests)."""
        with self._lock:
            return [s for r, s in self._recent if r == route]

    def render(self, jobs: dict[str, int]) -> str:
        lines = ["# HELP engram_requests_total HTTP requests by route and status.",
                 "# TYPE engram_requests_total counter"]
        with self._lock:
            lines += [f'engram_requests_total{{route="{r}",status="{s}"}} {n}' for (r, s), n in self.requests.items()]
            lines += ["# HELP engram_request_seconds_total Time spent serving requests by route.",
                      "# TYPE engram_request_seconds_total counter"]
            lines += [f'engram_request_seconds_total{{route="{r}"}} {v:.6f}' for r, v in self.seconds.items()]
        lines += ["# HELP engram_jobs Jobs in the store by status.", "# TYPE engram_jobs gauge"]
        lines += [f'engram_jobs{{status="{k}"}} {v}' for k, v in jobs.items()]
        return "\n".join(lines) + "\n"


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(EngramError)
    async def engram_error(request: Request, exc: EngramError) -> Response:
        if request.url.path.startswith("/console"):
            return console_error(request, exc)
        return JSONResponse({"error": exc.to_dict()}, status_code=exc.http_status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": ["body"], "msg": "invalid request"}
        loc = list(first["loc"])
        if loc and loc[0] in ("body", "query", "path", "header"):
            loc = loc[1:]  # where the value came from, not its name
        field = ".".join(str(p) for p in loc)
        message = str(first["msg"]).removeprefix("Value error, ")
        return JSONResponse({"error": {"code": "invalid_input", "message": f"{field or 'body'}: {message}",
                                       "field": field or "body"}}, status_code=422)

    @app.exception_handler(Exception)
    async def internal_error(_: Request, exc: Exception) -> JSONResponse:
        # a bug, not a bad request: the documented body, no internals; Starlette logs the
        # traceback after this response is sent
        error = ServerError("internal error; the server log has the details")
        return JSONResponse({"error": error.to_dict()}, status_code=error.http_status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {400: "invalid_input", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed"}
        return JSONResponse({"error": {"code": codes.get(exc.status_code, "http_error"), "message": str(exc.detail),
                                       **({"field": "body"} if exc.status_code == 400 else {})}},
                            status_code=exc.status_code, headers=getattr(exc, "headers", None))


def create_app(config: Config, *, embedder: Embedder | None = None, process_inline: bool = True) -> FastAPI:
    """The application.  ``process_inline``: run background jobs inside the request that
    creates them (single-process deployment); otherwise ``engram worker`` runs them."""
    app = FastAPI(title="EngramOS", version=__version__, responses=ERROR_RESPONSES,
                  description="Long-term memory for LLM agents. Authenticate with `Authorization: Bearer <key>`.")
    app.state.spaces = Spaces(config, embedder=embedder, process_inline=process_inline)
    app.state.metrics = metrics = Metrics()
    _install_error_handlers(app)

    @app.middleware("http")
    async def count(request: Request, call_next: Callable[[Request], Any]) -> Any:
        started = time.perf_counter()
        try:
            response = await call_next(request)
        except Exception:  # unhandled: answered 500 by internal_error outside this middleware; counted here
            metrics.observe(getattr(request.scope.get("route"), "path", "unmatched"), 500,
                            time.perf_counter() - started)
            raise
        route = request.scope.get("route")
        metrics.observe(getattr(route, "path", "unmatched"), response.status_code, time.perf_counter() - started)
        return response

    for router in ROUTERS:
        app.include_router(router)
    mount_console(app)
    # outermost: the key and the body size are checked before anything reads the body
    app.add_middleware(Guard, authenticate=app.state.spaces.root.admin.authenticate, limits=config.limits)
    app.add_middleware(Guard, authenticate=app.state.spaces.root.admin.authenticate, limits=config.limits,
                       prefix="/console/", cookie=CONSOLE_COOKIE)
    return app

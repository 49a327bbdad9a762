"""The console: see, search, correct and govern memory in a browser, at ``/console``.

Server-rendered pages (Jinja2) with a little progressive enhancement (one small script);
every asset ships in the package.  Each page acts for the signed-in API key exactly as
the REST API does (its space, role and user/agent limits), through the same ``Caller``
checks and the same :class:`engramos.Memory` calls."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from . import pages_entities, pages_memory, pages_ops, pages_overview
from ._common import HERE


def mount_console(app: FastAPI) -> None:
    for module in (pages_overview, pages_memory, pages_entities, pages_ops):
        app.include_router(module.router)
    app.mount("/console/static", StaticFiles(directory=str(HERE / "static")), name="console-static")

"""``engram bench load``: a bounded concurrent load run against a real server.

N async clients each loop for a fixed time: add one message to their own user and
conversation, then search it.  Traffic goes only to the given URL (by default a server
started here on 127.0.0.1 for the run); the run stops by itself.  Reports throughput,
latency percentiles per operation, and every error."""

from __future__ import annotations

import asyncio
import socket
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from ..config import Config
from ..providers.embeddings import Embedder
from .metrics import percentiles

TEXTS = ["I planted tomatoes on the balcony today.", "We are going hiking in the mountains next weekend.",
         "My sister moved to Lisbon for a new job.", "I finished reading a novel about sailors.",
         "The bakery on our street started making rye bread.", "I signed up for a pottery class on Tuesdays."]
QUERIES = ["What did I plant?", "Where is my sister?", "weekend plans", "What class did I sign up for?"]


async def _client(http: httpx.AsyncClient, idx: int, deadline: float, lat: dict[str, list[float]],
                  errors: list[str]) -> None:
    n = 0
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    while time.perf_counter() < deadline:
        body = {"messages": [{"speaker": f"user{idx}", "text": TEXTS[(idx + n) % len(TEXTS)],
                              "timestamp": (t0 + timedelta(minutes=n)).isoformat()}],
                "user_id": f"user{idx}", "conversation_id": f"conv{idx}"}
        for op, path, payload in (("add", "/v1/messages", body),
                                  ("search", "/v1/search", {"query": QUERIES[n % len(QUERIES)],
                                                            "user_id": f"user{idx}", "top_k": 5})):
            started = time.perf_counter()
            try:
                resp = await http.post(path, json=payload)
                if resp.status_code != 200:
                    errors.append(f"{op} {resp.status_code} {resp.text[:100]}")
            except httpx.HTTPError as exc:
                errors.append(f"{op} {type(exc).__name__}: {exc}")
            lat[op].append((time.perf_counter() - started) * 1000)
        n += 1


async def _run(url: str, key: str, clients: int, seconds: float) -> dict[str, Any]:
    lat: dict[str, list[float]] = {"add": [], "search": []}
    errors: list[str] = []
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=120,
                                 limits=limits) as http:
        started = time.perf_counter()
        await asyncio.gather(*(_client(http, i, deadline, lat, errors) for i in range(clients)))
        elapsed = time.perf_counter() - started
    ops = len(lat["add"]) + len(lat["search"])
    return {"clients": clients, "seconds": round(elapsed, 1), "requests": ops,
            "requests_per_s": round(ops / elapsed, 1), "adds": len(lat["add"]), "searches": len(lat["search"]),
            "add_ms": percentiles(lat["add"]), "search_ms": percentiles(lat["search"]),
            "errors": len(errors), "first_errors": errors[:5]}


def run_load(url: str, key: str, *, clients: int = 32, seconds: float = 30.0) -> dict[str, Any]:
    return asyncio.run(_run(url.rstrip("/"), key, clients, seconds))


def benchmark_load(config: Config | None = None, *, clients: int = 32, seconds: float = 30.0,
                   embedder: Embedder | None = None) -> dict[str, Any]:
    """Start a server on 127.0.0.1 over a fresh store, load it, stop it."""
    import uvicorn

    from ..server.app import create_app
    from .runner import machine

    home = Path(tempfile.mkdtemp(prefix="engram-load-"))
    base = config or Config()
    # capacity, not the per-key rate limit (tests/test_server.py covers that): one key
    # sends every request here, and cached query embeddings take it past 100 a second
    cfg = base.model_copy(update={"home": home, "space": "load", "limits": base.limits.model_copy(
        update={"requests_per_second": None})})
    app = create_app(cfg, embedder=embedder, process_inline=True)
    _, secret = app.state.spaces.root.admin.create_key("load", "write", space="load")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(400):
        try:
            if httpx.get(url + "/v1/health").status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    try:
        result = run_load(url, secret, clients=clients, seconds=seconds)
    finally:
        server.should_exit = True
        thread.join(30)
    return {"machine": machine(), "mode": "one process, jobs inline, SQLite", **result}

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from engramos import Config, Memory
from engramos.providers.embeddings import E5SmallEmbedder
from engramos.store import SQLiteStore

LOCOMO = Path(__file__).resolve().parents[2] / "shared" / "data" / "locomo" / "locomo10.json"

BACKENDS = ["sqlite"]


@pytest.fixture(scope="session")
def embedder() -> E5SmallEmbedder:
    return E5SmallEmbedder()


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SQLiteStore]:
    """Every backend the contract suite runs against (PostgreSQL joins this list later)."""
    if request.param == "sqlite":
        s = SQLiteStore(tmp_path / "contract.db")
    yield s
    s.close()


@pytest.fixture
def memory(tmp_path: Path, embedder: E5SmallEmbedder) -> Iterator[Memory]:
    mem = Memory(path=tmp_path / "home", embedder=embedder)
    yield mem
    mem.close()


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config(home=tmp_path / "home")


class _Handler(BaseHTTPRequestHandler):
    route: Callable[[str, dict[str, Any]], tuple[int, dict[str, Any]]]

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        status, payload = type(self).route(self.path, body)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[Callable[[Callable[[str, dict[str, Any]], tuple[int, dict[str, Any]]]], str]]:
    """Start a real HTTP server on loopback whose replies come from a route function."""
    servers: list[ThreadingHTTPServer] = []

    def start(route: Callable[[str, dict[str, Any]], tuple[int, dict[str, Any]]]) -> str:
        handler = type("H", (_Handler,), {"route": staticmethod(route)})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()

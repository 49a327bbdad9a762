"""An MCP session through the official MCP Python client over stdio: the tools are
listed with typed arguments, and what is remembered is recalled."""

from __future__ import annotations

import asyncio
import json
import os
import sys

from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client


def _text(result) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


def test_mcp_stdio_remember_then_recall(tmp_path):
    params = StdioServerParameters(command=sys.executable, args=["-m", "engramos.cli", "mcp"],
                                   env={**os.environ, "ENGRAM_HOME": str(tmp_path / "home")})

    async def session() -> None:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as s:
            await s.initialize()
            tools = {t.name: t for t in (await s.list_tools()).tools}
            assert {"remember", "remember_messages", "recall", "recall_context", "forget", "profile",
                    "recent"} <= set(tools)
            assert tools["recall"].input_schema["properties"]["top_k"]["type"] == "integer"
            assert tools["remember"].description
            stored = await s.call_tool("remember", {"text": "I adopted a grey cat named Miso yesterday.",
                                                    "user_id": "ana", "speaker": "Ana",
                                                    "timestamp": "2024-03-04T10:00:00Z"})
            assert not stored.is_error and json.loads(_text(stored))["stored"] == 1
            found = await s.call_tool("recall", {"query": "What is the name of Ana's cat?", "user_id": "ana"})
            assert not found.is_error and "Miso" in _text(found) and "3 March 2024" in _text(found)
            ctx = await s.call_tool("recall_context", {"query": "cat", "user_id": "ana", "budget_tokens": 200})
            assert "Miso" in _text(ctx)
            bad = await s.call_tool("recall", {"query": "cat", "top_k": 0})
            assert bad.is_error
            # the profile right after remember (issue 13 part 5): the open cell is read too
            await s.call_tool("remember", {"text": "I work as a paramedic in Leeds.", "user_id": "ana",
                                           "speaker": "Ana", "timestamp": "2024-03-05T10:00:00Z"})
            answer = await s.call_tool("profile", {"user_id": "ana"})
            known = [json.loads(c.text) for c in answer.content]  # one item per content block
            job = next(item for item in known if item["attribute"] == "job")
            assert job["value"] == "paramedic" and job["explicit"] is True and job["evidence"], known
            assert any(item["attribute"] == "pet" and "Miso" in item["value"] for item in known), known

    asyncio.run(session())


def test_mcp_streamable_http_takes_api_keys_scoped_like_rest(tmp_path):
    """Issue 12 part 3: over HTTP every call needs an API key, and a user-limited key
    reaches only its users, as on the REST API."""
    import socket
    import subprocess
    import time

    import httpx
    import httpx2
    from click.testing import CliRunner
    from mcp.client.streamable_http import streamable_http_client

    from engramos.cli import cli

    env = {**os.environ, "ENGRAM_HOME": str(tmp_path / "home")}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "engramos.cli", "--limit", "max_body_bytes=65536", "mcp", "--transport", "http",
           "--port", str(port)]
    refused = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "keys" in refused.stderr  # no key in the store: not served

    def key(*args: str) -> str:
        out = CliRunner().invoke(cli, ["--home", str(tmp_path / "home"), "--json", "keys", "create", *args],
                                 catch_exceptions=False)
        return str(json.loads(out.output)["secret"])

    app_key, alice_key = key("--role", "write"), key("--role", "write", "--user", "alice")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        for _ in range(200):
            try:
                httpx.get(url, timeout=0.5)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).status_code == 401
        bad = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                         headers={"Authorization": "Bearer engram_not-a-key"})
        assert bad.status_code == 401
        # the REST API's gate: a body over the limit is refused before the MCP SDK reads it
        big = httpx.post(url, content=b"x" * 100_000, headers={"Authorization": f"Bearer {app_key}"})
        assert big.status_code == 413 and "max_body_bytes" in big.json()["error"]["message"]

        async def session(secret: str, calls) -> None:
            client = httpx2.AsyncClient(headers={"Authorization": f"Bearer {secret}"}, timeout=60)
            async with client, streamable_http_client(url, http_client=client) as streams, \
                    ClientSession(streams[0], streams[1]) as s:
                await s.initialize()
                await calls(s)

        async def as_app(s) -> None:
            await s.call_tool("remember", {"text": "Bo is moving to Porto next month.", "user_id": "bo",
                                           "speaker": "Bo", "timestamp": "2024-03-14T10:00:00Z"})
            found = await s.call_tool("recall", {"query": "Where is Bo moving?", "user_id": "bo"})
            assert "Porto" in _text(found) and "April 2024" in _text(found)

        async def as_alice(s) -> None:
            for tool, args in (("recall", {"query": "Where is Bo moving?"}),
                               ("recall", {"query": "Where is Bo moving?", "user_id": "bo"}),
                               ("forget", {"user_id": "bo"}), ("profile", {"user_id": "bo"}),
                               ("remember", {"text": "hi", "user_id": "bo"})):
                result = await s.call_tool(tool, args)
                assert result.is_error and "Porto" not in _text(result), (tool, _text(result))
            mine = await s.call_tool("recall", {"query": "Where is Bo moving?", "user_id": "alice"})
            assert not mine.is_error and "Porto" not in _text(mine)

        asyncio.run(session(app_key, as_app))
        asyncio.run(session(alice_key, as_alice))
        asyncio.run(session(app_key, lambda s: _still_there(s)))
    finally:
        proc.terminate()
        proc.wait(20)


async def _still_there(s) -> None:
    found = await s.call_tool("recall", {"query": "Where is Bo moving?", "user_id": "bo"})
    assert "Porto" in _text(found)  # alice's forget reached nothing

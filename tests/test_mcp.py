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

    asyncio.run(session())


def test_mcp_streamable_http(tmp_path):
    import socket
    import subprocess
    import time

    import httpx
    from mcp.client.streamable_http import streamable_http_client

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "engramos.cli", "mcp", "--transport", "http", "--port", str(port)],
                            env={**os.environ, "ENGRAM_HOME": str(tmp_path / "home")},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                httpx.get(f"http://127.0.0.1:{port}/mcp", timeout=0.5)
                break
            except httpx.HTTPError:
                time.sleep(0.1)

        async def session() -> None:
            async with streamable_http_client(f"http://127.0.0.1:{port}/mcp") as streams, \
                    ClientSession(streams[0], streams[1]) as s:
                await s.initialize()
                await s.call_tool("remember", {"text": "Bo is moving to Porto next month.", "user_id": "bo",
                                               "speaker": "Bo", "timestamp": "2024-03-14T10:00:00Z"})
                found = await s.call_tool("recall", {"query": "Where is Bo moving?", "user_id": "bo"})
                assert "Porto" in _text(found) and "April 2024" in _text(found)

        asyncio.run(session())
    finally:
        proc.terminate()
        proc.wait(20)

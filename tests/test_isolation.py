"""Isolation inside a space (issue 12, parts 1 and 2): a key limited to users or agents
reaches no other user's or agent's rows, through any id, on a real loopback server."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from engramos import Config, ConflictError, Memory

from .test_server import Server

T = "2024-05-0{}T10:00:00Z"


def msg(text: str, day: int = 1, speaker: str = "Bo") -> dict[str, str]:
    return {"speaker": speaker, "text": text, "timestamp": T.format(day)}


@pytest.fixture
def srv(tmp_path, embedder) -> Iterator[Server]:
    with Server(Config(home=tmp_path / "iso"), embedder) as s:
        yield s


def call(srv: Server, key: str, method: str, path: str, **kw) -> httpx.Response:
    return httpx.request(method, srv.url + path, headers={"Authorization": f"Bearer {key}"}, timeout=60, **kw)


def test_a_conversation_has_one_owner(tmp_path, embedder):
    with Memory(tmp_path / "own", embedder=embedder) as mem:
        mem.add([msg("I repair bicycles for a living.")], user_id="bob", conversation_id="chat-7", flush=True)
        with pytest.raises(ConflictError):
            mem.add([msg("Alice's secret plan.", speaker="Alice")], user_id="alice", conversation_id="chat-7")
        assert [m.user_id for m in mem.messages("chat-7")] == ["bob"]


def test_a_user_limited_key_reaches_no_other_users_rows(srv):
    app = srv.key("default", "write")
    alice, alice_read = srv.key("default", "write", users=["alice"]), srv.key("default", "read", users=["alice"])
    added = call(srv, app, "POST", "/v1/messages", json={
        "user_id": "bob", "conversation_id": "bob-chat-7", "flush": True,
        "messages": [msg("My bank PIN hint is the name of my first dog, Rex.")]})
    assert added.status_code == 200
    bob_ids = added.json()["message_ids"]

    # writing into bob's conversation, even the very same message: 404, no id revealed
    for text in ("Alice was here.", "My bank PIN hint is the name of my first dog, Rex."):
        r = call(srv, alice, "POST", "/v1/messages", json={
            "user_id": "alice", "conversation_id": "bob-chat-7", "messages": [msg(text, speaker="Alice")]})
        assert r.status_code == 404 and not any(i in r.text for i in bob_ids)
    # reading it, searching in it, forgetting it
    assert call(srv, alice_read, "GET", "/v1/conversations/bob-chat-7/messages").status_code == 404
    r = call(srv, alice_read, "POST", "/v1/search", json={"query": "PIN dog", "user_id": "alice",
                                                          "conversation_id": "bob-chat-7"})
    assert r.status_code == 404
    assert call(srv, alice, "POST", "/v1/forget", json={"conversation_id": "bob-chat-7"}).status_code == 404
    assert call(srv, alice, "POST", "/v1/forget", json={"message_id": bob_ids[0]}).status_code == 404
    owed = {"text": "Bob owes Alice", "user_id": "bob"}
    assert call(srv, alice, "POST", "/v1/memories", json=owed).status_code == 403
    assert call(srv, alice_read, "POST", "/v1/memories", json={"text": "x", "user_id": "alice"}).status_code == 403
    assert call(srv, app, "GET", "/v1/conversations/bob-chat-7/messages").json()[0]["id"] == bob_ids[0]

    # alice's own conversation first: bob's application cannot write into it later
    assert call(srv, alice, "POST", "/v1/messages", json={
        "user_id": "alice", "conversation_id": "shared-1", "flush": True,
        "messages": [msg("I am learning the cello.", speaker="Alice")]}).status_code == 200
    r = call(srv, app, "POST", "/v1/messages", json={"user_id": "bob", "conversation_id": "shared-1",
                                                     "messages": [msg("Bob's diary entry.")]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    found = call(srv, alice_read, "POST", "/v1/search", json={"query": "bank PIN diary dog", "user_id": "alice"})
    assert found.status_code == 200
    texts = " ".join(h["memory"]["text"] for h in found.json()["hits"])
    assert all(h["memory"]["user_id"] == "alice" for h in found.json()["hits"])
    assert "cello" in texts and "Rex" not in texts and "diary" not in texts

    # jobs: only alice's, and no space-wide retry
    jobs = call(srv, alice_read, "GET", "/v1/jobs").json()
    assert jobs and {j["payload"]["user_id"] for j in jobs} == {"alice"}
    status = call(srv, alice_read, "GET", "/v1/jobs/status").json()
    assert sum(status["counts"].values()) == len(jobs)
    assert call(srv, alice, "POST", "/v1/jobs/retry").status_code == 403


def test_an_agent_limited_key_reaches_no_other_agents_rows(srv):
    app = srv.key("default", "write")
    for agent, conv, text in (("agent1", "a1", "I water the ferns every Sunday."),
                              ("agent2", "a2", "My passport number ends in QX4471 and expires soon.")):
        assert call(srv, app, "POST", "/v1/messages", json={
            "user_id": "u", "agent_id": agent, "conversation_id": conv, "flush": True,
            "messages": [msg(text)]}).status_code == 200
    key = srv.key("default", "write", agents=["agent1"])
    agent2_memory = call(srv, app, "GET", "/v1/memories", params={"agent_id": "agent2"}).json()["items"][0]["id"]

    for path in ("/v1/search", "/v1/context"):
        assert call(srv, key, "POST", path, json={"query": "passport", "user_id": "u"}).status_code == 403
        assert call(srv, key, "POST", path, json={"query": "passport", "agent_id": "agent2"}).status_code == 403
        ok = call(srv, key, "POST", path, json={"query": "passport ferns", "user_id": "u", "agent_id": "agent1"})
        assert ok.status_code == 200 and "QX4471" not in ok.text.replace(ok.json().get("query", ""), "")
        assert "ferns" in ok.text
    assert call(srv, key, "GET", "/v1/memories", params={"user_id": "u"}).status_code == 403
    listed = call(srv, key, "GET", "/v1/memories", params={"agent_id": "agent1"}).json()["items"]
    assert listed and {m["agent_id"] for m in listed} == {"agent1"}
    assert call(srv, key, "GET", f"/v1/memories/{agent2_memory}").status_code == 404
    assert call(srv, key, "GET", "/v1/conversations/a2/messages").status_code == 404
    assert {c["conversation_id"] for c in call(srv, key, "GET", "/v1/conversations").json()} == {"a1"}
    assert call(srv, key, "GET", "/v1/scenes", params={"user_id": "u"}).status_code == 403
    # no hard delete of agent2's data through the user or the conversation
    assert call(srv, key, "POST", "/v1/forget", json={"user_id": "u"}).status_code == 403
    assert call(srv, key, "POST", "/v1/forget", json={"conversation_id": "a2"}).status_code == 404
    assert call(srv, key, "POST", "/v1/messages", json={
        "user_id": "u", "agent_id": "agent1", "conversation_id": "a2", "messages": [msg("hi")]}).status_code == 404
    assert call(srv, app, "GET", f"/v1/memories/{agent2_memory}").status_code == 200
    jobs = call(srv, key, "GET", "/v1/jobs").json()
    assert jobs and {j["payload"]["agent_id"] for j in jobs} == {"agent1"}

"""Isolation generated from the OpenAPI spec (issue 12): every route the server publishes
is called by every kind of limited key (user-limited, agent-limited, another space's),
aimed at another user's, another agent's and another space's rows through every id the
route accepts, on both backends.  No response may carry the victims' text or ids the
request did not itself name, none may be a 5xx, and afterwards the victims' data is as
it was.  A new route is covered without being listed here: the spec drives the calls,
and a path parameter this test cannot fill fails it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from engramos import Config
from engramos.config import LimitsConfig

from .test_server import Server

T = "2024-05-0{}T10:00:00Z"
BOB_TEXT = "My neighbour's parrot Zorblaxian knows my bank PIN hint."
AGENT2_TEXT = "The passport of Quibbleton expires in June; number ends QX4471."
# no marker can occur by chance in a random id or a timestamp ("4471" alone once did)
MARKERS = ("Zorblaxian", "zorblaxian", "Quibbleton", "quibbleton", "QX4471", "qx4471")


@dataclass
class Target:
    """The ids a request may name, aimed at one victim."""

    user_id: str
    agent_id: str | None
    conversation_id: str
    memory_id: str
    query: str
    message_id: str = ""
    share_id: str = ""  # a share of the victim's memory
    name: str = ""  # a mount of the victims' space

    def ids(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "agent_id": self.agent_id, "conversation_id": self.conversation_id,
                "memory_id": self.memory_id, "message_id": self.message_id, "share_id": self.share_id,
                "name": self.name}


@dataclass
class Attacker:
    name: str
    key: str
    own_user: str | None  # a user the key may act for, to mix with a victim's ids
    own_agent: str | None = None
    # another space: what it wrote there (victims' ids it named) is its own, so what it
    # sent before may come back (an audit entry); inside the victims' space it may not
    sent: set[str] | None = None


@pytest.fixture(params=["sqlite", "postgres"])
def srv(request: pytest.FixtureRequest, tmp_path, embedder) -> Iterator[Server]:
    db = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    cfg = Config(home=tmp_path / "iso", db=db, limits=LimitsConfig(requests_per_second=None))
    with Server(cfg, embedder) as s:
        yield s


def _add(srv: Server, key: str, user: str, agent: str | None, conv: str, text: str) -> None:
    r = httpx.post(srv.url + "/v1/messages", headers={"Authorization": f"Bearer {key}"}, timeout=60, json={
        "user_id": user, "agent_id": agent, "conversation_id": conv, "flush": True,
        "messages": [{"speaker": "Vic", "text": text, "timestamp": T.format(1)},
                     {"speaker": "Vic", "text": "Tell nobody about it.", "timestamp": T.format(2)}]})
    assert r.status_code == 200, r.text


def _snapshot(srv: Server) -> dict[str, Any]:
    """The victims' rows, as the space's own admin sees them (not carol's rows of agent1:
    the agent1 keys act for that agent with any user, and may write there)."""
    mem = srv.app.state.spaces.root
    memories = {m.id: (m.text, m.status, m.metadata) for u in ("victim-bob", "carol")
                for m in mem.list(user_id=u, limit=500, include_inactive=True).items if m.agent_id != "agent1"}
    return {"messages": {c: [(m.id, m.content) for m in mem.messages(c)] for c in ("bob-chat-7", "carol-a2")},
            "memories": memories, "users": [u for u in mem.users() if u in ("victim-bob", "carol")],
            "shares": [s for s in mem.admin.shares() if s.user_id in ("victim-bob", "carol") or s.name == "handbook"],
            "mounts": mem.admin.mounts()}


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    if "anyOf" in schema:
        schema = next(s for s in schema["anyOf"] if s.get("type") != "null")
        return _resolve(spec, schema)
    return schema


def _value(spec: dict[str, Any], name: str, schema: dict[str, Any], target: dict[str, Any]) -> Any:
    """A value for a field: the target's id where the field is one, else a plausible one."""
    if name in target:
        return target[name]
    schema = _resolve(spec, schema)
    if name == "timestamp":
        return T.format(3)
    if name in ("text", "speaker", "query"):
        return "Mallory was here"
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {k: _value(spec, k, props[k], target) for k in schema.get("required", [])}
    if kind == "array":
        return [_value(spec, name, schema.get("items", {}), target)]
    return {"integer": 1, "number": 1.0, "boolean": True}.get(str(kind), "mallory")


def _bodies(spec: dict[str, Any], schema: dict[str, Any], target: dict[str, Any]) -> list[dict[str, Any]]:
    """The body with every id aimed at the victim, and with each id alone (routes that
    take exactly one of several ids, such as forget)."""
    schema = _resolve(spec, schema)
    props, required = schema.get("properties", {}), set(schema.get("required", []))
    base = {k: _value(spec, k, props[k], target) for k in props if k in required}
    ids = [k for k in props if k in target and target[k] is not None]
    variants = [{**base, **{k: target[k] for k in ids}}]
    variants += [{**base, k: target[k]} for k in ids]
    return variants


def _requests(spec: dict[str, Any], path: str, method: str, op: dict[str, Any],
              target: dict[str, Any]) -> Iterator[dict[str, Any]]:
    url = path
    params: dict[str, Any] = {}
    for p in op.get("parameters", []):
        name = p["name"]
        if p["in"] == "path":
            assert target.get(name), f"{method.upper()} {path}: no victim id for path parameter {name!r}"
            url = url.replace("{" + name + "}", str(target[name]))
        elif p["in"] == "query" and target.get(name) is not None:
            params[name] = target[name]
    schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        yield {"method": method.upper(), "url": url, "params": params}
        if params:
            yield {"method": method.upper(), "url": url, "params": {}}
        return
    for body in _bodies(spec, schema, target):
        yield {"method": method.upper(), "url": url, "params": params, "json": body}


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
        yield json.dumps(value)[1:-1]
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)


def test_every_route_keeps_every_limited_key_to_its_own_rows(srv: Server):
    app_key = srv.key("default", "admin")
    _add(srv, app_key, "victim-bob", None, "bob-chat-7", BOB_TEXT)
    _add(srv, app_key, "carol", "agent2", "carol-a2", AGENT2_TEXT)
    _add(srv, app_key, "carol", "agent1", "carol-a1", "I water the ferns every Sunday.")
    _add(srv, app_key, "alice", None, "alice-chat", "I am learning the cello.")
    mem = srv.app.state.spaces.root
    mem.run_jobs()

    def first_memory(user: str, agent: str | None) -> str:
        return next(m.id for m in mem.list(user_id=user, limit=100).items if m.agent_id == agent)

    # the victims' memory is shared with a third space, and the space mounts a handbook
    handbook = mem.for_space("third").admin.share("handbook", "default")
    mem.admin.mount(handbook.id, "team-handbook")
    shares = {u: mem.admin.share(f"{u}-share", "third", user_id=u).id for u in ("victim-bob", "carol")}
    victims = [Target("victim-bob", None, "bob-chat-7", first_memory("victim-bob", None), "Zorblaxian PIN",
                      mem.messages("bob-chat-7")[0].id, shares["victim-bob"], "team-handbook"),
               Target("carol", "agent2", "carol-a2", first_memory("carol", "agent2"), "Quibbleton passport",
                      mem.messages("carol-a2")[0].id, shares["carol"], "team-handbook")]
    secret_ids = {i for t in victims for i in (t.memory_id, t.conversation_id)} | {
        m.id for c in ("bob-chat-7", "carol-a2") for m in mem.messages(c)}
    attackers = [Attacker(f"{role}-alice", srv.key("default", role, users=["alice"]), "alice")
                 for role in ("read", "write", "admin")]
    attackers += [Attacker(f"{role}-agent1", srv.key("default", role, agents=["agent1"]), "carol", "agent1")
                  for role in ("read", "write")]
    other_space_sent: set[str] = set()  # shared: the keys of one space see each other's writes
    attackers += [Attacker(f"{role}-other-space", srv.key("other", role), None, sent=other_space_sent)
                  for role in ("read", "write", "admin")]
    before = _snapshot(srv)

    spec = httpx.get(srv.url + "/openapi.json").json()
    routes = [(p, m, op) for p, ops in spec["paths"].items() for m, op in ops.items()]
    assert len(routes) >= 20
    called: dict[str, set[str]] = {a.name: set() for a in attackers}
    refused: dict[str, int] = {a.name: 0 for a in attackers}
    with httpx.Client(base_url=srv.url, timeout=60) as client:
        for attacker in attackers:
            for victim in victims:
                # the victim's ids alone, and mixed with a user (and agent) the key may act for
                own = {**victim.ids(), "query": victim.query}
                mixes = [own] + ([{**own, "user_id": attacker.own_user, "agent_id": attacker.own_agent}]
                                 if attacker.own_user else [])
                for target in mixes:
                    for path, method, op in routes:
                        for req in _requests(spec, path, method, op, target):
                            r = client.request(**req, headers={"Authorization": f"Bearer {attacker.key}"})
                            called[attacker.name].add(f"{method} {path}")
                            where = f"{attacker.name} {req}"
                            assert r.status_code < 500, f"{where}: {r.status_code} {r.text}"
                            seen = r.text
                            echo = set(_strings([req, target]))
                            if attacker.sent is not None:
                                attacker.sent |= echo
                                echo = attacker.sent
                            for s in sorted(echo, key=len, reverse=True):
                                if s:
                                    seen = seen.replace(s, "")
                            leaked = [x for x in (*MARKERS, *secret_ids) if x in seen]
                            assert not leaked, f"{where}: {r.status_code} leaks {leaked}: {r.text[:500]}"
                            refused[attacker.name] += r.status_code in (403, 404, 409)
    every = {f"{m} {p}" for p, m, _ in routes}
    for name in called:
        assert called[name] == every, f"{name} missed {every - called[name]}"
        assert refused[name] > 10, f"{name} was refused only {refused[name]} times"
    assert _snapshot(srv) == before

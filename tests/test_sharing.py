"""Sharing by mounting (issue 15, part 3): a space's admin shares its memory (or one
user's) with another space, whose admin mounts it; searches and contexts that name the
mount include it, each hit with its source; revoking or unmounting removes it at once;
keys, roles and the audit log cover it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from engramos import Client, Config, ForbiddenError, Memory, NotFoundError
from engramos.errors import ConflictError
from engramos.types import Mount, Share

T = "2024-05-01T10:00:00Z"


def _fill(mem: Memory) -> tuple[Memory, Memory]:
    handbook = mem.for_space("handbook")
    handbook.add([{"speaker": "HR", "text": "Expense claims must be filed within 30 days of purchase.",
                   "timestamp": T}], user_id="hr", conversation_id="policies", flush=True)
    handbook.add([{"speaker": "Lee", "text": "My private note: the quarterly bonus pool is 40k.",
                   "timestamp": T}], user_id="lee", conversation_id="lee-notes", flush=True)
    app = mem.for_space("app")
    app.add([{"speaker": "Ana", "text": "I bought a laptop for work last week.", "timestamp": T}],
            user_id="ana", conversation_id="ana-1", flush=True)
    return handbook, app


def _sources(result: Any) -> set[str | None]:
    return {h.source for h in result.hits}


def test_mount_search_context_revoke_unmount(memory):
    handbook, app = _fill(memory)
    share = handbook.admin.share("policies", "app", user_id="hr")
    q = "How long do I have to file an expense claim?"
    assert not any("Expense" in h.memory.text for h in app.search(q, user_id="ana").hits)
    with pytest.raises(NotFoundError):
        app.search(q, user_id="ana", mounts=["hb"])  # not mounted yet
    app.admin.mount(share.id, "hb")
    found = app.search(q, user_id="ana", mounts=["hb"])
    shared = [h for h in found.hits if h.source == "hb"]
    assert shared and "Expense claims" in shared[0].memory.text and shared[0].memory.space == "handbook"
    assert None in _sources(found)  # the space's own memory is still there, without a source
    # the share is hr's memory only: lee's note in the same space never comes through
    assert not any("bonus" in h.memory.text for h in app.search("bonus pool", mounts=["*"]).hits)
    block = app.context(q, user_id="ana", mounts=["*"], budget_tokens=300)
    assert "[shared: hb]" in block.text and "30 days" in block.text
    handbook.admin.revoke_share(share.id)  # at once, without unmounting
    assert "hb" not in _sources(app.search(q, user_id="ana", mounts=["hb"]))
    with pytest.raises(ForbiddenError):
        app.admin.mount(share.id, "again")
    second = handbook.admin.share("policies-2", "app", user_id="hr")
    app.admin.mount(second.id, "hb2")
    assert "hb2" in _sources(app.search(q, user_id="ana", mounts=["hb2"]))
    assert app.admin.unmount("hb2") and not app.admin.unmount("hb2")
    with pytest.raises(NotFoundError):
        app.search(q, user_id="ana", mounts=["hb2"])
    # a share granted to another space cannot be mounted here
    other = handbook.admin.share("x", "elsewhere")
    with pytest.raises(NotFoundError):
        app.admin.mount(other.id, "x")


def test_forgetting_the_shared_user_removes_share_and_mount(memory):
    handbook, app = _fill(memory)
    share = handbook.admin.share("policies", "app", user_id="hr")
    app.admin.mount(share.id, "hb")
    counts = handbook.forget(user_id="hr")
    assert counts["shares"] == 1
    assert app.admin.mounts() == [] and handbook.admin.shares() == []


def test_share_contract(store):
    now = datetime.now(UTC)
    s = Share(id="shr_1", space="a", name="n", to_space="b", user_id="u", created_at=now)
    store.create_share(s)
    assert store.get_share("shr_1").to_space == "b"
    assert [x.id for x in store.list_shares(space="a")] == ["shr_1"] == [x.id for x in store.list_shares(to_space="b")]
    assert store.list_shares(space="b") == []
    store.add_mount(Mount(space="b", name="m", share_id="shr_1", created_at=now))
    with pytest.raises(ConflictError):
        store.add_mount(Mount(space="b", name="m", share_id="shr_1", created_at=now))
    assert [m.name for m in store.list_mounts("b")] == ["m"] and store.list_mounts("a") == []
    assert not store.revoke_share("b", "shr_1", now)  # only the sharing space revokes
    assert store.revoke_share("a", "shr_1", now) and not store.revoke_share("a", "shr_1", now)
    assert store.get_share("shr_1").revoked_at is not None
    assert store.remove_mount("b", "m") and not store.remove_mount("b", "m")


def test_rest_roles_and_audit(tmp_path, embedder):
    from tests.test_server import Server

    with Server(Config(home=tmp_path / "srv"), embedder) as srv:
        def call(space: str, role: str, method: str, path: str, **kw: Any) -> httpx.Response:
            return httpx.request(method, srv.url + path, headers={"Authorization": f"Bearer {srv.key(space, role)}"},
                                 **kw)

        with Client(srv.url, srv.key("hb")) as hb:
            hb.add([{"speaker": "HR", "text": "Expense claims must be filed within 30 days.", "timestamp": T}],
                   user_id="hr", conversation_id="p", flush=True)
        assert call("hb", "write", "POST", "/v1/shares", json={"name": "p", "to_space": "app"}).status_code == 403
        made = call("hb", "admin", "POST", "/v1/shares", json={"name": "p", "to_space": "app", "user_id": "hr"})
        assert made.status_code == 200
        share_id = made.json()["id"]
        assert call("app", "write", "POST", "/v1/mounts", json={"share_id": share_id, "name": "hb"}).status_code == 403
        assert call("app", "admin", "POST", "/v1/mounts", json={"share_id": share_id, "name": "hb"}).status_code == 200
        with Client(srv.url, srv.key("app", "read", users=["ana"])) as reader:
            hits = reader.search("expense claims deadline", user_id="ana", mounts=["hb"]).hits
            assert hits and hits[0].source == "hb"
        assert call("hb", "admin", "DELETE", f"/v1/shares/{share_id}").status_code == 200
        with Client(srv.url, srv.key("app", "read")) as reader:
            assert not reader.search("expense claims deadline", mounts=["hb"]).hits
        actions = [e.action for e in srv.app.state.spaces.get("hb").admin.audit(limit=20)]
        assert "share.create" in actions and "share.revoke" in actions
        assert "mount.add" in [e.action for e in srv.app.state.spaces.get("app").admin.audit(limit=20)]


def test_mount_a_cube_file(memory, tmp_path):
    handbook, app = _fill(memory)
    cube = tmp_path / "handbook.cube"
    handbook.export_cube(cube, user_id="hr")
    mount = app.admin.mount_cube(cube, "hb")
    q = "How long do I have to file an expense claim?"
    hits = [h for h in app.search(q, user_id="ana", mounts=["hb"]).hits if h.source == "hb"]
    assert hits and "30 days" in hits[0].memory.text and hits[0].memory.space.startswith("cube-")
    again = app.admin.mount_cube(cube, "hb-again")  # the cube is loaded once, shared once
    assert again.share_id == mount.share_id
    assert app.admin.unmount("hb") and app.admin.unmount("hb-again")
    assert not any(h.source for h in app.search(q, user_id="ana", mounts=["*"]).hits)


def test_rest_mount_cube(tmp_path, embedder, memory):
    from tests.test_server import Server

    handbook, _ = _fill(memory)
    cube = tmp_path / "handbook.cube"
    handbook.export_cube(cube, user_id="hr")
    with Server(Config(home=tmp_path / "srv"), embedder) as srv:
        url = f"{srv.url}/v1/mounts/cube"
        body = cube.read_bytes()
        denied = httpx.post(url, params={"name": "hb"}, content=body,
                            headers={"Authorization": f"Bearer {srv.key('app', 'write')}"})
        assert denied.status_code == 403
        made = httpx.post(url, params={"name": "hb"}, content=body,
                          headers={"Authorization": f"Bearer {srv.key('app', 'admin')}"})
        assert made.status_code == 200, made.text
        with Client(srv.url, srv.key("app", "read")) as reader:
            assert reader.search("expense claims deadline", mounts=["hb"]).hits[0].source == "hb"


def test_cli_share_mount_search_revoke(tmp_path, monkeypatch, embedder):
    from click.testing import CliRunner

    from engramos.cli import cli

    monkeypatch.setenv("ENGRAM_HOME", str(tmp_path / "home"))
    with Memory(tmp_path / "home", embedder=embedder) as mem:
        _fill(mem)
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    made = run("--space", "handbook", "--json", "share", "create", "policies", "--to", "app", "--user", "hr")
    share_id = __import__("json").loads(made)["id"]
    assert share_id in run("--space", "app", "share", "list")
    assert "mounted" in run("--space", "app", "mount", "add", share_id, "hb")
    assert "hb" in run("--space", "app", "mount", "list")
    found = run("--space", "app", "search", "expense claims deadline", "--mount", "hb")
    assert "from mount hb" in found and "30 days" in found
    assert "revoked" in run("--space", "handbook", "share", "revoke", share_id)
    assert "from mount hb" not in run("--space", "app", "search", "expense claims deadline", "--mount", "hb")
    assert "unmounted hb" in run("--space", "app", "mount", "remove", "hb")
    assert "not found" in run("--space", "app", "mount", "remove", "hb", code=2)

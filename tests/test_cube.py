"""MemCubes (issue 15, parts 1 and 2): export, verify, inspect and import, on both
backends, through Memory, the CLI and the REST client.  A cube moved from SQLite to
PostgreSQL and back answers the same queries the same way; a flipped byte or a cut
file is refused with the part named and nothing written."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engramos import Client, Config, EmbeddingModelMismatchError, Memory
from engramos.cli import cli
from engramos.cube import inspect_cube, verify_cube
from engramos.errors import CubeError, ForbiddenError
from engramos.providers.embeddings import UseMultilingualEmbedder

T = "2024-05-{:02d}T10:00:00Z"
QUERIES = ["Where does Bob live now?", "What is the parrot called?", "When is Bob going to Reykjavik?",
           "What does Bob do for work?", "Who is Melanie?"]


def _talk(mem: Memory, user: str = "bob", conv: str = "bob-1") -> None:
    mem.add([
        {"speaker": "Bob", "text": "My parrot Pip sings at dawn.", "timestamp": T.format(1)},
        {"speaker": "Ann", "text": "Pip sounds lovely. How is Leeds?", "timestamp": T.format(1)},
        {"speaker": "Bob", "text": "I live in Leeds and work as a baker.", "timestamp": T.format(2)},
        {"speaker": "Bob", "text": "I moved to Glasgow last week; I now work as a teacher.", "timestamp": T.format(20)},
        {"speaker": "Bob", "text": "Next week I'm off to Reykjavik with my sister Melanie.", "timestamp": T.format(21)},
    ], user_id=user, conversation_id=conv, flush=True)


def _results(mem: Memory, user: str = "bob") -> list[list[tuple[str, str]]]:
    return [[(h.memory.kind, h.memory.text) for h in mem.search(q, user_id=user, top_k=8).hits] for q in QUERIES]


def _rows(mem: Memory) -> dict[str, Any]:
    h = mem.health()
    return {k: v for k, v in h.items() if k.startswith("rows_") and k != "rows_jobs"}


@pytest.fixture
def source(tmp_path: Path, embedder) -> Any:
    mem = Memory(tmp_path / "src", embedder=embedder)
    _talk(mem)
    _talk(mem, "ann", "ann-1")
    hit = mem.search("parrot", user_id="bob").hits[0].memory
    mem.update(hit.id, text="Bob's parrot is called Pip and sings at dawn.")
    yield mem
    mem.close()


def test_round_trip_sqlite_postgres_sqlite_gives_the_same_results(source, tmp_path, embedder, postgres_url):
    cube = tmp_path / "bob.cube"
    manifest = source.export_cube(cube, user_id="bob")
    assert manifest.scope.kind == "user" and manifest.counts["messages"] == 5
    assert manifest.embedding and manifest.embedding.model == embedder.model_id
    assert verify_cube(cube).checked
    want = _results(source)
    with Memory(postgres_url, embedder=embedder) as pg:
        report = pg.import_cube(cube)
        assert report.inserted["memories"] == manifest.counts["memories"] and not report.ids_remapped
        assert _results(pg) == want
        assert pg.users() == ["bob"]  # the scope: ann's memory stayed home
        back = tmp_path / "back.cube"
        pg.export_cube(back, user_id="bob")
    with Memory(tmp_path / "again", embedder=embedder) as again:
        again.import_cube(back)
        assert _results(again) == want
        # history and validity travel: the edited memory keeps its edit, superseded stay superseded
        edited = [m for m in again.list(user_id="bob", limit=100).items if "is called Pip" in m.text]
        assert edited and [e.action for e in again.history(edited[0].id)][-1] == "update"
        statuses = sorted(m.status for m in again.list(user_id="bob", include_inactive=True, limit=200).items)
        assert statuses == sorted(m.status for m in source.list(user_id="bob", include_inactive=True,
                                                                 limit=200).items)


def test_import_twice_changes_nothing_and_into_a_busy_store_remaps(source, tmp_path, embedder):
    cube = tmp_path / "bob.cube"
    source.export_cube(cube, user_id="bob")
    with Memory(tmp_path / "busy", embedder=embedder) as busy:
        _talk(busy, "zed", "bob-1")  # another user's conversation of the same name
        first = busy.import_cube(cube, as_user="robert")
        assert first.ids_remapped and first.conversations == {"bob-1": first.conversations["bob-1"]}
        rows = _rows(busy)
        second = busy.import_cube(cube, as_user="robert")
        assert not second.inserted and second.skipped["memories"] == first.inserted["memories"]
        assert _rows(busy) == rows
        # zed's talk changes the corpus statistics, not what comes first
        assert [r[0] for r in _results(busy, "robert")] == [r[0] for r in _results(source)]
        assert _results(busy, "zed")[0] != []  # zed's own memory untouched
        # the same cube into the space it came from: ids are kept, everything is already there
    again = source.import_cube(cube)
    assert not again.inserted and not again.ids_remapped


def test_on_conflict_replace_and_keep_both(source, tmp_path):
    cube = tmp_path / "bob.cube"
    source.export_cube(cube, user_id="bob")
    target = source.list(user_id="bob", kinds=["fact"], limit=1).items[0]
    source.update(target.id, text="Something else entirely.")
    skipped = source.import_cube(cube)
    assert source.get(target.id).text == "Something else entirely." and skipped.skipped["memories"]
    replaced = source.import_cube(cube, on_conflict="replace")
    assert replaced.replaced == replaced.inserted["memories"] > 0
    assert source.get(target.id).text == target.text
    n = len(source.list(user_id="bob", limit=1000).items)
    both = source.import_cube(cube, on_conflict="keep-both")
    assert both.inserted["memories"] > 0
    assert len(source.list(user_id="bob", limit=1000).items) == n + both.inserted["memories"]
    assert not source.import_cube(cube, on_conflict="keep-both").inserted  # idempotent too


def test_a_flipped_byte_or_a_cut_file_is_refused_and_nothing_is_written(source, tmp_path, embedder):
    cube = tmp_path / "bob.cube"
    source.export_cube(cube, user_id="bob")
    data = cube.read_bytes()
    # flip one byte inside the stored memories part (a stored, uncompressed copy makes
    # the flip land in the data rather than in the deflate stream's framing)
    plain = tmp_path / "plain.cube"
    with zipfile.ZipFile(cube) as zin, zipfile.ZipFile(plain, "w", zipfile.ZIP_STORED) as zout:
        for item in zin.infolist():
            zout.writestr(item.filename, zin.read(item.filename))
    assert verify_cube(plain).checked
    raw = bytearray(plain.read_bytes())
    at = raw.index(b'"text":"') + 10
    raw[at] ^= 0x01
    flipped = tmp_path / "flipped.cube"
    flipped.write_bytes(bytes(raw))
    with pytest.raises(CubeError) as err:
        verify_cube(flipped)
    assert err.value.part == "memories.jsonl" and "checksum" in str(err.value)
    cut = tmp_path / "cut.cube"
    cut.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(CubeError) as err:
        verify_cube(cut)
    assert err.value.part == "archive"
    with Memory(tmp_path / "dst", embedder=embedder) as dst:
        before = _rows(dst)
        for bad in (flipped, cut):
            with pytest.raises(CubeError):
                dst.import_cube(bad)
        assert _rows(dst) == before and dst.users() == []


def test_a_dangling_reference_is_named(source, tmp_path):
    cube = tmp_path / "bob.cube"
    source.export_cube(cube, user_id="bob")
    with zipfile.ZipFile(cube) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    lines = parts["memories.jsonl"].decode().splitlines()
    row = json.loads(lines[0])
    row["message_ids"] = ["msg_nowhere"]
    lines[0] = json.dumps(row)
    parts["memories.jsonl"] = ("\n".join(lines) + "\n").encode()
    rewritten = tmp_path / "rewritten.cube"  # a part rewritten whole (a valid zip), the manifest left
    with zipfile.ZipFile(rewritten, "w") as z:
        for name, body in parts.items():
            z.writestr(name, body)
    with pytest.raises(CubeError) as err:
        verify_cube(rewritten)
    assert err.value.part == "memories.jsonl" and "sha256" in str(err.value)
    manifest = json.loads(parts["manifest.json"])
    import hashlib

    manifest["parts"]["memories.jsonl"].update(sha256=hashlib.sha256(parts["memories.jsonl"]).hexdigest(),
                                               bytes=len(parts["memories.jsonl"]))
    parts["manifest.json"] = json.dumps(manifest).encode()
    bad = tmp_path / "dangling.cube"
    with zipfile.ZipFile(bad, "w") as z:
        for name, body in parts.items():
            z.writestr(name, body)
    with pytest.raises(CubeError) as err:
        verify_cube(bad)
    assert err.value.part == "memories.jsonl" and "msg_nowhere" in str(err.value)


def test_signature_and_format_version(source, tmp_path):
    cube = tmp_path / "signed.cube"
    source.export_cube(cube, user_id="bob", sign_key="s3cret", key_id="team")
    assert inspect_cube(cube).signature == "unchecked"
    assert verify_cube(cube, sign_key=b"s3cret").signature == "valid"
    with pytest.raises(CubeError) as err:
        verify_cube(cube, sign_key=b"wrong")
    assert err.value.part == "manifest.json" and "signature" in str(err.value)
    with pytest.raises(CubeError):
        source.import_cube(cube, sign_key="wrong")
    # a newer format is refused by name, not misread
    buf = io.BytesIO()
    with zipfile.ZipFile(cube) as zin, zipfile.ZipFile(buf, "w") as zout:
        for name in zin.namelist():
            body = zin.read(name)
            if name == "manifest.json":
                body = json.dumps({**json.loads(body), "format_version": 99}).encode()
            zout.writestr(name, body)
    buf.seek(0)
    with pytest.raises(CubeError) as err:
        inspect_cube(buf)
    assert "format_version 99" in str(err.value)


def test_another_embedding_model_is_reembedded_or_refused(source, tmp_path):
    cube = tmp_path / "bob.cube"
    source.export_cube(cube, user_id="bob")
    with Memory(tmp_path / "use", embedder=UseMultilingualEmbedder()) as other:
        with pytest.raises(EmbeddingModelMismatchError):
            other.import_cube(cube, reembed=False)
        assert other.users() == []
        seen: list[tuple[str, int, int]] = []
        report = other.import_cube(cube, progress=lambda *a: seen.append(a))
        assert report.reembedded == report.inserted["memories"] > 0
        total = report.reembedded
        assert ("embedding", total, total) in seen and seen[-1] == ("memories", total, total)
        assert other.admin.check()["memories_without_vectors"] == 0
        hits = other.search("Where does Bob live now?", user_id="bob").hits
        assert any("Glasgow" in h.memory.text for h in hits[:3])


def test_scopes_conversation_and_agent(tmp_path, embedder):
    with Memory(tmp_path / "m", embedder=embedder) as mem:
        _talk(mem, "bob", "bob-1")
        mem.add([{"speaker": "Bob", "text": "My bike is a red Brompton.", "timestamp": T.format(3)}],
                user_id="bob", conversation_id="bob-2", agent_id="coach", flush=True)
        conv = mem.export_cube(tmp_path / "c.cube", conversation_id="bob-2")
        assert conv.counts["messages"] == 1 and conv.scope.kind == "conversation"
        agent = mem.export_cube(tmp_path / "a.cube", agent_id="coach")
        assert agent.counts["messages"] == 1 and agent.counts["memories"] >= 1
        verify_cube(tmp_path / "c.cube")
        verify_cube(tmp_path / "a.cube")
        with pytest.raises(Exception) as err:
            mem.export_cube(tmp_path / "x.cube", user_id="bob", agent_id="coach")
        assert "at most one" in str(err.value)


def test_cli_export_verify_inspect_import(source, tmp_path, monkeypatch):
    runner = CliRunner()
    home = str(tmp_path / "src")
    cube = str(tmp_path / "cli.cube")

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    source.close()
    assert "MemCube v1 of user bob" in run("--home", home, "cube", "export", "--user", "bob", "-o", cube)
    assert "verified" in run("cube", "verify", cube)
    assert json.loads(run("--json", "cube", "inspect", cube))["manifest"]["counts"]["messages"] == 5
    out = run("--home", str(tmp_path / "dst"), "cube", "import", cube, "--as-user", "rob")
    assert "inserted: 5 messages" in out and "user bob is rob here" in out
    assert "into space team" in run("--home", str(tmp_path / "dst"), "cube", "import", cube, "--space", "team")
    assert "already there" in run("--home", str(tmp_path / "dst"), "cube", "import", cube, "--as-user", "rob")
    Path(cube).write_bytes(Path(cube).read_bytes()[:100])
    assert "archive" in run("cube", "verify", cube, code=2)


def test_rest_export_and_import_with_roles_and_limits(tmp_path, embedder):
    from tests.test_server import Server

    cfg = Config(home=tmp_path / "srv")
    cfg = cfg.model_copy(update={"limits": cfg.limits.model_copy(update={"max_body_bytes": 2048})})
    with Server(cfg, embedder) as srv:
        with Client(srv.url, srv.key("a")) as a:
            _talk(a)  # type: ignore[arg-type]
            _talk(a, "ann", "ann-1")  # type: ignore[arg-type]
            buf = io.BytesIO()
            manifest = a.export_cube(buf, user_id="bob")
            assert manifest.counts["messages"] == 5 and len(buf.getvalue()) > 2048  # over max_body_bytes
            buf.seek(0)
            want = _results(a)  # type: ignore[arg-type]
        with Client(srv.url, srv.key("b")) as b:
            report = b.import_cube(buf, as_user="bob")
            assert report.ids_remapped and report.inserted["messages"] == 5
            # one store holds both spaces: full-text statistics now count bob's words twice
            assert [r[0] for r in _results(b)] == [r[0] for r in want]  # type: ignore[arg-type]
        with Client(srv.url, srv.key("a", "read")) as reader, pytest.raises(ForbiddenError):
            reader.export_cube(tmp_path / "r.cube", user_id="bob")
        with Client(srv.url, srv.key("a", users=["ann"])) as limited:
            with pytest.raises(ForbiddenError):
                limited.export_cube(tmp_path / "l.cube", user_id="bob")
            with pytest.raises(ForbiddenError):
                limited.export_cube(tmp_path / "l.cube")  # the whole space
            assert limited.export_cube(tmp_path / "ann.cube", user_id="ann").scope.user_id == "ann"
            assert limited.export_training(tmp_path / "ann.jsonl", user_id="ann") > 0
            with pytest.raises(ForbiddenError):
                limited.export_training(tmp_path / "bob.jsonl", user_id="bob", format="preference")
            with pytest.raises(ForbiddenError):
                limited.import_cube(tmp_path / "ann.cube", as_user="bob")
        with Client(srv.url, srv.key("c")) as c, pytest.raises(CubeError) as err:
            c.import_cube(io.BytesIO(b"PK not a zip at all" * 200))
        assert err.value.part == "archive"
        assert "cube.export" in [e.action for e in srv.app.state.spaces.get("a").admin.audit(limit=50)]
        assert "cube.import" in [e.action for e in srv.app.state.spaces.get("b").admin.audit(limit=50)]


def test_training_sets_sft_and_preference(source, tmp_path):
    sft = tmp_path / "sft.jsonl"
    n = source.export_training(sft, user_id="bob", format="sft")
    rows = [json.loads(line) for line in sft.read_text().splitlines()]
    assert n == len(rows) > 0
    for r in rows:
        roles = [m["role"] for m in r["messages"]]
        assert roles == ["system", "user", "assistant"] and r["metadata"]["memory_id"]
    questions = {r["messages"][1]["content"] for r in rows}
    assert "Where does Bob live?" in questions  # from the slot of the home statement
    home = next(r for r in rows if r["messages"][1]["content"] == "Where does Bob live?")
    assert "Glasgow" in home["messages"][2]["content"] and "said" in home["messages"][2]["content"]
    pref = tmp_path / "pref.jsonl"
    assert source.export_training(pref, user_id="bob", format="preference") >= 1
    pairs = [json.loads(line) for line in pref.read_text().splitlines()]
    moved = [p for p in pairs if "Glasgow" in p["chosen"][0]["content"]]
    assert moved and "Leeds" in moved[0]["rejected"][0]["content"]  # the update: current over superseded
    runner = CliRunner()
    source.close()
    out = runner.invoke(cli, ["--home", str(tmp_path / "src"), "cube", "export", "--format", "sft", "--user", "bob",
                              "-o", str(tmp_path / "cli.jsonl")], catch_exceptions=False).output
    assert f"{n} sft rows" in out

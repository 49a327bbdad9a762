"""Hostile and odd inputs (issue 12, part 6): each becomes a typed error naming the field
(Python), a documented 4xx (REST) or exit code 2 (CLI); nothing escapes the exception
tree, and plain questions about the far past are answered."""

from __future__ import annotations

import httpx
import pytest
from click.testing import CliRunner

from engramos import Config, EngramError, InvalidInputError, Memory
from engramos.cli import cli

from .test_server import Server

T = "2024-01-01T00:00:00Z"


def one(text: str = "hi", ts: str = T, **extra: object) -> list[dict[str, object]]:
    return [{"speaker": "Ana", "text": text, "timestamp": ts, **extra}]


def _deep(levels: int) -> dict[str, object]:
    value: dict[str, object] = {"leaf": 1}
    for _ in range(levels):
        value = {"a": value}
    return value


@pytest.mark.parametrize(("call", "field"), [
    (lambda m: m.add(one("hi \ud800 there")), "messages[0].content"),
    (lambda m: m.add(one(), user_id="u\ud800"), "user_id"),
    (lambda m: m.add(one(speaker_note="x", metadata={"k": "\udc00"})), "messages[0].metadata.k"),
    (lambda m: m.add(one(ts="0001-01-01T00:00:00Z", text="I went there yesterday")), "messages[0].timestamp"),
    (lambda m: m.add(one(ts="9999-12-31T23:00:00Z", text="see you tomorrow")), "messages[0].timestamp"),
    (lambda m: m.add(one(metadata={"k": float("nan")})), "messages[0].metadata.k"),
    (lambda m: m.add(one(metadata=_deep(5000))), None),
    (lambda m: m.search("what happened yesterday", reference_time="0001-01-01T00:00:00Z"), "reference_time"),
])
def test_odd_inputs_are_typed_errors(tmp_path, embedder, call, field):
    with Memory(tmp_path / "odd", embedder=embedder) as mem:
        mem.add(one("I keep bees."), flush=True)
        with pytest.raises(InvalidInputError) as err:
            call(mem)
        if field:
            assert err.value.field == field
        else:
            assert "deeper than" in str(err.value)
        assert len(mem.messages("default")) == 1  # nothing stored was lost or half-written


def test_time_words_off_the_calendar_stay_unresolved(tmp_path, embedder):
    with Memory(tmp_path / "far", embedder=embedder) as mem:
        mem.add(one("Rome fell 2100 years ago; next week I travel.", ts="1000-01-05T00:00:00Z"), flush=True)
        mem.add(one("In 2000 years we will fly; next year too.", ts="9000-12-30T00:00:00Z"), flush=True)
        assert mem.search("what did the Romans do 2100 years ago").hits
        assert mem.search("what happened 2100 years ago", reference_time="1000-01-05T00:00:00Z").hits
        texts = [m.text for m in mem.list(kinds=["turn"]).items]
        assert any("next week (" in t for t in texts), texts  # what can be resolved still is


def test_rest_answers_odd_inputs_with_documented_4xx(tmp_path, embedder):
    with Server(Config(home=tmp_path / "srv"), embedder) as srv:
        key = srv.key("default")
        auth = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

        def post(path: str, raw: str, headers: dict[str, str] = auth) -> httpx.Response:
            return httpx.post(srv.url + path, content=raw.encode(), headers=headers, timeout=60)

        base = '{"messages": [{"speaker": "Ana", "text": %s, "timestamp": %s%s}]}'
        for raw, field in ((base % ('"hi \\ud800"', f'"{T}"', ""), "messages[0].content"),
                           (base % ('"I went there yesterday"', '"0001-01-01T00:00:00Z"', ""),
                            "messages[0].timestamp"),
                           (base % ('"hi"', f'"{T}"', ', "metadata": {"k": NaN}'), "messages[0].metadata.k")):
            r = post("/v1/messages", raw)
            assert r.status_code == 422 and r.json()["error"]["field"] == field, r.text
        r = post("/v1/search", '{"query": "what did the Romans do 2100 years ago"}')
        assert r.status_code == 200
        for header, status in ((f"bearer {key}", 200), (f"BEARER {key}", 200), (key, 401),
                               (f"Basic {key}", 401), ("Bearer", 401)):
            r = post("/v1/search", '{"query": "bees"}', {"Authorization": header, "Content-Type": "application/json"})
            assert r.status_code == status, (header, r.text)
            if status == 401:
                assert r.json()["error"]["code"] == "unauthorized"


def test_cli_refuses_bad_files_without_a_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("ENGRAM_HOME", str(tmp_path / "home"))
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'[{"speaker": "Ana", "text": "caf\xe9", "timestamp": "2024-01-01T00:00:00Z"}]')
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    for path, words in ((latin, "not UTF-8"), (deep, "nests too deeply")):
        out = CliRunner().invoke(cli, ["ingest", str(path)])
        assert out.exit_code == 2 and words in out.output and "Traceback" not in out.output, out.output


def test_the_key_and_the_body_size_are_checked_before_the_body_is_read(tmp_path, embedder):
    """Issue 12 part 4 (in part): an unauthenticated body is refused with 401, an
    oversized one with 413 naming the limit, whether it declares its length or streams."""
    cfg = Config(home=tmp_path / "lim", limits={"max_body_bytes": 64_000})
    with Server(cfg, embedder) as srv:
        key = srv.key("default")
        big = b'{"query": "' + b"a" * 200_000 + b'"}'
        r = httpx.post(srv.url + "/v1/search", content=big, headers={"Content-Type": "application/json"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
        auth = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        r = httpx.post(srv.url + "/v1/messages", content=big, headers=auth)
        assert r.status_code == 413 and "max_body_bytes = 64000" in r.json()["error"]["message"]

        def chunks():
            yield b'{"query": "'
            for _ in range(40):
                yield b"a" * 4_000
            yield b'"}'

        r = httpx.post(srv.url + "/v1/search", content=chunks(), headers=auth)  # streamed, no length
        assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
        assert httpx.get(srv.url + "/v1/health").status_code == 200
        ok = httpx.post(srv.url + "/v1/search", json={"query": "bees"}, headers={"Authorization": f"Bearer {key}"})
        assert ok.status_code == 200


def test_each_key_is_rate_limited_with_retry_after(tmp_path, embedder):
    cfg = Config(home=tmp_path / "rate", limits={"requests_per_second": 2, "burst": 3})
    with Server(cfg, embedder) as srv:
        noisy, quiet = srv.key("default"), srv.key("default")
        codes = [httpx.get(srv.url + "/v1/users", headers={"Authorization": f"Bearer {noisy}"}).status_code
                 for _ in range(6)]
        assert codes[:3] == [200, 200, 200] and 429 in codes[3:]
        r = httpx.get(srv.url + "/v1/users", headers={"Authorization": f"Bearer {noisy}"})
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert "requests_per_second = 2" in r.json()["error"]["message"]
        # another key is not slowed by the noisy one
        assert httpx.get(srv.url + "/v1/users", headers={"Authorization": f"Bearer {quiet}"}).status_code == 200


def test_a_query_searches_a_bounded_number_of_distinct_terms(tmp_path, embedder):
    with Memory(tmp_path / "terms", embedder=embedder, config=Config(recall={"max_query_terms": 8})) as mem:
        mem.add(one("The zeppelin landed near the lighthouse."), flush=True)
        assert mem.search("zeppelin lighthouse word1 word2").hits[0].scores.bm25
        assert all(h.scores.bm25 is None for h in mem.search(
            "word1 word2 word3 word4 word5 word6 word7 word8 zeppelin").hits)  # a question's first terms
        # a query of dialogue length is about what is said last: its latest terms count
        filler = " ".join(f"word{i}" for i in range(2000))[:3900]
        assert mem.search(filler + " zeppelin").hits[0].scores.bm25
        early = mem.search("zeppelin " + filler)
        assert all(h.scores.bm25 is None for h in early.hits)


def test_an_unexpected_failure_answers_the_documented_500_and_is_counted(tmp_path, embedder, monkeypatch):
    def broken(self, **kw):
        raise RuntimeError("a bug with a secret path /srv/data in its message")

    with Server(Config(home=tmp_path / "boom"), embedder) as srv:
        key = srv.key("default", "read")
        monkeypatch.setattr(Memory, "users", broken)
        r = httpx.get(srv.url + "/v1/users", headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 500
        assert r.json()["error"]["code"] == "server_error" and "/srv/data" not in r.text
        metrics = httpx.get(srv.url + "/metrics").text
        assert 'engram_requests_total{route="/v1/users",status="500"} 1' in metrics


def test_audit_cursor_with_a_nul_is_refused_on_both_backends(open_store, embedder):
    with Memory(store=open_store(), embedder=embedder) as mem:
        with pytest.raises(InvalidInputError, match="before"):
            mem.admin.audit(before="aud_\x00x")
        with pytest.raises(InvalidInputError, match="cursor"):
            mem.list(cursor='["2024-05-01T10:00:00+00:00", "a\\u0000b"]' + "\x00")
        for escaped in ('["2024-05-01T10:00:00+00:00", "a\\u0000b"]', '[1, 2]', '["x", "y"]'):
            with pytest.raises(InvalidInputError, match="cursor"):
                mem.list(cursor=escaped)


def test_metadata_with_a_nul_is_refused_on_both_backends(open_store, embedder):
    """Found by schemathesis: PostgreSQL cannot store a NUL in JSON text (a 503 before)."""
    with Memory(store=open_store(), embedder=embedder) as mem:
        rec = mem.put("Ana keeps bees", user_id="ana", metadata={"ok": 1})
        for bad in ({"a": "x\x00"}, {"k\x00": 1}, {"deep": [{"x": "\x00"}]}):
            with pytest.raises(InvalidInputError, match="NUL") as err:
                mem.update(rec.id, metadata=bad)
            assert err.value.field.startswith("metadata")
            with pytest.raises(InvalidInputError, match="NUL"):
                mem.put("x", user_id="ana", metadata=bad)
        with pytest.raises(InvalidInputError, match="NUL"):
            mem.list(metadata={"ok": "a\x00"})
        assert mem.get(rec.id).metadata == {"ok": 1}


def test_limits_on_messages_metadata_and_query_are_configurable_and_named(tmp_path, embedder):
    limits = {"max_messages_per_request": 3, "max_metadata_bytes": 100, "max_query_chars": 20}
    with Memory(tmp_path / "lim", embedder=embedder, config=Config(limits=limits)) as mem:
        four = [{"speaker": "A", "text": f"note {i}", "timestamp": "2024-05-01T10:00:00Z"} for i in range(4)]
        with pytest.raises(InvalidInputError, match=r"limits\.max_messages_per_request") as err:
            mem.add(four, user_id="u")
        assert err.value.field == "messages"
        with pytest.raises(InvalidInputError, match=r"limits\.max_metadata_bytes") as err:
            mem.add([{**four[0], "metadata": {"blob": "x" * 200}}], user_id="u")
        assert err.value.field == "messages[0].metadata"
        assert mem.users() == []  # nothing of a refused batch was stored
        mem.add(four[:3], user_id="u")
        memory_id = mem.list(user_id="u").items[0].id
        with pytest.raises(InvalidInputError, match=r"limits\.max_metadata_bytes"):
            mem.update(memory_id, metadata={"blob": "y" * 200})
        with pytest.raises(InvalidInputError, match=r"limits\.max_query_chars"):
            mem.search("a question well over twenty characters", user_id="u")
        assert mem.search("note 1", user_id="u").hits


def test_limits_from_the_environment_and_the_command_line(tmp_path):
    cfg = Config.from_env({"ENGRAM_LIMIT_MAX_BODY_BYTES": "65536", "ENGRAM_LIMIT_REQUESTS_PER_SECOND": "none"})
    assert cfg.limits.max_body_bytes == 65536 and cfg.limits.requests_per_second is None
    with pytest.raises(EngramError, match="ENGRAM_LIMIT_BURST"):
        Config.from_env({"ENGRAM_LIMIT_BURST": "many"})
    runner = CliRunner()
    home = str(tmp_path / "clilim")
    r = runner.invoke(cli, ["--home", home, "--limit", "max_query_chars=5", "search", "too long a query"])
    assert r.exit_code == 2 and "limits.max_query_chars" in r.output
    r = runner.invoke(cli, ["--home", home, "--limit", "max_body_bytes=12", "doctor"])
    assert r.exit_code == 2 and "--limit max_body_bytes" in r.output

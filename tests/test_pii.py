"""PII at ingestion (issue 15, part 5): detectors, ``mask`` and ``vault`` modes per
space, the raw values absent from every table, the full-text index and the SQLite file
and WAL, read back only through an admin key, and gone with a forgotten conversation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engramos import Client, Config, ConfigError, Memory
from engramos.config import PIIConfig
from engramos.governance.pii import Detector, iban_ok, luhn, new_vault_key
from tests.test_forget import _dump_tables, _raw_bytes

EMAIL, PHONE, CARD, SSN, IBAN = ("ada.lovelace@example.org", "(415) 555-2671", "4111 1111 1111 1111", "123-45-6789",
                                 "GB82 WEST 1234 5698 7654 32")
RAW = (EMAIL, PHONE, CARD, SSN, IBAN)


def _talk(mem: Memory, conv: str = "c1") -> None:
    mem.add([
        {"speaker": "Ada", "text": f"My new e-mail is {EMAIL} and my phone number is {PHONE}.",
         "timestamp": "2024-05-01T10:00:00Z"},
        {"speaker": "Ada", "text": f"Pay the rent with my card {CARD}; my SSN is {SSN}.",
         "timestamp": "2024-05-01T10:01:00Z"},
        {"speaker": "Ada", "text": f"Or transfer it to IBAN {IBAN}. I moved to Leeds last week.",
         "timestamp": "2024-05-01T10:02:00Z"},
    ], user_id="ada", conversation_id=conv, flush=True)


def _forms(value: str) -> list[str]:
    """A value as it could be stored: as written, digits only, lower case."""
    digits = "".join(ch for ch in value if ch.isdigit())
    return [value, value.lower(), digits] if len(digits) >= 9 else [value, value.lower()]


@pytest.fixture(params=["sqlite", "postgres"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "pii")
    else:
        yield request.getfixturevalue("postgres_url")


def test_detectors_find_pii_and_leave_look_alikes():
    d = Detector(PIIConfig())
    found = {(f.kind, f.value) for f in d.find(
        f"mail {EMAIL}, call {PHONE} or +44 20 7946 0958, card {CARD}, ssn {SSN}, iban {IBAN}, "
        "NI AB 12 34 56 C, id 11010519491231002X")}
    assert found == {("email", EMAIL), ("phone", PHONE), ("phone", "+44 20 7946 0958"), ("card", CARD),
                     ("national_id", SSN), ("iban", IBAN), ("national_id", "AB 12 34 56 C"),
                     ("national_id", "11010519491231002X")}
    # dates, times, money, a card number failing Luhn, an IBAN failing mod-97, an SSN in a 9xx area
    assert d.find("On 2024-05-01 at 10:30-11:45 I paid $1,500 (order 4111 1111 1111 1112, ref GB82 WEST 1234 "
                  "5698 7654 33, 900-12-3456) for room 1234.") == []
    assert luhn("4111111111111111") and not luhn("4111111111111112")
    assert iban_ok("DE89370400440532013000") and not iban_ok("DE89370400440532013001")


def test_mask_keeps_raw_values_out_of_every_table_and_byte(tmp_path, embedder):
    home = str(tmp_path / "mask")
    with Memory(home, Config(pii=PIIConfig(mode="mask")), embedder=embedder) as mem:
        _talk(mem)
        texts = [m.text for m in mem.list(user_id="ada", limit=100).items]
        assert any("[EMAIL]" in t for t in texts) and any("[CARD]" in t for t in texts)
        assert any("Leeds" in t for t in texts)  # the rest of the text is kept
        dump = _dump_tables(mem)
        for value in RAW:
            for form in _forms(value):
                assert form not in dump, form
            hits = mem.search(value, user_id="ada").hits
            assert not any(value in h.memory.text for h in hits)
        # what was said is still found by what it was: "what is Ada's e-mail?"
        assert any("[EMAIL]" in h.memory.text for h in mem.search("Ada's new e-mail", user_id="ada").hits[:3])
        assert mem.add([{"speaker": "Ada", "text": f"My new e-mail is {EMAIL} and my phone number is {PHONE}.",
                         "timestamp": "2024-05-01T10:00:00Z"}], user_id="ada", conversation_id="c1").duplicates == 1
    raw = _raw_bytes(home)
    for value in RAW:
        assert value.encode() not in raw


def test_vault_keeps_values_encrypted_reveals_them_to_admins_and_forgets_them(location, embedder):
    cfg = Config(pii=PIIConfig(mode="vault", vault_key=new_vault_key()))
    with Memory(location, cfg, embedder=embedder) as mem:
        _talk(mem)
        msg = mem.messages("c1")[0]
        assert EMAIL not in msg.content and "[EMAIL:" in msg.content
        dump = _dump_tables(mem)
        for value in RAW:
            assert value not in dump and value.lower() not in dump
        back = mem.admin.reveal(msg.id)
        assert back.text == f"My new e-mail is {EMAIL} and my phone number is {PHONE}."
        assert {v["kind"] for v in back.values} == {"email", "phone"}
        # the same value gives the same token, so a repeated add is still a duplicate
        again = mem.add([{"speaker": "Ada", "text": f"My new e-mail is {EMAIL} and my phone number is {PHONE}.",
                          "timestamp": "2024-05-01T10:00:00Z"}], user_id="ada", conversation_id="c1")
        assert again.duplicates == 1
        counts = mem.forget(conversation_id="c1")
        assert counts["vault"] == 5
        store: Any = mem._store
        assert store.vault_get("default", "c1", [v["token"] for v in back.values]) == {}
    if not location.startswith("postgresql"):
        for value in RAW:
            assert value.encode() not in _raw_bytes(location)


def test_vault_without_a_key_is_refused_and_modes_are_per_space(tmp_path, embedder):
    with pytest.raises(ConfigError) as err:
        Memory(tmp_path / "x", Config(pii=PIIConfig(mode="vault")), embedder=embedder)
    assert "vault_key" in str(err.value)
    cfg = Config(pii=PIIConfig(mode="off", spaces={"clinic": "mask"}))
    with Memory(tmp_path / "y", cfg, embedder=embedder) as mem:
        clinic = mem.for_space("clinic")
        _talk(clinic)
        _talk(mem)
        assert "[EMAIL]" in clinic.messages("c1")[0].content
        assert EMAIL in mem.messages("c1")[0].content  # another space, mode off


def test_vault_contract(store):
    sealed = [("aaaaaaaaaaaa", "email", b"cipher-1"), ("bbbbbbbbbbbb", "phone", b"cipher-2")]
    store.vault_put("s", "u", "c", sealed)
    store.vault_put("s", "u", "c", [("aaaaaaaaaaaa", "email", b"other")])  # kept as it was
    assert store.vault_get("s", "c", ["aaaaaaaaaaaa", "zzz"]) == {"aaaaaaaaaaaa": ("email", b"cipher-1")}
    assert store.vault_get("other", "c", ["aaaaaaaaaaaa"]) == {}  # another space sees nothing
    assert store.vault_get("s", "c", []) == {}


def test_rest_reveal_needs_an_admin_key(tmp_path, embedder):
    from tests.test_server import Server

    cfg = Config(home=tmp_path / "srv", pii=PIIConfig(mode="vault", vault_key=new_vault_key()))
    with Server(cfg, embedder) as srv:
        with Client(srv.url, srv.key("a")) as writer:
            writer.add([{"speaker": "Ada", "text": f"Write to {EMAIL}.", "timestamp": "2024-05-01T10:00:00Z"}],
                       user_id="ada", conversation_id="c1", flush=True)
            msg = writer.messages("c1")[0]
            assert EMAIL not in msg.content
        import httpx

        for role, status in (("write", 403), ("read", 403), ("admin", 200)):
            resp = httpx.get(f"{srv.url}/v1/messages/{msg.id}/reveal",
                             headers={"Authorization": f"Bearer {srv.key('a', role)}"})
            assert resp.status_code == status, (role, resp.text)
        assert resp.json()["text"] == f"Write to {EMAIL}."
        other = httpx.get(f"{srv.url}/v1/messages/{msg.id}/reveal",
                          headers={"Authorization": f"Bearer {srv.key('b', 'admin')}"})
        assert other.status_code == 404  # another space's admin learns nothing
        assert "pii.reveal" in [e.action for e in srv.app.state.spaces.get("a").admin.audit(limit=20)]


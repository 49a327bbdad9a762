"""The console, driven in a real headless Chromium (Debian's, through Playwright) against
a real server on loopback: sign in, find a memory, open its detail and sources, edit it
and see the history diff, run the search debugger, forget a conversation; a read key
sees no edit controls and a forged edit is refused; another space's key sees nothing.
Every view is screenshotted under the test's output.  Last, a page of memories in a
space of 100,000 is timed (printed, not asserted)."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from engramos import Client, Config
from engramos.bench.scale import SyntheticCorpus
from engramos.config import LimitsConfig

from .test_server import Server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
T = "2024-05-{:02d}T10:{:02d}:00Z"
TALK = [("Ana", "I adopted a grey cat called Miso last week."),
        ("Bo", "Miso is a lovely name! How is she settling in?"),
        ("Ana", "Great. I moved to Glasgow in March for a nursing job, so she has a big flat to explore."),
        ("Bo", "I'm off to Porto next month to restore a wooden boat."),
        ("Ana", "我每周六都去游泳。")]


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Iterator[Server]:
    with Server(Config(home=tmp_path_factory.mktemp("console")), embedder) as s:
        yield s


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "scripts/test.sh installs Debian's chromium"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("console-screenshots")


def sign_in(browser: Any, srv: Server, key: str) -> Any:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(srv.url + "/console/")
    assert page.url.endswith("/console/login")  # not signed in: the sign-in page
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(srv.url + "/console/")
    return page


def test_console_end_to_end(srv: Server, browser: Any, shots: Path):
    admin_key = srv.key("default", "admin")
    client = Client(srv.url, srv.key("default", "write"))
    client.add([{"speaker": s, "text": t, "timestamp": T.format(2, i)} for i, (s, t) in enumerate(TALK)],
               user_id="ana", conversation_id="ana-chat", flush=True)
    client.add([{"speaker": "Ana", "text": "I live in Leeds now.", "timestamp": T.format(20, 0)}],
               user_id="ana", conversation_id="ana-later", flush=True)

    page = sign_in(browser, srv, admin_key)
    assert page.get_by_role("heading", name="Overview").is_visible()
    assert page.locator("svg.chart").count() >= 1
    page.screenshot(path=str(shots / "overview.png"), full_page=True)

    # conversations and the timeline, with MemCells and what they produced
    page.get_by_role("link", name="Conversations").click()
    page.get_by_role("link", name="ana-chat").click()
    assert page.locator(".timeline .msg", has_text="I adopted a grey cat called Miso").is_visible()
    assert page.locator(".timeline .cell").count() >= 1 and page.locator(".timeline .derived").count() >= 1
    assert page.locator(".timeline .msg", has_text="我每周六都去游泳").is_visible()  # Chinese shown as written
    page.screenshot(path=str(shots / "conversation.png"), full_page=True)

    # the memory browser: find a memory by its text, open it
    page.goto(srv.url + "/console/memories")
    page.get_by_label("Text").fill("cat Miso")
    page.get_by_role("button", name="Filter").click()
    page.locator("#memories a", has_text="Miso").first.click()
    assert page.get_by_role("heading", name="Source messages").is_visible()
    assert page.locator("text=I adopted a grey cat called Miso last week.").count() >= 1
    page.screenshot(path=str(shots / "memory.png"), full_page=True)
    memory_url = page.url

    # edit it and see the history diff
    page.get_by_label("Text").fill("Ana adopted a grey kitten called Miso.")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(memory_url)
    assert page.locator(".memory-text").inner_text() == "Ana adopted a grey kitten called Miso."
    assert page.locator(".history ins", has_text="kitten").count() == 1
    page.screenshot(path=str(shots / "history.png"), full_page=True)

    # the search debugger: score by stage, the parsed time range and the context
    page.goto(srv.url + "/console/search?q=Where did Ana move in March?&user=ana&budget=256"
              "&reference_time=2024-05-03T12:00:00Z")
    assert "2024-03-01" in page.locator("main").inner_text()  # the parsed time range: March of that year
    assert page.locator("#hits tbody tr").count() >= 1
    header = page.locator("#hits thead").inner_text()
    assert all(stage in header for stage in ("bm25", "vector", "fusion", "time", "rerank", "final"))
    assert re.search(r"\d\.\d{3}", page.locator("#hits tbody tr").first.inner_text())
    assert "Glasgow" in page.locator("#context").inner_text()
    heading = page.get_by_role("heading", name=re.compile("context a prompt"))
    assert re.search(r"\d+ of 256 tokens", heading.inner_text())
    page.screenshot(path=str(shots / "search.png"), full_page=True)

    for view in ("profile?user=ana", "scenes?user=ana", "ops"):
        page.goto(srv.url + "/console/" + view)
        assert page.locator("h1").count() == 1 and "500" not in page.title()
        page.screenshot(path=str(shots / (view.split("?")[0] + ".png")), full_page=True)
    assert page.get_by_role("heading", name="Audit log").is_visible()
    page.goto(srv.url + "/console/scenes?user=ana")
    assert page.locator("svg .cell-tick").count() >= 2  # each scene's MemCells on the time axis

    # entities: the list, then one entity's timeline and neighbours
    page.goto(srv.url + "/console/entities?user=ana")
    page.locator("main table a", has_text="Glasgow").first.click()
    assert page.get_by_role("heading", name="Timeline").is_visible()
    assert page.locator(".timeline a", has_text="Glasgow").count() >= 1
    page.screenshot(path=str(shots / "entity.png"), full_page=True)

    # forget a conversation: the confirmation says what goes, then it is gone
    page.goto(srv.url + "/console/conversations/ana-chat")
    page.get_by_role("link", name=re.compile("Forget this conversation")).click()
    assert page.locator(".goes").inner_text().count(":") >= 2
    page.on("dialog", lambda dialog: dialog.accept())  # the script's "are you sure?"
    page.locator("#confirm-forget").click()
    assert page.get_by_role("heading", name="Forgotten").is_visible()
    page.goto(srv.url + "/console/conversations")
    assert page.get_by_role("link", name="ana-chat").count() == 0
    assert page.get_by_role("link", name="ana-later").count() == 1
    assert client.messages("ana-chat") == []


def test_a_read_key_sees_no_edit_controls_and_a_forged_edit_is_refused(srv: Server, browser: Any, shots: Path):
    client = Client(srv.url, srv.key("default", "write"))
    client.add([{"speaker": "Cy", "text": "I keep bees on the roof.", "timestamp": T.format(3, 0)}],
               user_id="cy", conversation_id="cy-chat", flush=True)
    target = client.list(user_id="cy", limit=1).items[0]
    page = sign_in(browser, srv, srv.key("default", "read"))
    page.goto(f"{srv.url}/console/memories/{target.id}")
    assert page.get_by_role("heading", name="Source messages").is_visible()
    assert page.locator("textarea, form[action$='/edit'], a.danger").count() == 0
    page.screenshot(path=str(shots / "read-only.png"), full_page=True)
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    forged = httpx.post(f"{srv.url}/console/memories/{target.id}/edit", data={"text": "hacked"}, cookies=cookies)
    assert forged.status_code == 403  # no CSRF token
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', page.content())
    assert token
    with_token = httpx.post(f"{srv.url}/console/memories/{target.id}/edit",
                            data={"text": "hacked", "csrf": token.group(1)}, cookies=cookies)
    assert with_token.status_code == 403  # a read key, even from its own page
    assert client.get(target.id).text == target.text  # unchanged


def test_another_spaces_key_sees_nothing(srv: Server, browser: Any):
    client = Client(srv.url, srv.key("default", "write"))
    client.add([{"speaker": "Di", "text": "My locker code is 4471.", "timestamp": T.format(4, 0)}],
               user_id="di", conversation_id="di-chat", flush=True)
    secret = client.list(user_id="di", limit=1).items[0]
    page = sign_in(browser, srv, srv.key("elsewhere", "admin"))
    for view in ("memories", "conversations", "search?q=locker+code"):
        page.goto(f"{srv.url}/console/{view}")
        assert "4471" not in page.content() and "di-chat" not in page.content()  # the query itself is echoed
    response = page.goto(f"{srv.url}/console/memories/{secret.id}")
    assert response is not None and response.status == 404
    assert page.goto(f"{srv.url}/console/conversations/di-chat").status == 404  # type: ignore[union-attr]


def test_a_page_of_100k_memories(tmp_path: Path, embedder: Any, browser: Any):
    with Server(Config(home=tmp_path / "big"), embedder) as big:
        mem = big.app.state.spaces.root
        corpus, n = SyntheticCorpus(embedder.dim), 100_000
        started = time.perf_counter()
        with mem.admin.bulk_load(n):
            for start in range(0, n, 10_000):
                mem.admin.load_memories(*corpus.batch(start, 10_000, 20, mem.space))
        loaded = time.perf_counter() - started
        page = sign_in(browser, big, big.key("default", "read"))
        timings = []
        for url in ("/console/memories", "/console/memories?user=user3", "/console/memories?kind=fact"):
            t0 = time.perf_counter()
            page.goto(big.url + url)
            page.wait_for_selector("#memories tbody tr")
            timings.append(time.perf_counter() - t0)
            assert page.locator("#memories tbody tr").count() == 50
        page.get_by_role("link", name="Next page").click()
        assert page.locator("#memories tbody tr").count() == 50
        print(f"\nconsole, 100,000 memories (loaded in {loaded:.1f} s): memory page loads "
              + ", ".join(f"{t * 1000:.0f} ms" for t in timings))


def test_a_user_limited_key_sees_only_its_users_in_every_view(srv: Server):
    writer = Client(srv.url, srv.key("default", "write"))
    for user, text in (("alice", "I practise the cello every evening."), ("bob", "My bank PIN hint is Rex.")):
        writer.add([{"speaker": user.title(), "text": text, "timestamp": T.format(5, 0)}],
                   user_id=user, conversation_id=f"{user}-chat", flush=True)
    bob_memory = writer.list(user_id="bob", limit=1).items[0].id
    cookies = {"engram_console": srv.key("default", "write", users=["alice"])}

    def get(path: str) -> httpx.Response:
        return httpx.get(srv.url + path, cookies=cookies, follow_redirects=False, timeout=60)

    for path in ("/console/", "/console/memories", "/console/conversations", "/console/search?q=bank+PIN",
                 "/console/profile", "/console/entities", "/console/scenes", "/console/ops"):
        page = get(path)
        assert page.status_code == 200, (path, page.status_code)
        assert "Rex" not in page.text and "bob-chat" not in page.text, path
    assert "cello" in get("/console/memories").text
    for path in ("/console/memories?user=bob", "/console/search?q=PIN&user=bob", "/console/entities?user=bob",
                 "/console/profile?user=bob"):
        assert get(path).status_code == 403, path
    for path in (f"/console/memories/{bob_memory}", "/console/conversations/bob-chat",
                 "/console/forget?conversation_id=bob-chat"):
        assert get(path).status_code == 404, path
    assert get("/console/memories").status_code == 200
    assert httpx.get(srv.url + "/console/memories", follow_redirects=False).status_code == 303  # no key: sign in


def test_the_console_is_held_to_the_body_limit_and_the_keys_rate(tmp_path: Path, embedder: Any):
    limits = LimitsConfig(requests_per_second=1, burst=3, max_body_bytes=2048)
    with Server(Config(home=tmp_path / "limits", limits=limits), embedder) as s:
        big = httpx.post(s.url + "/console/login", data={"key": "x" * 5000})
        assert big.status_code == 413  # before a form is parsed, signed in or not
        cookies = {"engram_console": s.key("default", "read")}
        answers = [httpx.get(s.url + "/console/ops", cookies=cookies).status_code for _ in range(6)]
        assert answers[:3] == [200, 200, 200] and 429 in answers[3:]
        wrong = httpx.get(s.url + "/console/ops", cookies={"engram_console": "engram_wrong"}, follow_redirects=False)
        assert wrong.status_code == 303 and wrong.headers["location"] == "/console/login"
        assert httpx.get(s.url + "/console/login").status_code == 200  # signing in is open

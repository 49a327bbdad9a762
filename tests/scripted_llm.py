"""A local OpenAI-compatible server that replays scripted behaviour over a real socket.

No LLM endpoint can be reached from the test machines, so LLM code paths are exercised
against this server: the real client, real HTTP.  Replies follow simple written rules per
prompt kind (recognised from the system prompt) so that they are valid, deterministic and
traceable to the request; a queue of faults (500, 429, timeout, malformed or truncated
JSON) is played before normal replies.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LINE_RE = re.compile(r"^(?:(\d+)\. )?\[(m\d+)\] \(([^)]*)\) ([^:]+): (.*)$")


def _messages_in(prompt: str) -> list[tuple[str, str, str, str]]:
    out = []
    for line in prompt.splitlines():
        m = LINE_RE.match(line.strip())
        if m:
            out.append((m.group(2), m.group(3), m.group(4), m.group(5)))
    return out


def _home_slot(speaker: str, text: str) -> dict[str, str]:
    """Where a message says someone lives, the slot a model would name (also said
    indirectly: "...our new flat in Porto")."""
    m = re.search(r"(?:live in|moved to|flat in) ([A-Z][a-z]+)", text)
    return {"subject": speaker, "attribute": "home", "value": m.group(1)} if m else {}


def scripted_reply(request: dict[str, Any]) -> dict[str, Any]:
    """The JSON a well-behaved model would return for this request."""
    system = request["messages"][0]["content"]
    user = next(m["content"] for m in request["messages"] if m["role"] == "user")
    msgs = _messages_in(user)
    if "segment a conversation" in system or "切分" in system:
        # a new episode wherever a message says "new topic"; wait unless the window ends with "bye"
        cuts = [i for i, (_, _, _, text) in enumerate(msgs) if "new topic" in text.lower() and i > 0]
        wait = not (msgs and msgs[-1][3].lower().rstrip(".!").endswith("bye"))
        return {"boundaries": cuts, "wait_for_more": wait}
    if "extract long-term memories" in system or "提取长期记忆" in system:
        speakers = sorted({s for _, _, s, _ in msgs})
        return {
            "episode": {"title": f"Talk between {' and '.join(speakers)}",
                        "narrative": " ".join(f"{s} said: {t}" for _, _, s, t in msgs)},
            "facts": [{"text": f"{s} said that {t}", "speaker": s, "event_date": when[:10], "message_ids": [h],
                       **_home_slot(s, t)}
                      for h, when, s, t in msgs if len(t.split()) >= 3],
            "foresight": [{"text": f"{s} plans: {t}", "start": when[:10], "end": None, "message_ids": [h]}
                          for h, when, s, t in msgs if "will " in t.lower()],
            "profile": [{"op": "add", "person": s, "attribute": "job", "value": t.split("work as ")[1].strip(". "),
                         "kind": "explicit", "message_ids": [h]}
                        for h, when, s, t in msgs if "work as " in t]
                       + [{"op": "add", "person": s, "attribute": "likes", "value": t.split("I like ")[1].strip(". "),
                           "kind": "implicit", "message_ids": [h]}
                          for h, when, s, t in msgs if "I like " in t],
        }
    if "For each new fact" in system:
        # the same words as an older fact: a duplicate; anything else: an update of the first
        labels = []
        for i, block in enumerate(re.split(r"^(?=\d+\. NEW:)", user, flags=re.M)[1:]):
            new = re.match(r"\d+\. NEW: (.*)", block).group(1)  # type: ignore[union-attr]
            olds = re.findall(r"^    \d+\. (.*)$", block, re.M)
            same = olds.index(new) if new in olds else None
            labels.append({"fact": i, "label": "duplicate" if same is not None else "update", "older": same or 0})
        return {"labels": labels}
    if "Compact this person's profile" in system:
        items = re.findall(r"^(\d+)\. ([^:]+): (.*) \(said", user, re.M)
        by_attr: dict[str, list[int]] = {}
        for i, attr, _ in items:
            by_attr.setdefault(attr, []).append(int(i))
        return {"items": [{"attribute": a, "value": f"{len(ix)} merged values", "sources": ix}
                          for a, ix in by_attr.items()]}
    if "enough to answer" in system:
        return {"sufficient": False, "queries": ["hiking trip", "weekend plans"]}
    if "Answer the question" in system:
        cited = re.findall(r"\(([^()]*?)\)\s*$", user, re.M)
        return {"answer": "scripted answer", "message_ids": cited[0].split(", ")[:1] if cited else []}
    if "CORRECT or WRONG" in system:
        return {"label": "CORRECT"}
    return {}


class ScriptedLLM:
    """``with ScriptedLLM() as llm: llm.base_url``; ``llm.faults`` is a list consumed first."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.faults: list[str] = []
        self.delay_s = delay_s
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                with outer._lock:
                    outer.requests.append(body)
                    fault = outer.faults.pop(0) if outer.faults else None
                if self.path.endswith("/embeddings"):
                    return self._send(200, {"data": [{"index": i, "embedding": [1.0, float(len(t)), 0.5]}
                                                     for i, t in enumerate(body["input"])]})
                if fault == "500":
                    return self._send(500, {"error": "scripted failure"})
                if fault == "429":
                    return self._send(429, {"error": "rate limited"}, {"Retry-After": "0"})
                if fault == "timeout":
                    time.sleep(2.0)
                    return self._send(500, {"error": "too late"})
                if outer.delay_s:
                    time.sleep(outer.delay_s)
                content = json.dumps(scripted_reply(body), ensure_ascii=False)
                if fault == "malformed":
                    content = "Sure! Here is the JSON:\n```json\n" + content.replace("}", ",}", 1) + "\n```"
                elif fault == "truncated":
                    content = content[: max(10, len(content) * 2 // 3)]
                elif fault == "garbage":
                    content = "I cannot help with that."
                prompt_tokens = sum(len(m["content"]) for m in body["messages"]) // 4
                return self._send(200, {
                    "id": "chatcmpl-scripted", "object": "chat.completion", "model": body.get("model"),
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": content}}],
                    "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(content) // 4}})

            def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up
                    self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._handler = Handler
        self.server = self._bind(0)
        self.port = self.server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def _bind(self, port: int) -> ThreadingHTTPServer:
        ThreadingHTTPServer.allow_reuse_address = True
        server = ThreadingHTTPServer(("127.0.0.1", port), self._handler)
        server.daemon_threads = True
        return server

    def restart(self) -> None:
        """Serve again on the same port after :meth:`stop` (a crashed endpoint coming back)."""
        self.server = self._bind(self.port)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def __enter__(self) -> ScriptedLLM:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def chat_requests(self, kind: str) -> list[dict[str, Any]]:
        marker = {"boundary": "segment a conversation", "extraction": "extract long-term memories",
                  "updates": "For each new fact"}[kind]
        return [r for r in self.requests if "messages" in r and marker in r["messages"][0]["content"]]

"""Conversation files: JSON / JSONL in the message shapes of :mod:`.messages`, and
LoCoMo-style conversation files.

* JSON list of messages: one conversation.
* JSON object ``{"conversation_id"?, "user_id"?, "messages": [...]}``, or a list of them.
* JSONL: one message per line; a line may carry ``conversation_id`` / ``user_id`` /
  ``session_id`` to route it (messages keep their order within a conversation).
* LoCoMo: a list (or one) of ``{"sample_id", "conversation": {"speaker_a", "speaker_b",
  "session_N": [turns], "session_N_date_time": "1:56 pm on 8 May, 2023"}}``.  Turn ``i``
  of a session is stamped session time + ``i`` x 30 s (LoCoMo dates sessions, not
  turns); ``dia_id`` becomes the message's external id and ``blip_caption`` its image
  caption.  Date keys without a session list are ignored.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .errors import InvalidInputError

TURN_SPACING = timedelta(seconds=30)


@dataclass
class ConversationBatch:
    conversation_id: str | None
    user_id: str | None
    messages: list[dict[str, Any]]
    session_id: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def parse_locomo_datetime(text: str) -> datetime:
    """``"1:56 pm on 8 May, 2023"`` -> aware datetime (UTC; LoCoMo gives no zone)."""
    cleaned = re.sub(r"\s+", " ", text.strip())
    for fmt in ("%I:%M %p on %d %B, %Y", "%I:%M %p on %d %b, %Y", "%I:%M %p on %B %d, %Y"):
        try:
            return datetime.strptime(cleaned, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise InvalidInputError("session_date_time", f"cannot parse LoCoMo date {text!r}")


def is_locomo(data: Any) -> bool:
    first = data[0] if isinstance(data, list) and data else data
    return isinstance(first, dict) and isinstance(first.get("conversation"), dict) and \
        "speaker_a" in first["conversation"]


def locomo_sessions(sample: dict[str, Any]) -> list[tuple[int, datetime, list[dict[str, Any]]]]:
    conv = sample["conversation"]
    out = []
    for key, turns in conv.items():
        m = re.fullmatch(r"session_(\d+)", key)
        if not m or not isinstance(turns, list):
            continue
        n = int(m.group(1))
        date_text = conv.get(f"session_{n}_date_time")
        if not date_text:
            raise InvalidInputError(f"{key}_date_time", "is missing")
        out.append((n, parse_locomo_datetime(date_text), turns))
    return sorted(out, key=lambda s: s[0])


def locomo_batches(data: Any) -> list[ConversationBatch]:
    samples = data if isinstance(data, list) else [data]
    batches = []
    for idx, sample in enumerate(samples):
        sid = str(sample.get("sample_id", f"locomo-{idx}"))
        for n, start, turns in locomo_sessions(sample):
            msgs = []
            for i, t in enumerate(turns):
                msg: dict[str, Any] = {"speaker": t["speaker"], "text": t.get("text", ""),
                                       "timestamp": (start + i * TURN_SPACING).isoformat(),
                                       "id": t.get("dia_id")}
                if t.get("blip_caption"):
                    msg["image_caption"] = t["blip_caption"]
                msgs.append(msg)
            batches.append(ConversationBatch(sid, None, msgs, session_id=f"session_{n}"))
    return batches


def load_conversation_file(path: str | Path) -> list[ConversationBatch]:
    p = Path(path)
    if not p.is_file():
        raise InvalidInputError("file", f"{p} does not exist or is not a file")
    try:
        raw = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInputError("file", f"{p} is not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    except OSError as exc:
        raise InvalidInputError("file", f"{p} cannot be read: {exc.strerror}") from None
    if p.suffix == ".jsonl":
        return _jsonl(raw)
    data = _json(raw, str(p))
    if is_locomo(data):
        return locomo_batches(data)
    if isinstance(data, dict) and "messages" in data:
        data = [data]
    if isinstance(data, list) and data and all(isinstance(d, dict) and "messages" in d for d in data):
        return [ConversationBatch(d.get("conversation_id"), d.get("user_id"), d["messages"],
                                  d.get("session_id")) for d in data]
    if isinstance(data, list):
        return [ConversationBatch(None, None, data)]
    raise InvalidInputError("file", "expected a list of messages, a {'messages': [...]} object, or LoCoMo data")


def _json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError("file", f"{where} is not valid JSON: {exc}") from None
    except RecursionError:  # a document nested thousands of levels deep
        raise InvalidInputError("file", f"{where} nests too deeply to be a conversation") from None


def _jsonl(raw: str) -> list[ConversationBatch]:
    groups: dict[tuple[Any, Any, Any], list[dict[str, Any]]] = {}
    for lineno, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        obj = _json(line, f"line {lineno}")
        if not isinstance(obj, dict):
            raise InvalidInputError(f"line {lineno}", "must be a JSON object")
        key = (obj.pop("conversation_id", None), obj.pop("user_id", None), obj.pop("session_id", None))
        groups.setdefault(key, []).append(obj)
    return [ConversationBatch(c, u, msgs, s) for (c, u, s), msgs in groups.items()]

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from engramos import InvalidInputError, Memory
from engramos._util import utcnow
from engramos.config import SegmentationConfig
from engramos.ingest.extract import extract_cell
from engramos.ingest.segment import segment
from engramos.types import Message
from engramos.validation import normalize_messages

T0 = datetime(2024, 3, 4, 18, 0, tzinfo=UTC)


def _msg(i: int, ts: datetime, content: str = "hello there friend", speaker: str = "Ana") -> Message:
    return Message(id=f"msg_{i}", space="s", user_id="u", conversation_id="c", seq=i, sender=speaker,
                   sender_name=speaker, role="user", content=content, timestamp=ts,
                   content_hash=str(i), created_at=utcnow())


# ----------------------------------------------------------------- input shapes
def test_accepts_chat_and_speaker_shapes_and_epoch_times():
    now = datetime(2024, 1, 1, tzinfo=UTC)
    out = normalize_messages([
        {"role": "user", "content": "hi"},
        {"speaker": "Ana", "text": "yo", "timestamp": 1700000000},
        {"sender": "Bo", "content": "ok", "timestamp": 1700000000123},
        {"speaker": "Cy", "text": "z", "timestamp": "2024-02-03T04:05:06Z", "dia_id": "D1:2",
         "blip_caption": "a dog"},
    ], max_chars=100, default_time=now)
    assert out[0].sender == "user" and out[0].timestamp == now
    assert out[1].timestamp == datetime.fromtimestamp(1700000000, UTC)
    assert out[2].timestamp == datetime.fromtimestamp(1700000000.123, UTC)
    assert out[3].external_id == "D1:2" and out[3].metadata["image_caption"] == "a dog"


@pytest.mark.parametrize(("bad", "field"), [
    ({"speaker": "A", "text": "x"}, "messages[0].timestamp"),
    ({"speaker": "A", "text": "x", "timestamp": "yesterday-ish"}, "messages[0].timestamp"),
    ({"speaker": "A", "text": "   ", "timestamp": 1}, "messages[0].content"),
    ({"speaker": "A", "text": "x" * 101, "timestamp": 1}, "messages[0].content"),
    ({"speaker": "A", "text": 5, "timestamp": 1}, "messages[0].content"),
    ({"speaker": "A", "text": "\x00\x01", "timestamp": 1}, "messages[0].content"),
    ({"speaker": "A", "text": "x", "timestamp": True}, "messages[0].timestamp"),
    ({"text": "x", "timestamp": 1}, "messages[0].speaker"),
    ({"speaker": "A", "text": "x", "timestamp": 1, "metadata": []}, "messages[0].metadata"),
    ("not a list at all", None),
])
def test_bad_messages_name_the_field(bad, field):
    if field is None:
        with pytest.raises(InvalidInputError):
            normalize_messages(42, max_chars=100)
        return
    with pytest.raises(InvalidInputError) as err:
        normalize_messages([bad], max_chars=100)
    assert err.value.field == field


def test_control_characters_are_stripped():
    [m] = normalize_messages([{"speaker": "A", "text": "a\x07b\nc", "timestamp": 1}], max_chars=100)
    assert m.content == "ab\nc"


def test_a_bad_batch_loses_nothing_already_stored(memory: Memory):
    ok = memory.add([{"speaker": "Ana", "text": "I adopted a cat today", "timestamp": "2024-03-04T10:00:00Z"}],
                    user_id="u", conversation_id="c")
    before = memory.messages("c")
    with pytest.raises(InvalidInputError):
        memory.add([{"speaker": "Ana", "text": "fine", "timestamp": "2024-03-05T10:00:00Z"},
                    {"speaker": "Ana", "text": "", "timestamp": "2024-03-05T10:01:00Z"}],
                   user_id="u", conversation_id="c")
    after = memory.messages("c")
    assert [m.id for m in after] == [m.id for m in before] == ok.message_ids
    with pytest.raises(InvalidInputError) as err:
        memory.add([{"role": "user", "content": "x"}], user_id="", conversation_id="c")
    assert err.value.field == "user_id"


def test_re_adding_the_same_messages_is_idempotent(memory: Memory):
    batch = [{"speaker": "Ana", "text": f"message {i}", "timestamp": 1700000000 + i} for i in range(3)]
    first = memory.add(batch, conversation_id="c", flush=True)
    again = memory.add(batch, conversation_id="c", flush=True)
    assert again.inserted == 0 and again.duplicates == 3 and again.message_ids == first.message_ids
    assert len(memory.messages("c")) == 3


# ----------------------------------------------------------------- segmentation
def test_segmentation_cuts_on_day_gap_and_size():
    cfg = SegmentationConfig(max_gap_minutes=60, max_messages=3)
    ts = [T0, T0 + timedelta(minutes=1), T0 + timedelta(hours=3), T0 + timedelta(hours=3, minutes=1),
          T0 + timedelta(hours=3, minutes=2), T0 + timedelta(hours=3, minutes=3), T0 + timedelta(days=1)]
    msgs = [_msg(i, t) for i, t in enumerate(ts)]
    segs, tail = segment(msgs, np.ones((len(msgs), 4), np.float32), cfg, flush=False)
    assert [(len(s.messages), s.boundary) for s in segs] == [(2, "gap"), (3, "size"), (1, "day")]
    assert [m.seq for m in tail] == [6]
    segs, tail = segment(msgs, np.ones((len(msgs), 4), np.float32), cfg, flush=True)
    assert segs[-1].boundary == "flush" and tail == []


def test_segmentation_cuts_on_topic_shift():
    cfg = SegmentationConfig(max_messages=100, min_messages=3, topic_window=2)
    msgs = [_msg(i, T0 + timedelta(minutes=i)) for i in range(16)]
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=16), rng.normal(size=16)
    vecs = np.stack([(a if i < 8 else b) + 0.05 * rng.normal(size=16) for i in range(16)]).astype(np.float32)
    segs, _ = segment(msgs, vecs, cfg, flush=True)
    assert segs[0].boundary == "topic" and len(segs[0].messages) == 8


# ------------------------------------------------------------------- extraction
def test_extraction_makes_episode_facts_foresight_and_profile():
    msgs = [
        _msg(1, T0, "We adopted a rescue dog yesterday. Isn't that great?", "Maya"),
        _msg(2, T0 + timedelta(minutes=1), "I work as a nurse at the city hospital.", "Maya"),
        _msg(3, T0 + timedelta(minutes=2), "I'm moving to Porto next month.", "Leo"),
    ]
    drafts = extract_cell(msgs)
    kinds = [d.kind for d in drafts]
    assert kinds[0] == "episode" and "Conversation on 4 March 2024" in drafts[0].text
    fact = next(d for d in drafts if "rescue dog" in d.text and d.kind == "fact")
    assert "yesterday (3 March 2024)" in fact.text and fact.event_start.date().isoformat() == "2024-03-03"
    assert not any("Isn't" in d.text for d in drafts if d.kind == "fact")  # questions are not facts
    plan = next(d for d in drafts if d.kind == "foresight")
    assert plan.text.startswith("Leo is moving to Porto next month (April 2024)")
    assert plan.valid_to is not None and plan.valid_to.date().isoformat() == "2024-05-01"
    prof = next(d for d in drafts if d.kind == "profile" and d.metadata["attribute"] == "job")
    assert {k: prof.metadata[k] for k in ("subject", "attribute", "value")} == \
        {"subject": "Maya", "attribute": "job", "value": "nurse"}
    assert prof.metadata["evidence"] == ["msg_2"] and prof.metadata["nature"] == "state"
    # a plan is not yet a fact about the person: no profile item for Leo's move
    assert not any(d.kind == "profile" and d.speaker == "Leo" for d in drafts)


def test_pipeline_builds_cells_scenes_and_profile_updates(memory: Memory):
    memory.add([{"speaker": "Ana", "text": "I work as a teacher at the village school.",
                 "timestamp": "2023-01-02T10:00:00Z"},
                {"speaker": "Bo", "text": "That sounds rewarding.", "timestamp": "2023-01-02T10:01:00Z"}],
               user_id="u", conversation_id="c")
    memory.add([{"speaker": "Ana", "text": "I work as a pilot for a small airline now.",
                 "timestamp": "2023-06-02T10:00:00Z"}], user_id="u", conversation_id="c", flush=True)
    cells = memory._store.list_cells(memory.space, "c")
    assert [c.boundary for c in cells] == ["day", "flush"] and all(c.status == "extracted" for c in cells)
    assert all(c.scene_id for c in cells)
    profile = memory.list(user_id="u", kinds=["profile"], filters=None, include_inactive=True).items
    by_value = {p.metadata["value"]: p for p in profile}
    old, new = by_value["teacher"], by_value["pilot"]
    assert old.status == "superseded" and old.valid_to is not None and new.supersedes == old.id
    assert [h.action for h in memory.history(old.id)] == ["create", "supersede"]


def test_unprocessed_messages_are_searchable_at_once(memory: Memory):
    memory.config = memory.config.model_copy(update={"process_inline": False})
    memory.add([{"speaker": "Ana", "text": "The zeppelin museum opens at nine", "timestamp": 1700000000}],
               conversation_id="c")
    assert memory.job_counts()["pending"] == 1
    hits = memory.search("zeppelin museum").hits
    assert hits and hits[0].memory.kind == "turn"
    assert memory.run_jobs() == 1


def test_ingestion_links_memories_to_the_entities_they_mention(tmp_path, embedder):
    """The entity graph (issue 14 part 1): a statement's names, a slot's subject and
    value, and the speaker; a raw turn links what its message's statements do, across
    sessions; a nickname that starts a known name is an alias; forget takes the
    entities no remaining memory mentions."""
    from engramos import Memory

    with Memory(tmp_path / "graph", embedder=embedder) as mem:
        mem.add([{"speaker": "Melanie", "text": "I went to a pottery class with Caroline in Boston.",
                  "timestamp": "2023-05-08T10:00:00Z", "id": "m1"},
                 {"speaker": "Caroline", "text": "Mel, our dog Bailey loved the park!",
                  "timestamp": "2023-05-08T10:01:00Z", "id": "m2"}], user_id="u1", conversation_id="c1", flush=True)
        mem.add([{"speaker": "Melanie", "text": "Painting a sunset with my kids in Boston today.",
                  "timestamp": "2023-07-01T10:00:00Z", "id": "m3"}], user_id="u1", conversation_id="c2", flush=True)
        store = mem._store
        (mel,) = store.find_entities(mem.space, ["Melanie"], user_id="u1")
        assert mel.aliases == ["Mel"] and mel.first_at.month == 5 and mel.last_at.month == 7
        (boston,) = store.find_entities(mem.space, ["Boston"])
        linked = store.get_memories(mem.space, store.entity_memories(mem.space, [boston.id])[boston.id])
        assert {m.conversation_id for m in linked} == {"c1", "c2"}  # a timeline across sessions
        assert {"turn", "fact", "episode"} <= {m.kind for m in linked}
        (bailey,) = store.find_entities(mem.space, ["Bailey"])
        assert bailey.kind == "pet" and bailey.name == "Bailey"
        mem.forget(conversation_id="c1")
        assert store.find_entities(mem.space, ["Bailey", "Caroline"]) == []
        assert store.find_entities(mem.space, ["Boston"])[0].mentions < boston.mentions

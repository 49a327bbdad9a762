"""Validity at recall (issue 13 part 4): what was true at the time a question is about
ranks first; what is no longer true (a superseded value, a plan whose date has passed,
and the raw turns that said them) ranks below it and says so, in the hit and in the
context line; a question about an earlier time, or ``as_of``, gets what was true then."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from engramos import Memory


@pytest.fixture
def ana(tmp_path, embedder) -> Iterator[Memory]:
    with Memory(tmp_path / "validity", embedder=embedder) as mem:
        for mid, when, text in (
            ("a1", "2024-01-05T10:00:00Z", "I live in Leeds with my two cats."),
            ("a2", "2024-03-20T10:00:00Z", "Big news: I moved to Glasgow last week!"),
            ("a3", "2024-03-21T10:00:00Z", "I'm off to Reykjavik next week."),
        ):
            mem.add([{"speaker": "Ana", "text": text, "timestamp": when, "id": mid}], user_id="ana",
                    conversation_id=f"c-{mid}", flush=True)
        yield mem


def _cites(hit, ext: str) -> bool:
    return any(c.external_id == ext for c in hit.citations)


def test_the_current_value_ranks_above_the_superseded_one_which_says_so(ana):
    hits = ana.search("Where do I live?", user_id="ana", top_k=10).hits
    best_current = next(i for i, h in enumerate(hits) if _cites(h, "a2"))
    stale = [i for i, h in enumerate(hits) if _cites(h, "a1")]
    assert stale and best_current < min(stale)
    for i in stale:  # the fact, the raw turn and the episode that said "Leeds"
        assert hits[i].validity == "superseded"
        # closed when the move happened ("last week" of 20 March), not when it was told
        assert hits[i].note and "until 11 March 2024" in hits[i].note and "Glasgow" in hits[i].note
        assert hits[i].superseded_by is not None
        assert hits[i].scores.validity == 0.35  # in the score breakdown
    assert hits[best_current].validity == "current"
    block = ana.context("Where does Ana live?", user_id="ana", budget_tokens=256)
    leeds = [line for line in block.text.splitlines() if "Leeds" in line]
    glasgow = [line for line in block.text.splitlines() if "Glasgow" in line and "Leeds" not in line]
    assert leeds and all("NO LONGER TRUE" in line for line in leeds)
    assert glasgow and not any("NO LONGER TRUE" in line for line in glasgow)
    assert "a2" in block.external_ids  # the caller's own ids


def test_a_question_about_an_earlier_time_gets_what_was_true_then(ana):
    for hits in (ana.search("Where did Ana live in February 2024?", user_id="ana").hits,
                 ana.search("Where does Ana live?", user_id="ana", as_of="2024-02-01T00:00:00Z").hits):
        assert _cites(hits[0], "a1") and hits[0].validity == "current"
        later = [h for h in hits if _cites(h, "a2")]
        assert all(h.validity == "not_yet" for h in later)


def test_a_plan_whose_date_has_passed_is_flagged_and_an_open_one_is_not(ana):
    soon = ana.search("Is Ana going to Reykjavik?", user_id="ana",
                      reference_time=datetime(2024, 3, 22, tzinfo=UTC)).hits
    assert _cites(soon[0], "a3") and soon[0].validity == "current"
    later = ana.search("Is Ana going to Reykjavik?", user_id="ana",
                       reference_time=datetime(2024, 6, 1, tzinfo=UTC)).hits
    # the plan and the turn that made it (not the episode around it, which holds more)
    plans = [h for h in later if _cites(h, "a3") and h.memory.kind != "episode"]
    assert plans and all(h.validity == "expired" for h in plans)
    assert all("that date has passed" in (h.note or "") for h in plans)
    block = ana.context("Is Ana going to Reykjavik?", user_id="ana", reference_time="2024-06-01T00:00:00Z")
    assert any("PAST PLAN" in line for line in block.text.splitlines() if "Reykjavik" in line)
    # a plan still open ranks above the past one when the question looks ahead
    ana.add([{"speaker": "Ana", "text": "Change of plans: I'm going to Oslo on June 20th.", "id": "a4",
              "timestamp": "2024-05-25T10:00:00Z"}], user_id="ana", conversation_id="c-a4", flush=True)
    trips = ana.search("Where is Ana going next?", user_id="ana", reference_time=datetime(2024, 6, 1, tzinfo=UTC)).hits
    oslo = next(i for i, h in enumerate(trips) if _cites(h, "a4"))
    past = [i for i, h in enumerate(trips) if _cites(h, "a3") and h.memory.kind != "episode"]
    assert trips[oslo].validity == "current" and past and oslo < min(past)


def test_deleted_memories_come_back_only_with_include_inactive(ana):
    hit = ana.search("Reykjavik", user_id="ana").hits[0]
    ana.delete(hit.memory.id)
    assert hit.memory.id not in {h.memory.id for h in ana.search("Reykjavik", user_id="ana", top_k=50).hits}
    back = ana.search("Reykjavik", user_id="ana", top_k=50, include_inactive=True).hits
    assert hit.memory.id in {h.memory.id for h in back}


def test_the_readme_example_prints_what_its_comments_say(tmp_path, embedder, capsys):
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if "Where did Ana live" in b)
    with Memory(tmp_path / "readme", embedder=embedder) as mem:
        exec(block, {"mem": mem})  # the README's own example
    printed = capsys.readouterr().out.splitlines()
    said = [c.strip() for c in re.findall(r"#\s*(.+)", block)]
    assert printed[0] == said[0]
    assert printed[1].startswith(said[1].removesuffix("...')"))
    assert printed[2] == said[2]


def test_profile_items_reach_the_hits_the_context_and_engram_profile(ana, tmp_path):
    from click.testing import CliRunner

    from engramos.cli import cli

    hits = ana.search("Where does Ana live?", user_id="ana").hits
    homes = [h for h in hits if h.memory.kind == "profile" and h.memory.metadata.get("attribute") == "home"]
    assert homes and homes[0].validity == "current" and "Glasgow" in homes[0].memory.text
    block = ana.context("Where does Ana live?", user_id="ana", budget_tokens=512)
    profile = block.text.split("## Profile\n", 1)[1].split("##", 1)[0]
    assert "Glasgow" in profile
    result = CliRunner().invoke(cli, ["--home", str(tmp_path / "validity"), "profile", "ana"])
    assert result.exit_code == 0 and "home: Glasgow" in result.output and "Leeds" not in result.output
    everything = CliRunner().invoke(cli, ["--home", str(tmp_path / "validity"), "profile", "ana", "--all"])
    assert "until 2024-03-11" in everything.output and "Leeds" in everything.output


def test_a_changed_number_supersedes_the_old_one_offline(tmp_path, embedder):
    from engramos.consolidate.slots import changed_number, slots_of

    assert slots_of("Ana moved to Glasgow") == {"home"} and slots_of("我上个月搬到了上海") == {"home"}
    assert slots_of("I work as a paramedic now") == {"job", "employer"}
    assert slots_of("My rent is 950 pounds") == {"rent"}
    assert changed_number("my rent went up to 1100 pounds", "my rent is 950 pounds") == {"rent"}
    assert not changed_number("my rent is 950 pounds", "I paid 950 pounds rent")
    with Memory(tmp_path / "rent", embedder=embedder) as mem:
        for mid, day, text in (("k1", "2023-08-01", "My rent is 950 pounds a month, which is a lot for one room."),
                               ("k2", "2024-08-01", "The landlord raised my rent to 1100 pounds a month.")):
            mem.add([{"speaker": "Kai", "text": text, "timestamp": f"{day}T10:00:00Z", "id": mid}],
                    user_id="kai", conversation_id=mid, flush=True)
        hits = mem.search("How much rent does Kai pay?", user_id="kai").hits
        assert _cites(hits[0], "k2") and hits[0].validity == "current"
        old = [h for h in hits if _cites(h, "k1") and h.memory.kind != "episode"]
        assert old and all(h.validity == "superseded" for h in old)


def test_a_plan_called_off_is_no_longer_an_open_plan(tmp_path, embedder):
    from engramos.consolidate.slots import calls_off

    assert calls_off("We cancelled the trip to Rome.") and calls_off("我们的三亚之行取消了。")
    assert calls_off("We were going to go camping but the forecast is awful.")
    assert calls_off("Stress fracture in my foot, so no marathon for me this spring.")
    assert not calls_off("I'm running every day.") and not calls_off("You're not going to stop now.")
    assert calls_off("I'm not going to Lisbon after all.")
    with Memory(tmp_path / "cancel", embedder=embedder) as mem:
        for mid, day, text in (
                ("n1", "2024-04-02", "I'm planning to run the Berlin half marathon on April 28th."),
                ("n2", "2024-04-15", "Sprained my ankle, so I'm not running the half marathon any more.")):
            mem.add([{"speaker": "Nina", "text": text, "timestamp": f"{day}T10:00:00Z", "id": mid}],
                    user_id="nina", conversation_id=mid, flush=True)
        hits = mem.search("Is Nina running the Berlin half marathon?", user_id="nina",
                          reference_time="2024-04-20T00:00:00Z", collapse=False).hits
        assert _cites(hits[0], "n2")
        plan = next(h for h in hits if h.memory.kind == "foresight")
        assert plan.validity == "superseded" and "not running" in (plan.note or "")


def test_a_flush_for_one_user_leaves_other_users_open_tails_alone(tmp_path, embedder):
    with Memory(tmp_path / "flush", embedder=embedder) as mem:
        for user in ("alice", "bob"):
            mem.add([{"speaker": user, "text": f"I work as a baker, says {user}.",
                      "timestamp": "2024-03-05T10:00:00Z"}], user_id=user)
        assert mem.admin.check()["messages_without_cells"] == 2
        mem.flush(user_id="alice")
        assert mem.admin.check()["messages_without_cells"] == 1
        assert [m.user_id for m in mem.profile(user_id="alice")] == ["alice"] and not mem.profile(user_id="bob")


def test_a_question_about_a_persons_job_gets_the_profile_item_first(tmp_path, embedder):
    with Memory(tmp_path / "job", embedder=embedder) as mem:
        mem.add([{"speaker": "Maya", "text": t, "timestamp": f"2024-03-0{i + 1}T10:00:00Z"} for i, t in enumerate((
            "Work was chaos today, the printer died again.",
            "I work as a veterinary nurse at a clinic in Bath.",
            "After work we went for pizza."))], user_id="maya", conversation_id="m", flush=True)
        top = mem.search("What does Maya do for work?", user_id="maya").hits[0]
        assert top.memory.kind == "profile" and top.memory.metadata["attribute"] == "job"
        block = mem.context("What does Maya do for work?", user_id="maya", budget_tokens=200)
        assert "veterinary nurse" in block.text.split("## Profile\n", 1)[1].split("\n", 1)[0]


def test_a_raw_turn_is_marked_even_when_what_superseded_it_is_not_a_candidate(ana):
    """Searching raw turns only: the superseded fact and profile item of "I live in Leeds"
    are not candidates, yet the turn that said it is marked (found through its message)."""
    hits = ana.search("Where does Ana live?", user_id="ana", kinds=["turn"], top_k=10).hits
    leeds = [h for h in hits if _cites(h, "a1")]
    assert leeds and all(h.memory.kind == "turn" for h in hits)
    assert leeds[0].validity == "superseded" and "Glasgow" in (leeds[0].note or "")
    glasgow = next(i for i, h in enumerate(hits) if _cites(h, "a2"))
    assert glasgow < hits.index(leeds[0]) and hits[glasgow].validity == "current"


def test_an_update_ingestion_missed_is_flagged_as_probably_outdated(tmp_path, embedder):
    """"Our street in Antwerp..." is not parsed as a move; a question about where
    Cal lives now still puts it first and flags the older Leicester statement as a guess
    (``outdated``, not a recorded supersession); a question about the past does not."""
    with Memory(tmp_path / "guess", embedder=embedder) as mem:
        for mid, when, text in (("c1", "2023-02-01T10:00:00Z", "I live in Leicester, in a terrace near the park."),
                                ("c2", "2023-09-01T10:00:00Z", "Our street in Antwerp is quiet, we love the house.")):
            mem.add([{"speaker": "Cal", "text": text, "timestamp": when, "id": mid}], user_id="cal",
                    conversation_id=f"c-{mid}", flush=True)
        assert not [m for m in mem.list(user_id="cal", include_inactive=True, limit=50).items
                    if m.status == "superseded"]  # nothing was recorded as an update
        hits = mem.search("Where does Cal live?", user_id="cal", reference_time="2023-10-01T00:00:00Z").hits
        assert _cites(hits[0], "c2") and hits[0].validity == "current"
        old = [h for h in hits if _cites(h, "c1")]
        assert old and all(h.validity == "outdated" for h in old)
        assert "Antwerp" in (old[0].note or "") and old[0].superseded_by is None
        block = mem.context("Where does Cal live?", user_id="cal", reference_time="2023-10-01T00:00:00Z",
                            budget_tokens=256)
        assert any("Leicester" in line and "PROBABLY OUTDATED" in line for line in block.text.splitlines())
        before = mem.search("Where did Cal live before?", user_id="cal", reference_time="2023-10-01T00:00:00Z").hits
        assert all(h.validity == "current" for h in before)


def test_a_raw_turn_names_what_its_parse_found_when_judged_outdated(tmp_path, embedder):
    """"I work as a nurse" names no proper noun, but its parse found the job: once a
    later report names another place of work ("First month at Deloitte done, the audits
    never stop"), the older turn is flagged as probably outdated."""
    with Memory(tmp_path / "rosa", embedder=embedder) as mem:
        for mid, when, text in (("r1", "2022-04-01T10:00:00Z", "I work as a nurse, mostly nights."),
                                ("r2", "2023-10-01T10:00:00Z", "First month at Deloitte done, the audits never stop.")):
            mem.add([{"speaker": "Rosa", "text": text, "timestamp": when, "id": mid}], user_id="rosa",
                    conversation_id=f"c-{mid}", flush=True)
        hits = mem.search("Where does Rosa work?", user_id="rosa", reference_time="2023-11-01T00:00:00Z").hits
        assert _cites(hits[0], "r2") and "Deloitte" in hits[0].memory.text
        nurse = [h for h in hits if _cites(h, "r1")]
        assert nurse and all(h.validity == "outdated" for h in nurse)


def test_an_episode_is_marked_even_when_what_superseded_its_line_is_not_a_candidate(ana):
    hits = ana.search("Where does Ana live?", user_id="ana", kinds=["episode"], top_k=10).hits
    leeds = [h for h in hits if _cites(h, "a1")]
    assert leeds and leeds[0].validity == "superseded" and "one of its lines" in (leeds[0].note or "")


def _said(mem: Memory, user: str, turns: list[tuple[str, str, str, str]]) -> None:
    for mid, when, speaker, text in turns:
        mem.add([{"speaker": speaker, "text": text, "timestamp": when, "id": mid}], user_id=user,
                 conversation_id=f"c-{mid}", flush=True)


def test_a_line_naming_a_value_that_has_ended_is_flagged(tmp_path, embedder):
    """Once Kim moved from Spotify to Netflix, the assistant's "So you're at Spotify?"
    (no parse tied it to Kim's employer) is flagged at recall, and ranks below the
    current value; the line that tells of the change names both and is not flagged."""
    with Memory(tmp_path / "kim", embedder=embedder) as mem:
        _said(mem, "kim", [("k1", "2023-02-01T10:00:00Z", "Kim", "I work at Spotify as a data analyst."),
                           ("k2", "2023-02-01T10:01:00Z", "Assistant", "So you analyse listening data at Spotify?"),
                           ("k3", "2023-09-01T10:00:00Z", "Kim", "Today was my first day at Netflix, same role."),
                           ("k4", "2023-09-02T10:00:00Z", "Kim", "Leaving Spotify for Netflix was the right call.")])
        hits = mem.search("Which company does Kim work for?", user_id="kim",
                          reference_time="2023-10-01T00:00:00Z").hits
        assert _cites(hits[0], "k3")
        echo = [h for h in hits if h.memory.kind == "turn" and _cites(h, "k2")]
        assert echo and echo[0].validity == "outdated" and "Spotify" in (echo[0].note or "")
        both = [h for h in hits if h.memory.kind == "turn" and _cites(h, "k4")]
        assert not both or both[0].validity == "current"
        asked_then = mem.search("Which company did Kim work for in early 2023?", user_id="kim",
                                reference_time="2023-10-01T00:00:00Z").hits
        assert all(h.validity == "current" for h in asked_then if _cites(h, "k2"))


def test_a_chinese_pet_that_died_is_no_longer_current(tmp_path, embedder):
    with Memory(tmp_path / "liu", embedder=embedder) as mem:
        _said(mem, "liu", [("l1", "2022-05-01T10:00:00Z", "刘洋", "我养了一只金毛，叫旺财。"),
                           ("l2", "2023-05-01T10:00:00Z", "刘洋", "旺财去年冬天走了，我很难过。"),
                           ("l3", "2023-09-01T10:00:00Z", "刘洋", "我又领养了一只橘猫，叫橙子。")])
        items = {m.metadata.get("value"): m.status for m in mem.profile(user_id="liu")}
        assert items.get("旺财（金毛）", "superseded") == "superseded" and items.get("橙子（橘猫）") == "active"
        hits = mem.search("刘洋养了什么宠物？", user_id="liu", reference_time="2023-10-01T00:00:00Z").hits
        assert _cites(hits[0], "l3")


def test_a_value_that_replaced_another_is_not_yet_so_before_the_change(tmp_path, embedder):
    """"Moved to Dubai" (said in March 2021, no date of its own) holds from then: asked
    about 2020, Cairo comes first and the Dubai line says it was not yet so."""
    with Memory(tmp_path / "omar", embedder=embedder) as mem:
        _said(mem, "omar", [("o1", "2019-05-01T10:00:00Z", "Omar", "I'm living in Cairo with my parents for now."),
                            ("o2", "2021-03-01T10:00:00Z", "Omar", "Moved to Dubai for the new job, it's hot.")])
        hits = mem.search("Where did Omar live in 2020?", user_id="omar", reference_time="2024-01-01T00:00:00Z").hits
        assert _cites(hits[0], "o1")
        later = [h for h in hits if _cites(h, "o2") and not _cites(h, "o1")]
        assert later and all(h.validity == "not_yet" for h in later)


def test_chatter_about_a_slot_before_a_new_value_is_flagged_and_not_before_a_restated_one(tmp_path, embedder):
    """Lines that speak of a slot but name no value ("a burger after five-a-side")
    were said of what held then: once a later statement names a new value ("gone fully
    plant-based"), they are probably outdated for a question about now.  Between two
    statements of the same value ("nurse" ... "nurse at St Mary's") nothing changed,
    and the chatter between them is not flagged."""
    with Memory(tmp_path / "tom", embedder=embedder) as mem:
        _said(mem, "tom", [("t1", "2022-02-10T19:00:00Z", "Tom", "Grilled a massive ribeye steak for the lads."),
                           ("t2", "2022-05-03T13:00:00Z", "Tom", "A burger after football is the best bit of Sunday."),
                           ("t3", "2022-09-20T09:00:00Z", "Tom", "I've gone fully plant-based since August.")])
        hits = mem.search("What does Tom eat these days?", user_id="tom",
                          reference_time="2022-10-01T00:00:00Z").hits
        assert _cites(hits[0], "t3") and hits[0].validity == "current"
        chatter = [h for h in hits if h.memory.kind in ("turn", "fact") and (_cites(h, "t1") or _cites(h, "t2"))]
        assert chatter and all(h.validity == "outdated" for h in chatter)
        assert "plant-based" in (chatter[0].note or "")
    with Memory(tmp_path / "nia", embedder=embedder) as mem:
        _said(mem, "nia", [("n1", "2022-02-10T19:00:00Z", "Nia", "I work as a nurse, mostly on the children's ward."),
                           ("n2", "2022-05-03T13:00:00Z", "Nia", "Night shifts on the ward again this week."),
                           ("n3", "2022-09-20T09:00:00Z", "Nia", "I still work as a nurse, at St Mary's now.")])
        hits = mem.search("What does Nia do for work?", user_id="nia", reference_time="2022-10-01T00:00:00Z",
                          collapse=False).hits
        shifts = [h for h in hits if _cites(h, "n2") and h.memory.kind in ("turn", "fact")]
        assert shifts and all(h.validity == "current" for h in shifts)


def test_a_later_present_said_of_the_slot_is_not_yet_for_a_question_about_the_past(tmp_path, embedder):
    """Asked where Fern lived in 2020, a line from 2021 about her new flat in Galway (no
    parse tied it to her home) speaks of a later present: flagged ``not_yet``; a line said
    later that names the earlier time, or reports a past event without a date, stays
    current."""
    with Memory(tmp_path / "fern", embedder=embedder) as mem:
        _said(mem, "fern", [("f1", "2019-04-01T10:00:00Z", "Fern", "I live in Cork, ten minutes from the market."),
                            ("f2", "2021-06-01T10:00:00Z", "Fern", "Galway has stolen my heart, the new flat looks "
                                                                   "over the bay."),
                            ("f3", "2021-07-01T10:00:00Z", "Fern", "In March 2020 our flat in Cork flooded."),
                            ("f4", "2021-08-01T10:00:00Z", "Fern", "We moved out of the old flat after the flood.")])
        hits = mem.search("Where did Fern live in 2020?", user_id="fern", reference_time="2022-01-01T00:00:00Z",
                          collapse=False).hits
        assert _cites(hits[0], "f1") or _cites(hits[0], "f3")
        later = [h for h in hits if _cites(h, "f2") and h.memory.kind in ("turn", "fact")]
        assert later and all(h.validity == "not_yet" and "after the time asked about" in (h.note or "")
                             for h in later)
        # a report of what happened, with no date, may be about the time asked: not flagged
        then = [h for h in hits if (_cites(h, "f3") or _cites(h, "f4")) and h.memory.kind in ("turn", "fact")]
        assert then and all(h.validity == "current" for h in then)
        now = mem.search("Where does Fern live?", user_id="fern", reference_time="2022-01-01T00:00:00Z").hits
        assert all(h.validity != "not_yet" for h in now if _cites(h, "f2"))


def test_a_pet_that_died_before_it_was_named_as_one_is_known_as_ended(tmp_path, embedder):
    """Biscuit was never called a pet before "we had to put Biscuit down": the ending
    is kept as an ended item, so the older line about Biscuit is flagged, while the
    statement that ended it stays current."""
    with Memory(tmp_path / "omar", embedder=embedder) as mem:
        _said(mem, "omar", [("o1", "2018-04-01T12:00:00Z", "Omar", "Biscuit dug up the whole garden again."),
                            ("o2", "2020-02-01T12:00:00Z", "Omar", "We had to put Biscuit down last week."),
                            ("o3", "2020-09-01T12:00:00Z", "Omar", "Adopted a kitten called Miso, she's tiny.")])
        items = [m for m in mem.list(user_id="omar", kinds=["profile"], include_inactive=True, limit=20).items
                 if m.metadata.get("attribute") == "pet"]
        assert {(m.metadata["value"], m.status) for m in items} == {("Biscuit", "superseded"),
                                                                     ("Miso (kitten)", "active")}
        hits = mem.search("What pet does Omar have now?", user_id="omar", reference_time="2020-10-01T00:00:00Z",
                          collapse=False).hits
        assert _cites(hits[0], "o3")
        dug = [h for h in hits if _cites(h, "o1") and h.memory.kind in ("turn", "fact")]
        assert dug and all(h.validity == "outdated" for h in dug)
        ending = [h for h in hits if _cites(h, "o2") and h.memory.kind in ("turn", "fact")]
        assert ending and all(h.validity == "current" for h in ending)


def test_a_plan_moved_to_a_later_date_comes_before_the_date_that_passed(tmp_path, embedder):
    """The test was planned for 10 April, then moved to 20 May ("改到...了": moved, so
    ahead, whatever the tense): the move supersedes the first plan offline, so asked on
    15 April when it is, the open plan comes first and the old date is flagged as
    replaced."""
    with Memory(tmp_path / "zhao", embedder=embedder) as mem:
        _said(mem, "zhao", [("z1", "2023-03-01T10:00:00Z", "赵敏", "我打算四月十号考驾照科目二。"),
                            ("z2", "2023-04-05T10:00:00Z", "赵敏", "科目二考试改到五月二十号了。")])
        hits = mem.search("赵敏什么时候考科目二？", user_id="zhao", reference_time="2023-04-15T00:00:00Z").hits
        assert _cites(hits[0], "z2") and hits[0].validity == "current" and hits[0].memory.event_start is not None
        assert hits[0].memory.event_start.date().isoformat() == "2023-05-20"
        old = [h for h in hits if _cites(h, "z1")]
        assert old and all(h.validity == "superseded" and "五月二十号" in (h.note or "") for h in old)


def test_a_hobby_given_up_flags_the_lines_that_named_it(tmp_path, embedder):
    """"Gave up climbing ... these days it's all about sea swimming": asked what sport
    Kat does, the earlier climbing line no longer holds, the new one is current."""
    with Memory(tmp_path / "kat", embedder=embedder) as mem:
        _said(mem, "kat", [("k1", "2022-03-01T09:00:00Z", "Kat", "Climbing gym three nights a week, my forearms "
                                                               "are huge."),
                           ("k2", "2022-10-01T09:00:00Z", "Kat", "Gave up climbing after the shoulder injury. These "
                                                               "days it's all about sea swimming.")])
        hits = mem.search("What sport does Kat do?", user_id="kat", reference_time="2022-10-15T00:00:00Z",
                          collapse=False).hits
        assert _cites(hits[0], "k2") and hits[0].validity == "current"
        old = [h for h in hits if _cites(h, "k1") and h.memory.kind in ("turn", "fact")]
        assert old and all(h.validity in ("superseded", "outdated") for h in old)


def test_a_workplace_said_without_a_name_is_a_value_that_can_change(tmp_path, embedder):
    """A shift "at the bakery", then "starting at the council's planning office": the
    bakery line no longer holds for a question about where Theo works now, and holds for
    one about where he worked then, when a later line about "now" was not yet so."""
    with Memory(tmp_path / "theo", embedder=embedder) as mem:
        _said(mem, "theo", [("t1", "2022-04-01T09:00:00Z", "Theo", "Another double shift at the bakery, my feet "
                                                                  "are killing me."),
                            ("t2", "2022-09-12T09:00:00Z", "Theo", "Handed in my apron for good. Starting at the "
                                                                  "council's planning office on Monday."),
                            ("t3", "2022-10-20T09:00:00Z", "Theo", "I left the bakery behind and now I sit at a "
                                                                  "desk all day.")])
        hits = mem.search("Where does Theo work?", user_id="theo", reference_time="2022-11-01T00:00:00Z",
                          collapse=False).hits
        assert _cites(hits[0], "t2") or _cites(hits[0], "t3")
        bakery = [h for h in hits if _cites(h, "t1") and h.memory.kind in ("turn", "fact")]
        assert bakery and all(h.validity in ("superseded", "outdated") for h in bakery)
        then = mem.search("Where did Theo work in April 2022?", user_id="theo",
                          reference_time="2022-11-01T00:00:00Z", collapse=False).hits
        assert all(h.validity == "current" for h in then if _cites(h, "t1"))
        later = [h for h in then if _cites(h, "t3") and h.memory.kind in ("turn", "fact")]
        assert later and all(h.validity == "not_yet" for h in later)


def test_a_line_naming_a_later_value_is_not_yet_so_at_an_earlier_time(tmp_path, embedder):
    """Asked where Cy lived in 2019, "Rotterdam's architecture is growing on me" (2021,
    no slot word) names the home that came in 2020: not yet so then; a line naming both
    stays current."""
    with Memory(tmp_path / "cy", embedder=embedder) as mem:
        _said(mem, "cy", [("c1", "2019-02-01T08:00:00Z", "Cy", "Our little house in Utrecht has the best canal view."),
                          ("c2", "2020-09-01T08:00:00Z", "Cy", "We relocated to Rotterdam for my wife's job."),
                          ("c3", "2021-01-10T08:00:00Z", "Cy", "Rotterdam's architecture is growing on me."),
                          ("c4", "2021-02-10T08:00:00Z", "Cy", "Rotterdam is bigger than Utrecht, I miss the quiet.")])
        hits = mem.search("Where did Cy live in 2019?", user_id="cy", reference_time="2021-03-01T00:00:00Z",
                          collapse=False).hits
        assert _cites(hits[0], "c1")
        later = [h for h in hits if _cites(h, "c3") and h.memory.kind in ("turn", "fact")]
        assert later and all(h.validity == "not_yet" and "Rotterdam" in (h.note or "") for h in later)
        both = [h for h in hits if _cites(h, "c4") and h.memory.kind in ("turn", "fact")]
        assert both and all(h.validity == "current" for h in both)
        now = mem.search("Where does Cy live?", user_id="cy", reference_time="2021-03-01T00:00:00Z").hits
        assert all(h.validity != "not_yet" for h in now if _cites(h, "c3"))


def test_a_death_ends_what_the_person_was_to_the_speaker_and_nothing_else(tmp_path, embedder):
    """"Since Frank passed" ends Bea's husband Frank (his lines say so); Ian's "Grandpa
    Joe passed" ends no partner of Ian's and makes no pet of Joe."""
    with Memory(tmp_path / "bea", embedder=embedder) as mem:
        _said(mem, "bea", [("b1", "2019-05-01T18:00:00Z", "Bea", "My husband Frank and I are celebrating 40 years "
                                                               "married."),
                           ("b2", "2021-03-01T18:00:00Z", "Bea", "It's been a year since Frank passed. The house is "
                                                               "quiet.")])
        items = {m.metadata.get("value"): m.status for m in mem.profile(user_id="bea")}
        assert items.get("Frank") == "superseded"
        hits = mem.search("Is Bea married?", user_id="bea", reference_time="2021-04-01T00:00:00Z",
                          collapse=False).hits
        married = [h for h in hits if _cites(h, "b1") and h.memory.kind in ("turn", "fact", "profile")]
        assert married and all(h.validity != "current" for h in married)
        assert all(h.validity == "current" for h in hits if _cites(h, "b2"))
    with Memory(tmp_path / "ian", embedder=embedder) as mem:
        _said(mem, "ian", [("i1", "2019-05-01T18:00:00Z", "Ian", "My wife Sue and I are off to Crete."),
                           ("i2", "2021-03-01T18:00:00Z", "Ian", "Grandpa Joe passed last night, he was 97.")])
        items = {(m.metadata.get("attribute"), m.metadata.get("value")): m.status for m in mem.profile(user_id="ian")}
        assert items.get(("partner", "Sue")) == "active"
        assert not [k for k in items if k[0] == "pet"]


def test_a_value_that_starts_next_month_is_a_profile_value_from_then(tmp_path, embedder):
    """"房东说下个月开始每月涨到四千" (said in March): from April the rent is 四千, and
    the 三千五 line no longer holds; ending a school ("I dropped out of uni") makes the
    earlier line about it outdated."""
    with Memory(tmp_path / "peng", embedder=embedder) as mem:
        _said(mem, "peng", [("p1", "2022-03-01T19:00:00Z", "彭飞", "每个月房租三千五，压力山大。"),
                            ("p2", "2023-03-01T19:00:00Z", "彭飞", "房东说下个月开始每月涨到四千。")])
        rent = [m for m in mem.profile(user_id="peng") if m.metadata.get("attribute") == "rent"]
        new = [m for m in rent if m.metadata.get("value") == "四千"]
        assert new and new[0].valid_from is not None and new[0].valid_from.month == 4
        hits = mem.search("彭飞的房租是多少？", user_id="peng", reference_time="2023-04-15T00:00:00Z",
                          collapse=False).hits
        assert _cites(hits[0], "p2")
        assert all(h.validity != "current" for h in hits if _cites(h, "p1") and h.memory.kind in ("turn", "profile"))
    with Memory(tmp_path / "ren", embedder=embedder) as mem:
        _said(mem, "ren", [("r1", "2022-10-01T19:00:00Z", "Ren", "Freshers' week at Exeter was wild."),
                           ("r2", "2023-04-01T19:00:00Z", "Ren", "I dropped out of uni, doing an apprenticeship "
                                                              "with a plumber now.")])
        hits = mem.search("Is Ren studying at Exeter?", user_id="ren", reference_time="2023-04-10T00:00:00Z",
                          collapse=False).hits
        assert _cites(hits[0], "r2")
        assert all(h.validity == "outdated" for h in hits if _cites(h, "r1") and h.memory.kind == "turn")

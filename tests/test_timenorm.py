from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from engramos.timenorm import annotate, find_mentions

MONDAY = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)  # reference: Monday 8 May 2023


@pytest.mark.parametrize(("text", "first", "last"), [
    ("I went there yesterday", date(2023, 5, 7), date(2023, 5, 7)),
    ("see you tomorrow", date(2023, 5, 9), date(2023, 5, 9)),
    ("two days ago", date(2023, 5, 6), date(2023, 5, 6)),
    ("3 days ago", date(2023, 5, 5), date(2023, 5, 5)),
    ("last week", date(2023, 5, 1), date(2023, 5, 7)),
    ("next month", date(2023, 6, 1), date(2023, 6, 30)),
    ("last year", date(2022, 1, 1), date(2022, 12, 31)),
    ("this Friday", date(2023, 5, 12), date(2023, 5, 12)),
    ("last Friday", date(2023, 5, 5), date(2023, 5, 5)),
    ("next Friday", date(2023, 5, 19), date(2023, 5, 19)),
    ("last weekend", date(2023, 5, 6), date(2023, 5, 7)),
    ("in two weeks", date(2023, 5, 22), date(2023, 5, 28)),
    ("last summer", date(2022, 6, 1), date(2022, 8, 31)),
    ("on 12 March 1990", date(1990, 3, 12), date(1990, 3, 12)),
    ("in May 2022", date(2022, 5, 1), date(2022, 5, 31)),
    ("in June", date(2022, 6, 1), date(2022, 6, 30)),  # most recent June not after the reference
    ("2023-04-30", date(2023, 4, 30), date(2023, 4, 30)),
    ("去年", date(2022, 1, 1), date(2022, 12, 31)),
    ("上周五", date(2023, 5, 5), date(2023, 5, 5)),
    ("明天", date(2023, 5, 9), date(2023, 5, 9)),
    ("两天后", date(2023, 5, 10), date(2023, 5, 10)),
    ("三天前", date(2023, 5, 5), date(2023, 5, 5)),
    ("下个月", date(2023, 6, 1), date(2023, 6, 30)),
    ("2023年5月7日", date(2023, 5, 7), date(2023, 5, 7)),
    ("in early 2022", date(2022, 1, 1), date(2022, 4, 30)),
    ("mid-2021", date(2021, 5, 1), date(2021, 8, 31)),
    ("late 2020", date(2020, 9, 1), date(2020, 12, 31)),
    ("2022年初", date(2022, 1, 1), date(2022, 4, 30)),
    ("2021年底", date(2021, 9, 1), date(2021, 12, 31)),
    ("late June", date(2022, 6, 21), date(2022, 6, 30)),  # a month without a year: as "in June" is
    ("early March 2024", date(2024, 3, 1), date(2024, 3, 10)),
    ("下个月15号", date(2023, 6, 15), date(2023, 6, 15)),
])
def test_expressions_resolve_against_the_reference(text, first, last):
    [m] = find_mentions(text, MONDAY)
    assert (m.first, m.last) == (first, last)


def test_reference_is_the_message_time_not_the_wall_clock():
    [m] = find_mentions("yesterday", datetime(2001, 1, 1, tzinfo=UTC))
    assert m.first == date(2000, 12, 31)


def test_annotation_keeps_text_and_adds_dates():
    text, mentions = annotate("I went to a support group yesterday and it was great", MONDAY)
    assert text == "I went to a support group yesterday (7 May 2023) and it was great"
    assert mentions[0].relative
    zh, _ = annotate("我上周五去了上海", MONDAY)
    assert zh == "我上周五（2023年5月5日）去了上海"


def test_absolute_dates_are_not_annotated_and_words_are_not_dates():
    assert annotate("on 8 May 2023", MONDAY)[0] == "on 8 May 2023"
    assert find_mentions("I may go, said March", MONDAY) == []


# Dates said without a year (issue 13 part 3): the coming one for what lies ahead, the
# past one for what is reported; the reference is 10 January 2024.
@pytest.mark.parametrize(("text", "expected"), [
    ("I fly to Rome on February 3rd.", date(2024, 2, 3)),
    ("My exam is on March 22.", date(2024, 3, 22)),
    ("I'm going to Lisbon in October.", date(2024, 10, 1)),
    ("We'll visit Grandma on June 14th.", date(2024, 6, 14)),
    ("We met on June 14th.", date(2023, 6, 14)),
    ("Ana got married in October.", date(2023, 10, 1)),
    ("We went to the coast on January 3rd.", date(2024, 1, 3)),
    ("I'll see her on the 5th.", date(2024, 2, 5)),
    ("We spoke on the 5th.", date(2024, 1, 5)),
    ("3月22日我要去北京。", date(2024, 3, 22)),
    ("3月22日我去了北京。", date(2023, 3, 22)),
    ("十月我们打算去杭州。", date(2024, 10, 1)),
    ("十月份我们去了杭州。", date(2023, 10, 1)),
    ("我们三月二十二号见过面。", date(2023, 3, 22)),
    ("Got tickets for the gig on March 15th!", date(2024, 3, 15)),  # tickets are for what lies ahead
    ("Thinking of doing the Edinburgh half on May 28th.", date(2024, 5, 28)),  # a plan said without "I"
    ("Heading to Lisbon on May 3rd.", date(2024, 5, 3)),
    ("Walking home on May 3rd was lovely.", date(2023, 5, 3)),
    ("Nothing beats the fair on January 3rd.", date(2024, 1, 3)),  # "nothing" is no gerund: not ahead
    ("Wedding on March 3rd!", date(2024, 3, 3)),  # a day with no tense: the nearest one
    ("Wedding on December 30th!", date(2023, 12, 30)),
    ("婚礼定在三月三号。", date(2024, 3, 3)),  # 定在: arranged
    ("Porto in June is lovely.", date(2023, 6, 1)),  # a month without a day still looks back
    ("The gig got pushed back to June 2nd.", date(2024, 6, 2)),  # moved to: ahead, whatever the tense
    ("考试改到五月二十号了。", date(2024, 5, 20)),
    ("Dentist on the 18th, dreading it.", date(2024, 1, 18)),  # no tense: the nearest 18th
    ("Sunny day on the 8th.", date(2024, 1, 8)),
])
def test_a_date_without_a_year_lies_ahead_for_plans_and_behind_for_events(text, expected):
    mentions = find_mentions(text, date(2024, 1, 10))
    assert [m.first for m in mentions] == [expected]
    assert mentions[0].relative  # so annotate() writes the year it chose
    assert str(expected.year) in annotate(text, date(2024, 1, 10))[0]


def test_a_state_that_begins_later_has_a_validity_start():
    from engramos.ingest.extract import _sentence_drafts
    from engramos.types import Message

    said = datetime(2024, 1, 10, 10, tzinfo=UTC)
    msg = Message(id="m1", space="s", user_id="u", conversation_id="c", seq=1, sender="Ana", sender_name="Ana",
                  role="user", content="The new head of department takes over next month.", timestamp=said,
                  content_hash="h", created_at=said)
    facts = [d for d in _sentence_drafts(msg) if d.kind == "fact"]
    assert facts and facts[0].valid_from == datetime(2024, 2, 1, tzinfo=UTC)
    plan = _sentence_drafts(msg.model_copy(update={"content": "I fly to Rome on February 3rd."}))[0]
    assert plan.kind == "foresight" and plan.valid_to and plan.valid_to.date() == date(2024, 2, 4)
    # reporting for duty next Monday starts a job then: a fact from that day, not a plan that expires
    duty = _sentence_drafts(msg.model_copy(update={"content": "我考上公务员了，下周一去税务局报到。"}))[0]
    assert duty.kind == "fact" and duty.valid_from == datetime(2024, 1, 15, tzinfo=UTC)


def test_a_stay_is_not_a_time_from_now():
    """"a week in Sicily" is how long, not "in a week"."""
    assert [m.text for m in find_mentions("We've penciled in a week in Sicily.", MONDAY)] == []
    assert [m.text for m in find_mentions("See you in a week.", MONDAY)] == ["in a week"]


@pytest.mark.parametrize(("text", "first", "last"), [
    ("We're taking the kids to Disneyland Paris at Easter.", date(2024, 3, 29), date(2024, 4, 1)),  # ahead
    ("We spent Christmas with my parents.", date(2023, 12, 24), date(2023, 12, 26)),  # reported: the last one
    ("Christmas 2021 was quiet.", date(2021, 12, 24), date(2021, 12, 26)),
    ("I'll see you on New Year's Eve!", date(2024, 12, 31), date(2024, 12, 31)),
    ("Thanksgiving at my aunt's will be loud.", date(2024, 11, 28), date(2024, 11, 28)),
    ("Easter Sunday 2025 falls late.", date(2025, 4, 20), date(2025, 4, 20)),
])
def test_holidays_are_dates(text, first, last):
    """Said on 10 January 2024: a holiday ahead for a plan, the last one for a report."""
    (mention,) = find_mentions(text, date(2024, 1, 10))
    assert (mention.first, mention.last) == (first, last)

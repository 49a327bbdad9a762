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

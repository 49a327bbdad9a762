"""Rule-based time normalisation for English and Chinese.

Relative expressions ("yesterday", "two weeks ago", "this Friday", "上周五", "明天",
"去年") are resolved to absolute dates against a *reference time* — the timestamp of the
message that contains them, or the question's date — never against the wall clock.
Absolute expressions ("8 May 2023", "May 2023", "2023-05-08", "2023年5月") are parsed too,
so that query analysis can turn any of them into a time range.

Conventions: weeks run Monday to Sunday.  "last Friday" is the most recent Friday
before the reference day; "this Friday" the Friday of the reference week; "next Friday"
the Friday of the following week.

A date without a year ("February 3rd", "in October", "3月22日", "十月") is the coming one
when the text speaks of what is ahead (a plan: "I'm flying to Rome on February 3rd", "my
exam is on March 22", "3月22日我要去北京"), and otherwise the most recent one not after
the reference (a reported event: "we met on June 14th").  The same holds for a bare day
of the month ("on the 5th").  :func:`dates_lie_ahead` decides.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from .text import has_cjk

Granularity = Literal["day", "days", "week", "weekend", "month", "season", "year"]

_EN_NUM = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "a couple of": 2, "a couple": 2, "couple of": 2, "a few": 3, "few": 3, "several": 3,
}
_ZH_DIGIT = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
             "八": 8, "九": 9, "几": 3}
_WEEKDAYS = {name: i for i, name in enumerate(
    ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])}
_ZH_WEEKDAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9
_SEASONS = {"spring": (3, 5), "summer": (6, 8), "autumn": (9, 11), "fall": (9, 11),
            "winter": (12, 2)}


@dataclass(frozen=True)
class TimeMention:
    """One time expression found in a text, resolved to an inclusive date range."""

    text: str
    start: int
    end: int
    first: date
    last: date
    granularity: Granularity
    relative: bool
    lang: Literal["en", "zh"] = "en"

    def label(self) -> str:
        return format_range(self.first, self.last, self.granularity, self.lang)


def format_date(d: date, lang: str = "en") -> str:
    if lang == "zh":
        return f"{d.year}年{d.month}月{d.day}日"
    return f"{d.day} {calendar.month_name[d.month]} {d.year}"


def format_range(first: date, last: date, granularity: Granularity, lang: str = "en") -> str:
    if granularity == "day" or first == last:
        return format_date(first, lang)
    if granularity == "year":
        return f"{first.year}年" if lang == "zh" else str(first.year)
    if granularity == "month":
        return f"{first.year}年{first.month}月" if lang == "zh" else (
            f"{calendar.month_name[first.month]} {first.year}")
    if granularity == "week":
        return (f"{format_date(first, lang)}那一周" if lang == "zh"
                else f"the week of {format_date(first, lang)}")
    if granularity == "weekend":
        return (f"{format_date(first, lang)}那个周末" if lang == "zh"
                else f"the weekend of {format_date(first, lang)}")
    return f"{format_date(first, lang)} – {format_date(last, lang)}"


# ---------------------------------------------------------------------------- helpers
def _week_start(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _month_range(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _add_months(d: date, months: int) -> tuple[int, int]:
    total = d.year * 12 + (d.month - 1) + months
    return total // 12, total % 12 + 1


def _season_range(name: str, year: int) -> tuple[date, date]:
    first_m, last_m = _SEASONS[name]
    if first_m > last_m:  # winter spans the new year
        return date(year, 12, 1), _month_range(year + 1, last_m)[1]
    return date(year, first_m, 1), _month_range(year, last_m)[1]


def _zh_number(token: str) -> int:
    if token.isdigit():
        return int(token)
    if token == "十":
        return 10
    if token.startswith("十"):
        return 10 + _ZH_DIGIT.get(token[1:], 0)
    if "十" in token:
        tens, _, ones = token.partition("十")
        return _ZH_DIGIT.get(tens, 1) * 10 + (_ZH_DIGIT.get(ones, 0) if ones else 0)
    return _ZH_DIGIT.get(token, 1)


def _en_number(token: str) -> int:
    token = token.lower().strip()
    return int(token) if token.isdigit() else _EN_NUM.get(token, 1)


Resolution = tuple[date, date, Granularity]
# (the match, the reference day, whether the text speaks of what is ahead)
Handler = Callable[[re.Match[str], date, bool], Resolution | None]

# What marks a sentence as about the future: modal and going-to futures, plans and hopes,
# and words that name a time ahead.
_FUTURE_EN = re.compile(
    r"\b(will|won't|shall|going to|gonna|plan(?:ning|s)? to|intend(?:s)? to|about to|looking forward to|"
    r"can't wait to|hop(?:e|ing) to|next (?:week|month|year|weekend|summer|winter|spring|fall)|tomorrow|"
    r"upcoming|coming up|this coming|scheduled|booked|reserved|tickets? (?:for|to)|signed up for|pencil+ed in|"
    r"registered for|thinking (?:of|about) \w+ing|want(?:s)? to|wanna|would like to|keen to|aim(?:ing)? to)\b|"
    r"\b\w+'ll\b", re.I)
_FUTURE_ZH = re.compile(r"明天|后天|下周|下星期|下个月|明年|打算|计划|准备|将要|将会|要去|会去|想去")
# An arrangement or a schedule ("I'm flying on ...", "the exam is on ...").
_ARRANGED_EN = re.compile(
    r"\b(?:i'm|i am|we're|we are|he's|she's|they're|you're)\s+(?!\w+ed\b)\w+ing\b|"
    r"^\s*(?!(?:some|no|any|every)thing\b|morning\b|evening\b|during\b|spring\b|wedding\b|ceiling\b|"
    r"building\b|ring\b|king\b|thing\b|bring\b|string\b)[A-Za-z]{2,}ing\b|"  # said without a subject: "Heading to Lisbon on May 3rd"
    r"\b(?:is|are)\s+(?:on|in|at|set for|planned for|due)\b|\bwhen (?:is|are)\b|"
    r"\b(?:i|we|you|they)\s+(?:fly|leave|start|arrive|return|travel|move|head off|begin|go back|come back)\b|"
    r"\b(?:flies|leaves|starts|arrives|returns|travels|moves|begins|opens|takes over)\b", re.I)
_PAST_EN = re.compile(
    r"\b(was|were|did|had|went|came|met|saw|got|made|took|gave|told|said|found|left|bought|brought|thought|"
    r"felt|kept|began|ran|won|lost|paid|sent|spent|built|wrote|read|flew|drove|ate|drank|sang|swam|"
    r"became|chose|fell|forgot|heard|held|knew|led|meant|sat|slept|spoke|stood|taught|understood|wore|"
    r"ago|last|yesterday|\w{2,}ed)\b", re.I)
_PAST_ZH = re.compile(r"了|过|昨天|前天|上周|上个月|去年|之前|以前")
_AHEAD_ZH = re.compile(r"要|会|将|打算|计划|准备|想|预计|安排|定在|定于")
# a date something was moved to lies ahead, whatever the tense of the moving
_MOVED_TO_ZH = re.compile(r"(?:改|推迟|延期|延|挪|调|换)到")
_MOVED_TO_EN = re.compile(r"\b(?:pushed back|moved|rescheduled|postponed|put back|shifted|delayed)\s+"
                          r"(?:to|until|till)\b", re.I)


def speaks_of_future(text: str) -> bool:
    """Whether a sentence says what will happen (a plan, an expectation), by its markers."""
    return bool((_FUTURE_ZH if has_cjk(text) else _FUTURE_EN).search(text))


# Chinese has no tense: 了 often marks a state that holds now ("来深圳半年了"), so a
# report of the past is told by its time words and experiential 过
_REPORTED_ZH = re.compile(r"过|昨天|前天|上周|上个月|去年|之前|以前|当时|那时|小时候")


def moves_a_date(text: str) -> bool:
    """Whether a sentence moves something to another date ("the gig got pushed back to
    June 2nd", "考试改到五月二十号了")."""
    return bool((_MOVED_TO_ZH if has_cjk(text) else _MOVED_TO_EN).search(text))


def _nearer(a: Resolution | None, b: Resolution | None, ref: date) -> Resolution | None:
    if a is None or b is None:
        return a or b
    return a if abs((a[0] - ref).days) <= abs((b[0] - ref).days) else b


def speaks_of_past(text: str) -> bool:
    """Whether a sentence reports what happened, by its markers (a past tense, "ago";
    in Chinese, past time words and 过, not 了)."""
    return bool((_REPORTED_ZH if has_cjk(text) else _PAST_EN).search(text))


def dates_lie_ahead(text: str) -> bool:
    """Whether the dates without a year in a text lie ahead of when it was said: a plan
    ("I'm going to Lisbon in October"), an arrangement or a schedule ("I fly to Rome on
    February 3rd", "my exam is on March 22"), a date something was moved to, with no
    sign of the past.  Otherwise (a reported event, "we met on June 14th", or a bare "in
    June") they look back."""
    return _tense(text) == "ahead"


def _tense(text: str) -> Literal["ahead", "behind", "unmarked"]:
    """Where a sentence's dates without a year lie: ahead, behind, or ``unmarked`` (no
    sign of a plan and none of the past: "Dentist on the 10th, dreading it")."""
    if has_cjk(text):
        looks_ahead, past = _FUTURE_ZH.search(text) or _AHEAD_ZH.search(text), _PAST_ZH.search(text)
        if _MOVED_TO_ZH.search(text) or (looks_ahead and not past):
            return "ahead"
        return "behind" if looks_ahead or past else "unmarked"
    if _FUTURE_EN.search(text) or _MOVED_TO_EN.search(text):
        return "ahead"
    arranged, past = _ARRANGED_EN.search(text), _PAST_EN.search(text)
    if arranged and not past:
        return "ahead"
    return "behind" if arranged or past else "unmarked"


def _year_of(ref: date, month: int, day: int | None, ahead: bool) -> int:
    """The year of a month (and day) said without one: the coming one for what is ahead,
    else the most recent one not after the reference."""
    if ahead:
        last = day or calendar.monthrange(ref.year, month)[1]
        return ref.year if (month, last) >= (ref.month, ref.day) else ref.year + 1
    return ref.year if (month, day or 1) <= (ref.month, ref.day) else ref.year - 1


def _shift(ref: date, unit: str, n: int) -> Resolution:
    unit = unit.lower().rstrip("s")
    if unit in ("day", "天", "日"):
        d = ref + timedelta(days=n)
        return d, d, "day"
    if unit in ("week", "周", "星期", "礼拜", "个星期", "个礼拜"):
        ws = _week_start(ref + timedelta(weeks=n))
        return ws, ws + timedelta(days=6), "week"
    if unit in ("month", "个月", "月"):
        y, m = _add_months(ref, n)
        return (*_month_range(y, m), "month")
    y = ref.year + n
    return date(y, 1, 1), date(y, 12, 31), "year"


# --------------------------------------------------------------------------- English
_NUM_WORDS = r"(\d+|a couple of|a couple|couple of|a few|few|several|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
_UNITS = r"(days?|weeks?|months?|years?)"
_WD = r"(monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_MONTH_NAMES = r"(january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)"


def _en_ago(m: re.Match[str], ref: date, ahead: bool) -> Resolution:
    return _shift(ref, m.group(2), -_en_number(m.group(1)))


def _en_ahead(m: re.Match[str], ref: date, ahead: bool) -> Resolution:
    return _shift(ref, m.group(2), _en_number(m.group(1)))


def _en_day_word(m: re.Match[str], ref: date, ahead: bool) -> Resolution:
    word = m.group(0).lower()
    offsets = {"the day before yesterday": -2, "the day after tomorrow": 2, "yesterday": -1,
               "last night": -1, "tomorrow": 1, "today": 0, "tonight": 0,
               "this morning": 0, "this afternoon": 0, "this evening": 0}
    d = ref + timedelta(days=offsets[word])
    return d, d, "day"


def _en_rel_period(m: re.Match[str], ref: date, ahead: bool) -> Resolution:
    which, unit = m.group(1).lower(), m.group(2).lower()
    n = {"last": -1, "past": -1, "previous": -1, "this": 0, "next": 1, "coming": 1}[which]
    if unit == "weekend":
        saturday = _week_start(ref) + timedelta(days=5)
        if which in ("last", "past", "previous"):
            saturday -= timedelta(weeks=1)
        elif which == "next" or (which == "coming" and ref.weekday() >= 5):
            saturday += timedelta(weeks=1)
        return saturday, saturday + timedelta(days=1), "weekend"
    if unit in _SEASONS:
        start, end = _season_range(unit, ref.year)
        if which in ("last", "past", "previous") and start > ref - timedelta(days=1):
            start, end = _season_range(unit, ref.year - 1)
        elif which in ("next", "coming") and start <= ref:
            start, end = _season_range(unit, ref.year + 1)
        return start, end, "season"
    return _shift(ref, unit, n)


def _en_weekday(m: re.Match[str], ref: date, ahead: bool) -> Resolution:
    which, wd = m.group(1).lower(), _WEEKDAYS[m.group(2).lower()]
    if which == "last":
        delta = (ref.weekday() - wd) % 7 or 7
        d = ref - timedelta(days=delta)
    elif which == "next":
        d = _week_start(ref) + timedelta(weeks=1, days=wd)
    else:  # this / coming
        d = _week_start(ref) + timedelta(days=wd)
        if which == "coming" and d <= ref:
            d += timedelta(weeks=1)
    return d, d, "day"


def _en_day_month_year(m: re.Match[str], ref: date, ahead: bool) -> Resolution | None:
    g = m.groupdict()
    month = _MONTHS[(g["m1"] or g["m2"]).lower()]
    day = int(g["d1"] or g["d2"])
    year = int(g["y"]) if g.get("y") else _year_of(ref, month, day, ahead)
    try:
        d = date(year, month, day)
    except ValueError:
        return None
    return d, d, "day"


def _en_month_year(m: re.Match[str], ref: date, ahead: bool) -> Resolution:
    month = _MONTHS[m.group(1).lower()]
    year_text = m.group(2) if m.re.groups >= 2 else None
    year = int(year_text) if year_text else _year_of(ref, month, None, ahead)
    return (*_month_range(year, month), "month")


def _part_of_month(m: re.Match[str], ref: date, ahead: bool) -> Resolution:
    """"late June" (from the 21st), "early March" (to the 10th), "mid-May" (11th to 20th)."""
    word, month = m.group(1).lower(), _MONTHS[m.group(2).lower()]
    year = int(m.group(3)) if m.group(3) else _year_of(ref, month, None, ahead)
    first, last = _month_range(year, month)
    if word in ("early", "the start of", "the beginning of"):
        return first, first.replace(day=10), "month"
    if word in ("mid", "the middle of"):
        return first.replace(day=11), first.replace(day=20), "month"
    return first.replace(day=21), last, "month"


def _zh_day_of_month(m: re.Match[str], ref: date, ahead: bool) -> Resolution | None:
    """"下个月15号", "这个月3号", "上个月二十号"."""
    step = {"上个月": -1, "上月": -1, "这个月": 0, "本月": 0, "下个月": 1, "下月": 1}[m.group(1)]
    year, month = _add_months(ref, step)
    try:
        d = date(year, month, _zh_number(m.group(2)))
    except ValueError:
        return None
    return d, d, "day"


def _en_day_of_month(m: re.Match[str], ref: date, ahead: bool) -> Resolution | None:
    """"on the 5th": this month's, or the next (ahead) or previous month's when this
    month's is on the wrong side of the reference."""
    day = int(m.group(1))
    step = (1 if day < ref.day else 0) if ahead else (-1 if day > ref.day else 0)
    year, month = _add_months(ref, step)
    try:
        d = date(year, month, day)
    except ValueError:
        return None
    return d, d, "day"


def _iso_date(m: re.Match[str], ref: date, ahead: bool) -> Resolution | None:
    try:
        d = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None
    return d, d, "day"


def _year_only(m: re.Match[str], ref: date, ahead: bool) -> Resolution:
    y = int(m.group(1))
    return date(y, 1, 1), date(y, 12, 31), "year"


def _year_part(word: str, year: int) -> Resolution:
    """"early 2022" (January to April), "mid-2022" (May to August), "late 2022" (September
    to December); "2022年初", "2022年中", "2022年底"."""
    if word in ("early", "the start of", "the beginning of", "初"):
        return date(year, 1, 1), date(year, 4, 30), "season"
    if word in ("mid", "the middle of", "中"):
        return date(year, 5, 1), date(year, 8, 31), "season"
    return date(year, 9, 1), date(year, 12, 31), "season"


def _part_of_year(m: re.Match[str], ref: date, ahead: bool) -> Resolution:
    return _year_part(m.group(1).lower(), int(m.group(2)))


def _part_of_year_zh(m: re.Match[str], ref: date, ahead: bool) -> Resolution:
    return _year_part(m.group(2), int(m.group(1)))


def _season_year(m: re.Match[str], ref: date, ahead: bool) -> Resolution:
    name = m.group(1).lower()
    year = int(m.group(2))
    return (*_season_range(name, year), "season")


def _easter(year: int) -> date:
    """Easter Sunday (Western), by the anonymous Gregorian algorithm."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    weekday = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday) // 451
    month, day = divmod(h + weekday - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _holiday_span(name: str, year: int) -> tuple[date, date]:
    """The days a holiday's name covers in a year ("Easter": Good Friday to Easter Monday)."""
    if name.startswith("easter"):
        sunday = _easter(year)
        if name == "easter sunday":
            return sunday, sunday
        return sunday - timedelta(days=2), sunday + timedelta(days=1)
    if name == "thanksgiving":  # the fourth Thursday of November (the United States')
        first = date(year, 11, 1)
        thursday = first + timedelta(days=(3 - first.weekday()) % 7 + 21)
        return thursday, thursday
    fixed = {"christmas eve": (12, 24), "christmas day": (12, 25), "boxing day": (12, 26),
             "new year's eve": (12, 31), "new year's day": (1, 1), "halloween": (10, 31),
             "valentine's day": (2, 14)}
    if name in fixed:
        d = date(year, *fixed[name])
        return d, d
    return date(year, 12, 24), date(year, 12, 26)  # "Christmas": Eve to Boxing Day


def _holiday(m: re.Match[str], ref: date, ahead: bool) -> Resolution:
    """A holiday said without a year: the coming one for what is ahead, else the most
    recent one that has begun."""
    name = re.sub(r"\s+", " ", m.group(1).lower()).replace("’", "'")
    if m.group(2):
        first, last = _holiday_span(name, int(m.group(2)))
    else:
        first, last = _holiday_span(name, ref.year)
        if ahead and last < ref:
            first, last = _holiday_span(name, ref.year + 1)
        elif not ahead and first > ref:
            first, last = _holiday_span(name, ref.year - 1)
    return first, last, "day" if first == last else "days"


_EN_RULES: list[tuple[re.Pattern[str], Handler, bool]] = [
    (re.compile(r"\b(Christmas Eve|Christmas Day|Christmas|Boxing Day|New Year['’]s Eve|New Year['’]s Day|"
                r"Easter Sunday|Easter|Halloween|Valentine['’]s Day|Thanksgiving)\b(?:,?\s+((?:19|20)\d\d))?", re.I),
     _holiday, False),
    (re.compile(rf"\b{_NUM_WORDS}\s+{_UNITS}\s+(?:ago|back|earlier|before)\b", re.I), _en_ago, True),
    # not "a week in Sicily" (a stay, not a time from now)
    (re.compile(rf"\b(?:in|within|after)\s+{_NUM_WORDS}\s+{_UNITS}(?:'?\s*time)?\b(?!\s+(?:in|at|on|of)\b)", re.I),
     _en_ahead, True),
    (re.compile(rf"\b{_NUM_WORDS}\s+{_UNITS}\s+(?:from now|later)\b", re.I), _en_ahead, True),
    (re.compile(r"\b(?:the day before yesterday|the day after tomorrow|yesterday|last night|tomorrow|today|tonight|this (?:morning|afternoon|evening))\b", re.I), _en_day_word, True),
    (re.compile(r"\b(last|past|previous|this|next|coming)\s+(week|month|year|weekend|summer|winter|spring|autumn|fall)\b", re.I), _en_rel_period, True),
    (re.compile(rf"\b(last|this|next|coming)\s+{_WD}\b", re.I), _en_weekday, True),
    (re.compile(rf"\b(?:(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m1>{_MONTH_NAMES})|(?P<m2>{_MONTH_NAMES})\.?\s+(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?)(?:,?\s+(?P<y>(?:19|20)\d\d))?\b", re.I), _en_day_month_year, False),
    (re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b"), _iso_date, False),
    (re.compile(r"\bon the (\d{1,2})(?:st|nd|rd|th)\b", re.I), _en_day_of_month, False),
    (re.compile(rf"\b{_MONTH_NAMES}(?:,?\s+((?:19|20)\d\d))\b", re.I), _en_month_year, False),
    (re.compile(rf"\b(?:in|during|since|of)\s+{_MONTH_NAMES}\b(?!\s+\d)", re.I), _en_month_year, False),
    (re.compile(r"\b(spring|summer|autumn|fall|winter)\s+(?:of\s+)?((?:19|20)\d\d)\b", re.I), _season_year, False),
    (re.compile(rf"\b(early|mid|late|the start of|the beginning of|the middle of|the end of)[\s-]+(?:of\s+)?"
                rf"{_MONTH_NAMES}\b(?:,?\s+((?:19|20)\d\d))?", re.I), _part_of_month, False),
    (re.compile(r"\b(early|mid|late|the start of|the beginning of|the middle of|the end of)[\s-]+((?:19|20)\d\d)\b",
                re.I), _part_of_year, False),
    (re.compile(r"\b(?:in|during|since|of|year)\s+((?:19|20)\d\d)\b", re.I), _year_only, False),
]

# --------------------------------------------------------------------------- Chinese
_ZH_NUM = r"([0-9]+|[零一二两三四五六七八九十几]+)"


def _zh_day_word(m: re.Match[str], ref: date, ahead: bool) -> Resolution:
    offsets = {"大前天": -3, "前天": -2, "昨天": -1, "昨晚": -1, "昨日": -1, "今天": 0,
               "今晚": 0, "今日": 0, "明天": 1, "明晚": 1, "明日": 1, "后天": 2, "大后天": 3}
    d = ref + timedelta(days=offsets[m.group(0)])
    return d, d, "day"


def _zh_ago_ahead(m: re.Match[str], ref: date, ahead: bool) -> Resolution:
    n = _zh_number(m.group(1))
    unit = m.group(2)
    sign = -1 if m.group(3) in ("前", "以前", "之前") else 1
    return _shift(ref, unit, sign * n)


def _zh_week_day(m: re.Match[str], ref: date, ahead: bool) -> Resolution:
    prefix, wd = m.group(1) or "", _ZH_WEEKDAY[m.group(2)]
    weeks = -1 if prefix.startswith("上") else 1 if prefix.startswith("下") else 0
    d = _week_start(ref) + timedelta(weeks=weeks, days=wd)
    return d, d, "day"


def _zh_period(m: re.Match[str], ref: date, ahead: bool) -> Resolution:
    prefix, unit = m.group(1), m.group(2)
    n = -1 if prefix in ("上", "上个") else 1 if prefix in ("下", "下个") else 0
    if unit == "周末":
        saturday = _week_start(ref) + timedelta(weeks=n, days=5)
        return saturday, saturday + timedelta(days=1), "weekend"
    return _shift(ref, "周" if unit in ("周", "星期", "礼拜") else "月", n)


def _zh_year_word(m: re.Match[str], ref: date, ahead: bool) -> Resolution:
    n = {"前年": -2, "去年": -1, "今年": 0, "明年": 1, "后年": 2}[m.group(0)]
    y = ref.year + n
    return date(y, 1, 1), date(y, 12, 31), "year"


def _zh_absolute(m: re.Match[str], ref: date, ahead: bool) -> Resolution | None:
    year = int(m.group(1)) if m.group(1) else None
    month = _zh_number(m.group(2))
    day = _zh_number(m.group(3)) if m.group(3) else None
    if not 1 <= month <= 12:
        return None
    if year is None:
        year = _year_of(ref, month, day, ahead)
    try:
        if day is None:
            return (*_month_range(year, month), "month")
        d = date(year, month, day)
    except ValueError:
        return None
    return d, d, "day"


def _zh_year(m: re.Match[str], ref: date, ahead: bool) -> Resolution:
    y = int(m.group(1))
    return date(y, 1, 1), date(y, 12, 31), "year"


_ZH_RULES: list[tuple[re.Pattern[str], Handler, bool]] = [
    (re.compile(r"大前天|前天|昨天|昨晚|昨日|今天|今晚|今日|明天|明晚|明日|大后天|后天"), _zh_day_word, True),
    (re.compile(rf"{_ZH_NUM}\s*(天|个星期|个礼拜|周|星期|个月|年)(前|以前|之前|后|以后|之后)"), _zh_ago_ahead, True),
    (re.compile(r"(上上|上个|上|这个|这|本|下个|下)?(?:周|星期|礼拜)([一二三四五六日天])"), _zh_week_day, True),
    (re.compile(r"(上个|上|这个|这|本|下个|下)(周末|周|星期|礼拜|月)"), _zh_period, True),
    (re.compile(r"前年|去年|今年|明年|后年"), _zh_year_word, True),
    # 3月22日, 十月, 三月二十二号 (not 一个月 or 十月份's 份, which the pattern leaves alone)
    (re.compile(r"(?:(\d{4})年)?(\d{1,2}|十[一二]?|[一二三四五六七八九])月(?:(\d{1,2}|[一二三]?十[一二三四五六七八九]?|"
                r"[一二三四五六七八九])[日号])?"), _zh_absolute, False),
    (re.compile(r"(\d{4})年(初|中|底|末)"), _part_of_year_zh, False),
    (re.compile(r"(上个月|上月|这个月|本月|下个月|下月)(\d{1,2}|[一二三]?十[一二三四五六七八九]?|[一二三四五六七八九])[号日]"),
     _zh_day_of_month, True),
    (re.compile(r"(\d{4})年(?!\d{1,2}月)"), _zh_year, False),
]


_DAY_OF_MONTH = (_en_day_of_month, _zh_day_of_month)


def _names_a_day(handler: Handler, m: re.Match[str]) -> bool:
    """Whether a match names a day ("the 10th", "March 22", "十月三号"), not a whole month."""
    if handler in _DAY_OF_MONTH or handler is _en_day_month_year:
        return True
    return handler is _zh_absolute and m.group(3) is not None


def find_mentions(text: str, reference: datetime | date, *, ahead: bool | None = None) -> list[TimeMention]:
    """All time expressions in ``text``, resolved against ``reference``; non-overlapping,
    in order of appearance (the longest match wins where two overlap).  ``ahead``: whether
    dates without a year lie ahead of the reference (default: :func:`dates_lie_ahead`)."""
    ref = reference.date() if isinstance(reference, datetime) else reference
    tense = _tense(text) if ahead is None else ("ahead" if ahead else "behind")
    future = tense == "ahead"
    # a day in a sentence that says neither (no tense, no plan: "Dentist on the 10th,
    # dreading it", "Wedding on October 3rd!") is the nearest such day, ahead or behind;
    # a month without a year still looks back ("in June")
    nearest = tense == "unmarked"
    found: list[TimeMention] = []
    for lang, rules in (("en", _EN_RULES), ("zh", _ZH_RULES)):
        for pattern, handler, relative in rules:
            for m in pattern.finditer(text):
                try:
                    res = _nearer(handler(m, ref, True), handler(m, ref, False), ref) \
                        if nearest and _names_a_day(handler, m) else handler(m, ref, future)
                except (OverflowError, ValueError):  # "2100 years ago" said in year 1: off the calendar
                    continue
                if res is None:
                    continue
                first, last, gran = res
                # a date said without its year is resolved like a relative one, and shown so
                yearless = not re.search(r"\d{4}", m.group(0))
                found.append(TimeMention(m.group(0), m.start(), m.end(), first, last, gran,
                                         relative or yearless, lang))  # type: ignore[arg-type]
    found.sort(key=lambda t: (t.start, -(t.end - t.start)))
    result: list[TimeMention] = []
    for t in found:
        if result and t.start < result[-1].end:
            continue
        result.append(t)
    return result


def annotate(text: str, reference: datetime | date, *, ahead: bool | None = None) -> tuple[str, list[TimeMention]]:
    """``text`` with each relative expression followed by its absolute date in
    parentheses: "yesterday (7 May 2023)", "上周五（2023年5月5日）".  ``ahead`` as in
    :func:`find_mentions` (a rewritten sentence keeps the original's reading)."""
    mentions = find_mentions(text, reference, ahead=ahead)
    out: list[str] = []
    pos = 0
    for t in mentions:
        out.append(text[pos : t.end])
        if t.relative:
            out.append(f"（{t.label()}）" if t.lang == "zh" else f" ({t.label()})")
        pos = t.end
    out.append(text[pos:])
    return "".join(out), mentions

"""The present value of a slot, when updates were not understood at ingestion.

Ingestion supersedes an old value when it parses the new statement ("I moved to
Glasgow").  When it does not ("Our new neighbours in Antwerp brought us waffles"), a
question about the present value of a single-valued slot ("Where does Cal live?") still
has a clue: among the candidates that speak of the slot, the latest statement that
names a value (a proper noun, a number, or the value the parse gave it: an implicit
"accountant" from "the audits never stop") is probably the current one, and an earlier
statement by the same person naming another value (a raw turn: also what the parse of
its message found) is probably outdated.  The latter is
flagged as such (``outdated``, its own state: a guess, not a recorded supersession) and
ranks lower; the former comes first."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from ..consolidate.slots import slots_of
from ..text import has_cjk
from ..timenorm import find_mentions, format_date, speaks_of_past
from ..types import MemoryRecord
from .validity import State

# a question about what was, not what is ("Where did Ana live?", "以前住在哪")
_ASKS_PAST = re.compile(r"\b(did|was|were|used to|before|previous(?:ly)?|formerly|ago|last (?:year|month|week)|"
                        r"originally|first)\b|以前|之前|曾经|当时|那时|原来", re.I)
# slots with several values at once are not replaced by a newer mention
_MULTI = frozenset({"pet", "hobby"})
_CAPITAL = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-zà-ÿ]+(?:\s[A-Z][a-zà-ÿ]+)*)")
_NUMBER = re.compile(r"\d[\d,.]*")
# a date ingestion wrote beside a time word ("tonight (10 February 2022)"): no value
_DATE_NOTE = re.compile(r"\s*[(（][^)）]*\d{4}[^)）]*[)）]")
_NOT_VALUES = frozenset(["I", "I'm", "I've", "I'll", "I'd", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                         "Saturday", "Sunday", "January", "February", "March", "April", "May", "June", "July",
                         "August", "September", "October", "November", "December", "Christmas", "Easter"])
# a line about the present of when it was said
_SAYS_NOW = re.compile(r"\b(now|nowadays|these days|currently|at the moment)\b|现在|如今|目前|这些天", re.I)
# statements said within this of each other belong to one telling, not to two values
SAME_TELLING = timedelta(hours=12)


# a question about when, how long, why or what would be: not about a present value
_NOT_WHAT = re.compile(r"^\s*(when|how long|how often|why|would|could|should)\b|什么时候|多久|多长时间|为什么|会不会",
                       re.I)


def asks_present(query: str, asked: set[str]) -> bool:
    """A question about the present value of a single-valued slot ("Where does Cal
    live?"; not "Where did Cal live?", "When did Cal move?")."""
    return bool(asked - _MULTI) and not _ASKS_PAST.search(query) and not _NOT_WHAT.search(query)


def values_in(text: str, speaker: str | None) -> set[str]:
    """The values a statement names: proper nouns (not the speaker, not dates) and numbers."""
    body = _DATE_NOTE.sub("", text.split(": ", 1)[1] if ": " in text[:60] else text)
    if has_cjk(body):
        from ..text import _jieba

        found = {w for w, tag in _jieba().tag(body) if tag in ("ns", "nr", "nt", "nz", "nrt")}  # type: ignore[attr-defined]
    else:
        found = {m.group(1) for m in _CAPITAL.finditer(body)} - _NOT_VALUES
    found |= set(_NUMBER.findall(body))
    names = set((speaker or "").split())
    return {v for v in found if v not in names and not set(v.split()) <= names}


def values_of(rec: MemoryRecord) -> set[str]:
    """The values a memory names: in its text, and the slot value a parse gave it."""
    found = values_in(rec.text, rec.speaker)
    value = rec.metadata.get("value")
    if rec.kind in ("fact", "profile") and isinstance(value, str) and value:
        found.add(value)
    names = rec.metadata.get("names")  # what the parse took for names ("KPMG", "44k")
    if isinstance(names, dict):
        found |= {str(n) for kind in names.values() if isinstance(kind, list) for n in kind}
    return found


def speaking(records: dict[str, MemoryRecord], ids: list[str], asked: set[str]) -> list[str]:
    """The candidates that speak of an asked single-valued slot: by its words, by the
    slot a parse gave them, or (a statement of the speaker's present) by naming a value
    of the slot's kind ("Edinburgh winters are something" for where one lives)."""
    wanted = asked - _MULTI
    # a raw turn names what the facts of its message name
    named = {m for r in records.values() if kind_named(r, wanted) or r.metadata.get("attribute") in wanted
             for m in r.message_ids}
    return [mid for mid in ids if records[mid].kind in ("turn", "fact", "profile")
            and (slots_of(records[mid].text) & wanted or records[mid].metadata.get("attribute") in wanted
                 or kind_named(records[mid], wanted)
                 or (records[mid].kind == "turn" and named.intersection(records[mid].message_ids)))]


# the kind of name each slot's value is (:mod:`engramos.ingest.mentions`)
SLOT_KINDS: dict[str, tuple[str, ...]] = {"home": ("place",), "employer": ("org",), "school": ("org",),
                                          "partner": ("person",), "car": ("product",), "phone": ("product",),
                                          "salary": ("amount",), "rent": ("amount",), "weight": ("amount",)}


def kind_named(rec: MemoryRecord, slots: set[str]) -> set[str]:
    """The names of a kind one of ``slots`` takes, in a fact that speaks of its speaker's
    present (none in a plan, a past event or a statement about someone else)."""
    names = rec.metadata.get("names")
    if rec.kind != "fact" or not rec.metadata.get("own_now") or not isinstance(names, dict):
        return set()
    return {str(n) for slot in slots for kind in SLOT_KINDS.get(slot, ()) for n in names.get(kind) or []}


def latest_valued(records: dict[str, MemoryRecord], ids: list[str]) -> list[str]:
    """Of statements about a slot, the latest that names a value or ends one ("I
    dropped out of uni"), all of that moment."""
    valued = [mid for mid in ids if values_of(records[mid]) or records[mid].metadata.get("ended")]
    pool = valued or ids
    if not pool:
        return []
    newest = max(records[mid].observed_at for mid in pool)
    return [mid for mid in pool if newest - records[mid].observed_at <= SAME_TELLING]


def outdated(records: dict[str, MemoryRecord], ids: list[str], states: dict[str, State],
             asked: set[str] | None = None) -> dict[str, State]:
    """Earlier statements naming another value of the slot than the latest one, by the
    same person: probably outdated; and (given the ``asked`` slots) any earlier line that
    names such an old value of the slot's kind and not the new one ("Denver's winters
    are brutal" once the latest statement is about Portland)."""
    current = [mid for mid in ids if states.get(mid, State("current")).validity == "current"]
    # a raw turn names what the parse of its message found ("I work as a nurse": nurse)
    parsed: dict[str, set[str]] = {}
    for rec in records.values():
        value = rec.metadata.get("value")
        if rec.kind in ("fact", "profile") and isinstance(value, str) and value:
            for message_id in rec.message_ids:
                parsed.setdefault(message_id, set()).add(value.lower())

    def values(rec: MemoryRecord) -> set[str]:
        found = {v.lower() for v in values_of(rec)}
        return found | {v for m in rec.message_ids for v in parsed.get(m, ())} if rec.kind == "turn" else found

    out: dict[str, State] = {}
    for person in {records[mid].speaker for mid in current}:
        mine = [mid for mid in current if records[mid].speaker == person]
        latest = latest_valued(records, mine)
        if not latest:
            continue
        newest = records[latest[0]]
        now_values = {v for m in latest for v in values(records[m])}
        earlier = [m for m in mine if newest.observed_at - records[m].observed_at > SAME_TELLING]
        # the value was new when the latest statement named it: what was said of the slot
        # before, naming no value ("a burger after five-a-side is the best part of Sunday"
        # before "I've gone plant-based"), was said of what held then
        news = bool(now_values) and not any(_overlap(values(records[m]), now_values) for m in earlier)
        named_old: set[str] = set()  # the values the flagged statements named
        for mid in earlier:
            rec = records[mid]
            old_values = values(rec)
            if mid in latest or (not old_values and not news) or _overlap(old_values, now_values):
                continue
            out[mid] = State("outdated", f"probably outdated: later ({format_date(newest.observed_at.date())}) "
                                         f"{newest.text[:160]}")
            named_old |= values_of(rec)
        if asked:
            out.update(_naming_old(records, states, [m for m in mine if m in out], latest, asked, out, named_old))
    return out


def _naming_old(records: dict[str, MemoryRecord], states: dict[str, State], old: list[str], latest: list[str],
                asked: set[str], flagged: dict[str, State], named: set[str]) -> dict[str, State]:
    """Lines said before the latest statement that name a slot value of the flagged
    ones (what their parse found, a name of the slot's kind, or the names that made them
    flagged: ``named``) and none of the latest."""
    def slot_values(rec: MemoryRecord) -> set[str]:
        value = rec.metadata.get("value") if rec.metadata.get("attribute") in asked else None
        return kind_named(rec, asked) | ({value} if isinstance(value, str) and value else set())

    # a flagged turn names what the facts of its message name ("Work at Barclays is slow")
    messages = {m for mid in old for m in records[mid].message_ids}
    siblings = [mid for mid, r in records.items() if r.kind == "fact" and messages.intersection(r.message_ids)]
    olds = {v for m in dict.fromkeys(old + siblings) for v in slot_values(records[m])} | \
        {v for v in named if v[:1].isupper() or has_cjk(v)}
    news = {v for m in latest for v in slot_values(records[m]) | values_of(records[m])}
    if not olds:
        return {}
    newest = max(records[m].observed_at for m in latest)
    out: dict[str, State] = {}
    for mid, rec in records.items():
        if mid in flagged or rec.kind not in ("turn", "fact", "episode") or \
                states.get(mid, State("current")).validity != "current" or \
                newest - rec.observed_at <= SAME_TELLING:
            continue
        if any(_names(rec.text, v) for v in olds) and not any(_names(rec.text, v) for v in news):
            out[mid] = State("outdated", f"probably outdated: names {', '.join(sorted(olds))[:80]}, "
                                         f"not what was said later ({format_date(newest.date())})")
    return out


def _overlap(old: set[str], new: set[str]) -> bool:
    """Whether two sets of values name the same thing ("Leicester" and "a terrace in
    Leicester", "nurse" and "nurse")."""
    return any(a == b or a in b or b in a for a in old for b in new)


def episodes_of(records: dict[str, MemoryRecord], flagged: dict[str, State],
                states: dict[str, State]) -> dict[str, State]:
    """Episodes holding a line flagged as probably outdated say so (unless they also hold
    the statement that made it so)."""
    stale_messages = {m: st for mid, st in flagged.items() for m in records[mid].message_ids}
    out: dict[str, State] = {}
    for mid, rec in records.items():
        if rec.kind != "episode" or states.get(mid, State("current")).validity != "current":
            continue
        hit = next((stale_messages[m] for m in rec.message_ids if m in stale_messages), None)
        if hit is not None:
            out[mid] = State("outdated", f"one of its lines is {hit.note}")
    return out


_GENERIC = frozenset({"University", "College", "School", "Institute", "Academy", "The", "Of", "New", "Old"})
_ASIDE = re.compile(r"\s*[(（][^)）]*[)）]\s*")


def terms_of(item: MemoryRecord) -> set[str]:
    """How a text would name a profile item's value: its key, its whole value (without
    an aside: "Pepper (beagle)" -> "Pepper"), and the proper names in it ("old Volvo
    estate" -> "Volvo")."""
    meta = item.metadata
    found = set()
    for raw in (meta.get("key"), meta.get("value")):
        if isinstance(raw, str) and raw.strip():
            value = _ASIDE.sub(" ", raw).strip()
            found.add(value)
            found |= {w for w in re.findall(r"\b[A-Z][\w'-]+", value) if w not in _GENERIC}
    return {t for t in found if len(t) >= (2 if has_cjk(t) else 3)}


def _names(text: str, term: str) -> bool:
    if has_cjk(term):
        return term in text
    flags = 0 if term[:1].isupper() else re.I
    return re.search(rf"(?<![\w-]){re.escape(term)}(?![\w-])", text, flags) is not None


def mentions_of_ended(records: dict[str, MemoryRecord], states: dict[str, State],
                      items: list[MemoryRecord], at: datetime) -> dict[str, State]:
    """Turns, episodes and facts said while a profile value held, that name it and no
    value that replaced it ("Pepper chewed my shoes" once Pepper is gone, the assistant's
    "So you're at Spotify?" once the user moved to Netflix): probably outdated at ``at``.
    ``items``: the profile items of the slots the question asks about, in any state."""
    ended = [i for i in items if i.status == "superseded" and i.valid_to is not None and i.valid_to <= at]
    if not ended:
        return {}
    live = [i for i in items if i.status == "active"]
    out: dict[str, State] = {}
    for mid, rec in records.items():
        if rec.kind not in ("turn", "episode", "fact") or states.get(mid, State("current")).validity != "current":
            continue
        for item in ended:
            assert item.valid_to is not None
            if rec.observed_at > item.valid_to - SAME_TELLING or mid == item.id:
                continue
            if not any(_names(rec.text, t) for t in terms_of(item)):
                continue
            attribute = item.metadata.get("attribute")
            now = [t for i in live if i.metadata.get("attribute") == attribute for t in terms_of(i)]
            if any(_names(rec.text, t) for t in now):
                continue  # it names what holds now too: the telling of the change itself
            who = item.metadata.get("subject") or item.speaker or ""
            out[mid] = State("outdated", f"probably outdated: {who}'s {attribute} was "
                                         f"{item.metadata.get('value')} until {format_date(item.valid_to.date())}")
            break
    return out


def mentions_of_later(records: dict[str, MemoryRecord], states: dict[str, State],
                      items: list[MemoryRecord], at: datetime) -> dict[str, State]:
    """For a question about a past time: lines said once a later value held, that name
    it and no value that held at ``at`` ("Rotterdam's architecture is growing on me",
    once "we relocated to Rotterdam" in 2020, asked where Cy lived in 2019): not yet so
    then.  ``items``: the profile items of the asked slots, in any state."""
    def start(i: MemoryRecord) -> datetime:
        return i.valid_from or i.observed_at

    later = [i for i in items if start(i) - at > SAME_TELLING and not i.metadata.get("ended")]
    then = [t for i in items if start(i) <= at and (i.valid_to is None or i.valid_to > at) for t in terms_of(i)]
    out: dict[str, State] = {}
    for mid, rec in records.items():
        if rec.kind not in ("turn", "episode", "fact") or states.get(mid, State("current")).validity != "current":
            continue
        if any(_names(rec.text, t) for t in then):
            continue  # it names what held then too
        for item in later:
            if rec.observed_at >= start(item) - SAME_TELLING and any(_names(rec.text, t) for t in terms_of(item)):
                who = item.metadata.get("subject") or item.speaker or ""
                out[mid] = State("not_yet", f"{who}'s {item.metadata.get('attribute')} was "
                                            f"{item.metadata.get('value')} only from {format_date(start(item).date())}")
                break
    return out


def said_after(records: dict[str, MemoryRecord], states: dict[str, State], at: datetime,
               asked: set[str]) -> dict[str, State]:
    """For a question about a past time ("Where did Fern live in 2020?"): what was said
    of the slot after that time, naming no time at or before it ("Galway has stolen my
    heart, the new flat looks over the bay", said in 2021), speaks of a later present:
    ``not_yet`` at that time (a guess, said as one).  A line that names the earlier time
    ("In 2020 I was still in Cork") stays current."""
    out: dict[str, State] = {}
    current = [m for m in records if states.get(m, State("current")).validity == "current"]
    # a line that says it is about its own present ("I left the hospital and now I do
    # telehealth") speaks of a later present whatever it is about
    now = [m for m in current if records[m].kind in ("turn", "fact") and _SAYS_NOW.search(records[m].text)]
    for mid in dict.fromkeys(speaking(records, current, asked) + now):
        rec = records[mid]
        if rec.observed_at - at <= SAME_TELLING or (rec.event_start is not None and rec.event_start <= at):
            continue
        # a raw turn carries no date of its own: the times it names; a report of what
        # happened, naming no later time and not its present, may be about the time asked
        # ("since I moved from my home country")
        mentions = find_mentions(rec.text, rec.observed_at)
        if any(m.first <= at.date() for m in mentions) or \
                (speaks_of_past(rec.text) and not mentions and not _SAYS_NOW.search(rec.text)):
            continue
        out[mid] = State("not_yet", f"said {format_date(rec.observed_at.date())}, after the time asked about")
    return out


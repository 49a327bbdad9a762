"""Validity at recall: whether each candidate was true at the time a question is about.

The time is ``as_of`` when the caller gives one, else the end of a time the question
names ("in the winter of 2023"), else the reference time (now).  At that time a memory is

* ``current``: in force (a fact not yet superseded, a plan whose date is still ahead);
* ``superseded``: replaced by a newer value before that time (its validity closed), or a
  raw turn, episode or same-sentence fact that said what a superseded memory says (the
  turn "I live in Leeds" once the user moved);
* ``expired``: a plan whose window closed before that time;
* ``not_yet``: a state that begins after that time (or, for a question about an earlier
  time, an event that happened after it);
* ``outdated``: a guess, not a recorded supersession: an earlier statement naming another
  value of a slot than the latest one does (:mod:`.latest`).

Recall keeps what is not current but ranks it below what is (a past plan only under a
question about what lies ahead), and the hit and its context line say why ("until 3 May
2024", "planned for 12 March 2024; that date has passed")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from ..timenorm import format_date, speaks_of_future
from ..types import MemoryRecord, TimeRange, Validity

# the share of its score a hit keeps when it is not true at the time asked about
WEIGHTS: dict[Validity, float] = {"current": 1.0, "superseded": 0.35, "not_yet": 0.35, "expired": 0.5,
                                  "outdated": 0.5}
_ASKS_AHEAD = re.compile(r"\b(plans?|planning|upcoming|coming up|next|soon|future)\b|计划|打算|准备|接下来", re.I)


def asks_ahead(query: str) -> bool:
    """Whether a question is about what lies ahead ("Is Ana going to Reykjavik?")."""
    return speaks_of_future(query) or _ASKS_AHEAD.search(query) is not None


def weight(validity: Validity, *, ahead: bool, open_plans: bool) -> float:
    """A past plan sinks only below a plan still open (``open_plans``: one is among the
    candidates) under a question about what lies ahead (``ahead``), and so does the
    episode it was made in; otherwise, asked about it after its date, it is still the
    evidence, only flagged."""
    if validity == "expired":
        return WEIGHTS[validity] if ahead and open_plans else 1.0
    return WEIGHTS[validity]


@dataclass(frozen=True)
class State:
    validity: Validity
    note: str | None = None
    superseded_by: str | None = None


CURRENT = State("current")


def point_in_time(reference: datetime, as_of: datetime | None, window: TimeRange | None) -> tuple[datetime, bool]:
    """The time validity is judged at, and whether the question asks about a past point
    (then memories said only later are not yet known)."""
    if as_of is not None:
        return as_of, True
    if window is not None and window.end < reference:
        return window.end, True
    return reference, False


def assess(records: dict[str, MemoryRecord], at: datetime, past_point: bool,
           successors: dict[str, MemoryRecord]) -> dict[str, State]:
    """The state of every record at ``at``; ``successors``: a superseded memory's id ->
    the memory that replaced it (where known)."""
    states = {mid: _own_state(rec, at, past_point, successors.get(mid)) for mid, rec in records.items()}
    # what says what a memory that is not current says is in the same state: the raw turn
    # of its message (which carries no validity of its own) and a memory of the same
    # sentence; not an episode, which holds a whole cell of messages
    stale: dict[str, tuple[State, MemoryRecord | None, str]] = {}
    # a guess ("probably a nurse") was drawn from its message's plain statement ("night
    # shifts on the ward again"): the facts of that message that state no slot go with it
    guessed: set[str] = set()
    for mid, state in states.items():
        rec = records[mid]
        # (an ended value kept as such was said by the statement that ended it, which holds)
        if state.validity != "current" and rec.kind not in ("turn", "episode") and not rec.metadata.get("ended"):
            for message_id in rec.message_ids:
                stale.setdefault(message_id, (state, successors.get(mid), rec.text))
                if rec.kind == "profile" and rec.metadata.get("explicit") is False:
                    guessed.add(message_id)
    # ...unless the message was a plan whose date passed and also says something still
    # true ("I work nights, so my sister will walk the dog": the job still holds); a
    # superseded value always marks its turn
    for mid, rec in records.items():
        if states[mid].validity == "current" and rec.kind in ("fact", "profile"):
            for message_id in rec.message_ids:
                if message_id in stale and stale[message_id][0].validity == "expired":
                    del stale[message_id]
    for mid, rec in records.items():
        if states[mid].validity != "current":
            continue
        for message_id in rec.message_ids:
            if message_id not in stale:
                continue
            state, newer, text = stale[message_id]
            said_again = newer is not None and message_id in newer.message_ids
            if said_again:
                continue
            if rec.kind == "turn" or rec.text == text or \
                    (message_id in guessed and rec.kind == "fact" and "attribute" not in rec.metadata):
                states[mid] = state
                break
            if rec.kind == "episode":
                # an episode holds a whole cell: it says which of its lines is stale
                states[mid] = State(state.validity, f"one of its lines: {state.note}", state.superseded_by)
                break
    return states


def _own_state(rec: MemoryRecord, at: datetime, past_point: bool, successor: MemoryRecord | None) -> State:
    if rec.valid_from is not None and rec.valid_from > at:
        return State("not_yet", f"from {format_date(rec.valid_from.date())}")
    if past_point and rec.event_start is not None and rec.event_start > at and rec.kind != "foresight":
        # what happened after the time asked about (said later about that time is fine)
        return State("not_yet", f"happened {format_date(rec.event_start.date())}, after the time asked about")
    if rec.status == "superseded":
        closed = rec.valid_to or (successor.observed_at if successor else None)
        if closed is None or closed <= at:
            note = f"until {format_date(closed.date())}" if closed else "superseded"
            if successor is not None:
                note += f"; replaced by: {successor.text[:160]}"
            return State("superseded", note, successor.id if successor else None)
        return CURRENT  # it was still true at the time asked about
    if rec.kind == "foresight" and rec.valid_to is not None and rec.valid_to <= at:
        when = rec.event_start or rec.valid_to
        return State("expired", f"planned for {format_date(when.date())}; that date has passed")
    return CURRENT

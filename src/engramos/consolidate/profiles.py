"""Profile consolidation: add / update / keep / end.

Each profile draft names a subject (the person it is about), an attribute and a value,
and an identity (:class:`..ingest.statements.Slot`): the attribute for a single-valued
slot (home, job, partner...), attribute and key for a multi-valued one (pet:biscuit,
family:jo).  Against the subject's active items of the same identity:

* the same value (ignoring case, spacing and articles) -> **keep**: nothing new is
  stored; the existing item gains the new message as evidence and some confidence;
* another value -> **update**: every such item is superseded (its validity closes when
  the new one was said) and the new one links to the latest through ``supersedes``;
* a statement that ends the slot ("we said goodbye to Biscuit", "I quit my job") ->
  **end**: the items it ends are superseded, nothing new is stored as current;
* otherwise -> **add**.

A guess ("probably a nurse", from night shifts on the ward) has an identity of its own
per value, so it never replaces what was said outright; a value said outright later
does replace the guesses of the same attribute that name another value, and a statement
that ends the slot ends them too.

Items written by an LLM carry no identity: theirs is the attribute for the
single-valued attributes and attribute:value for the others, as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..ingest.statements import SINGLE_VALUED, norm_value
from ..text import has_cjk
from ..types import MemoryRecord

# confidence an item gains each time its value is said again (up to 1.0)
RESTATED_GAIN = 0.05


def identity_of(meta: dict[str, object]) -> str:
    if isinstance(meta.get("identity"), str):
        return str(meta["identity"])
    attribute = str(meta.get("attribute", ""))
    return attribute if attribute in SINGLE_VALUED else f"{attribute}:{norm_value(meta.get('value', ''))}"


def same_value(a: object, b: object) -> bool:
    x, y = norm_value(a), norm_value(b)
    # a name inside a longer value ("Pepper" in "Pepper (beagle)"); Chinese names are short
    shortest = 2 if has_cjk(x + y) else 4
    return bool(x) and (x == y or (len(x) >= shortest and len(y) >= shortest and (x in y or y in x)))


@dataclass
class ProfileDecision:
    action: Literal["add", "update", "keep", "end"]
    previous: list[MemoryRecord] = field(default_factory=list)  # what it keeps, updates or ends

    @property
    def latest(self) -> MemoryRecord | None:
        return max(self.previous, key=lambda m: m.observed_at) if self.previous else None


def decide(meta: dict[str, object], existing: list[MemoryRecord],
           requested: Literal["add", "update", "delete", "keep"] | None = None) -> ProfileDecision:
    """``meta``: the new item's metadata (attribute, value, identity, ended); ``existing``:
    the subject's items.  ``requested`` is the LLM's operation when there is one:
    ``delete`` ends the matching item, ``update`` replaces the latest item of the
    attribute even when the attribute is multi-valued."""
    identity, value = identity_of(meta), meta.get("value", "")
    active = [m for m in existing if m.status == "active"]
    same = [m for m in active if identity_of(m.metadata) == identity]
    guesses = [m for m in active if identity in SINGLE_VALUED
               and identity_of(m.metadata).startswith(f"{identity}_hint:")]
    if requested == "update" and not same:
        same = [m for m in active if m.metadata.get("attribute") == meta.get("attribute")]
    if requested == "delete" or meta.get("ended"):
        # an item of a multi-valued slot is named by its key ("pet:pepper"): that is the match
        matching = same if ":" in identity else [m for m in same if same_value(m.metadata.get("value", ""), value)]
        # "I quit my job" ends whatever job is held; "said goodbye to Biscuit" only Biscuit
        ends = matching or (same + guesses if identity in SINGLE_VALUED else [])
        return ProfileDecision("end", ends)
    kept = [m for m in same if same_value(m.metadata.get("value", ""), value)]
    if kept:
        return ProfileDecision("keep", kept)
    replaced = same + [m for m in guesses if not same_value(m.metadata.get("value", ""), value)]
    if replaced and (identity in SINGLE_VALUED or requested == "update"):
        return ProfileDecision("update", replaced)
    return ProfileDecision("add")

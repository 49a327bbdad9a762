"""Offline profile consolidation: add / update / keep.

Each profile draft names a speaker, an attribute (job, home, family, likes, dislikes)
and a value.  Against the speaker's active profile items of the same attribute:

* the same value (ignoring case and spacing) -> **keep**: nothing new is stored;
* a single-valued attribute (job, home) with another value -> **update**: the old item
  is superseded (its validity closes when the new one was said) and the new one links
  to it through ``supersedes``;
* otherwise -> **add**.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..types import MemoryRecord

SINGLE_VALUED = frozenset({"job", "home"})


def _norm(value: object) -> str:
    return " ".join(str(value).lower().split())


@dataclass
class ProfileDecision:
    action: Literal["add", "update", "keep", "delete"]
    previous: MemoryRecord | None = None


def decide(attribute: str, value: str, existing: list[MemoryRecord],
           requested: Literal["add", "update", "delete", "keep"] | None = None) -> ProfileDecision:
    """``requested`` is the LLM's operation when there is one: ``delete`` removes the
    matching item, ``update`` replaces the latest item of the attribute even when the
    attribute is multi-valued; the same value is always a keep."""
    same_attr = [m for m in existing if m.metadata.get("attribute") == attribute and m.status == "active"]
    if requested == "delete":
        match = [m for m in same_attr if _norm(m.metadata.get("value", "")) == _norm(value)] or same_attr
        return ProfileDecision("delete", max(match, key=lambda m: m.observed_at)) if match else ProfileDecision("keep")
    for m in same_attr:
        if _norm(m.metadata.get("value", "")) == _norm(value):
            return ProfileDecision("keep", m)
    if (attribute in SINGLE_VALUED or requested == "update") and same_attr:
        latest = max(same_attr, key=lambda m: m.observed_at)
        return ProfileDecision("update", latest)
    return ProfileDecision("add")

"""Scope and filters of a search or listing, and the one test of a memory against them.

:meth:`Filters.matches` is the single definition of what a filter means.  Recall and
expansion apply it to every candidate; the stores push what they can down into SQL
(``store/_filters.py`` builds that SQL from the same fields) and apply ``matches`` to
what they cannot, so no filter can be honoured on one path and forgotten on another.

Metadata conditions, as the peers offer them: ``{"topic": "work"}`` (equality),
``{"priority": {"gte": 2}}``, ``{"tag": {"in": ["a", "b"]}}``, ``{"draft": {"exists":
False}}``.  They test the memory's metadata; a raw turn carries its message's metadata,
and a derived memory the metadata its source messages share.  Ordering conditions
(``gt``/``gte``/``lt``/``lte``) match numbers against numbers and strings against
strings only; ``ne``/``not_in`` also match a memory that lacks the key.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .validation import ID_RULE, valid_id
from .vocab import MemoryKind

if TYPE_CHECKING:
    from .types import MemoryRecord

Scalar = str | int | float | bool
_KEY_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
MAX_METADATA_CONDITIONS = 16
MAX_IN_VALUES = 100


class MetadataCondition(BaseModel):
    """Conditions on one metadata key; all given ones must hold."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    eq: Scalar | None = None
    ne: Scalar | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in", max_length=MAX_IN_VALUES)
    not_in: list[Scalar] | None = Field(default=None, max_length=MAX_IN_VALUES)
    gt: float | str | None = None
    gte: float | str | None = None
    lt: float | str | None = None
    lte: float | str | None = None
    exists: bool | None = None

    @model_validator(mode="after")
    def _some(self) -> MetadataCondition:
        if all(v is None for v in self.model_dump().values()):
            raise ValueError("a condition needs at least one of eq, ne, in, not_in, gt, gte, lt, lte, exists")
        for v in (self.eq, self.ne, self.gt, self.gte, self.lt, self.lte, *(self.in_ or []), *(self.not_in or [])):
            if isinstance(v, float) and not math.isfinite(v):
                raise ValueError("numbers in conditions must be finite")
        return self

    def holds(self, present: bool, value: Any) -> bool:
        if self.exists is not None and self.exists != present:
            return False
        if self.eq is not None and not (present and same(value, self.eq)):
            return False
        if self.ne is not None and present and same(value, self.ne):
            return False
        if self.in_ is not None and not (present and any(same(value, v) for v in self.in_)):
            return False
        if self.not_in is not None and present and any(same(value, v) for v in self.not_in):
            return False
        for op, bound in (("gt", self.gt), ("gte", self.gte), ("lt", self.lt), ("lte", self.lte)):
            if bound is not None and not (present and _ordered(op, value, bound)):
                return False
        return True


def same(value: Any, wanted: Scalar) -> bool:
    """Equality as JSON sees it: booleans equal only booleans, 1 equals 1.0."""
    if isinstance(wanted, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(wanted, bool) and value == wanted
    if isinstance(wanted, str) or isinstance(value, str):
        return isinstance(value, str) and isinstance(wanted, str) and value == wanted
    return isinstance(value, int | float) and value == wanted


def is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _ordered(op: str, value: Any, bound: float | str) -> bool:
    if is_number(bound):
        if not is_number(value):
            return False
    elif not isinstance(value, str):
        return False
    if op == "gt":
        return bool(value > bound)
    if op == "gte":
        return bool(value >= bound)
    if op == "lt":
        return bool(value < bound)
    return bool(value <= bound)


class Filters(BaseModel):
    """Scope and filters of a search or listing.  ``space`` is always applied (by the
    facade); every field given here narrows further."""

    model_config = ConfigDict(extra="forbid")

    user_id: str | None = None
    agent_id: str | None = None
    conversation_id: str | None = None
    session_id: str | None = None
    kinds: list[MemoryKind] | None = None
    speaker: str | None = None
    metadata: dict[str, Scalar | MetadataCondition] | None = None
    include_inactive: bool = False  # every status: superseded, archived, expired, deleted
    include_archived: bool = False  # active and archived memories

    @field_validator("user_id", "agent_id", "conversation_id", "session_id", "speaker")
    @classmethod
    def _ids(cls, value: str | None) -> str | None:
        if value is not None and not valid_id(value):
            raise ValueError(ID_RULE)
        return value

    @field_validator("metadata")
    @classmethod
    def _keys(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        if len(value) > MAX_METADATA_CONDITIONS:
            raise ValueError(f"at most {MAX_METADATA_CONDITIONS} metadata conditions")
        for key, cond in value.items():
            if not _KEY_RE.match(key):
                raise ValueError(f"metadata key {key!r} must be 1-64 letters, digits, '_', '.' or '-'")
            if isinstance(cond, float) and not math.isfinite(cond):
                raise ValueError(f"metadata.{key}: numbers must be finite")
            values = cond.model_dump().values() if isinstance(cond, MetadataCondition) else [cond]
            flat = [x for v in values for x in (v if isinstance(v, list) else [v])]
            if any(isinstance(x, str) and "\x00" in x for x in flat):
                raise ValueError(f"metadata.{key}: text with a NUL character matches nothing stored")
        return value

    def conditions(self) -> list[tuple[str, MetadataCondition]]:
        """The metadata conditions, a bare value read as equality."""
        return [(k, c if isinstance(c, MetadataCondition) else MetadataCondition(eq=c))
                for k, c in (self.metadata or {}).items()]

    def matches(self, rec: MemoryRecord) -> bool:
        """Whether a memory passes these filters (search semantics: active memories only
        unless ``include_inactive``)."""
        if rec.status != "active" and not self.include_inactive \
                and not (self.include_archived and rec.status == "archived"):
            return False
        scope = ((self.user_id, rec.user_id), (self.agent_id, rec.agent_id),
                 (self.conversation_id, rec.conversation_id), (self.session_id, rec.session_id),
                 (self.speaker, rec.speaker))
        if any(want is not None and want != have for want, have in scope):
            return False
        if self.kinds and rec.kind not in self.kinds:
            return False
        return all(cond.holds(key in rec.metadata, rec.metadata.get(key)) for key, cond in self.conditions())

    def beyond(self, pushed: set[str]) -> bool:
        """Whether any field outside ``pushed`` (the names a search path applies
        itself) is set, so that the path must also apply :meth:`matches`."""
        given = {name for name in ("user_id", "agent_id", "conversation_id", "session_id", "kinds", "speaker",
                                   "metadata") if getattr(self, name)}
        return bool(given - pushed)

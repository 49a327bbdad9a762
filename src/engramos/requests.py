"""The typed requests of recall, defined once.

:class:`SearchRequest`, :class:`ContextRequest` and :class:`AnswerRequest` are the
argument of ``Memory.search`` / ``context`` / ``answer``, the REST request bodies, the
client's payloads, the MCP tools' inputs and what the CLI builds from its options, so
each field and each default exists in one place.  Adding a search option means adding a
field here and reading it in recall; every surface then carries it.

For convenience the scope fields of :class:`Filters` (``user_id``, ``agent_id``,
``conversation_id``, ``session_id``, ``speaker``, ``kinds``, ``metadata``,
``include_inactive``) may also be given at the top level; they are folded into
``filters`` (giving one in both places with different values is an error).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from .errors import InvalidInputError
from .filters import Filters
from .types import TimeRange
from .validation import clean_text, parse_timestamp, validated

MAX_QUERY_CHARS = 4000
SHORTHAND = tuple(name for name in Filters.model_fields)

R = TypeVar("R", bound="SearchRequest")


class SearchRequest(BaseModel):
    """A recall: ranked hits with score breakdown and citations."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS, description="A question, keywords or dialogue.")
    filters: Filters = Field(default_factory=Filters, description="Scope (user, agent, conversation...) and "
                             "conditions on kind, speaker and metadata.")
    top_k: int = Field(default=10, ge=1, le=1000, description="How many hits.")
    time_range: TimeRange | None = Field(default=None, description="Keep and favour memories whose event (or "
                                         "said) time overlaps this range; [start, end] is accepted.")
    reference_time: datetime | None = Field(default=None, description="'Now' for relative words in the query "
                                            "('last week'); default: the current time.")
    as_of: datetime | None = Field(default=None, description="Judge what was true at this time (a superseded "
                                   "fact that still held then counts as current); default: a time the query "
                                   "names, else the reference time.")
    expand: bool = Field(default=True, description="Add neighbouring turns and cell episodes.")
    agentic: bool = Field(default=False, description="With an LLM: check the evidence and, if it is not "
                          "enough, search again with complementary queries.")
    collapse: bool = Field(default=True, description="Count distinct evidence: a turn, its facts and its "
                           "episode come back as one hit (the best-ranked), the others listed in its "
                           "`covers`; false: every representation is a hit of its own.")
    mounts: list[str] = Field(default_factory=list, max_length=16, description="Also search these mounts "
                              "(other spaces' memory shared with this one; '*': every mount); their hits "
                              "carry `source`.")

    @model_validator(mode="before")
    @classmethod
    def _fold_shorthand(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not any(k in data for k in SHORTHAND):
            return data
        data = dict(data)
        given = data.get("filters")
        filters = given.model_dump(exclude_defaults=True) if isinstance(given, Filters) else dict(given or {})
        for name in SHORTHAND:
            if name not in data:
                continue
            value = data.pop(name)
            if value is None:
                continue
            if name in filters and filters[name] is not None and filters[name] != value:
                raise ValueError(f"{name} is given twice, at the top level and in filters, with different values")
            filters[name] = value
        data["filters"] = filters
        return data

    @field_validator("query", mode="before")
    @classmethod
    def _clean_query(cls, value: Any) -> Any:
        return clean_text(value, "query", MAX_QUERY_CHARS) if isinstance(value, str) else value

    @field_validator("reference_time", "as_of", mode="before")
    @classmethod
    def _timestamps(cls, value: Any, info: ValidationInfo) -> Any:
        return None if value is None else parse_timestamp(value, str(info.field_name))

    @field_validator("time_range", mode="before")
    @classmethod
    def _time_range(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            if len(value) != 2:
                raise ValueError("must be [start, end]")
            value = {"start": value[0], "end": value[1], "source": "caller"}
        if isinstance(value, dict):
            value = {**value, "start": parse_timestamp(value.get("start"), "time_range.start"),
                     "end": parse_timestamp(value.get("end"), "time_range.end")}
            if value["end"] < value["start"]:
                raise ValueError("end is before start")
        return value

    @classmethod
    def of(cls: type[R], request: R | str | None, options: dict[str, Any]) -> R:
        """The request a call describes: a request object (with ``options`` overriding its
        fields), a query string with ``options`` as the other fields, or None with every
        field, ``query`` included, in ``options``."""
        if request is None:
            return validated(cls, options)
        if isinstance(request, cls):
            if not options:
                return request
            data = {**request.model_dump(exclude_unset=True), **options}
        elif isinstance(request, str):
            data = {"query": request, **options}
        elif isinstance(request, SearchRequest):
            data = {**request.model_dump(exclude_unset=True), **options}
        else:
            raise InvalidInputError("query", f"must be a string or a {cls.__name__}, got {type(request).__name__}")
        return validated(cls, data)

    def payload(self) -> dict[str, Any]:
        """The JSON body that carries this request (REST, client)."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True, exclude_none=True)


class ContextRequest(SearchRequest):
    """A context block: the best evidence within a token budget, as prompt text."""

    top_k: int = Field(default=50, ge=1, le=1000, description="Candidates considered for the block.")
    collapse: bool = Field(default=False, description="Pack from distinct hits only; by default the packer "
                           "sees every representation (a fact, its turn, its episode) and takes, within "
                           "the budget, what adds evidence not yet in the block.")
    budget_tokens: int | None = Field(default=None, ge=32, le=200_000, description="Token budget "
                                      "(cl100k_base); default: the configured recall budget.")
    working: bool = Field(default=False, description="Start with the conversation's working memory "
                          "(filters.conversation_id): a block that stays the same from one question to "
                          "the next, so serving engines reuse its cached prefix; the question's own "
                          "evidence follows, within the same budget.")


class AnswerRequest(ContextRequest):
    """An answer from memory by the configured LLM, citing message ids."""

    agentic: bool = Field(default=True, description="Check the evidence and search again when it is not enough.")

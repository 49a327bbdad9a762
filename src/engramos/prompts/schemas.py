"""Response schemas of the LLM calls (validated with pydantic)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class BoundaryDecision(BaseModel):
    """Indices (in the window) of messages that START a new episode, and whether the last
    episode of the window may continue with messages not yet seen."""

    boundaries: list[int] = Field(default_factory=list)
    wait_for_more: bool = True


class Episode(BaseModel):
    title: str
    narrative: str


class ExtractedFact(BaseModel):
    text: str
    speaker: str | None = None
    event_date: str | None = None  # ISO date (YYYY-MM-DD) when the fact names one
    message_ids: list[str] = Field(default_factory=list)
    # the slot of a person's life the fact states, if any (home, job, employer, partner,
    # family, pet, diet, school, car, phone, hobby, rent, salary, weight)
    subject: str | None = None
    attribute: str | None = None
    value: str | None = None


class ExtractedForesight(BaseModel):
    text: str
    start: str | None = None  # ISO date from which it holds
    end: str | None = None  # ISO date until which it holds
    message_ids: list[str] = Field(default_factory=list)


class ProfileOperation(BaseModel):
    op: Literal["add", "update", "delete", "keep"]
    person: str
    attribute: str
    value: str
    kind: Literal["explicit", "implicit"] = "explicit"
    message_ids: list[str] = Field(default_factory=list)


class Extraction(BaseModel):
    episode: Episode
    facts: list[ExtractedFact] = Field(default_factory=list)
    foresight: list[ExtractedForesight] = Field(default_factory=list)
    profile: list[ProfileOperation] = Field(default_factory=list)


class UpdateLabel(BaseModel):
    fact: int  # index of the new fact
    label: Literal["duplicate", "update", "contradiction", "independent"]
    older: int | None = None  # index of the older fact it duplicates / updates / contradicts


class UpdateLabels(BaseModel):
    labels: list[UpdateLabel] = Field(default_factory=list)


class Sufficiency(BaseModel):
    sufficient: bool
    queries: list[str] = Field(default_factory=list, max_length=3)


class Answer(BaseModel):
    answer: str
    message_ids: list[str] = Field(default_factory=list)


class Judgement(BaseModel):
    label: Literal["CORRECT", "WRONG"]


class CompactItem(BaseModel):
    attribute: str
    value: str
    kind: Literal["explicit", "implicit"] = "explicit"
    sources: list[int] = Field(default_factory=list)  # indices of the items it replaces


class ProfileCompaction(BaseModel):
    items: list[CompactItem] = Field(default_factory=list)

"""Prompts are code: each is a :class:`~.base.Prompt` object (name, version, context
type, pydantic response schema, render), and its id is recorded with what it produced."""

from .base import Prompt
from .memory_prompts import BOUNDARY, COMPACTION, EXTRACTION, UPDATES
from .recall_prompts import ANSWER, JUDGE, SUFFICIENCY

PROMPTS: tuple[Prompt, ...] = (BOUNDARY, EXTRACTION, UPDATES, COMPACTION, SUFFICIENCY, ANSWER, JUDGE)

__all__ = ["ANSWER", "BOUNDARY", "COMPACTION", "EXTRACTION", "JUDGE", "PROMPTS", "SUFFICIENCY", "UPDATES", "Prompt"]

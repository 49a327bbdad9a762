"""A prompt is one object: a name, a version, the type of its context, the pydantic
schema of its response, and a function from the context to chat messages.  Its ``id``
(``name/version``) is stamped on what it produces; ``tests/prompt_versions.json`` holds
a fingerprint of every prompt's rendering, so that a changed text without a new version
fails the test-suite."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from pydantic import BaseModel

if TYPE_CHECKING:
    from ..providers.llm import ChatModel

C = TypeVar("C", bound=BaseModel)
R = TypeVar("R", bound=BaseModel)
ChatMessages = list[dict[str, str]]


@dataclass(frozen=True)
class Prompt(Generic[C, R]):
    name: str
    version: int
    Context: type[C]
    response: type[R]
    render_fn: Callable[[C], ChatMessages]

    @property
    def id(self) -> str:
        return f"{self.name}/{self.version}"

    def render(self, context: C) -> ChatMessages:
        return self.render_fn(context)

    def ask(self, llm: ChatModel, context: C, *, purpose: str | None = None) -> R:
        """One structured call: the rendered messages, validated against ``response``;
        the LLM's usage is counted under ``purpose`` (default: the prompt's name)."""
        return llm.structured(self.render(context), self.response, purpose=purpose or self.name)

    def fingerprint(self, context: C) -> str:
        """sha256 of the rendering of ``context`` (the schema is part of the text)."""
        return hashlib.sha256(json.dumps(self.render(context), ensure_ascii=False).encode()).hexdigest()


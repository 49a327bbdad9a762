"""What both backends share about entities: the normalised name an entity is found by,
and when a person's shorter name is an alias of a longer one."""

from __future__ import annotations

import re

_LEADING = re.compile(r"^(?:the|a|an|my|our|his|her|their)\s+", re.I)
_POSSESSIVE = re.compile(r"(?:'s|’s|s')$", re.I)
MIN_ALIAS = 3  # "Mel" for "Melanie"; "Al" is too short to say who


def entity_key(name: str) -> str:
    """"The Louvre" -> "louvre", "Melanie's" -> "melanie", "  New  York " -> "new york"."""
    key = re.sub(r"\s+", " ", name.strip()).lower()
    key = _LEADING.sub("", key)
    return _POSSESSIVE.sub("", key).strip(" .,;:!?\"'()[]")


def is_alias(short: str, long: str) -> bool:
    """A person's shorter name that starts the longer one ("mel" / "melanie", "jon" /
    "jon smith"), not a mere shared prefix of two whole names ("ann" / "anna" counts,
    "anna" / "annabel" counts too: a nickname is a prefix)."""
    return len(short) >= MIN_ALIAS and short != long and long.startswith(short)

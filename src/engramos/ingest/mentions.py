"""The names a statement mentions, by kind (places, organisations, people, products,
amounts), and whether it speaks of its speaker's present.

Recall uses them for what no slot rule read: a question about the present value of a
slot ("Where does Lina live?") can take a later statement of the speaker's own present
that names a value of the slot's kind ("Edinburgh winters are something") as a probable
update, though no rule parsed it as one (:mod:`engramos.recall.latest`).  English names
come from spaCy's entities, Chinese ones from jieba's tags."""

from __future__ import annotations

import re
from typing import Any

from .parse_zh import KNOWN_ORGS
from .slot_vocab import CAR_BRANDS, FAMILY, PARTNER, PHONE_WORDS

# spaCy entity label -> kind of name
_KINDS = {"GPE": "place", "LOC": "place", "FAC": "place", "ORG": "org", "PERSON": "person", "PRODUCT": "product",
          "MONEY": "amount", "QUANTITY": "amount"}
_ZH_KINDS = {"ns": "place", "nt": "org", "nz": "org", "nr": "person"}
_OTHERS = frozenset({"he", "she", "they", "you", "it"})
_FUTURE_ZH = re.compile(r"要|打算|准备|计划|将|下周|下个月|明年|想")
MAX_NAMES = 8  # per statement: enough to judge, bounded in the metadata


def mentions_en(doc: Any, speaker: str) -> tuple[dict[str, list[str]], bool]:
    """(names by kind, whether the sentence speaks of the speaker's present: a verb in
    the present or present perfect, and no other person as a subject)."""
    names: dict[str, list[str]] = {}
    for ent in doc.ents:
        kind = _KINDS.get(ent.label_)
        text = ent.text.strip()
        if kind in ("org", "product") and _in_a_place(ent):
            kind = "place"  # the small model takes "in Bristol" for an organisation now and then
        if kind == "amount" and not any(ch.isdigit() for ch in text):
            continue
        if kind and text and text != speaker:
            names.setdefault(kind, []).append(text)
    for tok in doc:  # brands the small model does not tag ("the new Hyundai Ioniq")
        if tok.lower_ in CAR_BRANDS | PHONE_WORDS and tok.pos_ == "PROPN":
            names.setdefault("product", []).append(tok.text)
        if tok.lower_.endswith("k") and tok.lower_[:-1].replace(".", "").isdigit():
            names.setdefault("amount", []).append(tok.text)  # "44k" is no entity
    names = {k: list(dict.fromkeys(v))[:MAX_NAMES] for k, v in names.items()}
    others = any(t.dep_ in ("nsubj", "nsubjpass") and (t.lower_ in _OTHERS or t.ent_type_ == "PERSON"
                                                      or t.lemma_.lower() in FAMILY | PARTNER) for t in doc)
    present = any(t.tag_ in ("VBZ", "VBP") and t.lower_ not in ("will", "'ll") for t in doc)
    future = any(t.tag_ == "MD" for t in doc) or any(t.lower_ == "going" and t.nbor(1).lower_ == "to"
                                                     for t in doc if t.i + 1 < len(doc))
    return names, present and not others and not future


def _in_a_place(ent: Any) -> bool:
    """Whether a name is where something happens ("along the canal in Bristol"), by the
    preposition it hangs from; "at" and "for" take organisations as often as places."""
    head = ent.root.head
    return ent.root.dep_ == "pobj" and head.lower_ in ("in", "near", "around", "outside") and \
        ent.root.ent_type_ != "" and len(ent) <= 3


def mentions_zh(toks: list[tuple[str, str]], speaker: str, sentence: str) -> tuple[dict[str, list[str]], bool]:
    names: dict[str, list[str]] = {}
    for word, tag in toks:
        kind = "org" if word in KNOWN_ORGS else _ZH_KINDS.get(tag)
        if kind and word != speaker and len(word) >= 2:
            names.setdefault(kind, []).append(word)
    names = {k: list(dict.fromkeys(v))[:MAX_NAMES] for k, v in names.items()}
    others = any(w in ("他", "她", "他们", "她们", "你") for w, _ in toks)
    return names, not others and not _FUTURE_ZH.search(sentence)

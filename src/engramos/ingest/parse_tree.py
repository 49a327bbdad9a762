"""Reading spaCy's English dependency tree: a token's dependents and prepositional
objects, the phrase of a noun, a name attached to it, whether a word is a place or a job
title, and a verb's mood and tense (:mod:`.slot_rules` builds its rules on these)."""

from __future__ import annotations

from typing import Any

from .slot_vocab import JOB_ENDINGS, JOBS, NOT_JOBS, PLACE_ENTS, TRADE_ENDINGS, WORK_QUALIFIERS

Tok = Any  # spacy.tokens.Token (spaCy's stubs are partial)


def _children(tok: Tok, *deps: str) -> list[Tok]:
    return [c for c in tok.children if c.dep_ in deps]


def _prep_objects(tok: Tok, *preps: str) -> list[Tok]:
    """Objects of the given prepositions under ``tok`` ("live in -> Leeds")."""
    found = []
    for p in tok.children:
        if p.dep_ in ("prep", "dative", "agent") and p.lower_ in preps:
            found.extend(_children(p, "pobj"))
    return found


def _negated(verb: Tok) -> bool:
    if _children(verb, "neg"):
        return True
    return any(c.lower_ == "longer" and any(g.lower_ == "no" for g in c.children) for c in verb.children)


def _phrase(tok: Tok) -> str:
    """A noun's phrase: its entity and its modifiers ("a Tesla Model 3" -> "Tesla Model
    3", "St Mary 's" -> "St Mary's"), without determiner, possessor, preposition or
    clause."""
    left = [c for c in tok.lefts if c.dep_ in ("compound", "amod", "nmod", "nummod", "npadvmod")]
    right = [c for c in tok.rights if c.dep_ in ("nummod", "compound") or (c.dep_ == "appos" and c.like_num)]
    start = min([tok.i] + [c.left_edge.i for c in left])
    end = max([tok.i] + [c.right_edge.i for c in right])
    ent = next((e for e in tok.doc.ents if e.start <= tok.i < e.end), None)
    if ent is not None and ent.label_ not in ("CARDINAL", "DATE", "TIME"):
        start, end = min(start, ent.start), max(end, ent.end - 1)
    words: list[str] = []
    for t in tok.doc[start: end + 1]:
        if t.dep_ == "case" and words:  # "St Mary 's"
            words[-1] += t.text
        elif t.tag_ not in ("PRP$", "DT", "POS") and t.dep_ not in ("punct", "poss"):
            words.append(t.text)
    return " ".join(words).strip()


def _is_place(tok: Tok) -> bool:
    return tok.ent_type_ in PLACE_ENTS or (tok.pos_ == "PROPN" and tok.ent_type_ not in ("PERSON", "DATE", "TIME"))


def _name_of(tok: Tok) -> str | None:
    """A name attached to a noun: "my dog Biscuit", "my sister, Jo,", "a kitten called
    Miso", "my dog is called Biscuit"."""
    for c in tok.children:
        if c.dep_ in ("appos", "compound") and c.pos_ == "PROPN" and c.i > tok.i:
            return _phrase(c)
        if c.dep_ == "acl" and c.lemma_ in ("call", "name"):
            for o in _children(c, "oprd", "attr", "dobj", "xcomp", "npadvmod"):
                if o.pos_ in ("PROPN", "NOUN"):
                    return _phrase(o)
    head = tok.head
    if tok.dep_ == "compound" and head.pos_ == "PROPN":  # "my rabbit Clover" parsed as a compound
        return str(head.text)
    following = tok.doc[tok.i + 1] if tok.i + 1 < len(tok.doc) else None
    if following is not None and following.pos_ == "PROPN" and following.ent_type_ not in ("GPE", "DATE", "ORG"):
        return _phrase(following)  # "my rabbit Clover is ten", however the parser hung it
    if tok.dep_ in ("nsubj", "nsubjpass") and head.lemma_ in ("call", "name"):
        for o in _children(head, "oprd", "attr", "xcomp", "dobj"):
            return _phrase(o)
    if tok.dep_ == "nsubj" and head.lemma_ == "be":
        for o in _children(head, "attr"):
            if o.pos_ == "PROPN":
                return _phrase(o)
    return None


def _lasting(v: Tok) -> bool:
    """"for two years", "for months": how long a state has lasted."""
    return any(t.lemma_ in ("year", "month", "week") for o in _prep_objects(v, "for") for t in o.subtree)


def _activity(word: str) -> str:
    """One key for an activity however it is said ("climbing", "climb"; "swimming",
    "swim"; "hiking", "hike")."""
    w = word.lower()
    if w.endswith("ing") and len(w) > 5:
        w = w[:-3]
        if len(w) > 2 and w[-1] == w[-2]:
            w = w[:-1]
    return w[:-1] if w.endswith("e") and len(w) > 3 else w


def _role(tok: Tok) -> str:
    """A role with what qualifies it ("head of sales", "senior product manager")."""
    base = _phrase(tok)
    of = _prep_objects(tok, "of")
    return f"{base} of {_phrase(of[0])}" if of else base


def _hypothetical(v: Tok) -> bool:
    """A verb under a modal other than "will" ("would", "could", "should", "might",
    "can") or a wish ("want to", "hope to"): not something that is so."""
    if any(c.tag_ == "MD" and c.lower_ not in ("will", "'ll", "shall", "wo") for c in _children(v, "aux")):
        return True
    head = v.head
    return v.dep_ == "xcomp" and head.lemma_ in ("want", "wanna", "hope", "wish", "like", "love", "plan", "dream")


def _plain_tense(v: Tok) -> bool:
    """A verb that states how things are or were, not a plan: present or past, with no
    auxiliary ("I work", "I moved"; not "I will move", "I'm moving", "I want to move")."""
    return v.tag_ in ("VBZ", "VBP", "VBD") and not _children(v, "aux", "auxpass") and v.dep_ != "xcomp"


def _job_title(tok: Tok) -> bool:
    """A job title: a known one, one that ends like a trade ("-ist", "-ian", "-or"), or an
    "-er" word that is qualified as work ("a freelance designer", "a baker at Gail's")."""
    if tok.pos_ not in ("NOUN", "PROPN"):
        return tok.lower_ in ("retired", "unemployed")
    lemma = tok.lemma_.lower()
    if lemma in NOT_JOBS:
        return False
    if lemma in JOBS or lemma.endswith(TRADE_ENDINGS):
        return True
    qualified = any(c.dep_ == "prep" and c.lower_ in ("at", "for") for c in tok.children) or \
        any(c.lower_ in WORK_QUALIFIERS for c in tok.lefts)
    return lemma.endswith(JOB_ENDINGS) and qualified

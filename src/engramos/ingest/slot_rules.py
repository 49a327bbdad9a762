"""Slot rules over an English dependency parse: who a statement is about, and what it
says about their home, job, employer, partner, family, pets, diet, school, car, phone,
hobbies and likes, and numbers (rent, salary, weight).

Each rule reads a verb's lemma, its resolved subject and its dependents (a preposition
and its object, a direct object, an attribute of "be"), or a noun with its possessor
("our new flat in Porto", "my dog Biscuit").  Entity types tell a place or an
organisation from a common noun.  What no rule covers is simply not a slot: the
sentence is still stored as a fact and found by search."""

from __future__ import annotations

import itertools
import re
from dataclasses import replace
from typing import Any

from .occupations import trade_of
from .parse_tree import (
    _activity,
    _children,
    _hypothetical,
    _is_place,
    _job_title,
    _lasting,
    _name_of,
    _negated,
    _phrase,
    _plain_tense,
    _prep_objects,
    _role,
)
from .slot_vocab import (
    CAR_BRANDS,
    DIETS,
    DOING_JOB,
    FAMILY,
    FIRST_UNITS,
    HOME_NOUNS,
    HOME_PEOPLE,
    JOB_NOUNS,
    NUMERIC,
    ORDINALS,
    PARTNER,
    PETS,
    PHONE_WORDS,
    PLACE_ENTS,
    SCHOOL_WORDS,
    STUDY_NOUNS,
    TAKE_JOB,
    WORK_SPELLS,
    WORKPLACES,
)
from .statements import Slot, settle

Tok = Any  # spacy.tokens.Token (spaCy's stubs are partial)

class _Reader:
    """The slots of one parsed sentence said by ``speaker`` (to ``addressee``)."""

    def __init__(self, doc: Any, speaker: str, addressee: str | None) -> None:
        self.doc, self.speaker, self.addressee = doc, speaker, addressee
        self.found: list[tuple[str, Slot]] = []
        self.current_verb: Tok | None = None  # the verb a rule is reading, if any

    def add(self, who: str | None, slot: Slot) -> None:
        verb = self.current_verb
        if verb is not None and _hypothetical(verb):
            return  # "Caroline would be a great counselor", "I could teach"
        if verb is not None and _plain_tense(verb):
            slot = replace(slot, now=True)
        if slot.attribute == "home" and any(w in slot.value.lower().split() for w in SCHOOL_WORDS):
            return  # "moved to Edinburgh Uni": a school, not a home
        if who and slot.value and (who, slot) not in self.found:
            self.found.append((who, slot))

    # who
    def who(self, tok: Tok | None) -> str | None:
        if tok is None:
            return None
        low = tok.lower_
        if low in ("i", "we", "me", "us", "my", "our", "myself"):
            return self.speaker
        if low in ("you", "your") and self.addressee:
            return self.addressee
        if tok.ent_type_ == "PERSON":
            return _phrase(tok)
        if tok.pos_ == "NOUN":
            owner = next((c for c in tok.children if c.dep_ == "poss"), None)
            if owner is not None and self.who(owner) and tok.lemma_ in FAMILY | PARTNER:
                return f"{self.who(owner)}'s {tok.lemma_}"
        return None

    def subject(self, verb: Tok, depth: int = 0) -> str | None:
        subj = _children(verb, "nsubj", "nsubjpass")
        if subj:
            return self.who(subj[0])
        if verb.tag_ in ("VBD", "VBN", "VBG") and verb.dep_ in ("ROOT", "advcl") and \
                all(t.dep_ in ("advmod", "intj", "punct", "cc", "aux", "auxpass") for t in verb.doc[: verb.i]):
            # a subjectless report opening the sentence: "Moved to Glasgow last week!",
            # "Just started...", "Got laid off on Friday, the agency lost its client"
            return self.speaker
        if verb.tag_ in ("VBD", "VBN", "VBG") and not any(t.dep_ in ("nsubj", "nsubjpass", "expl")
                                                           for t in verb.doc):
            return self.speaker  # a fragment with no subject at all: "Back home and working as..."
        # a clause hung on another without a subject of its own ("I've swapped the kitchen
        # for a desk: started as an analyst") shares that one's
        if depth < 3 and verb.dep_ in ("conj", "xcomp", "advcl", "ccomp", "dep", "parataxis") and \
                verb.head is not verb:
            return self.subject(verb.head, depth + 1)
        return None

    # rules
    def read(self) -> list[tuple[str, Slot]]:
        for tok in self.doc:
            if tok.pos_ in ("VERB", "AUX"):
                self.verb(tok)
            elif tok.pos_ in ("NOUN", "PROPN", "ADJ"):
                self.current_verb = None
                self.noun(tok)
        self.numbers()
        self.habit()
        self.implicit_job()
        return settle(self.found)

    def habit(self) -> None:
        """An activity said with how often one does it, without a verb or a subject:
        "CrossFit at 6am, four days a week", "Climbing gym three nights a week"."""
        if not _HOW_OFTEN.search(self.doc.text) or any(t.dep_ in ("nsubj", "nsubjpass") and t.lower_ not in
                                                      ("i", "we") and t.i < 3 for t in self.doc):
            return
        first = self.doc[0]
        if first.dep_ == "ROOT" and first.pos_ in ("NOUN", "PROPN") and first.lemma_.lower() not in _CHORES:
            name = " ".join(t.text for t in self.doc[: first.i + 1])
        elif first.tag_ == "VBG" and not _children(first, "nsubj"):
            name = first.lower_
        else:
            return
        self.add(self.speaker, Slot("hobby", name, key=_activity(name.split()[-1].lower())))

    def implicit_job(self) -> None:
        """The speaker's trade, from the working words of their own day (no job said)."""
        if any(slot.attribute == "job" for _, slot in self.found):
            return
        # the speaker's own day: said in the first person, or about no one else ("Rewired
        # three kitchens today", "First month at Deloitte done, the audits never stop")
        others = any(t.dep_ in ("nsubj", "nsubjpass") and (t.lower_ in ("he", "she", "they", "you")
                                                          or t.ent_type_ == "PERSON") for t in self.doc)
        own = any(t.lower_ in ("i", "my", "me", "we", "our") for t in self.doc) or not others
        if not own:
            return
        words = [t.lemma_.lower() for t in self.doc] + [t.lower_ for t in self.doc]
        words += [w[:-1] for w in words if w.endswith("s")]  # the small model leaves some plurals ("audits")
        words += [f"{a.lower_} {b.lower_}" for a, b in zip(self.doc, self.doc[1:], strict=False)]
        trade = trade_of(words, "en")
        if trade:
            self.current_verb = None
            self.add(self.speaker, Slot("job", trade, key=trade, implicit=True))

    def verb(self, v: Tok) -> None:
        self.current_verb = v
        lemma, who, neg = v.lemma_.lower(), self.subject(v), _negated(v)
        prt = {c.lower_ for c in _children(v, "prt")}
        if lemma in ("live", "move", "relocate", "settle", "emigrate", "base") and "out" not in prt:
            back = [a for a in _children(v, "advmod") if a.lower_ in ("back", "home", "over", "here")]
            for o in _prep_objects(v, "in", "to", "into") + [x for a in back for x in _prep_objects(a, "to", "in")]:
                place = self.place(o)
                if place:
                    self.add(who, Slot("home", place, ended=neg and lemma == "live"))
        if (lemma == "grow" and "up" in prt) or lemma == "bear":
            for o in _prep_objects(v, "in"):
                if _is_place(o):
                    self.add(who, Slot("hometown", _phrase(o)))
        if lemma in ("be", "feel") and not neg:
            # "Calgary already feels like home", "home is Lyon now": a place that is home
            homes = [o for o in _children(v, "attr", "acomp") + _prep_objects(v, "like") if o.lower_ == "home"]
            places = [o for o in _children(v, "nsubj", "attr") if _is_place(o) and o.ent_type_ in PLACE_ENTS]
            places += [x for o in _children(v, "attr") if o.lemma_.lower() in HOME_NOUNS
                       for x in _prep_objects(o, "in") if _is_place(x)]  # "Home is a studio in Brooklyn"
            if (homes or any(o.lower_ == "home" for o in _children(v, "nsubj"))) and places:
                self.add(self.speaker, Slot("home", _phrase(places[0])))
            if lemma == "be" and who == self.speaker and (_prep_objects(v, "since") or _lasting(v)):
                # "I've been in Austin since June", "I've been in Leeds for two years"
                for o in _prep_objects(v, "in"):
                    if _is_place(o) and o.ent_type_ in PLACE_ENTS:
                        self.add(who, Slot("home", _phrase(o)))
            for a in _children(v, "acomp"):  # "We're Lisbon-based now"
                place = next((c for c in a.children if c.dep_ in ("npadvmod", "compound") and _is_place(c)), None)
                if a.lemma_ == "base" and place is not None:
                    self.add(who, Slot("home", _phrase(place)))
        if lemma == "be":
            self.copula(v, who, neg)
        if lemma == "work":
            for o in _prep_objects(v, "as"):
                self.add(who, Slot("job", _phrase(o), ended=neg))
            for o in _prep_objects(v, "at", "for"):
                if _workplace(o):
                    self.add(who, Slot("employer", _phrase(o), ended=neg))
        elif lemma in ("start", "begin") and not neg:  # "Starting at the council's planning office on Monday"
            for o in _prep_objects(v, "at"):
                if _workplace(o):
                    self.add(who, Slot("employer", _phrase(o)))
        elif lemma in DOING_JOB or lemma in ("freelance", "start", "begin", "employ", "serve", "train", "volunteer",
                                             "retrain", "requalify"):
            for o in _prep_objects(v, "as"):  # "freelancing now as an illustrator"
                if _job_title(o) and not neg:
                    self.add(who, Slot("job", _phrase(o)))
        if lemma in ("become", "hire", "promote", "train", "retrain", "start", "qualify", "requalify", "appoint",
                     "make", "name", "elect"):
            if lemma in ("appoint", "make", "name", "elect", "promote", "hire"):
                # "they made me creative director": the one it is said of is the object
                said_of = _children(v, "dobj") + [n for c in _children(v, "ccomp", "xcomp", "oprd")
                                                  for n in _children(c, "nsubj")]
                who = next((self.who(o) for o in said_of if self.who(o)), None) or who
            roles = [o for o in _children(v, "attr", "oprd", "xcomp", "ccomp") + _prep_objects(v, "as", "to")
                     # promoted to / appointed as: the role whatever its word ("head of sales")
                     if _job_title(o) or (lemma in ("promote", "appoint", "hire") and o.pos_ == "NOUN")]
            for o in roles:
                self.add(who, Slot("job", _role(o)))
            if not roles and lemma in ("promote", "appoint"):
                self.role_after(v, who)
        if v.dep_ == "ROOT" and not neg and lemma not in ("work", "start", "begin", "become"):
            # "As a junior designer I mostly resize banners": a role put first is one's job
            for o in _prep_objects(v, "as"):
                if o.i < v.i and _job_title(o) and who is not None:
                    self.add(who, Slot("job", _phrase(o)))
        if lemma in DOING_JOB and who and not any(_job_title(o) for o in _prep_objects(v, "as")):
            self.add(who, Slot("job", DOING_JOB[lemma]))
        if v.tag_ in ("VBG", "VBP", "VBZ") and who == self.speaker:
            for a in _children(v, "advmod"):  # "Back in Toronto and working as...", "I'm back in Leeds"
                if a.lower_ == "back":
                    for o in _prep_objects(a, "in"):
                        if _is_place(o) and o.ent_type_ in PLACE_ENTS:
                            self.add(who, Slot("home", _phrase(o)))
        if lemma == "hire":
            for o in _prep_objects(v, "at", "by"):
                if o.pos_ == "PROPN" or o.ent_type_ == "ORG":
                    self.add(who, Slot("employer", _phrase(o)))
        if lemma == "join":
            # "I joined Bosch in May" (the small model may take the firm for a person);
            # not "I joined Sarah for lunch / at the pub"
            company = not _prep_objects(v, "for", "at", "on", "with")
            for o in _children(v, "dobj"):
                if o.ent_type_ == "ORG" or (company and o.pos_ == "PROPN" and o.ent_type_ not in ("GPE", "DATE")):
                    self.add(who, Slot("employer", _phrase(o)))
        outs = [c for c in v.children if c.lower_ == "out"]  # the parser hangs "out" as a particle or a preposition
        if (lemma == "drop" and outs) or lemma in ("quit", "leave"):
            # "I dropped out of uni", "quit college": the school one attended ends
            for o in _prep_objects(v, "of") + [x for c in outs for x in _prep_objects(c, "of")] + \
                    _children(v, "dobj"):
                if o.lemma_.lower() in SCHOOL_WORDS or any(w in o.lower_ for w in ("universit", "college")):
                    self.add(who, Slot("school", _phrase(o), ended=True))
        if lemma == "lay" and "off" in prt and not neg:
            # "Tally laid off half of us, including me": the firm the speaker worked for
            firm = [o for o in _children(v, "nsubj") if o.pos_ == "PROPN" or o.ent_type_ == "ORG"]
            if firm and any(t.lower_ in ("me", "us") for o in _children(v, "dobj") for t in o.subtree):
                self.add(self.speaker, Slot("employer", _phrase(firm[0]), ended=True))
                self.add(self.speaker, Slot("job", "lost a job", ended=True))
        if lemma in ("quit", "leave", "resign") or (lemma == "lay" and "off" in prt) or lemma == "fire" or \
                (lemma == "hand" and any(o.lemma_ in ("notice", "resignation") for o in _children(v, "dobj"))):
            self.leave(v, who, lemma)
        if lemma == "retire":
            self.add(who, Slot("job", "retired"))
        if lemma in ("marry", "engage", "wed", "split", "break", "divorce", "call") and self.together(v):
            return
        if lemma == "propose" and not neg:
            self.proposal(v, who)
        if lemma in ("go", "part") and any(o.lemma_ == "way" and any(a.lower_ == "separate" for a in o.children)
                                           for o in _children(v, "dobj")):
            # "Dev and I went our separate ways"
            people = [t for s in _children(v, "nsubj") for t in s.subtree if t.ent_type_ == "PERSON"]
            if people and any(t.lower_ in ("i", "we") for s in _children(v, "nsubj") for t in s.subtree):
                self.add(self.speaker, Slot("partner", _phrase(people[0]), ended=True))
        if lemma in ("marry", "date", "wed"):  # the parser sometimes hangs the name as npadvmod
            for o in _children(v, "dobj", "npadvmod") + _prep_objects(v, "to"):
                if o.ent_type_ == "PERSON" or o.pos_ == "PROPN":
                    # a wedding ahead says who the partner is now ("I'm marrying Oskar next spring")
                    self.add(who, Slot("partner", _phrase(o), ended=neg, now=lemma != "date" and not neg))
        if (lemma == "break" and "up" in prt) or lemma == "divorce" or (lemma == "split" and "up" in prt):
            partners = [o for o in _children(v, "dobj") + _prep_objects(v, "with") if o.pos_ == "PROPN"]
            if not partners:  # "My girlfriend Mia and I broke up."
                partners = [t for s in _children(v, "nsubj") for t in s.subtree if t.ent_type_ == "PERSON"]
                who = self.speaker if partners else who
            for o in partners:
                self.add(who, Slot("partner", _phrase(o), ended=True))
        if lemma in ("die", "pass") or (lemma == "say" and _prep_objects(v, "to") and
                                        any(c.lower_ == "goodbye" for c in v.children)) or lemma in ("rehome",) \
                or (lemma == "put" and "down" in prt and "to" not in prt):  # "had to put Biscuit down"
            self.pet_gone(v, lemma)
        if lemma in ("adopt", "get", "buy", "rescue", "have", "own", "foster", "bring", "welcome") or \
                (lemma in ("take", "pick") and prt & {"in", "up"}):
            for o in _children(v, "dobj"):
                if o.lemma_.lower() in PETS:
                    self.pet(o, who)
        if lemma in ("study", "enrol", "enroll", "attend", "graduate", "start", "go", "transfer", "begin", "move"):
            studies = [o for o in _children(v, "dobj") if o.lemma_.lower() in STUDY_NOUNS]
            # "started my PhD at the University of Utrecht", "transferred to ETH Zurich" (said
            # among words of study: the name alone need not say it is a school)
            study_talk = bool(studies) or any(t.lemma_.lower() in STUDY_NOUNS for t in self.doc) or \
                any(t.lower_ == "year" and any(c.lower_ in ORDINALS for c in t.children) for t in self.doc)
            for o in _children(v, "dobj") + _prep_objects(v, "at", "in", "from", "to") + \
                    [x for st in studies for x in _prep_objects(st, "at", "in")]:
                text = _phrase(o)
                named = o.pos_ == "PROPN" or o.ent_type_ == "ORG"
                if named and (any(w in text.lower() for w in SCHOOL_WORDS) or
                              (lemma in ("transfer", "move") and study_talk)):
                    self.add(who, Slot("school", text, ended=lemma == "graduate"))
        if lemma in ("drive", "buy", "get", "lease", "own") or (lemma == "pick" and "up" in prt):
            for o in _children(v, "dobj"):
                self.vehicle_or_phone(o, who, driven=lemma == "drive")
        if lemma in ("sell", "scrap", "total", "crash") and not neg:
            for o in _children(v, "dobj"):  # "sold the Volvo": no longer theirs
                self.vehicle_or_phone(o, who, driven=False, ended=True)
        if lemma in ("switch", "upgrade", "change"):
            for o in _prep_objects(v, "to"):
                self.vehicle_or_phone(o, who, driven=False)
        if lemma in ("trade", "swap", "exchange", "replace", "sell") and who is not None:
            for o in _prep_objects(v, "for", "with"):  # "traded in the Fiesta for a Toyota Yaris"
                self.vehicle_or_phone(o, who, driven=False, whole=True)
        if lemma in ("see", "date") and not neg and \
                (_children(v, "aux") or (v.dep_ == "xcomp" and v.head.lemma_ in ("start", "begin"))):
            self.dating(v, who)
        if lemma in ("cancel", "quit", "end", "drop", "stop") and not neg:
            for o in _children(v, "dobj"):  # "Cancelled my CrossFit membership"
                what = [c for c in o.children if c.dep_ == "compound"]
                if o.lemma_.lower() in ("membership", "subscription", "lesson", "class") and what:
                    name = " ".join(c.text for c in what)
                    self.add(who, Slot("hobby", name, key=_activity(name.split()[-1].lower()), ended=True))
        if lemma == "take" and "up" in prt:
            for o in _children(v, "dobj"):
                self.add(who, Slot("hobby", _phrase(o), key=_activity(o.lemma_)))
        if lemma in ("give", "quit", "stop") and (lemma != "give" or "up" in prt):
            for o in _children(v, "dobj", "xcomp"):
                if o.tag_ == "VBG" or (lemma == "give" and o.pos_ == "NOUN"):
                    self.add(who, Slot("hobby", _phrase(o) if o.pos_ == "NOUN" else o.lemma_,
                                       key=_activity(o.lemma_), ended=True))
        if lemma in ("love", "like", "enjoy", "adore", "hate", "dislike", "detest"):
            self.likes(v, who, lemma, neg)
        if lemma in ("go", "turn", "switch", "become", "stay", "follow", "try") and not neg:
            for o in _children(v, "acomp", "oprd", "attr", "dobj") + _prep_objects(v, "to"):
                diet = next((d for t in o.subtree if (d := _diet(t))), None)
                if diet:  # "went vegan", "switched to a vegan diet"
                    self.add(who, Slot("diet", diet))
        if (lemma in ("quit", "stop", "drop", "abandon") or (lemma == "give" and "up" in prt)) and not neg:
            diet = next((d for t in v.subtree if t.i > v.i and (d := _diet(t))), None)
            if diet:  # "I gave up on being vegan"
                self.add(who, Slot("diet", diet, ended=True))
        if lemma in ("stop", "quit") and any(c.lemma_ == "eat" for c in v.children) \
                and any(t.lower_ == "meat" for t in self.doc):
            self.add(who, Slot("diet", "vegetarian"))
        if lemma == "eat" and neg and any(t.lower_ == "meat" for t in v.children) and \
                (_prep_objects(v, "since", "in", "for") or any(c.lower_ in ("anymore", "longer") for c in v.subtree)):
            self.add(who, Slot("diet", "vegetarian"))  # "I haven't eaten meat since January"
        if lemma == "eat" and any(t.lower_ == "meat" for t in v.children) and \
                any(t.lower_ == "again" for t in v.subtree) and not neg:
            self.add(who, Slot("diet", "eats meat"))

    def proposal(self, v: Tok, who: str | None) -> None:
        """"I proposed to Marco": Marco; "Marco proposed and I said yes": Marco too."""
        if who == self.speaker:
            for o in _prep_objects(v, "to"):
                if o.ent_type_ == "PERSON" or o.pos_ == "PROPN":
                    self.add(who, Slot("partner", _phrase(o)))
            return
        proposer = next((s for s in _children(v, "nsubj") if s.ent_type_ == "PERSON"), None)
        accepted = any(t.lower_ == "yes" for t in self.doc) and any(t.lower_ in ("i", "me") for t in self.doc)
        if proposer is not None and (accepted or any(self.who(o) == self.speaker for o in _prep_objects(v, "to"))):
            self.add(self.speaker, Slot("partner", _phrase(proposer)))

    def together(self, v: Tok) -> bool:
        """"Tom and I got engaged", "Sara and I split up": the partner is in the subject."""
        before = [t for t in v.doc[: v.i] if t.dep_ not in ("pobj", "dobj")]
        people = [t for t in before if t.ent_type_ == "PERSON" or t.pos_ == "PROPN"]
        if not people or not any(t.lower_ in ("i", "we") for t in before):
            return False
        prt = {c.lower_ for c in _children(v, "prt")}
        ends = v.lemma_ == "divorce" or ("up" in prt and v.lemma_ in ("split", "break")) or \
            (v.lemma_ == "call" and any(t.lower_ in ("quits", "quit") for t in v.subtree))  # "called it quits"
        if v.lemma_ in ("marry", "engage", "wed") or ends:
            self.add(self.speaker, Slot("partner", _phrase(people[0]), ended=ends))
            return True
        return False

    def copula(self, v: Tok, who: str | None, neg: bool) -> None:
        for a in _children(v, "attr", "acomp"):
            diet = next((d for t in a.subtree if (d := _diet(t))), None) if a.dep_ == "acomp" else _diet(a)
            if diet:  # "I'm vegan", "I've been plant-based since May"
                self.add(who, Slot("diet", diet, ended=neg))
            elif a.dep_ == "attr" and _job_title(a) and not neg:
                self.add(who, Slot("job", _phrase(a)))
                for o in _prep_objects(a, "at", "for", "with"):
                    if o.pos_ == "PROPN" or o.ent_type_ == "ORG":
                        self.add(who, Slot("employer", _phrase(o)))
        for o in _prep_objects(v, "from"):
            if _is_place(o) and not neg:
                self.add(who, Slot("hometown", _phrase(o)))

    def place(self, o: Tok) -> str | None:
        """Where one lives or moves to: a place entity, or any proper noun (no one moves
        to a person: the tagger's PERSON for "Valencia" is a mistake here)."""
        if _is_place(o) or (o.pos_ == "PROPN" and o.ent_type_ not in ("DATE", "TIME", "ORG")):
            return _phrase(o)
        if o.lemma_.lower() in HOME_NOUNS:  # "moved into a flat in Porto"
            for inner in _prep_objects(o, "in"):
                if _is_place(inner):
                    return _phrase(inner)
        return None

    def leave(self, v: Tok, who: str | None, lemma: str) -> None:
        objects = _children(v, "dobj") + _prep_objects(v, "from", "at")
        for o in objects:
            if o.lemma_.lower() in JOB_NOUNS:
                self.add(who, Slot("job", "left a job", ended=True))
                for inner in _prep_objects(o, "at", "with"):
                    self.add(who, Slot("employer", _phrase(inner), ended=True))
            elif o.ent_type_ == "ORG":
                self.add(who, Slot("employer", _phrase(o), ended=True))
        if (lemma in ("lay", "fire", "resign") and not objects) or lemma == "hand":
            self.add(who, Slot("job", "lost a job", ended=True))

    def pet(self, noun: Tok, who: str | None) -> None:
        name = _name_of(noun)
        species = noun.lemma_.lower()
        self.add(who, Slot("pet", f"{name} ({species})" if name else species, key=(name or species).lower()))

    def pet_gone(self, v: Tok, lemma: str) -> None:
        names = (_children(v, "nsubj") if lemma in ("die", "pass") else _children(v, "dobj")
                 + _prep_objects(v, "to"))
        for n in names:
            if n.lemma_.lower() in PETS and (name := _name_of(n)):  # "our cat Luna passed away"
                species = n.lemma_.lower()
                self.add(self.speaker, Slot("pet", f"{name} ({species})", key=name.lower(), ended=True))
            elif n.pos_ == "PROPN" and n.ent_type_ == "PERSON" and lemma in ("die", "pass"):
                # "since Frank passed": whoever Frank was to the speaker (a partner, a
                # relative, a pet) is gone; consolidation ends what names him, or nothing
                name = _phrase(n)
                self.add(self.speaker, Slot("gone", name, key=name.lower(), ended=True))
            elif n.pos_ == "PROPN" and n.ent_type_ not in ("GPE", "LOC", "DATE"):
                name = _phrase(n)
                self.add(self.speaker, Slot("pet", name, key=name.lower(), ended=True))

    def dating(self, v: Tok, who: str | None) -> None:
        """"I've been seeing someone new, her name is Ines": a partner, named where the
        sentence names them."""
        objects = _children(v, "dobj", "npadvmod")
        if not objects:
            return
        named = [t for t in objects if t.pos_ == "PROPN"] or \
            [t for t in v.doc if t.pos_ == "PROPN" and t.head.lemma_ == "be" and
             any(c.lemma_ == "name" for c in t.head.children)]
        if named:
            self.add(who, Slot("partner", _phrase(named[0])))
        elif objects[0].lower_ in ("someone", "somebody"):
            self.add(who, Slot("partner", "someone new"))

    def vehicle_or_phone(self, o: Tok, who: str | None, *, driven: bool, whole: bool = False,
                         ended: bool = False) -> None:
        text = " ".join(t.text for t in o.subtree if t.dep_ not in ("det", "punct")) if whole else _phrase(o)
        low = {w.lower() for w in text.split()} | {o.lemma_.lower()}
        if low & PHONE_WORDS:
            self.add(who, Slot("phone", text, ended=ended))
        elif low & CAR_BRANDS or o.lemma_.lower() in ("car", "van", "suv", "hatchback", "estate") or \
                (driven and o.pos_ == "PROPN"):
            self.add(who, Slot("car", text, ended=ended))

    def likes(self, v: Tok, who: str | None, lemma: str, neg: bool) -> None:
        positive = lemma in ("love", "like", "enjoy", "adore") and not neg
        for o in _children(v, "dobj", "xcomp"):
            if o.pos_ == "PRON" or any(c.dep_ == "aux" and c.lower_ == "to" for c in o.children):
                continue  # "I'd love to visit" is a wish, not a liking
            kept = [t for t in o.subtree if t.dep_ not in ("det", "punct", "cc", "conj")
                    and t.tag_ != "PRP$" and t.i < (o.i + 4)]
            while kept and kept[-1].pos_ in ("ADP", "DET", "CCONJ", "PART"):
                kept.pop()  # "cooking for friends in" -> "cooking for friends"
            value = " ".join(t.text for t in kept)
            self.add(who, Slot("likes" if positive else "dislikes", value, key=value.lower()))

    def noun(self, n: Tok) -> None:
        lemma = n.lemma_.lower()
        owner = next((c for c in n.children if c.dep_ == "poss"), None)
        who = self.who(owner) if owner is not None else None
        bought = n.dep_ == "dobj" and n.head.lemma_ in ("buy", "rent", "find", "get") and \
            self.subject(n.head) == self.speaker
        if lemma in HOME_PEOPLE and who is not None:
            here = [a for a in _children(n, "advmod") if a.lower_ == "here"]
            for o in _prep_objects(n, "in") + [x for a in here for x in _prep_objects(a, "in")]:
                if _is_place(o):
                    self.add(who, Slot("home", _phrase(o)))
        # "we got the keys to the house in Galway"
        keys = n.head.dep_ == "prep" and n.head.head.lemma_ == "key" and n.head.head.dep_ == "dobj" and \
            self.subject(n.head.head.head) == self.speaker
        bought = bought or keys
        if lemma in HOME_NOUNS and (who or bought or any(c.lower_ == "new" for c in n.children)):
            # "the last boxes at our new flat in Porto", "we bought a house in Hove"
            for o in _prep_objects(n, "in") + (_prep_objects(n.head, "in") if bought else []):
                if _is_place(o):
                    self.add(who or self.speaker, Slot("home", _phrase(o)))
        if lemma in FIRST_UNITS and any(c.lower_ in ORDINALS for c in n.children):
            self.first_at_work(n, who)
        elif lemma in WORK_SPELLS and n.dep_ in ("ROOT", "nsubj", "dobj", "npadvmod"):
            # "Another double shift at the bakery": whose, when no one else is said to work
            for o in _prep_objects(n, "at", "for"):
                if _workplace(o):
                    self.add(who or self.subject(n.head) or self.speaker, Slot("employer", _phrase(o)))
        if who is None and lemma in JOB_NOUNS and n.dep_ == "dobj" and n.head.lemma_ in TAKE_JOB:
            who = self.subject(n.head)  # "I finally got a job as a data analyst at Monzo"
        if who is None:
            return
        compound = [w for c in n.lefts if c.dep_ == "compound" for w in c.subtree]
        if lemma not in PHONE_WORDS and any(w.lower_ in PHONE_WORDS for w in compound):
            # "my Galaxy S10 screen cracked": the phone is in the compound
            self.add(who, Slot("phone", " ".join(w.text for w in compound)))
        if lemma in PARTNER:
            name = _name_of(n)
            if name:
                self.add(who, Slot("partner", name))
        elif lemma in FAMILY:
            name = _name_of(n)  # "my sister Jo"; a passing "my sister" says too little to keep
            if name:
                self.add(who, Slot("family", f"{lemma} {name}", key=name.lower()))
        elif lemma in PETS:
            self.pet(n, who)
        elif lemma in JOB_NOUNS:
            roles = _prep_objects(n, "as")
            for o in roles:
                self.add(who, Slot("job", _phrase(o)))
            for o in _prep_objects(n, "at", "with", "for") + [x for r in roles for x in _prep_objects(r, "at")]:
                if o.pos_ == "PROPN" or o.ent_type_ == "ORG":
                    self.add(who, Slot("employer", _phrase(o)))
        elif lemma in ("car",):
            name = _name_of(n)
            if name:
                self.add(who, Slot("car", name))

    def role_after(self, v: Tok, who: str | None) -> None:
        """"They promoted me to project architect": the parser may read "to project" as
        an infinitive; the role is then the words after "to" up to a job title."""
        start = next((t.i for t in v.doc[v.i + 1: v.i + 5] if t.lower_ in ("to", "as")), None)
        if start is None:
            return
        for t in v.doc[start + 1: start + 6]:
            if t.pos_ in ("NOUN", "PROPN") and _job_title(t):
                words = [w.text for w in v.doc[start + 1: t.i + 1] if w.tag_ not in ("DT", "PRP$")]
                self.add(who, Slot("job", " ".join(words)))
                return

    def first_at_work(self, n: Tok, who: str | None) -> None:
        """"Today was my first day at Netflix", "First week as a maths teacher done": a new
        job, whichever way the parser hung the words after the unit."""
        if who is None:
            others = any(t.dep_ in ("nsubj", "nsubjpass") and (t.lower_ in ("he", "she", "they", "you")
                                                              or t.ent_type_ == "PERSON") for t in self.doc)
            who = None if others else self.speaker
        after = self.doc[n.i + 1: n.i + 3]
        self.current_verb = None
        if any(t.lower_ == "as" for t in after) and any(c.lower_ == "first" for c in n.children):
            start = next(t.i for t in after if t.lower_ == "as")
            role = next((t for t in self.doc[start + 1:] if t.pos_ == "NOUN" and t.dep_ != "compound"), None)
            if role is not None and _job_title(role):
                self.add(who, Slot("job", _phrase(role)))
        first = any(c.lower_ == "first" for c in n.children)
        doing = self.doc[n.i + 1] if n.i + 1 < len(self.doc) else None
        if first and doing is not None and (job := _doing_job(doing)):  # "First week teaching year 9 done"
            self.add(who, Slot("job", job))
        # "First week on the engines at Northgate": the place may come a few words on
        ahead = list(itertools.takewhile(lambda t: not t.is_punct, self.doc[n.i + 1: n.i + 7]))
        if any(t.lower_ == "at" for t in ahead):
            start = next(t.i for t in ahead if t.lower_ == "at")
            org = next((t for t in self.doc[start + 1: start + 6] if t.pos_ == "PROPN"
                        and t.dep_ in ("pobj", "appos")), None) or \
                next((t for t in self.doc[start + 1: start + 4] if t.pos_ == "PROPN"), None)
            if org is not None:
                name = _phrase(org)
                school = " ".join(t.text for t in org.subtree if t.dep_ != "det")
                if any(w in school.lower() for w in SCHOOL_WORDS):  # "second year at King's College London"
                    self.add(who, Slot("school", school.replace(" 's", "'s")))
                elif first:
                    self.add(who, Slot("employer", name))

    def on_amount(self) -> bool:
        """"I'm on 55k now", "on 40 grand": the idiom for what one is paid."""
        return any(t.lower_ == "on" and t.head.lemma_ == "be" and self.subject(t.head) == self.speaker and
                   any(o.ent_type_ == "MONEY" or (o.lower_.endswith("k") and o.lower_[:1].isdigit())
                       for o in _children(t, "pobj")) for t in self.doc)

    def numbers(self) -> None:
        lemmas = {t.lemma_.lower() for t in self.doc}
        firsts = any(t.lower_ in ("i", "my", "we", "our", "me", "us") for t in self.doc)
        # said of one's own without saying "my": "Rent is 900 a month", "Landlord hiked it to
        # 1050" (not "Rent in London averages 2000": a rent somewhere, no one's)
        own = any(t.dep_ == "nsubj" and t.lemma_.lower() in _OWN_WITHOUT_MY and
                  not any(c.dep_ in ("prep", "poss") for c in t.children) for t in self.doc)
        # said without a subject at all: "Paying 1,200 a month for a one-bed"
        # (or with a gerund for a subject: "Stacking shelves for 10.50 an hour isn't much")
        bare = any(t.dep_ == "ROOT" and t.pos_ == "VERB" and not _children(t, "nsubj", "nsubjpass", "expl")
                   for t in self.doc) or any(t.dep_ == "csubj" and t.tag_ == "VBG" for t in self.doc)
        if not (firsts or own or bare):
            return
        # an amount in figures or money ("renting with two friends" states no rent)
        amounts = [list(e) for e in self.doc.ents if e.label_ in ("MONEY", "QUANTITY", "CARDINAL")
                   and (e.label_ != "CARDINAL" or any(ch.isdigit() for ch in e.text))] or \
            [[t] for t in self.doc if any(ch.isdigit() for ch in t.text)]  # "52k" is no entity
        if not amounts:
            return
        # paying for a place to live is rent, not pay ("Paying 1,200 a month for a one-bed");
        # paying for anything else is no salary ("Paid 30 quid for the concert")
        housing = "pay" in lemmas and bool(lemmas & (HOME_NOUNS | {"room", "bedroom", "one-bed", "two-bed", "bed"}))
        if "pay" in lemmas and not any(_paid_to(t) for t in self.doc if t.lemma_.lower() == "pay"):
            lemmas = lemmas - {"pay"}
        for attribute, cues in NUMERIC.items():
            # "I make about 48k a year": making an amount per year (month, hour) is a salary
            per = attribute == "salary" and (("make" in lemmas and lemmas & {"year", "month", "hour", "week", "annum"})
                                             or _per_hour(amounts[0]))
            if (attribute == "rent" and housing) or lemmas & set(cues) or per or \
                    (attribute == "salary" and self.on_amount()):
                value = " ".join(t.text for t in amounts[0] if t.like_num or t.tag_ == "$" or t.lower_ in
                                 ("k", "kg", "kilos", "pounds", "lbs", "stone", "euros", "dollars", "yuan", "grand")
                                 or any(ch.isdigit() for ch in t.text))
                self.add(self.speaker, Slot(attribute, value or " ".join(t.text for t in amounts[0])))
                return


# how often: "four days a week", "every Sunday morning", "on Tuesdays"
_HOW_OFTEN = re.compile(r"\b(?:\w+ (?:times?|days|nights|mornings|evenings|sessions) a week|twice a \w+|once a \w+|"
                        r"(?:every|each) (?:day|morning|evening|night|week|weekend|monday|tuesday|wednesday|thursday|"
                        r"friday|saturday|sunday)|on (?:mondays|tuesdays|wednesdays|thursdays|fridays|saturdays|"
                        r"sundays|weekends))\b", re.I)
# what one does every week without it being a pastime
_CHORES = frozenset({"meeting", "shift", "standup", "lecture", "appointment", "deadline", "school", "work", "commute",
                     "bin", "chore", "laundry", "homework", "rota", "overtime", "class", "exam", "delivery", "rent"})
_OWN_WITHOUT_MY = frozenset({"rent", "salary", "pay", "landlord", "landlady"})


def _per_hour(amount: list[Tok]) -> bool:
    """Whether an amount is a rate per hour ("stacking shelves for 10.50 an hour"; not
    "60 miles an hour", whose unit sits between)."""
    if not all(t.like_num or t.tag_ == "$" for t in amount):
        return False
    doc, end = amount[-1].doc, amount[-1].i
    after = [t.lower_ for t in doc[end + 1: end + 3]]
    return len(after) == 2 and after[0] in ("an", "a", "per") and after[1] in ("hour", "hr")


def _paid_to(t: Tok) -> bool:
    """Whether "pay" speaks of what one is paid: the noun ("my pay", "a pay rise"), the
    passive ("I get paid 30k") or paying someone ("they pay me 15 an hour")."""
    if t.pos_ != "VERB":
        return True
    passive = t.tag_ == "VBN" and (t.head.lemma_ == "get" or any(c.dep_ in ("auxpass", "aux") for c in t.children))
    return passive or any(c.dep_ in ("dobj", "dative") and c.lower_ in ("me", "us") for c in t.children)


def _workplace(o: Tok) -> bool:
    """Whether a noun names a place of work: a name, or a workplace said without one."""
    return o.pos_ == "PROPN" or o.ent_type_ == "ORG" or o.lemma_.lower() in WORKPLACES


def _doing_job(t: Tok) -> str | None:
    """The job a gerund does ("teaching": teacher; "nursing": nurse)."""
    for stem in (t.lemma_.lower(), t.lower_.removesuffix("ing")):
        if stem in DOING_JOB:
            return DOING_JOB[stem]
    return None


def _diet(t: Tok) -> str | None:
    """The diet a token names, also as the first part of a hyphenated word ("plant-based",
    three tokens to the parser)."""
    if t.lower_ in DIETS or t.lemma_.lower() in DIETS:
        return t.lemma_.lower() if t.lemma_.lower() in DIETS else t.lower_
    doc = t.doc
    if t.i + 2 < len(doc) and doc[t.i + 1].text == "-" and f"{t.lower_}-{doc[t.i + 2].lower_}" in DIETS:
        return f"{t.lower_}-{doc[t.i + 2].lower_}"
    return None


def slots_in(doc: Any, speaker: str, addressee: str | None) -> list[tuple[str, Slot]]:
    """(subject, slot) pairs the sentence states."""
    return _Reader(doc, speaker, addressee).read()

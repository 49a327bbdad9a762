"""Distinct evidence: a search's ``top_k`` counts pieces of evidence, not representations.

A message is stored several ways: as a turn, as the facts and plans its sentences state,
as a profile item, and as a line of its cell's episode.  Ranked separately, one message
said well can fill half of a top 10.  Here the ranked memories are folded, in rank
order, into groups: a memory joins the group of a better-ranked memory when the
messages one cites all lie among the messages the other cites (a fact inside its turn,
a turn inside its episode, an episode around a turn already shown), or when both say
the same words.  The best-ranked memory of a group is the hit; the others are listed on
it as what it also covers (``Hit.covers``).  Of a profile item and a memory with the
same words, the profile item stays (it names the attribute and goes to the context's
profile section).

A context is packed from every representation instead (``ContextRequest.collapse`` is
false by default): there the packer picks, within the budget, the line that adds the
most evidence (see :mod:`.context`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..types import Covered, Hit, MemoryRecord


@dataclass
class Group:
    head: MemoryRecord
    members: list[MemoryRecord] = field(default_factory=list)  # folded into the head, in rank order

    @property
    def messages(self) -> frozenset[str]:
        return frozenset(self.head.message_ids)


def collapse(ranked: list[MemoryRecord], limit: int) -> list[Group]:
    """The first ``limit`` groups of the ``ranked`` memories (best first)."""
    groups: list[Group] = []
    by_text: dict[str, Group] = {}
    for rec in ranked:
        home = by_text.get(rec.text) or _container(groups, frozenset(rec.message_ids))
        if home is not None:
            _join(home, rec)
            continue
        if len(groups) >= limit:
            continue  # read on: a later memory may still fold into a group already kept
        group = Group(head=rec)
        groups.append(group)
        by_text[rec.text] = group
    return groups


def collapse_hits(hits: list[Hit], limit: int) -> list[Hit]:
    """The same folding over hits already ranked (a search made with ``collapse=False``)."""
    by_id = {h.memory.id: h for h in hits}
    return [by_id[g.head.id].model_copy(update={"covers": [
        Covered(memory_id=m.id, kind=m.kind, score=by_id[m.id].score) for m in g.members]})
        for g in collapse([h.memory for h in hits], limit)]


def _container(groups: list[Group], cited: frozenset[str]) -> Group | None:
    if not cited:
        return None
    for g in groups:
        if g.messages and (cited <= g.messages or g.messages <= cited):
            return g
    return None


def _join(group: Group, rec: MemoryRecord) -> None:
    if rec.kind == "profile" and group.head.kind != "profile" and rec.text == group.head.text:
        group.members.insert(0, group.head)
        group.head = rec
        return
    group.members.append(rec)

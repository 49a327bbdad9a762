"""The one recall function.  The library, the CLI, the server and the benchmark all call
:func:`recall`; what the benchmark measures is what ships."""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from .._util import utcnow
from ..config import Config
from ..consolidate.slots import slots_of
from ..filters import MetadataCondition
from ..prompts.recall_prompts import SUFFICIENCY
from ..providers.embeddings import Embedder
from ..providers.llm import ChatModel
from ..records import time_span
from ..requests import SearchRequest
from ..store.base import Store
from ..types import Citation, Covered, Filters, Hit, MemoryRecord, Scores, SearchResult, TimeRange
from .dialogue import news_share
from .distinct import Group
from .distinct import collapse as collapse_groups
from .entities import entity_list
from .expand import expansions
from .fusion import rrf
from .latest import (
    asks_present,
    episodes_of,
    latest_valued,
    mentions_of_ended,
    mentions_of_later,
    outdated,
    said_after,
    speaking,
)
from .query import analyze
from .query_vector import QueryEmbedder
from .rerank import NoopReranker, Reranker, normalise
from .validity import CURRENT, WEIGHTS, State, asks_ahead, assess, point_in_time, weight

TIME_MATCH_BOOST = 0.5  # a hit inside the question's time range
DATED_BOOST = 0.2  # a dated fact for a "when" question
SOFT_TIME_SHARE = 0.1  # of TIME_MATCH_BOOST, for a time word a dialogue query said in passing
SLOT_MATCH_BOOST = 0.3  # a profile item of the slot the question asks about
LATEST_SLOT_BOOST = 0.25  # the latest statement naming a value of the slot a question asks the present of
MAX_CITATIONS = 40
ENDED_ITEMS = 500  # the newest profile items of the asked slots read to find ended values


@dataclass
class RecallEngine:
    store: Store
    embedder: Embedder
    config: Config
    reranker: Reranker
    llm: ChatModel | None = None
    queries: QueryEmbedder = field(init=False)

    _embedding: ThreadPoolExecutor = field(init=False)

    def __post_init__(self) -> None:
        self.queries = QueryEmbedder(self.embedder)
        self._embedding = ThreadPoolExecutor(max_workers=2, thread_name_prefix="engram-query-embedding")

    def close(self) -> None:
        self._embedding.shutdown(wait=True)

    def search(self, space: str, req: SearchRequest, *, query_vector: np.ndarray | None = None) -> SearchResult:
        """Recall for a request: this is where a request's fields are read (a new search
        option is a field of :class:`SearchRequest` and its use here)."""
        ref = req.reference_time or utcnow()
        if req.agentic:
            return self.agentic_recall(space, req.query, req.filters, top_k=req.top_k, reference_time=ref,
                                       time_range=req.time_range, expand=req.expand, as_of=req.as_of,
                                       collapse=req.collapse)
        return self.recall(space, req.query, req.filters, top_k=req.top_k, reference_time=ref,
                           time_range=req.time_range, expand=req.expand, query_vector=query_vector,
                           as_of=req.as_of, collapse=req.collapse)

    def agentic_recall(self, space: str, query: str, filters: Filters, *, top_k: int,
                       reference_time: datetime, time_range: TimeRange | None = None,
                       expand: bool = True, as_of: datetime | None = None,
                       collapse: bool = True) -> SearchResult:
        """First round; if an LLM is configured and judges the evidence insufficient, up to
        3 complementary queries, merged with the first round by RRF and reranked."""
        first = self.recall(space, query, filters, top_k=top_k, reference_time=reference_time,
                            time_range=time_range, expand=expand, as_of=as_of, collapse=collapse)
        if self.llm is None:
            return first
        started = time.perf_counter()
        check = SUFFICIENCY.ask(self.llm, SUFFICIENCY.Context(question=query,
                                                              evidence=[h.memory.text[:400] for h in first.hits[:10]]))
        if check.sufficient or not check.queries:
            return first.model_copy(update={"rounds": 1})
        rounds = [first] + [self.recall(space, q, filters, top_k=top_k, reference_time=reference_time,
                                        time_range=time_range, expand=expand, as_of=as_of, collapse=collapse)
                            for q in check.queries[:3]]
        fused = rrf([([(h.memory.id, h.score) for h in r.hits], 1.0 if i == 0 else 0.7)
                     for i, r in enumerate(rounds)], self.config.recall.rrf_k)
        by_id = {h.memory.id: h for r in reversed(rounds) for h in r.hits}
        records = {i: h.memory for i, h in by_id.items()}
        scores = {i: by_id[i].scores.model_copy(update={"final": fused[i]}) for i in fused}
        self._rerank(query, records, scores)
        order = sorted(scores, key=lambda i: -scores[i].final)[:top_k]
        hits = [by_id[i].model_copy(update={"score": scores[i].final, "scores": scores[i]}) for i in order]
        return first.model_copy(update={"hits": hits, "rounds": 2, "queries": [query, *check.queries[:3]],
                                        "took_ms": first.took_ms + (time.perf_counter() - started) * 1000})

    def recall(self, space: str, query: str, filters: Filters, *, top_k: int, reference_time: datetime,
               time_range: TimeRange | None = None, expand: bool = True,
               query_vector: np.ndarray | None = None, as_of: datetime | None = None,
               collapse: bool = True) -> SearchResult:
        """``query_vector``: a precomputed embedding of ``query`` by the store's model
        (callers that batch their query embeddings); embedded here when None.  ``as_of``:
        judge validity at this time (see :mod:`.validity`).  ``collapse``: one hit per
        piece of evidence (:mod:`.distinct`)."""
        started = time.perf_counter()
        cfg = self.config.recall
        plan = analyze(query, reference_time)
        dialogue = plan.dialogue
        words = _search_terms(plan.words, cfg.max_query_terms, latest=dialogue)
        # a dialogue's time word said in passing only breaks ties (see .query)
        window = time_range or (None if plan.soft_time else plan.time_range)
        soft_window = plan.time_range if time_range is None and plan.soft_time else None
        # the query is embedded while full-text search runs (the embedder releases the GIL;
        # PostgreSQL's BM25 over a dialogue's terms takes as long as the embedding)
        embedding = self._embedding.submit(self.queries.vector, query) if query_vector is None \
            else _ready(query_vector)
        n = max(cfg.candidates, top_k)
        # superseded memories are candidates too: ranked below what replaced them, flagged,
        # and current again for a question about a time when they held (deleted ones are not)
        wide = filters if filters.include_inactive else filters.model_copy(update={"include_inactive": True})
        text_hits = self.store.search_text(space, words, wide, limit=n)
        window_text = self.store.search_text(space, words, wide, limit=n, time_range=window) \
            if window is not None else []
        qvec = embedding.result()
        vec_hits = self.store.search_vectors(space, qvec, wide, limit=n)
        lists = [(text_hits, 1.0), (vec_hits, 1.0)]
        if window is not None:
            lists += [(window_text, 1.0),
                      (self.store.search_vectors(space, qvec, wide, limit=n, time_range=window), 1.0)]
        bm25 = {i: s for ranked, _ in lists[::2] for i, s in ranked}
        cosine = {i: s for ranked, _ in lists[1::2] for i, s in ranked}
        linked, share = entity_list(self.store, space, query, qvec, filters.user_id, n) \
            if cfg.entity_weight > 0 else ([], 0.0)
        if linked:  # the memories of the entities the question names, wherever they were said
            lists.append((linked, cfg.entity_weight * share))
        entity = dict(linked)
        fused = rrf(lists, cfg.rrf_k)
        asked = slots_of(query)  # what about a person the question asks (home, job...)
        ranked_ids = sorted(fused, key=lambda i: -fused[i])[:n]
        records = {r.id: r for r in self.store.get_memories(space, ranked_ids)}
        scores: dict[str, Scores] = {}
        via: dict[str, str] = {}
        for mid in ranked_ids:
            rec = records.get(mid)
            if rec is None or not _admits(filters, wide, rec):  # the one filter test, on every path
                continue
            if rec.kind == "episode" and dialogue:
                continue  # a bag of lines matches a bag of lines: reached through its cell only
            boost = _time_boost(rec, window, plan.wants_date) + _slot_boost(rec, asked) + \
                _time_boost(rec, soft_window, False) * SOFT_TIME_SHARE
            scores[mid] = Scores(bm25=bm25.get(mid), vector=cosine.get(mid), entity=entity.get(mid),
                                 fusion=fused[mid], time=boost, final=fused[mid] * (1.0 + boost))
            via[mid] = "direct"
        present = asks_present(query, asked) and window is None and as_of is None
        if present:
            _prefer_latest(records, scores, asked)
        if dialogue:  # what the caller sent is no news (before expansion: it seeds none)
            self._discount_said(space, query, records, scores, list(scores))
        if expand:
            at, past_point = point_in_time(reference_time, as_of, window)
            # a statement the present-value guess will flag lends its neighbours no more
            # than it keeps itself
            guessed = set(outdated(records, speaking(records, list(scores), asked), {})) if present else set()
            direct = set(scores)
            self._expand(space, records, scores, via, top_k, filters, wide, at if past_point else None,
                         guessed)
            if dialogue:
                self._discount_said(space, query, records, scores, [i for i in scores if i not in direct])
        self._rerank(query, records, scores)
        states = self._validity(space, query, records, scores, reference_time, as_of, window,
                                asked if present else set(), asked, wide)
        ranked = [records[i] for i in sorted(scores, key=lambda i: -scores[i].final)]
        groups = collapse_groups(ranked, top_k) if collapse else \
            [Group(head=r) for r in _same_words(ranked)[:top_k]]
        hits = self._hits(groups, scores, via, space, states)
        return SearchResult(query=query, hits=hits, time_range=window or soft_window,
                            time_range_soft=soft_window is not None, reference_time=reference_time,
                            wants_date=plan.wants_date, took_ms=(time.perf_counter() - started) * 1000)

    def _expand(self, space: str, records: dict[str, MemoryRecord], scores: dict[str, Scores],
                via: dict[str, str], top_k: int, filters: Filters, wide: Filters,
                past: datetime | None, guessed: set[str]) -> None:
        """Memories near the best candidates (their cell episode, neighbouring turns).  A superseded
        seed lends its neighbours only the share of its score it will keep (unless the
        question is about a ``past`` time when it may have held)."""
        n_seeds = min(top_k, self.config.recall.expand_seeds)
        best = sorted(scores, key=lambda i: -scores[i].final)[:n_seeds]
        share = {i: WEIGHTS["outdated"] if i in guessed else _seed_share(records[i], past) for i in best}
        seeds = [(records[i], scores[i].final * share[i]) for i in best]
        found = expansions(self.store, space, seeds, self.config.recall)
        new_ids = [i for i, _, _ in found if i not in records]
        for rec in self.store.get_memories(space, list(dict.fromkeys(new_ids))):
            if _admits(filters, wide, rec):
                records[rec.id] = rec
        for mid, score, how in found:
            if mid not in records:
                continue
            prev = scores.get(mid)
            if prev is None:
                scores[mid] = Scores(final=score)
                via[mid] = how
            elif prev.final < score:
                scores[mid] = prev.model_copy(update={"final": score})

    def _discount_said(self, space: str, query: str, records: dict[str, MemoryRecord], scores: dict[str, Scores],
                       ids: list[str]) -> None:
        """A memory made only of lines the query holds is dropped; one that holds some
        keeps the share of its score that is news (:mod:`.dialogue`)."""
        for mid, share in news_share(self.store, space, query, {i: records[i] for i in ids}).items():
            if share <= 0.0:
                del scores[mid]
                continue
            sc = scores[mid]
            scores[mid] = sc.model_copy(update={"final": sc.final * share})

    def _rerank(self, query: str, records: dict[str, MemoryRecord], scores: dict[str, Scores]) -> None:
        if isinstance(self.reranker, NoopReranker):
            return
        top = sorted(scores, key=lambda i: -scores[i].final)[: self.config.reranker.top_n]
        raw = self.reranker.score(query, [records[i].text for i in top])
        weight = self.config.reranker.weight
        base = normalise([scores[i].final for i in top])
        rr = normalise(raw)
        top_final = max(scores[i].final for i in top) if top else 0.0
        for i, mid, r in zip(range(len(top)), top, raw, strict=True):
            blended = ((1 - weight) * base[i] + weight * rr[i]) * top_final + 1e-9
            scores[mid] = scores[mid].model_copy(update={"rerank": float(r), "final": float(blended)})

    def _validity(self, space: str, query: str, records: dict[str, MemoryRecord], scores: dict[str, Scores],
                  reference: datetime, as_of: datetime | None, window: TimeRange | None,
                  present_slots: set[str], asked: set[str], wide: Filters) -> dict[str, State]:
        """Each scored memory's validity at the time asked about; what is not current keeps
        a share of its score (:func:`.validity.weight`)."""
        at, past_point = point_in_time(reference, as_of, window)
        scored = {mid: records[mid] for mid in scores}
        # the superseded memories that the candidate turns' and episodes' messages produced,
        # so a turn (or an episode's line) that said the old value is marked even when they
        # were not retrieved themselves
        turn_messages = list(dict.fromkeys(m for r in scored.values() if r.kind in ("turn", "episode")
                                           for m in r.message_ids))
        cited = self.store.superseded_citing(space, turn_messages) if turn_messages else {}
        witnesses = {r.id: r for r in self.store.get_memories(space, [i for i in set(cited.values())
                                                                       if i not in scored])}
        judged = {**scored, **witnesses}
        newer = self.store.successors(space, [m for m, r in judged.items() if r.status == "superseded"])
        missing = [i for i in newer.values() if i not in records]
        known = {**records, **{r.id: r for r in self.store.get_memories(space, missing)}}
        successors = {old: known[new] for old, new in newer.items() if new in known}
        states = {mid: state for mid, state in assess(judged, at, past_point, successors).items() if mid in scored}
        if asked:  # what names a value that has since ended, though no parse tied it to the slot
            items = self.store.list_memories(space, wide.model_copy(update={
                "kinds": ["profile"], "metadata": {"attribute": MetadataCondition.model_validate(
                    {"in": sorted(asked)})}}), limit=ENDED_ITEMS).items
            states.update(mentions_of_ended(scored, states, items, at))
            if past_point:  # what names a value that came later
                states.update(mentions_of_later(scored, states, items, at))
        if past_point and asked:  # a later present, said of the slot after the time asked about
            states.update(said_after(scored, states, at, asked))
        if present_slots:  # what ingestion did not understand as an update: a guess, flagged as one
            flagged = outdated(records, speaking(records, list(states), present_slots), states, present_slots)
            states.update(flagged)
            states.update(episodes_of({m: records[m] for m in states}, flagged, states))
        # the guesses read every record known (a memory dropped as no news, an episode a
        # dialogue query reaches only through its cell): keep the states of candidates
        states = {m: st for m, st in states.items() if m in scores}
        open_plans = any(s.validity == "current" and scored[m].kind == "foresight" for m, s in states.items())
        ahead = asks_ahead(query)
        for mid, state in states.items():
            share = weight(state.validity, ahead=ahead, open_plans=open_plans)
            if share != 1.0:
                scores[mid] = scores[mid].model_copy(update={"final": scores[mid].final * share, "validity": share})
        return states

    def _hits(self, groups: list[Group], scores: dict[str, Scores], via: dict[str, str], space: str,
              states: dict[str, State]) -> list[Hit]:
        recs = [g.head for g in groups]
        wanted = list(dict.fromkeys(m for r in recs for m in _cited(r)))
        messages = {m.id: m for m in self.store.get_messages(space, wanted)}
        hits = []
        for g, r in zip(groups, recs, strict=True):
            cites = [Citation(message_id=m.id, timestamp=m.timestamp, speaker=m.sender_name,
                              external_id=m.external_id)
                     for mid in _cited(r) if (m := messages.get(mid))]
            state = states.get(r.id, CURRENT)
            hits.append(Hit(memory=r, score=scores[r.id].final, scores=scores[r.id], citations=cites,
                            via=via.get(r.id, "direct"), validity=state.validity, note=state.note,
                            superseded_by=state.superseded_by,
                            covers=[Covered(memory_id=m.id, kind=m.kind, score=scores[m.id].final)
                                    for m in g.members]))
        return hits


def _cited(rec: MemoryRecord) -> list[str]:
    """The messages a hit cites: those it came from and, for a profile item, those that
    said it again (its evidence; a forgotten message is gone from the store and so from
    the citations)."""
    said = rec.metadata.get("evidence") if rec.kind == "profile" else None
    extra = [str(e) for e in said if str(e) not in rec.message_ids] if isinstance(said, list) else []
    return (rec.message_ids + extra)[:MAX_CITATIONS]


def _ready(vector: np.ndarray) -> Future[np.ndarray]:
    done: Future[np.ndarray] = Future()
    done.set_result(vector)
    return done


def _search_terms(terms: list[str], limit: int, *, latest: bool) -> list[str]:
    """A query's distinct terms, at most ``limit``: a question's first ones, a dialogue's
    latest ones (what is being talked about now)."""
    if not latest:
        return list(dict.fromkeys(terms))[:limit]
    return list(dict.fromkeys(reversed(terms)))[:limit][::-1]


def _seed_share(rec: MemoryRecord, past: datetime | None) -> float:
    if rec.status != "superseded" or (past is not None and (rec.valid_to is None or rec.valid_to > past)):
        return 1.0
    return WEIGHTS["superseded"]


def _admits(filters: Filters, wide: Filters, rec: MemoryRecord) -> bool:
    """The caller's filters, except that a superseded memory is admitted (``wide``: the
    same filters with inactive memories; see :mod:`.validity`); a deleted one only when
    the caller includes inactive memories."""
    return (wide if rec.status == "superseded" else filters).matches(rec)


def _same_words(ranked: list[MemoryRecord]) -> list[MemoryRecord]:
    """Without collapsing, a hit whose text repeats a better-ranked one is still dropped (a
    sentence stored both as a fact and a profile item, say): it would add nothing to a
    context.  Of a profile item and another memory with the same text, the profile item
    stays, in the better rank."""
    kept: dict[str, int] = {}
    out: list[MemoryRecord] = []
    for rec in ranked:
        if rec.text not in kept:
            kept[rec.text] = len(out)
            out.append(rec)
        elif rec.kind == "profile" and out[kept[rec.text]].kind != "profile":
            out[kept[rec.text]] = rec
    return out


def _prefer_latest(records: dict[str, MemoryRecord], scores: dict[str, Scores], asked: set[str]) -> None:
    """A question about the present value of a slot ("Where does Ana live?"): of the
    candidates that speak of it, the latest naming a value comes first, whether or not
    ingestion understood it as an update ("Our new neighbours in Antwerp...")."""
    for mid in latest_valued(records, speaking(records, list(scores), asked)):
        sc = scores[mid]
        scores[mid] = sc.model_copy(update={"time": (sc.time or 0.0) + LATEST_SLOT_BOOST,
                                            "final": sc.final * (1.0 + LATEST_SLOT_BOOST)})


def _slot_boost(rec: MemoryRecord, asked: set[str]) -> float:
    """A profile item of the slot the question asks about ("What does Maya do for work?"
    -> her job) comes before the events that mention it."""
    return SLOT_MATCH_BOOST if rec.kind == "profile" and rec.metadata.get("attribute") in asked else 0.0


def _time_boost(rec: MemoryRecord, window: TimeRange | None, wants_date: bool) -> float:
    boost = 0.0
    start, end = time_span(rec)
    if window is not None and end >= window.start and start <= window.end:
        boost += TIME_MATCH_BOOST
    if wants_date and rec.event_start is not None and rec.kind in ("fact", "foresight"):
        boost += DATED_BOOST
    return boost

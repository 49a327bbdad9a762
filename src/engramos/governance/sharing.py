"""Mounted memory in recall: a search that names mounts also runs, for each, in the
sharing space with the share's scope, and the hits are merged by score, each carrying
its mount's name as ``source``.  A revoked share or a removed mount yields nothing,
checked at every search, so that revoking takes effect at once."""

from __future__ import annotations

from ..errors import NotFoundError
from ..filters import Filters
from ..recall.recall import RecallEngine
from ..requests import SearchRequest
from ..store.base import Store
from ..types import Hit, SearchResult, Share


def live_mounts(store: Store, space: str, names: list[str]) -> list[tuple[str, Share]]:
    """The named mounts of ``space`` (``*``: all) whose shares still hold."""
    mounts = store.list_mounts(space)
    if "*" not in names:
        known = {m.name for m in mounts}
        missing = [n for n in names if n not in known]
        if missing:
            raise NotFoundError("mount", missing[0])
        mounts = [m for m in mounts if m.name in names]
    out = []
    for m in mounts:
        share = store.get_share(m.share_id)
        if share is not None and share.revoked_at is None and share.to_space == space:
            out.append((m.name, share))
    return out


def with_mounts(store: Store, engine: RecallEngine, space: str, req: SearchRequest,
                result: SearchResult) -> SearchResult:
    if not req.mounts:
        return result
    hits: list[Hit] = list(result.hits)
    for name, share in live_mounts(store, space, req.mounts):
        # the share's scope, not the caller's: the mounting space's users are not the sharer's
        scoped = req.model_copy(update={"mounts": [], "filters": Filters(
            user_id=share.user_id, agent_id=share.agent_id, kinds=req.filters.kinds,
            include_archived=req.filters.include_archived)})
        hits += [h.model_copy(update={"source": name}) for h in engine.search(share.space, scoped).hits]
    hits.sort(key=lambda h: -h.score)
    return result.model_copy(update={"hits": hits[:req.top_k]})

"""Rerankers re-score the top candidates of a query.  One narrow method, ``score``.

* :class:`NoopReranker` (default) keeps the fused order.
* :class:`EmbeddingReranker` re-scores with a second embedding model (by default the
  multilingual USE, which is strong across languages where e5 is weak).
* :class:`HttpReranker` posts to a cross-encoder endpoint (a local model server, TEI,
  Jina or Cohere style).
"""

from __future__ import annotations

from typing import Protocol

import httpx
import numpy as np

from ..config import RerankerConfig
from ..errors import ConfigError, ProviderError
from ..providers.embeddings import Embedder


class Reranker(Protocol):
    name: str

    def score(self, query: str, documents: list[str]) -> list[float]:
        """One relevance score per document, higher is better (any scale)."""


class NoopReranker:
    name = "none"

    def score(self, query: str, documents: list[str]) -> list[float]:
        return [0.0] * len(documents)


class EmbeddingReranker:
    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.name = f"embedding:{embedder.model_id}"

    def score(self, query: str, documents: list[str]) -> list[float]:
        if not documents:
            return []
        q = self.embedder.embed([query], "query")[0]
        d = self.embedder.embed(documents, "passage")
        return [float(x) for x in d @ q]


class HttpReranker:
    """POST ``{"query", "documents"}``; accepts ``{"scores": [...]}`` or
    ``{"results": [{"index", "relevance_score"}]}`` (Cohere / Jina / TEI style)."""

    def __init__(self, url: str, api_key: str | None = None, timeout_s: float = 10.0) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(headers=headers, timeout=timeout_s)
        self.url = url
        self.name = f"http:{url}"

    def score(self, query: str, documents: list[str]) -> list[float]:
        if not documents:
            return []
        try:
            resp = self._client.post(self.url, json={"query": query, "documents": documents})
            resp.raise_for_status()
            body = resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderError(f"reranker at {self.url} failed: {exc}") from exc
        if "scores" in body:
            return [float(s) for s in body["scores"]]
        scores = [0.0] * len(documents)
        for item in body.get("results", []):
            scores[int(item["index"])] = float(item.get("relevance_score", item.get("score", 0.0)))
        return scores


def make_reranker(cfg: RerankerConfig) -> Reranker:
    if cfg.provider == "none":
        return NoopReranker()
    if cfg.provider == "http":
        if not cfg.url:
            raise ConfigError("reranker.url is required for the http reranker")
        return HttpReranker(cfg.url, cfg.api_key)
    from ..providers.embeddings import UseMultilingualEmbedder

    return EmbeddingReranker(UseMultilingualEmbedder())


def normalise(scores: list[float]) -> np.ndarray:
    arr = np.asarray(scores, dtype=np.float64)
    if arr.size == 0 or float(arr.max() - arr.min()) == 0.0:
        return np.zeros_like(arr)
    return (arr - arr.min()) / (arr.max() - arr.min())

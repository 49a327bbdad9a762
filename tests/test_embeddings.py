from __future__ import annotations

import numpy as np
import pytest

from engramos.config import EmbedderConfig
from engramos.errors import ProviderError
from engramos.providers.embeddings import OpenAIEmbedder


def test_e5_vectors_are_normalised_and_semantic(embedder):
    v = embedder.embed(["I adopted a puppy", "We got a new dog", "The stock market fell"])
    assert v.shape == (3, 384) and np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    assert v[0] @ v[1] > v[0] @ v[2]
    q = embedder.embed_query("我养了一只狗")
    assert q.shape == (384,)
    assert embedder.embed([]).shape == (0, 384)


def test_openai_compatible_endpoint_over_a_real_socket(http_server):
    calls = {"n": 0}

    def route(path, body):
        calls["n"] += 1
        if calls["n"] == 2:
            return 500, {"error": "transient"}
        assert path == "/v1/embeddings" and body["model"] == "emb"
        return 200, {"data": [{"index": i, "embedding": [float(len(t)), 1.0, 0.0]}
                              for i, t in enumerate(body["input"])]}

    url = http_server(route)
    emb = OpenAIEmbedder(EmbedderConfig(provider="openai", model="emb", base_url=url + "/v1", max_retries=2))
    assert emb.dim == 3 and emb.model_id == "openai:emb"
    v = emb.embed(["a", "abcd"])  # the first try of this call gets a 500 and is retried
    assert v.shape == (2, 3) and v[1, 0] > v[0, 0]


def test_openai_endpoint_failure_is_a_provider_error(http_server):
    url = http_server(lambda path, body: (503, {"error": "down"}))
    cfg = EmbedderConfig(provider="openai", model="m", base_url=url, max_retries=0, dimensions=3)
    with pytest.raises(ProviderError):
        OpenAIEmbedder(cfg).embed(["x"])

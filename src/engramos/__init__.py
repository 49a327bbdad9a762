"""EngramOS: long-term memory for LLM agents.

The public surface is pinned here; everything else is implementation."""

from .client import AsyncClient, Client
from .config import Config, EmbedderConfig, RecallConfig, RerankerConfig, SceneConfig, SegmentationConfig
from .errors import (
    ConfigError,
    EmbeddingModelMismatchError,
    EngramError,
    InvalidInputError,
    JobError,
    NotFoundError,
    ProviderError,
    StoreError,
)
from .memory import AsyncMemory, Memory
from .types import (
    AddResult,
    Citation,
    ContextBlock,
    Filters,
    HistoryEntry,
    Hit,
    MemoryRecord,
    Message,
    Page,
    Scores,
    SearchResult,
    TimeRange,
)

__version__ = "0.1.0"

__all__ = [
    "AddResult",
    "AsyncClient",
    "AsyncMemory",
    "Citation",
    "Client",
    "Config",
    "ConfigError",
    "ContextBlock",
    "EmbedderConfig",
    "EmbeddingModelMismatchError",
    "EngramError",
    "Filters",
    "HistoryEntry",
    "Hit",
    "InvalidInputError",
    "JobError",
    "Memory",
    "MemoryRecord",
    "Message",
    "NotFoundError",
    "Page",
    "ProviderError",
    "RecallConfig",
    "RerankerConfig",
    "SceneConfig",
    "Scores",
    "SearchResult",
    "SegmentationConfig",
    "StoreError",
    "TimeRange",
    "__version__",
]

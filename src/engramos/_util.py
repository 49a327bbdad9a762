"""Small shared helpers: ids and time."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime


def new_id(prefix: str) -> str:
    """A sortable, unique id: ``prefix_`` + 48-bit milliseconds + 64 random bits, hex."""
    return f"{prefix}_{int(time.time() * 1000):012x}{os.urandom(8).hex()}"


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime) -> str:
    return dt.isoformat()


def from_iso(text: str) -> datetime:
    dt = datetime.fromisoformat(text)
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def epoch(dt: datetime) -> float:
    return dt.timestamp()

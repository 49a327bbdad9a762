"""``AsyncMemory``: the surface of :class:`engramos.Memory`, awaitable (each call runs in
a worker thread over the same store), and ``PUBLIC_METHODS``, the list of that surface
that the clients mirror name by name."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .config import Config
from .memory import Memory


def _in_thread(method: Callable[..., Any]) -> Any:
    @functools.wraps(method)
    async def wrapper(self: AsyncMemory, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(getattr(self._sync, method.__name__), *args, **kwargs)

    return wrapper


# The methods AsyncMemory (and the clients) mirror: Memory's public surface, less what
# only makes sense in process (the admin part, the space switch, the context manager).
PUBLIC_METHODS = ("add", "flush", "run_jobs", "job_counts", "jobs", "status", "retry", "llm_usage", "search",
                  "context", "answer", "get", "list", "put", "update", "delete", "forget", "history", "users",
                  "conversations", "conversation_owner", "messages", "scenes", "profile", "export_cube",
                  "export_training", "import_cube", "archive", "restore", "retention", "working_memory", "health",
                  "close")


class AsyncMemory:
    """The same surface as :class:`Memory`, awaitable.  Calls run in worker threads
    over one store (which serialises its writes)."""

    def __init__(self, path: str | Path | None = None, config: Config | None = None, **kwargs: Any) -> None:
        self._sync = Memory(path, config, **kwargs)

    @property
    def sync(self) -> Memory:
        return self._sync

    async def __aenter__(self) -> AsyncMemory:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    add = _in_thread(Memory.add)
    flush = _in_thread(Memory.flush)
    run_jobs = _in_thread(Memory.run_jobs)
    job_counts = _in_thread(Memory.job_counts)
    jobs = _in_thread(Memory.jobs)
    status = _in_thread(Memory.status)
    retry = _in_thread(Memory.retry)
    llm_usage = _in_thread(Memory.llm_usage)
    search = _in_thread(Memory.search)
    context = _in_thread(Memory.context)
    answer = _in_thread(Memory.answer)
    get = _in_thread(Memory.get)
    list = _in_thread(Memory.list)
    put = _in_thread(Memory.put)
    update = _in_thread(Memory.update)
    delete = _in_thread(Memory.delete)
    forget = _in_thread(Memory.forget)
    history = _in_thread(Memory.history)
    users = _in_thread(Memory.users)
    conversations = _in_thread(Memory.conversations)
    conversation_owner = _in_thread(Memory.conversation_owner)
    messages = _in_thread(Memory.messages)
    scenes = _in_thread(Memory.scenes)
    profile = _in_thread(Memory.profile)
    working_memory = _in_thread(Memory.working_memory)
    archive = _in_thread(Memory.archive)
    restore = _in_thread(Memory.restore)
    retention = _in_thread(Memory.retention)
    export_cube = _in_thread(Memory.export_cube)
    export_training = _in_thread(Memory.export_training)
    import_cube = _in_thread(Memory.import_cube)
    health = _in_thread(Memory.health)
    close = _in_thread(Memory.close)


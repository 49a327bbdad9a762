"""AutoGen's memory protocol over EngramOS (embedded, offline, no model).

    pip install 'engramos[autogen]'
    python examples/autogen_memory.py [HOME]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile

from autogen_core.memory import MemoryContent, MemoryMimeType
from autogen_core.model_context import UnboundedChatCompletionContext
from autogen_core.models import UserMessage

from engramos import Memory
from engramos.integrations.autogen import EngramMemory


async def run(memory: Memory) -> None:
    mem = EngramMemory(memory, user_id="ana")
    await mem.add(MemoryContent(content="Ana lives in Glasgow and works night shifts as a nurse.",
                                mime_type=MemoryMimeType.TEXT))
    context = UnboundedChatCompletionContext()
    await context.add_message(UserMessage(content="Where do I live?", source="ana"))
    await mem.update_context(context)
    for message in await context.get_messages():
        print(f"{type(message).__name__}: {message.content}")


def main() -> None:
    home = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="engram-autogen-")
    with Memory(home) as memory:
        asyncio.run(run(memory))


if __name__ == "__main__":
    main()

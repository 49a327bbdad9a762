"""LlamaIndex's Memory with an EngramOS long-term block (embedded, offline, no LLM).

    pip install 'engramos[llamaindex]'
    python examples/llamaindex_memory.py [HOME]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile

from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.memory import Memory as ChatMemory

from engramos import Memory
from engramos.integrations.llamaindex import EngramMemoryBlock


async def run(memory: Memory) -> None:
    block = EngramMemoryBlock(memory, user_id="ana", conversation_id="ana-chat")
    chat = ChatMemory.from_defaults(session_id="ana", token_limit=60, chat_history_token_ratio=0.5,
                                    token_flush_size=10, memory_blocks=[block])
    await chat.aput(ChatMessage(role="user", content="I moved to Glasgow last month for a nursing job."))
    for i in range(6):
        await chat.aput(ChatMessage(role="user", content=f"Small talk number {i} about the weather."))
    await chat.aput(ChatMessage(role="user", content="Where do I live now?"))
    for message in await chat.aget():
        print(f"{message.role.value}: {message.content}")


def main() -> None:
    home = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="engram-llamaindex-")
    with Memory(home) as memory:
        asyncio.run(run(memory))


if __name__ == "__main__":
    main()

"""Google ADK's memory service over EngramOS (embedded, offline, no model).

    pip install 'engramos[adk]'
    python examples/adk_memory.py [HOME]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time

from google.adk.events import Event
from google.adk.sessions import InMemorySessionService
from google.genai import types

from engramos import Memory
from engramos.integrations.adk import EngramMemoryService


async def run(memory: Memory) -> None:
    service = EngramMemoryService(memory)
    sessions = InMemorySessionService()
    session = await sessions.create_session(app_name="helper", user_id="ana")
    for author, text in (("user", "I moved to Glasgow last month for a nursing job."),
                         ("helper", "Congratulations on the move!")):
        await sessions.append_event(session, Event(author=author, timestamp=time.time(),
                                                   content=types.Content(role="user", parts=[types.Part(text=text)])))
    await service.add_session_to_memory(session)
    found = await service.search_memory(app_name="helper", user_id="ana", query="Where does Ana live?")
    for entry in found.memories[:3]:
        print(f"{entry.timestamp} {entry.author}: {entry.content.parts[0].text}")


def main() -> None:
    home = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="engram-adk-")
    with Memory(home) as memory:
        asyncio.run(run(memory))


if __name__ == "__main__":
    main()

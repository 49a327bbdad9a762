"""CrewAI's unified Memory on EngramOS storage (embedded, offline: shallow recall and
explicit scope, categories and importance, so CrewAI calls no LLM).

    pip install 'engramos[crewai]'
    python examples/crewai_storage.py [HOME]
"""

from __future__ import annotations

import os
import sys
import tempfile

os.environ.setdefault("CREWAI_DISABLE_TELEMETRY", "true")

from crewai.memory.unified_memory import Memory as CrewMemory

from engramos import Memory
from engramos.integrations.crewai import EngramStorage


def main() -> None:
    home = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="engram-crewai-")
    with Memory(home) as memory:
        storage = EngramStorage(memory, user_id="crew")
        crew_memory = CrewMemory(storage=storage, embedder=storage.embedder)
        crew_memory.remember("Ana moved to Glasgow last month for a nursing job.", scope="/people/ana",
                             categories=["home"], importance=0.9)
        for match in crew_memory.recall("Where does Ana live now?", depth="shallow", limit=3):
            print(f"{match.score:.2f} {match.record.scope}: {match.record.content}")


if __name__ == "__main__":
    main()

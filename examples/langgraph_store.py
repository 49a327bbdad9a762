"""A LangGraph graph whose long-term store is EngramOS (embedded, offline, no LLM).

    pip install 'engramos[langgraph]'
    python examples/langgraph_store.py [HOME]
"""

from __future__ import annotations

import sys
import tempfile
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from engramos import Memory
from engramos.integrations.langgraph import EngramStore


class State(TypedDict):
    user: str
    message: str
    recalled: list[str]


def remember(state: State, runtime: Runtime) -> dict[str, Any]:
    assert runtime.store is not None
    runtime.store.put(("memories", state["user"]), "home", {"text": state["message"]})
    return {}


def recall(state: State, runtime: Runtime) -> dict[str, Any]:
    assert runtime.store is not None
    hits = runtime.store.search(("memories", state["user"]), query="Where does the user live?", limit=3)
    return {"recalled": [h.value["text"] for h in hits]}


def build_app(store: EngramStore) -> Any:
    """remember -> recall, over the given store."""
    graph = StateGraph(State)
    graph.add_node("remember", remember)
    graph.add_node("recall", recall)
    graph.add_edge(START, "remember")
    graph.add_edge("remember", "recall")
    graph.add_edge("recall", END)
    return graph.compile(store=store)


def main() -> None:
    home = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="engram-langgraph-")
    with Memory(home) as memory:
        app = build_app(EngramStore(memory))
        out = app.invoke({"user": "ana", "message": "I moved to Glasgow last month", "recalled": []})
        print("recalled:", out["recalled"])


if __name__ == "__main__":
    main()

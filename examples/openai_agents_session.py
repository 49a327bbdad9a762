"""An OpenAI Agents SDK session kept in EngramOS, and recall as a tool (embedded,
offline: the tool is called directly, no model runs).

    pip install 'engramos[openai-agents]'
    python examples/openai_agents_session.py [HOME]
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile

from agents.tool_context import ToolContext

from engramos import Memory
from engramos.integrations.openai_agents import EngramSession, recall_tool


async def run(memory: Memory) -> None:
    session = EngramSession(memory, "ana-2024-05-02", user_id="ana")
    await session.add_items([{"role": "user", "content": "I moved to Glasgow last month for a nursing job."},
                             {"role": "assistant", "content": "Congratulations on the move!"}])
    print("session items:", await session.get_items())
    tool = recall_tool(memory, user_id="ana")
    args = json.dumps({"query": "Where does Ana live?"})
    context = ToolContext(context=None, tool_name=tool.name, tool_call_id="call_1", tool_arguments=args)
    print("recall_memory ->", await tool.on_invoke_tool(context, args))


def main() -> None:
    home = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="engram-agents-")
    with Memory(home) as memory:
        asyncio.run(run(memory))


if __name__ == "__main__":
    main()

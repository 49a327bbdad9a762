"""A LangChain agent that recalls from and remembers into EngramOS (embedded, offline).
The model is LangChain's own fake chat model, so no LLM is called: the example shows
what the model is sent.

    pip install 'engramos[langchain]'
    python examples/langchain_agent.py [HOME]
"""

from __future__ import annotations

import sys
import tempfile

from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage

from engramos import Memory
from engramos.integrations.langchain import EngramChatMessageHistory, EngramMemoryMiddleware


def main() -> None:
    home = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="engram-langchain-")
    with Memory(home) as memory:
        # an earlier conversation, kept as a chat history
        past = EngramChatMessageHistory(memory, "monday", user_id="ana")
        past.add_messages([HumanMessage("I moved to Glasgow last month for a nursing job."),
                           AIMessage("Congratulations on the move!")])
        memory.flush(conversation_id="monday")

        model = GenericFakeChatModel(messages=iter([AIMessage("You live in Glasgow.")]))
        middleware = EngramMemoryMiddleware(memory, user_id="ana", conversation_id="tuesday")
        agent = create_agent(model, tools=[], system_prompt="You are Ana's assistant.", middleware=[middleware])
        out = agent.invoke({"messages": [HumanMessage("Where do I live now?")]})
        print("answer:", out["messages"][-1].content)
        block = memory.context("Where do I live now?", user_id="ana", budget_tokens=200)
        print("the model was given:\n" + block.text)


if __name__ == "__main__":
    main()

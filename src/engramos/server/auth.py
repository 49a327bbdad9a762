"""Who is calling: the API key behind a request and what it may do.  Keys are created,
stored and checked through ``Memory.admin``; this module only decides permissions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request

from ..errors import AuthError, ForbiddenError, NotFoundError
from ..memory import Memory
from ..types import ApiKey, KeyRole, MemoryRecord

RANKS: dict[KeyRole, int] = {"read": 0, "write": 1, "admin": 2}


@dataclass
class Caller:
    key: ApiKey
    memory: Memory  # the memory of the key's space

    @property
    def space(self) -> str:
        return self.key.space

    def require(self, role: KeyRole) -> None:
        if RANKS[self.key.role] < RANKS[role]:
            raise ForbiddenError(f"this key's role is {self.key.role!r}; {role!r} is required")

    def check_user(self, user_id: str | None) -> None:
        """A key restricted to users may only name those users (and must name one)."""
        if self.key.users is not None and (user_id is None or user_id not in self.key.users):
            raise ForbiddenError("this key may only access users " + ", ".join(self.key.users))

    def check_agent(self, agent_id: str | None) -> None:
        """A key restricted to agents may only name those agents (and must name one)."""
        if self.key.agents is not None and (agent_id is None or agent_id not in self.key.agents):
            raise ForbiddenError("this key may only access agents " + ", ".join(self.key.agents))

    @property
    def limited(self) -> bool:
        return self.key.users is not None or self.key.agents is not None

    def require_unlimited(self, why: str) -> None:
        """For what spans the whole space (its audit log, requeueing all its jobs)."""
        if self.limited:
            raise ForbiddenError(f"{why}: use a key without user or agent limits")

    def refuse_agent_limited(self, what: str) -> None:
        """For what gathers a user's memory across agents (scenes, a working memory's
        profiles and predictions): an agent-limited key would see other agents' rows."""
        if self.key.agents is not None:
            raise ForbiddenError(f"{what} span a user's agents: an agent-limited key cannot read them")

    def sees_user(self, user_id: str) -> bool:
        return self.key.users is None or user_id in self.key.users

    def sees(self, user_id: str, agent_id: str | None) -> bool:
        """Whether a stored row is visible to this key: a user-limited key sees its users'
        rows, an agent-limited key only rows of its agents (not rows of no agent)."""
        if not self.sees_user(user_id):
            return False
        return self.key.agents is None or agent_id in self.key.agents

    def check_conversation(self, conversation_id: str | None) -> None:
        """A limited key may touch an existing conversation only if it sees its owner (a
        new conversation becomes the writer's); another's answers 404, as any id it may
        not see, so that the key learns nothing of it."""
        if conversation_id is None or not self.limited:
            return
        owner = self.memory.conversation_owner(conversation_id)
        if owner is not None and not self.sees(owner.user_id, owner.agent_id):
            raise NotFoundError("conversation", conversation_id)

    def visible_memory(self, memory_id: str) -> MemoryRecord:
        """The memory, if this key may see it; NotFound otherwise (never a hint)."""
        rec = self.memory.get(memory_id)
        if not self.sees(rec.user_id, rec.agent_id):
            raise NotFoundError("memory", memory_id)
        return rec

    def check_forget(self, *, memory_id: str | None, conversation_id: str | None, user_id: str | None,
                     message_id: str | None = None) -> None:
        """What a hard delete may reach: a memory or a message it sees, a conversation
        whose owner it sees, a user it may name (not with an agent-limited key: a user's
        data spans agents)."""
        if message_id is not None:
            msg = self.memory.admin.message(message_id)
            if not self.sees(msg.user_id, msg.agent_id):
                raise NotFoundError("message", message_id)
        elif memory_id is not None:
            rec = self.memory.get(memory_id)
            if not self.sees(rec.user_id, rec.agent_id):
                raise NotFoundError("memory", memory_id)
        elif user_id is not None:
            self.check_user(user_id)
            if self.key.agents is not None:
                raise ForbiddenError("an agent-limited key cannot forget a whole user; forget its conversations "
                                     "or memories")
        elif conversation_id is not None:
            self.check_conversation(conversation_id)

    def audit(self, action: str, target: str, **detail: object) -> None:
        self.memory.admin.record(self.key.id, action, target, **detail)


def bearer_token(authorization: str | None) -> str | None:
    """The key of an ``Authorization: Bearer <key>`` header (the scheme in any case); a
    header without the scheme, or with another, is refused."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("use the header Authorization: Bearer <key>")
    return token.strip()


def caller(request: Request, authorization: Annotated[str | None, Header()] = None) -> Caller:
    """The authenticated caller: its key decides the space and what it may do."""
    spaces = request.app.state.spaces
    key = getattr(request.state, "api_key", None)  # checked by the gate (guard.py) before the body was read
    if key is None:
        key = spaces.root.admin.authenticate(bearer_token(authorization))
    return Caller(key, spaces.get(key.space))


# Module level, so that FastAPI resolves it from the (postponed) annotations.
Auth = Annotated[Caller, Depends(caller)]

"""API keys: scoped to one space, with a role (admin > write > read) and optionally
restricted to given users or agents.  Only a SHA-256 of each secret is stored; secrets
are 256-bit random tokens, so a fast hash is enough (as for GitHub or Stripe keys)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from .._util import new_id, utcnow
from ..errors import EngramError, InvalidInputError
from ..ingest.messages import check_id
from ..store.base import Store
from ..types import ApiKey, KeyRole

PREFIX = "engram_"
RANKS = {"read": 0, "write": 1, "admin": 2}


class AuthError(EngramError):
    code = "unauthorized"


class ForbiddenError(EngramError):
    code = "forbidden"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(store: Store, space: str, name: str, role: KeyRole, *, users: list[str] | None = None,
               agents: list[str] | None = None) -> tuple[ApiKey, str]:
    """A new key and its secret (shown once, never stored)."""
    check_id("space", space)
    if role not in RANKS:
        raise InvalidInputError("role", f"must be one of {sorted(RANKS)}")
    for field, ids in (("users", users), ("agents", agents)):
        for i in ids or []:
            check_id(field, i)
    secret = PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(id=new_id("key"), space=space, name=name or "key", role=role, users=users, agents=agents,
                 created_at=utcnow())
    store.create_key(key, hash_secret(secret))
    return key, secret


def authenticate(store: Store, secret: str | None) -> ApiKey:
    if not secret:
        raise AuthError("an API key is required (Authorization: Bearer <key>)")
    key = store.key_by_hash(hash_secret(secret.strip()))
    if key is None or key.revoked_at is not None:
        raise AuthError("unknown or revoked API key")
    return key


@dataclass
class Caller:
    key: ApiKey

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
        if self.key.agents is not None and agent_id is not None and agent_id not in self.key.agents:
            raise ForbiddenError("this key may only access agents " + ", ".join(self.key.agents))

    def sees(self, user_id: str, agent_id: str | None) -> bool:
        """Whether a stored row is visible to this key (restricted keys see their users only)."""
        if self.key.users is not None and user_id not in self.key.users:
            return False
        return self.key.agents is None or agent_id is None or agent_id in self.key.agents

"""Forgetting one message: the store removes the message, what drew on it and its
conversation's cached state; the vault tokens it held go too, unless another message of
the conversation still holds them (the same value gives the same token)."""

from __future__ import annotations

from ..store import Store
from ..types import Message
from .pii import tokens_in

_PAGE = 1000


def forget_message(store: Store, space: str, message: Message) -> dict[str, int]:
    tokens = set(tokens_in([message.content]))
    with store.transaction():
        counts = store.forget(space, message_id=message.id)
        if tokens:
            seq = 0
            while tokens:  # the conversation's other messages, a page at a time
                page = store.list_messages(space, message.conversation_id, seq_from=seq, limit=_PAGE)
                for m in page:
                    tokens -= set(tokens_in([m.content]))
                if len(page) < _PAGE:
                    break
                seq = page[-1].seq + 1
            counts["vault"] = store.vault_delete(space, message.conversation_id, sorted(tokens))
    return counts

"""``engram pii``: the vault key and reading vaulted values back."""

from __future__ import annotations

import click

from .cli_common import State, _errors, pass_state


@click.group()
def pii() -> None:
    """PII redaction (config.pii / ENGRAM_PII_MODE): the vault's key and its values."""


@pii.command(name="new-key")
@pass_state
def pii_new_key(state: State) -> None:
    """Print a new vault key (set it as ENGRAM_PII_VAULT_KEY; lose it and the vault is unreadable)."""
    from .governance.pii import new_vault_key

    with _errors(state):
        key = new_vault_key()
        state.emit({"vault_key": key}, lambda: click.echo(key))


@pii.command(name="reveal")
@click.argument("message_id")
@pass_state
def pii_reveal(state: State, message_id: str) -> None:
    """Show a message with its vaulted values put back (needs the vault key)."""
    with _errors(state):
        found = state.memory.admin.reveal(message_id)
        state.memory.admin.record("cli", "pii.reveal", message_id, values=len(found.values))
        state.emit(found, lambda: click.echo(found.text))

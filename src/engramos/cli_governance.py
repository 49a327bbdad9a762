"""Governance commands: ``engram pii`` (the vault key, reading vaulted values back),
``engram retention``, ``engram archive`` and ``engram restore``."""

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


@click.command()
@click.option("--apply", "do_apply", is_flag=True, help="Apply the rules now (default: a dry run).")
@pass_state
def retention(state: State, do_apply: bool) -> None:
    """Show the space's retention rules and what they would do now; --apply does it.
    Rules come from ENGRAM_RETENTION (a JSON list) or config.retention."""
    with _errors(state):
        report = state.memory.retention(apply=do_apply)

        def human() -> None:
            if not report.rules:
                click.echo("no retention rules for this space: nothing is archived or deleted")
            verb = "would" if report.dry_run else "will"
            for o in report.rules:
                click.echo(f"{o.rule}: {verb} {o.action} {o.memories} memories")
                for m in o.sample[:5]:
                    click.echo(f"    {m['id']}  {m['kind']:<9} {m['text'][:70]}")
            if report.job_id:
                click.echo(f"job {report.job_id}")

        state.emit(report, human)


@click.command()
@click.argument("memory_id")
@pass_state
def archive(state: State, memory_id: str) -> None:
    """Keep a memory out of recall without losing it (restorable)."""
    with _errors(state):
        rec = state.memory.archive(memory_id, actor="cli")
        state.emit(rec, lambda: click.echo(f"archived {rec.id}"))


@click.command()
@click.argument("memory_id")
@pass_state
def restore(state: State, memory_id: str) -> None:
    """Bring back a deleted, archived or expired memory."""
    with _errors(state):
        rec = state.memory.restore(memory_id, actor="cli")
        state.emit(rec, lambda: click.echo(f"restored {rec.id} ({rec.status})"))

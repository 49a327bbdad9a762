"""Governance commands: ``engram pii`` (the vault key, reading vaulted values back),
``engram retention``, ``engram archive`` and ``engram restore``."""

from __future__ import annotations

import click

from .cli_common import State, _errors, pass_state
from .errors import NotFoundError


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


def _status_command(action: str, done: str, doc: str) -> click.Command:
    """``engram archive`` / ``engram restore``: one memory's status, by Memory's method."""

    @click.command(name=action, help=doc)
    @click.argument("memory_id")
    @pass_state
    def command(state: State, memory_id: str) -> None:
        with _errors(state):
            rec = getattr(state.memory, action)(memory_id, actor="cli")
            state.emit(rec, lambda: click.echo(f"{done} {rec.id} ({rec.status})"))

    return command


archive = _status_command("archive", "archived", "Keep a memory out of recall without losing it (restorable).")
restore = _status_command("restore", "restored", "Bring back a deleted, archived or expired memory.")


@click.group()
def share() -> None:
    """Share this space's memory with another space (read-only, revocable)."""


@share.command(name="create")
@click.argument("name")
@click.option("--to", "to_space", required=True, help="The space that may mount it.")
@click.option("--user", "user_id", default=None, help="Only this user's memory.")
@click.option("--agent", "agent_id", default=None, help="Only this agent's memory.")
@pass_state
def share_create(state: State, name: str, to_space: str, user_id: str | None, agent_id: str | None) -> None:
    """Grant TO_SPACE a read-only share of this space's memory, named NAME."""
    with _errors(state):
        made = state.memory.admin.share(name, to_space, user_id=user_id, agent_id=agent_id)
        state.memory.admin.record("cli", "share.create", made.id, to_space=to_space)
        state.emit(made, lambda: click.echo(f"{made.id}  (space {to_space} can mount it: "
                                            f"engram --space {to_space} mount add {made.id} {name})"))


@share.command(name="list")
@pass_state
def share_list(state: State) -> None:
    """Shares this space made and shares granted to it."""
    with _errors(state):
        found = state.memory.admin.shares()

        def human() -> None:
            for s in found:
                scope = f"user {s.user_id}" if s.user_id else f"agent {s.agent_id}" if s.agent_id else "all"
                state_ = f"revoked {s.revoked_at:%Y-%m-%d}" if s.revoked_at else "active"
                click.echo(f"{s.id}  {s.name}  {s.space} -> {s.to_space}  {scope}  {state_}")

        state.emit(found, human)


@share.command(name="revoke")
@click.argument("share_id")
@pass_state
def share_revoke(state: State, share_id: str) -> None:
    """Stop a share: its mounts yield nothing from now on."""
    with _errors(state):
        _done(state, state.memory.admin.revoke_share(share_id), "share", share_id, "share.revoke", "revoked")


@click.group()
def mount() -> None:
    """Mount shares granted to this space; search them with --mount NAME."""


@mount.command(name="add")
@click.argument("share_id")
@click.argument("name")
@pass_state
def mount_add(state: State, share_id: str, name: str) -> None:
    """Mount a share granted to this space under NAME."""
    with _errors(state):
        made = state.memory.admin.mount(share_id, name)
        state.memory.admin.record("cli", "mount.add", name, share_id=share_id)
        state.emit(made, lambda: click.echo(f"mounted {share_id} as {name}"))


@mount.command(name="cube")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.argument("name")
@click.option("--sign-key", envvar="ENGRAM_CUBE_KEY", default=None, help="Check the cube's signature with this key.")
@pass_state
def mount_cube(state: State, file: str, name: str, sign_key: str | None) -> None:
    """Mount a MemCube file read-only under NAME (loaded into a space of its own)."""
    with _errors(state):
        made = state.memory.admin.mount_cube(file, name, sign_key=sign_key)
        state.memory.admin.record("cli", "mount.add", name, share_id=made.share_id, cube=True)
        state.emit(made, lambda: click.echo(f"mounted {file} as {name}"))


@mount.command(name="list")
@pass_state
def mount_list(state: State) -> None:
    """This space's mounts."""
    with _errors(state):
        found = state.memory.admin.mounts()
        state.emit(found, lambda: click.echo("\n".join(f"{m.name}  {m.share_id}" for m in found) or "no mounts"))


@mount.command(name="remove")
@click.argument("name")
@pass_state
def mount_remove(state: State, name: str) -> None:
    """Unmount NAME: its memory leaves this space's results at once."""
    with _errors(state):
        _done(state, state.memory.admin.unmount(name), "mount", name, "mount.remove", "unmounted")


@click.group()
def adapters() -> None:
    """LoRA adapters per user, applied by the local runtime (ENGRAM_LOCAL_ANSWER=1) when it
    answers for that user."""


@adapters.command(name="attach")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--user", "user_id", required=True, help="The user it answers for.")
@click.option("--scale", type=float, default=1.0, show_default=True, help="How strongly it is applied.")
@pass_state
def adapters_attach(state: State, file: str, user_id: str, scale: float) -> None:
    """Register FILE (a LoRA adapter in GGUF for the local model) for a user."""
    with _errors(state):
        made = state.memory.admin.attach_adapter(user_id, file, scale=scale)
        state.memory.admin.record("cli", "adapter.attach", user_id, sha256=made.sha256, scale=scale)
        state.emit(made, lambda: click.echo(f"attached {made.name} ({made.sha256[:12]}) for {user_id}"))


@adapters.command(name="list")
@pass_state
def adapters_list(state: State) -> None:
    """This space's adapters."""
    with _errors(state):
        found = state.memory.admin.adapters()
        state.emit(found, lambda: click.echo("\n".join(
            f"{a.user_id}  {a.name}  {a.sha256[:12]}  scale {a.scale:g}  {a.bytes} bytes" for a in found)
            or "no adapters"))


@adapters.command(name="detach")
@click.option("--user", "user_id", required=True)
@pass_state
def adapters_detach(state: State, user_id: str) -> None:
    """Stop applying the user's adapter (and delete its file when nothing else uses it)."""
    with _errors(state):
        _done(state, state.memory.admin.detach_adapter(user_id), "adapter", user_id, "adapter.detach", "detached")


def _done(state: State, found: bool, kind: str, ident: str, action: str, verb: str) -> None:
    """Audit and report a removal (a revoked share, an unmounted mount); 404-like when
    there was nothing to remove."""
    if not found:
        raise NotFoundError(kind, ident)
    state.memory.admin.record("cli", action, ident)
    state.emit({verb: ident}, lambda: click.echo(f"{verb} {ident}"))


@click.command()
@click.argument("conversation_id")
@click.option("--budget", "budget_tokens", type=int, default=None, help="Token budget (default: config, 512).")
@pass_state
def working(state: State, conversation_id: str, budget_tokens: int | None) -> None:
    """Show a conversation's working memory: the stable block its prompts start with."""
    with _errors(state):
        wm = state.memory.working_memory(conversation_id, budget_tokens=budget_tokens)

        def human() -> None:
            click.echo(wm.text)
            click.echo(click.style(f"{wm.tokens} tokens of {wm.budget_tokens}; version {wm.version}, "
                                   f"{wm.kept} entries kept in place by the last refresh", dim=True))

        state.emit(wm, human)

"""``engram cube``: export, import, verify and inspect MemCubes (``docs/memcube.md``).
The signing key comes from ``--sign-key`` or ``ENGRAM_CUBE_KEY``."""

from __future__ import annotations

from typing import Any

import click

from .cli_common import State, _errors, pass_state
from .cube import ON_CONFLICT, CubeReport, ImportReport, Manifest, inspect_cube, verify_cube

SIGN_KEY = click.option("--sign-key", envvar="ENGRAM_CUBE_KEY", default=None,
                        help="Shared secret for the HMAC-SHA256 signature (or ENGRAM_CUBE_KEY).")


@click.group()
def cube() -> None:
    """MemCubes: a space, user, agent or conversation as one portable, verifiable file."""


@cube.command(name="export")
@click.option("--user", "user_id", default=None, help="Only this user's memory.")
@click.option("--agent", "agent_id", default=None, help="Only this agent's conversations and memories.")
@click.option("--conversation", "conversation_id", default=None, help="Only this conversation.")
@click.option("--space", "whole_space", is_flag=True, help="The whole space (the default when no scope is given).")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False, writable=True),
              help="The cube file to write.")
@click.option("--format", "fmt", type=click.Choice(["cube", "sft", "preference"]), default="cube",
              show_default=True, help="sft / preference: a user's memory as a chat JSONL training set instead.")
@SIGN_KEY
@click.option("--key-id", default=None, help="A name for the signing key, recorded in the manifest.")
@pass_state
def cube_export(state: State, user_id: str | None, agent_id: str | None, conversation_id: str | None,
                whole_space: bool, output: str, fmt: str, sign_key: str | None, key_id: str | None) -> None:
    """Write a MemCube of the space, or of one user, agent or conversation (or, with
    --format sft|preference, a user's memory as a fine-tuning set)."""
    with _errors(state):
        if fmt != "cube":
            if user_id is None:
                raise click.UsageError("--format sft|preference exports one user's memory: give --user")
            n = state.memory.export_training(output, user_id=user_id, format=fmt)  # type: ignore[arg-type]
            state.emit({"format": fmt, "rows": n, "output": output},
                       lambda: click.echo(f"{output}: {n} {fmt} rows"))
            return
        if whole_space and (user_id or agent_id or conversation_id):
            raise click.UsageError("--space exports everything: give it alone, or a --user/--agent/--conversation")
        manifest = state.memory.export_cube(output, user_id=user_id, agent_id=agent_id,
                                            conversation_id=conversation_id, sign_key=sign_key, key_id=key_id)
        state.emit(manifest, lambda: _print_manifest(manifest, output))


@cube.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--space", "space", default=None, help="Import into this space (default: --space before the "
              "command, or 'default').")
@click.option("--as-user", default=None, help="File every row under this user.")
@click.option("--on-conflict", type=click.Choice(ON_CONFLICT), default="skip", show_default=True,
              help="What a memory already in the store becomes.")
@click.option("--no-reembed", is_flag=True, help="Refuse a cube made by another embedding model.")
@SIGN_KEY
@pass_state
def cube_import(state: State, file: str, space: str | None, as_user: str | None, on_conflict: str,
                no_reembed: bool, sign_key: str | None) -> None:
    """Import a MemCube into the space (--space), which may already hold data."""
    with _errors(state):
        bar: list[Any] = []  # the click progress bar, made once the total is known

        def progress(stage: str, done: int, total: int) -> None:
            if state.as_json or stage != "embedding":
                return
            if not bar:
                bar.append(click.progressbar(length=total, label="re-embedding", file=click.get_text_stream("stderr")))
                bar[0].__enter__()
            bar[0].update(done - bar[0].pos)

        try:
            target = state.memory.for_space(space) if space else state.memory
            report = target.import_cube(file, as_user=as_user, on_conflict=on_conflict,  # type: ignore[arg-type]
                                              reembed=not no_reembed, sign_key=sign_key, progress=progress)
        finally:
            if bar:
                bar[0].__exit__(None, None, None)
        state.emit(report, lambda: _print_import(report))


@cube.command(name="verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@SIGN_KEY
@pass_state
def cube_verify(state: State, file: str, sign_key: str | None) -> None:
    """Check a cube: manifest, every part's sha256, rows and references (and the signature
    with --sign-key).  Exit code 2 and the part at fault when it fails."""
    with _errors(state):
        report = verify_cube(file, sign_key=sign_key.encode() if sign_key else None)
        state.emit(report, lambda: _print_report(report, file))


@cube.command(name="inspect")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@pass_state
def cube_inspect(state: State, file: str) -> None:
    """Show a cube's manifest (no part is read)."""
    with _errors(state):
        report = inspect_cube(file)
        state.emit(report, lambda: _print_report(report, file))


def _print_manifest(m: Manifest, where: str) -> None:
    click.echo(f"{where}: MemCube v{m.format_version} of {m.scope.describe()} (EngramOS {m.engramos_version}, "
               f"{m.created_at:%Y-%m-%d %H:%M} UTC)")
    click.echo("  " + ", ".join(f"{v} {k}" for k, v in m.counts.items()))
    if m.embedding:
        click.echo(f"  vectors: {m.embedding.model}, dimension {m.embedding.dim}")
    signed = f"signed (hmac-sha256{', key ' + m.signature.key_id if m.signature.key_id else ''})" \
        if m.signature else "unsigned"
    click.echo(f"  {signed}; {len(m.parts)} parts, {sum(p.bytes for p in m.parts.values())} bytes uncompressed")


def _print_report(r: CubeReport, where: str) -> None:
    _print_manifest(r.manifest, where)
    if r.checked:
        sig = {"valid": "signature valid", "unchecked": "signature not checked (give --sign-key)",
               "unsigned": "unsigned"}[r.signature]
        click.echo(f"verified: every part's sha256, rows and references hold; {sig}")


def _print_import(r: ImportReport) -> None:
    click.echo(f"imported {r.scope} (cube {r.cube_id}) into space {r.space}")
    click.echo("  inserted: " + (", ".join(f"{v} {k}" for k, v in r.inserted.items()) or "nothing"))
    if r.skipped:
        click.echo("  already there: " + ", ".join(f"{v} {k}" for k, v in r.skipped.items()))
    if r.replaced:
        click.echo(f"  replaced: {r.replaced} memories")
    if r.reembedded:
        click.echo(f"  re-embedded: {r.reembedded} memories")
    for old, new in r.conversations.items():
        click.echo(f"  conversation {old} is {new} here (the name was taken)")
    moved = {o: n for o, n in r.users.items() if o != n}
    for old, new in moved.items():
        click.echo(f"  user {old} is {new} here")

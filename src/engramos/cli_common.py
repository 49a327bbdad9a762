"""What the ``engram`` command modules share: the per-invocation state (config read from
the environment), JSON/human output, and the translation of errors to exit codes."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from .config import Config, LimitsConfig
from .errors import EngramError, InvalidInputError
from .memory import Memory


class State:
    def __init__(self, home: str | None, space: str | None, as_json: bool, db: str | None = None,
                 limits: tuple[str, ...] = ()) -> None:
        overrides: dict[str, Any] = {}
        if home:
            overrides["home"] = Path(home).expanduser()
        if db:
            overrides["db"] = db
        if space:
            overrides["space"] = space
        self.config = Config.from_env(**overrides)
        if limits:
            self.config = self.config.model_copy(update={"limits": _with_limits(self.config.limits, limits)})
        self.as_json = as_json
        self._memory: Memory | None = None

    @property
    def memory(self) -> Memory:
        if self._memory is None:
            self._memory = Memory(config=self.config)
        return self._memory

    def emit(self, payload: Any, human: Callable[[], None]) -> None:
        if self.as_json:
            click.echo(json.dumps(_jsonable(payload), ensure_ascii=False, indent=2))
        else:
            human()


def _with_limits(current: LimitsConfig, pairs: tuple[str, ...]) -> LimitsConfig:
    """``NAME=VALUE`` settings over the current limits; ``none`` lifts an optional one."""
    changes: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or name not in LimitsConfig.model_fields:
            raise InvalidInputError("--limit", f"{pair!r}: give NAME=VALUE with NAME one of "
                                               f"{', '.join(LimitsConfig.model_fields)}")
        changes[name] = None if value.lower() in ("none", "off") else value
    try:
        return LimitsConfig.model_validate({**current.model_dump(), **changes})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidInputError(f"--limit {first['loc'][0]}", str(first["msg"])) from exc


def _jsonable(obj: Any) -> Any:
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    if isinstance(obj, list):
        return [_jsonable(o) for o in obj]
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    return obj


@contextmanager
def _errors(state: State | None) -> Iterator[None]:
    try:
        yield
    except EngramError as exc:
        if state is not None and state.as_json:
            click.echo(json.dumps({"error": exc.to_dict()}), err=True)
        else:
            click.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(2)


pass_state = click.make_pass_decorator(State)




def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(State).as_json = True


def add_json_flag(group: click.Group, *, skip: tuple[click.Command, ...] = ()) -> None:
    """Let ``--json`` stand after a subcommand too (``engram search ... --json``), on
    every command of ``group`` and its subgroups, except those in ``skip`` (the
    benchmarks, whose ``--json FILE`` names an output file)."""
    for cmd in group.commands.values():
        if cmd in skip:
            continue
        if isinstance(cmd, click.Group):
            add_json_flag(cmd, skip=skip)
            continue
        cmd.params.append(click.Option(["--json", "as_json_after"], is_flag=True, expose_value=False,
                                       callback=_set_json, help="Machine-readable JSON output."))

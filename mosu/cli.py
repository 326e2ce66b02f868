"""The ``mosu`` command line (Typer + Rich).

The root imports nothing but Typer: each command's module is imported when that command
runs (or when help lists it), so ``mosu eval run`` on a laptop does not load the web
platform, the database layer or SciPy before its first request.
"""

from __future__ import annotations

import gc
import importlib

import typer
from typer.core import TyperGroup

# Command name -> (module, Typer app). Platform commands are single commands of
# mosu.platform_cli's app; the others are groups of their own.
PLATFORM = "mosu.platform_cli:app"
COMMANDS = {
    "arena": "mosu.arena.cli:app",
    "data": "mosu.corpus.cli:data_app",
    "db": PLATFORM,
    "demo": PLATFORM,
    "doctor": "mosu.ops.cli:doctor_app",
    "eval": "mosu.evals.cli:app",
    "export": PLATFORM,
    "import": PLATFORM,
    "person": "mosu.ops.cli:person_app",
    "serve": PLATFORM,
    "supply": "mosu.supply.cli:supply_app",
    "token": PLATFORM,
    "user": PLATFORM,
    "worker": PLATFORM,
}


COMPLETION = {"install_completion", "show_completion"}


def load(target: str) -> typer.Typer:
    """The Typer app at ``module:attr``, imported with the cyclic garbage collector paused:
    imports make many long-lived objects and little garbage, and the collections they
    would trigger cost about a tenth of the start-up."""
    module, attr = target.split(":")
    paused = gc.isenabled()
    gc.disable()
    try:
        sub = getattr(importlib.import_module(module), attr)
    finally:
        if paused:
            gc.enable()
    assert isinstance(sub, typer.Typer)
    return sub


class LazyGroup(TyperGroup):
    """The root group: commands are looked up in COMMANDS and imported on first use."""

    def list_commands(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        return list(COMMANDS)

    def get_command(self, ctx: typer.Context, cmd_name: str):  # type: ignore[no-untyped-def,override]
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        command = typer.main.get_command(load(target))
        if target == PLATFORM:
            return command.get_command(ctx, cmd_name)  # type: ignore[attr-defined]
        command.name = cmd_name
        # the root already offers shell completion; a group of its own would offer it again
        command.params = [p for p in command.params if p.name not in COMPLETION]
        return command


app = typer.Typer(cls=LazyGroup, no_args_is_help=True, pretty_exceptions_enable=False)


@app.callback()
def root() -> None:
    """模速 mosu — AI 模型创新社区平台 / an AI model innovation community platform."""


def main() -> None:
    """The ``mosu`` console script. Its objects are frozen out of the collector when it ends:
    the interpreter's shutdown collects garbage more than once, each time walking every object
    still alive, which after the platform has loaded took a second (0.03 s frozen)."""
    try:
        app()
    finally:
        gc.freeze()

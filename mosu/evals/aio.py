"""The event loop the engine runs on: uvloop where it is installed, else asyncio's own.

uvloop (libuv) spends about a quarter less CPU per request than asyncio's selector loop on
the engine's hot path (``bench/engine.py``). ``MOSU_EVAL_LOOP=asyncio`` chooses asyncio's
loop even when uvloop is installed (to compare, or to rule the loop out when debugging).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, TypeVar

T = TypeVar("T")
LOOPS = ("uvloop", "asyncio")


def loop_name(environ: Mapping[str, str] | None = None) -> str:
    """``uvloop`` when it is installed and not switched off by ``MOSU_EVAL_LOOP``."""
    wanted = (os.environ if environ is None else environ).get("MOSU_EVAL_LOOP", "uvloop")
    if wanted not in LOOPS:
        raise ValueError(f"MOSU_EVAL_LOOP={wanted!r}: expected one of {', '.join(LOOPS)}")
    if wanted == "uvloop":
        try:
            import uvloop  # noqa: F401
        except ImportError:
            return "asyncio"
    return wanted


def loop_factory(
    environ: Mapping[str, str] | None = None,
) -> Callable[[], asyncio.AbstractEventLoop]:
    """A function that makes a new event loop of the chosen kind."""
    if loop_name(environ) == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return asyncio.new_event_loop


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A new event loop of the chosen kind (for a loop run in its own thread)."""
    return loop_factory()()


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` to completion on a new loop of the chosen kind, like :func:`asyncio.run`."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)

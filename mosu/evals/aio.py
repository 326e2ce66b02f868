"""The event loop the engine runs on: uvloop where it is installed, else asyncio's own.

uvloop (libuv) spends about a quarter less CPU per request than asyncio's selector loop on
the engine's hot path (``bench/engine.py``). ``loop="asyncio"`` (``MOSU_EVAL_LOOP=asyncio``
for ``mosu eval``, see :class:`~mosu.evals.settings.EvalSettings`) chooses asyncio's loop
even when uvloop is installed (to compare, or to rule the loop out when debugging).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from mosu.evals.settings import LOOPS, LoopName

T = TypeVar("T")


def loop_name(wanted: str = "uvloop") -> LoopName:
    """``uvloop`` when it is ``wanted`` and installed, else ``asyncio``."""
    if wanted not in LOOPS:
        raise ValueError(f"MOSU_EVAL_LOOP={wanted!r}: expected one of {', '.join(LOOPS)}")
    if wanted == "uvloop":
        try:
            import uvloop  # noqa: F401
        except ImportError:
            return "asyncio"
        return "uvloop"
    return "asyncio"


def loop_factory(loop: str = "uvloop") -> Callable[[], asyncio.AbstractEventLoop]:
    """A function that makes a new event loop of the chosen kind."""
    if loop_name(loop) == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return asyncio.new_event_loop


def new_event_loop(loop: str = "uvloop") -> asyncio.AbstractEventLoop:
    """A new event loop of the chosen kind (for a loop run in its own thread)."""
    return loop_factory(loop)()


def run(main: Coroutine[Any, Any, T], loop: str = "uvloop") -> T:
    """Run ``main`` to completion on a new loop of the chosen kind, like :func:`asyncio.run`."""
    with asyncio.Runner(loop_factory=loop_factory(loop)) as runner:
        return runner.run(main)

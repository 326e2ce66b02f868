"""The engine's few settings, passed in by its callers.

The engine reads no environment variable itself: ``mosu eval`` (and the fake server's
command) build :class:`EvalSettings` from the environment with :meth:`EvalSettings.from_env`;
the platform builds it from its own ``Settings``; a script passes what it wants.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

LoopName = Literal["uvloop", "asyncio"]
LOOPS: tuple[LoopName, ...] = ("uvloop", "asyncio")


@dataclass(frozen=True)
class EvalSettings:
    """``cache_dir``: a response cache shared between runs (``MOSU_CACHE_DIR``; none: each
    run's own store). ``ray_address``: a Ray cluster the shards run on (``MOSU_RAY_ADDRESS``;
    none: this process's event loop). ``loop``: the event loop (``MOSU_EVAL_LOOP``: uvloop
    where installed, or asyncio's own)."""

    cache_dir: Path | None = None
    ray_address: str | None = None
    loop: LoopName = "uvloop"

    def __post_init__(self) -> None:
        if self.loop not in LOOPS:
            raise ValueError(f"MOSU_EVAL_LOOP={self.loop!r}: expected one of {', '.join(LOOPS)}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> EvalSettings:
        """The settings that ``MOSU_CACHE_DIR``, ``MOSU_RAY_ADDRESS`` and ``MOSU_EVAL_LOOP``
        in ``environ`` give (an empty value counts as unset)."""
        cache_dir = environ.get("MOSU_CACHE_DIR")
        return cls(
            cache_dir=Path(cache_dir) if cache_dir else None,
            ray_address=environ.get("MOSU_RAY_ADDRESS") or None,
            loop=cast(LoopName, environ.get("MOSU_EVAL_LOOP", "uvloop")),
        )

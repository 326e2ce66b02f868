"""A plug-in package for mosu: one scorer and one model kind (the worked example of
``docs/guides/extending.md``; ``tests/evals/test_registry.py`` installs it by entry points)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from mosu.evals import Limits, Scorer, SpecContext, Task
from mosu.evals.prompts import Message

Array = npt.NDArray[np.float64]


def contains(ignore_case: bool = False) -> Scorer:
    """1 for an answer that contains the gold label, else 0 (no answer: 0)."""

    def fold(text: str) -> str:
        return text.casefold() if ignore_case else text

    def stats(predictions: Sequence[str | None], labels: Sequence[str]) -> Array:
        hits = [
            p is not None and fold(y) in fold(p) for p, y in zip(predictions, labels, strict=True)
        ]
        return np.array(hits, dtype=np.float64).reshape(-1, 1)

    def aggregate(sums: Array, n: int) -> Array:
        return np.asarray(sums[..., 0] / max(n, 1), dtype=np.float64)

    return Scorer("contains", stats, aggregate)


class ConstantModel:
    """A model that gives every sample the same answer (a floor to beat)."""

    limits = Limits(concurrency=1, retries=0)
    identity: str | None = None  # not cached: it answers at once
    endpoint: str | None = None  # its limits are its own

    def __init__(self, answer: str) -> None:
        self.answer = answer

    async def prepare(self, task: Task) -> None:
        return None

    async def complete(self, sample_id: str, messages: list[Message]) -> str:
        return self.answer

    async def aclose(self) -> None:
        return None


def constant(rest: str, context: SpecContext) -> ConstantModel:
    """``constant:ANSWER``."""
    return ConstantModel(rest)

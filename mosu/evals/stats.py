"""Race statistics: bootstrap intervals, paired comparisons and rank groups.

Method (also in ``mosu/evals/README.md``):

* **Intervals.** Samples are resampled with replacement ``B`` times (default 1,000) from a
  seeded ``numpy`` generator. Each replicate is a vector of multiplicities ``w`` (how often
  each sample was drawn); a metric's replicate value is ``aggregate(w @ stats)``, so every
  metric, including corpus-level ones (macro-F1, BLEU), is bootstrapped by one matrix
  product. The 95% interval is the 2.5th and 97.5th percentiles (percentile bootstrap).
* **Paired comparison.** All models in a race are scored on the same samples and every
  replicate uses the *same* ``w`` for all of them, so the replicate differences
  ``a - b`` form a paired bootstrap distribution. The difference is significant when its
  95% interval excludes 0; the two-sided p-value is ``2 · min(P(d ≤ 0), P(d ≥ 0))``.
* **Rank groups.** Models are ordered by their point estimate. A model's rank is
  ``1 + the number of models significantly better than it``. Models whose difference from
  each other is not significant therefore share a rank; ranks are not corrected for
  multiple comparisons.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]
Aggregate = Callable[[Array, int], Array]

DEFAULT_REPLICATES = 1000
_CHUNK = 100


def resample_weights(n: int, replicates: int, seed: int) -> Iterator[Array]:
    """Bootstrap multiplicity matrices, ``(chunk, n)`` at a time, reproducible by ``seed``."""
    rng = np.random.default_rng(seed)
    done = 0
    while done < replicates:
        b = min(_CHUNK, replicates - done)
        idx = rng.integers(0, n, size=(b, n))
        flat = (idx + (np.arange(b) * n)[:, None]).ravel()
        yield np.bincount(flat, minlength=b * n).reshape(b, n).astype(np.float64)
        done += b


def bootstrap_replicates(
    stats: Sequence[Array],
    aggregate: Aggregate,
    *,
    replicates: int = DEFAULT_REPLICATES,
    seed: int = 0,
) -> Array:
    """Replicate metric values, shape ``(len(stats), replicates)``; one shared resampling."""
    n = stats[0].shape[0]
    if any(s.shape[0] != n for s in stats):
        raise ValueError("paired bootstrap needs every model scored on the same samples")
    if n == 0:
        return np.zeros((len(stats), replicates))
    parts = [
        np.stack([aggregate(w @ s, n) for s in stats])
        for w in resample_weights(n, replicates, seed)
    ]
    return np.concatenate(parts, axis=1)


@dataclass(frozen=True)
class Interval:
    """A point estimate with its 95% bootstrap interval."""

    value: float
    low: float
    high: float


@dataclass(frozen=True)
class Comparison:
    """Paired difference ``a - b`` on the same samples."""

    a: str
    b: str
    difference: Interval
    p_value: float

    @property
    def significant(self) -> bool:
        return self.difference.low > 0 or self.difference.high < 0


def interval(point: float, replicate_values: Array, level: float = 0.95) -> Interval:
    """Percentile interval around ``point``."""
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(replicate_values, [tail, 100 - tail])
    return Interval(point, float(low), float(high))


def compare(a: str, b: str, point: float, diffs: Array) -> Comparison:
    """Paired comparison from replicate differences."""
    p = 2 * min(float(np.mean(diffs <= 0)), float(np.mean(diffs >= 0)))
    return Comparison(a, b, interval(point, diffs), min(p, 1.0))


def format_p_value(p: float, replicates: int) -> str:
    """A bootstrap p-value as printed: ``"< 0.001"`` when it is below ``1 / replicates``.

    With B replicates a p-value under 1/B means no replicate difference reached zero: the
    estimate is 0, but the bootstrap only shows that p is below 1/B, so "0.000" would
    claim too much. The stored value stays the number.
    """
    if replicates > 0 and p < 1 / replicates:
        return f"< {1 / replicates:.2g}"
    return f"{p:.3f}" if p >= 0.001 or p == 0 else f"{p:.1g}"


def rank_groups(names: Sequence[str], points: Sequence[float], replicates: Array) -> dict[str, int]:
    """Rank = 1 + number of models significantly better (paired 95% interval above 0)."""
    ranks: dict[str, int] = {}
    for i, name in enumerate(names):
        better = 0
        for j in range(len(names)):
            if i != j and points[j] > points[i]:
                diff = replicates[j] - replicates[i]
                if compare(names[j], name, points[j] - points[i], diff).significant:
                    better += 1
        ranks[name] = better + 1
    return ranks

"""Race statistics: bootstrap intervals, paired comparisons and rank groups.

Method (also in ``mosu/evals/README.md``):

* **Intervals.** Samples are resampled with replacement ``B`` times (default 1,000) from a
  seeded ``numpy`` generator. Samples whose statistics rows agree in every model form a
  group (for accuracy there are at most ``2 ** models``); each replicate is a vector of
  multiplicities ``w`` over the groups (how many of the drawn samples fell in each: a
  multinomial over the groups, or ``n`` drawn indices counted when groups are many), and a
  metric's replicate value is ``aggregate(w @ rows)``, so every metric, including
  corpus-level ones (macro-F1, BLEU), is bootstrapped by one matrix product, exactly as
  resampling the samples themselves. The 95% interval is the 2.5th and 97.5th percentiles
  (percentile bootstrap).
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
_BUDGET = 1 << 22
"""Cells of a replicate chunk (counts, or drawn indices): 4M, about 32 MB of int64."""
_MULTINOMIAL_SHARE = 8
"""Counts over groups are drawn as multinomials when there are at most ``n / 8`` groups
(one binomial per group costs a few index draws); else ``n`` indices per replicate."""


@dataclass(frozen=True)
class Groups:
    """Samples grouped by identical statistics rows across every model (paired).

    ``rows[m]`` holds model ``m``'s distinct rows, ``(G, d_m)``; ``sizes`` how many samples
    each group has; ``inverse`` each sample's group, in sample order.
    """

    rows: list[Array]
    sizes: npt.NDArray[np.int64]
    inverse: npt.NDArray[np.int64]


def group_rows(stats: Sequence[Array]) -> Groups:
    """Group samples whose statistics agree in every model, by combining per-column codes
    (each step re-coded to ``0..G-1``, so the key never overflows); sorted, so the groups'
    order depends only on the data."""
    n = stats[0].shape[0]
    code = np.zeros(n, dtype=np.int64)
    for column in (c for s in stats for c in np.asarray(s, dtype=np.float64).reshape(n, -1).T):
        values, col_code = np.unique(column, return_inverse=True)
        if len(values) > 1:
            code = code * len(values) + col_code.reshape(n)
            _, code = np.unique(code, return_inverse=True)
            code = code.reshape(n).astype(np.int64, copy=False)
    first = np.full(int(code.max()) + 1 if n else 0, n, dtype=np.int64)
    np.minimum.at(first, code, np.arange(n, dtype=np.int64))
    sizes = np.bincount(code, minlength=len(first)).astype(np.int64)
    rows = [np.asarray(s, dtype=np.float64).reshape(n, -1)[first] for s in stats]
    return Groups(rows, sizes, code)


def resample_counts(groups: Groups, replicates: int, seed: int) -> Iterator[Array]:
    """Bootstrap multiplicities per group, ``(chunk, G)`` at a time, reproducible by ``seed``.

    Drawing ``n`` samples with replacement and counting them per group is a multinomial
    over the groups with probabilities ``size / n``; with few groups (accuracy: at most
    ``2 ** models``) that is drawn directly, else as ``n`` int32 indices per replicate.
    Chunks hold at most :data:`_BUDGET` cells, so memory does not grow with ``n × B``.
    """
    rng = np.random.default_rng(seed)
    n, g = int(groups.sizes.sum()), len(groups.sizes)
    direct = g * _MULTINOMIAL_SHARE <= n
    chunk = max(1, _BUDGET // (g if direct else max(n, g)))
    done = 0
    while done < replicates:
        b = min(chunk, replicates - done)
        if direct:
            counts = rng.multinomial(n, groups.sizes / n, size=b)
        else:
            idx = rng.integers(0, n, size=(b, n), dtype=np.int32)
            flat = groups.inverse[idx] + (np.arange(b, dtype=np.int64) * g)[:, None]
            counts = np.bincount(flat.ravel(), minlength=b * g).reshape(b, g)
        yield counts.astype(np.float64)
        done += b


def bootstrap_replicates(
    stats: Sequence[Array],
    aggregate: Aggregate,
    *,
    replicates: int = DEFAULT_REPLICATES,
    seed: int = 0,
) -> Array:
    """Replicate metric values, shape ``(len(stats), replicates)``; one shared resampling
    of the samples' groups (:func:`group_rows`), so every model sees the same replicate."""
    n = stats[0].shape[0]
    if any(s.shape[0] != n for s in stats):
        raise ValueError("paired bootstrap needs every model scored on the same samples")
    if n == 0:
        return np.zeros((len(stats), replicates))
    groups = group_rows(stats)
    parts = [
        np.stack([aggregate(w @ rows, n) for rows in groups.rows])
        for w in resample_counts(groups, replicates, seed)
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

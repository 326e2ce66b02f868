"""The fast resampler: Poisson inversion against scipy's distribution, exact multinomial
draws, and draws that do not depend on the number of threads."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

from mosu.arena.sampling import TABLE_MAX, PoissonCells, multinomial_rounds


@pytest.mark.parametrize("mean", [1, 3, 17, 250, TABLE_MAX])
def test_poisson_inversion_follows_the_poisson_distribution(mean: int) -> None:
    cells = PoissonCells.for_means(np.array([mean, mean], dtype=np.int64))
    draws = cells.draw(np.random.default_rng(mean), 100_000).ravel()
    support = np.arange(draws.max() + 1)
    seen = np.bincount(draws, minlength=len(support)) / len(draws)
    gap = np.abs(np.cumsum(seen) - scipy.stats.poisson.cdf(support, mean)).max()
    assert gap < 1.63 / np.sqrt(len(draws))  # Kolmogorov-Smirnov at the 1% level
    assert draws.mean() == pytest.approx(mean, rel=0.01)
    assert draws.var() == pytest.approx(mean, rel=0.03)
    assert cells.scale.max() <= 1 << 16  # the bucket fits the 16 random bits drawn for it


def test_rounds_are_exact_multinomial_draws() -> None:
    counts = np.array([3.0, 1.0, 2.0])
    draws = multinomial_rounds(counts, rounds=40_000, seed=0)
    assert np.all(draws.sum(axis=1) == 6) and draws.min() >= 0
    p = counts / 6.0
    np.testing.assert_allclose(draws.mean(axis=0), 6 * p, atol=0.03)
    np.testing.assert_allclose(np.cov(draws.T), 6 * (np.diag(p) - np.outer(p, p)), atol=0.04)
    # the whole distribution, not only two moments: P(all six battles from cell 0) = 2^-6
    assert np.mean(draws[:, 0] == 6) == pytest.approx(0.5**6, abs=0.003)


def test_large_counts_take_numpys_sampler_and_stay_exact() -> None:
    counts = np.array([float(TABLE_MAX + 1000), 7.0, 1.0])
    draws = multinomial_rounds(counts, rounds=4_000, seed=1)
    n = int(counts.sum())
    assert np.all(draws.sum(axis=1) == n)
    np.testing.assert_allclose(draws.mean(axis=0), counts, rtol=0.02)


def test_draws_do_not_depend_on_the_threads() -> None:
    counts = np.arange(1.0, 40.0)
    one = multinomial_rounds(counts, rounds=35, seed=5, workers=1)
    three = multinomial_rounds(counts, rounds=35, seed=5, workers=3)
    np.testing.assert_array_equal(one, three)
    assert not np.array_equal(one, multinomial_rounds(counts, rounds=35, seed=6, workers=1))


def test_distinct_draws_are_uniform_over_sets() -> None:
    from collections import Counter

    from mosu.arena.sampling import _distinct

    rng = np.random.default_rng(3)
    seen = Counter(tuple(_distinct(rng, 5, 3, np.dtype(np.int32)).tolist()) for _ in range(20_000))
    assert len(seen) == 10 and all(len(set(s)) == 3 and list(s) == sorted(s) for s in seen)
    assert max(seen.values()) / min(seen.values()) < 1.15  # each of the 10 sets ~2,000 times


def test_guide_tables_hold_the_variate_of_each_buckets_left_edge() -> None:
    """The tables built in one pass equal a search of each table's distribution at every
    bucket edge ``j / K``: the variate where the bucket lies inside one step, else where the
    search starts."""
    means = np.array([0, 1, 5, 33, 250, TABLE_MAX], dtype=np.int64)  # distinct and sorted
    cells = PoissonCells.for_means(means)
    low = 0
    for i in range(len(means)):
        k, start, last = int(cells.scale[i]), int(cells.start[i]), int(cells.last[i])
        cdf = cells.cdf[low : last + 1]
        first = np.searchsorted(cdf, np.arange(k) / k, side="right") + low
        inside = cells.cdf[first] >= np.arange(1, k + 1) / k
        expected = np.where(inside, cells.value[first], -1 - first)
        np.testing.assert_array_equal(cells.guide[start : start + k], expected)
        low = last + 1


def test_cells_that_never_occurred_stay_zero_and_fractional_counts_need_no_table() -> None:
    counts = np.array([0.0, 4.0, 0.0, 2.0, 0.0])
    draws = multinomial_rounds(counts, rounds=2_000, seed=2)
    assert np.all(draws[:, [0, 2, 4]] == 0) and np.all(draws.sum(axis=1) == 6)
    weighted = np.array([0.5, 1.5, 2.25])  # no whole count: every cell by numpy's sampler
    draws = multinomial_rounds(weighted, rounds=4_000, seed=3)
    assert np.all(draws.sum(axis=1) == 4)
    np.testing.assert_allclose(draws.mean(axis=0), 4 * weighted / weighted.sum(), atol=0.06)

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.metrics import f1_score

from mosu.evals.scorers import accuracy, macro_f1
from mosu.evals.stats import (
    Groups,
    bootstrap_replicates,
    format_p_value,
    group_rows,
    interval,
    rank_groups,
    resample_counts,
)


def dense_reference(
    stats: list[np.ndarray], aggregate: Any, replicates: int, seed: int
) -> np.ndarray:
    """The method before grouping: ``B × n`` multiplicities of the samples themselves."""
    rng = np.random.default_rng(seed)
    n = stats[0].shape[0]
    w = np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(replicates)])
    return np.stack([aggregate(w.astype(np.float64) @ s, n) for s in stats])


def _all_counts(groups: Groups, replicates: int, seed: int) -> np.ndarray:
    return np.concatenate(list(resample_counts(groups, replicates, seed)))


@pytest.mark.parametrize("continuous", [False, True], ids=["multinomial", "indices"])
def test_counts_are_seeded_multinomials_over_groups(continuous: bool) -> None:
    rng = np.random.default_rng(3)
    stats = [rng.random((60, 2)) if continuous else rng.integers(0, 2, (60, 1)) * 1.0]
    groups = group_rows(stats)
    assert len(groups.sizes) == (60 if continuous else 2)
    a, b = _all_counts(groups, 250, 3), _all_counts(groups, 250, 3)
    assert a.shape == (250, len(groups.sizes))
    assert np.array_equal(a, b)
    assert np.all(a.sum(axis=1) == 60)
    assert not np.array_equal(a, _all_counts(groups, 250, 4))


def test_groups_pair_every_model_and_rebuild_each_sample() -> None:
    """Accuracy over three models: at most 2**3 groups, shared by the models (paired)."""
    rng = np.random.default_rng(1)
    stats = [rng.integers(0, 2, (500, 1)).astype(np.float64) for _ in range(3)]
    groups = group_rows(stats)
    assert len(groups.sizes) <= 8
    assert groups.sizes.sum() == 500
    for rows, s in zip(groups.rows, stats, strict=True):
        assert np.array_equal(rows[groups.inverse], s)
    assert np.array_equal(group_rows(stats).inverse, groups.inverse)  # order from the data


@pytest.mark.parametrize("continuous", [False, True], ids=["multinomial", "indices"])
def test_intervals_equal_the_dense_method_within_monte_carlo_error(continuous: bool) -> None:
    """Same intervals and paired differences as resampling the samples directly: endpoints
    within 0.4 bootstrap standard deviations (their Monte-Carlo error is about 0.085)."""
    rng = np.random.default_rng(7)
    n, b = 1500, 2000
    truth = rng.random(n)
    if continuous:
        stats = [np.stack([truth * k, rng.random(n)], axis=1) for k in (1.0, 0.9)]
    else:
        stats = [(truth < p).astype(np.float64).reshape(-1, 1) for p in (0.7, 0.66)]
    agg = scorers_mean
    new = bootstrap_replicates(stats, agg, replicates=b, seed=11)
    old = dense_reference(stats, agg, b, seed=11)
    for values_new, values_old in (
        (new[0], old[0]),
        (new[1], old[1]),
        (new[0] - new[1], old[0] - old[1]),
    ):
        sd = float(np.std(values_old))
        assert sd > 0
        a, c = interval(0.0, values_new), interval(0.0, values_old)
        assert abs(a.low - c.low) < 0.4 * sd
        assert abs(a.high - c.high) < 0.4 * sd
        assert abs(float(np.std(values_new)) - sd) < 0.1 * sd


def scorers_mean(sums: np.ndarray, n: int) -> np.ndarray:
    return np.asarray(sums[..., 0] / n)


def test_bootstrap_matches_a_naive_loop() -> None:
    rng = np.random.default_rng(0)
    gold = [str(x) for x in rng.integers(0, 4, 120)]
    pred: list[str | None] = [g if rng.random() < 0.6 else str(rng.integers(0, 4)) for g in gold]
    scorer = macro_f1()
    reps = bootstrap_replicates(
        [scorer.stats(pred, gold)], scorer.aggregate, replicates=200, seed=5
    )[0]
    naive = []
    groups = group_rows([scorer.stats(pred, gold)])
    first = np.array(
        [int(np.flatnonzero(groups.inverse == g)[0]) for g in range(len(groups.sizes))]
    )
    for w in _all_counts(groups, 200, 5):
        idx = np.repeat(first, w.astype(int))  # each group's drawn samples share its stats
        naive.append(f1_score([gold[i] for i in idx], [pred[i] for i in idx], average="macro"))
    assert np.allclose(reps, naive)


def test_accuracy_interval_covers_the_normal_approximation() -> None:
    gold = ["a"] * 1000
    pred: list[str | None] = ["a"] * 700 + ["b"] * 300
    scorer = accuracy()
    reps = bootstrap_replicates(
        [scorer.stats(pred, gold)], scorer.aggregate, replicates=2000, seed=1
    )[0]
    ci = interval(0.7, reps)
    half = 1.96 * np.sqrt(0.7 * 0.3 / 1000)
    assert ci.low == pytest.approx(0.7 - half, abs=0.006)
    assert ci.high == pytest.approx(0.7 + half, abs=0.006)


def test_rank_groups_share_ranks_when_not_significant() -> None:
    """Independent errors at 80% vs 79% cannot be told apart on 800 samples; 50% can."""
    rng = np.random.default_rng(2)
    gold = ["y"] * 800
    truth, other = rng.random(800), rng.random(800)
    preds = {
        "strong": ["y" if t < 0.80 else "n" for t in truth],
        "close": ["y" if t < 0.79 else "n" for t in other],
        "weak": ["y" if t < 0.50 else "n" for t in truth],
    }
    scorer = accuracy()
    names = list(preds)
    stats = [scorer.stats(list(p), gold) for p in preds.values()]
    points = [scorer.score(list(p), gold) for p in preds.values()]
    reps = bootstrap_replicates(stats, scorer.aggregate, replicates=1000, seed=0)
    assert rank_groups(names, points, reps) == {"strong": 1, "close": 1, "weak": 3}


def test_paired_bootstrap_sees_a_consistent_small_gain() -> None:
    """A model right on a strict superset of another's samples is significantly better."""
    gold = ["y"] * 800
    base: list[str | None] = ["y"] * 600 + ["n"] * 200
    better: list[str | None] = ["y"] * 615 + ["n"] * 185
    scorer = accuracy()
    stats = [scorer.stats(better, gold), scorer.stats(base, gold)]
    reps = bootstrap_replicates(stats, scorer.aggregate, replicates=1000, seed=0)
    assert rank_groups(["better", "base"], [615 / 800, 600 / 800], reps) == {"better": 1, "base": 2}


def test_p_values_below_one_over_b_print_as_a_bound() -> None:
    assert format_p_value(0.0, 1000) == "< 0.001"
    assert format_p_value(0.0, 2000) == "< 0.0005"
    assert format_p_value(0.002, 1000) == "0.002"
    assert format_p_value(0.0004, 5000) == "0.0004"
    assert format_p_value(0.5, 1000) == "0.500"

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score

from mosu.evals.scorers import accuracy, macro_f1
from mosu.evals.stats import (
    bootstrap_replicates,
    format_p_value,
    interval,
    rank_groups,
    resample_weights,
)


def test_weights_are_seeded_multinomial_counts() -> None:
    a = np.concatenate(list(resample_weights(50, 250, seed=3)))
    b = np.concatenate(list(resample_weights(50, 250, seed=3)))
    assert a.shape == (250, 50)
    assert np.array_equal(a, b)
    assert np.all(a.sum(axis=1) == 50)
    assert not np.array_equal(a, np.concatenate(list(resample_weights(50, 250, seed=4))))


def test_bootstrap_matches_a_naive_loop() -> None:
    rng = np.random.default_rng(0)
    gold = [str(x) for x in rng.integers(0, 4, 120)]
    pred: list[str | None] = [g if rng.random() < 0.6 else str(rng.integers(0, 4)) for g in gold]
    scorer = macro_f1()
    reps = bootstrap_replicates(
        [scorer.stats(pred, gold)], scorer.aggregate, replicates=200, seed=5
    )[0]
    naive = []
    for w in np.concatenate(list(resample_weights(120, 200, seed=5))):
        idx = np.repeat(np.arange(120), w.astype(int))
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

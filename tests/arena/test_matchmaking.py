"""Choosing the next battle in a simulated arena."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from mosu.arena import (
    Battles,
    PairCounts,
    choose_next_battle,
    pair_battle_matrix,
    pair_weights,
    rate,
)
from mosu.arena.simulate import simulate_battles
from mosu.arena.votes import MODEL_A, MODEL_B


def test_weights_are_a_distribution_with_a_floor() -> None:
    rng = np.random.default_rng(0)
    battles = simulate_battles(rng.normal(0, 1, 8), 2_000, rng)
    board = rate(battles, interval="sandwich")
    weights = pair_weights(board, pair_battle_matrix(PairCounts.from_battles(battles)))
    upper = np.triu(np.ones((8, 8), dtype=bool), k=1)
    assert weights.sum() == pytest.approx(1.0)
    assert np.all(weights[~upper] == 0)
    assert weights[upper].min() >= 0.1 / upper.sum() - 1e-15


def test_simulated_arena_concentrates_on_close_pairs_and_keeps_every_model() -> None:
    rng = np.random.default_rng(1)
    m = 12
    strengths = np.linspace(-2.5, 2.5, m)
    names = tuple(f"m{i:02d}" for i in range(m))
    battles = simulate_battles(strengths, 600, rng, models=names)
    a, b, o = list(battles.model_a), list(battles.model_b), list(battles.outcome)
    chosen: list[tuple[int, int]] = []
    for _round in range(15):
        current = Battles(names, np.array(a, np.int32), np.array(b, np.int32), np.array(o, np.int8))
        board = rate(current, interval="sandwich")
        counts = pair_battle_matrix(PairCounts.from_battles(current))
        for _ in range(100):
            x, y = choose_next_battle(board, counts, rng)
            i, j = names.index(x), names.index(y)
            chosen.append((i, j))
            counts[i, j] += 1
            counts[j, i] += 1
            a.append(i)
            b.append(j)
            o.append(MODEL_A if rng.random() < expit(strengths[i] - strengths[j]) else MODEL_B)
    gaps = np.array([abs(strengths[i] - strengths[j]) for i, j in chosen])
    all_gaps = np.abs(strengths[:, None] - strengths[None, :])[np.triu_indices(m, 1)]
    assert gaps.mean() < 0.6 * all_gaps.mean()
    seen = np.bincount(np.array(chosen).ravel(), minlength=m)
    assert seen.min() > 0
    left = np.bincount([i for i, _ in chosen], minlength=m)
    assert np.all(left < seen)  # sides are shuffled

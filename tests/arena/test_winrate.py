"""Win-rate matrices and the heatmap."""

from __future__ import annotations

import numpy as np

from mosu.arena import (
    PairCounts,
    empirical_win_rate,
    leaderboard_order,
    predicted_win_rate,
    rate,
    win_rate_heatmap,
)
from tests.arena.helpers import arena


def test_empirical_and_predicted_agree_on_plenty_of_data() -> None:
    battles = arena(5, 40_000, seed=3)
    pairs = PairCounts.from_battles(battles)
    empirical = empirical_win_rate(pairs)
    predicted = predicted_win_rate(rate(battles, interval="none"))
    off = ~np.eye(5, dtype=bool)
    np.testing.assert_allclose(empirical[off] + empirical.T[off], 1.0)
    np.testing.assert_allclose(predicted[off] + predicted.T[off], 1.0)
    assert np.nanmax(np.abs(empirical - predicted)) < 0.03
    assert np.isnan(np.diag(empirical)).all()


def test_heatmap_in_leaderboard_order() -> None:
    battles = arena(4, 2_000, seed=4)
    board = rate(battles, interval="none")
    order = leaderboard_order(board)
    fig = win_rate_heatmap(
        board.models, empirical_win_rate(PairCounts.from_battles(battles)), order=order
    )
    heat = fig.data[0]
    assert list(heat.x) == [board.models[i] for i in order]
    z = np.asarray(heat.z, dtype=float)
    assert np.nanmean(z[0]) > np.nanmean(z[-1])  # the best row wins more than the worst

"""Choosing the next battle (对战匹配): informative pairs, every model kept in play."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from mosu.arena.pairs import PairCounts
from mosu.arena.ratings import Leaderboard

Array = NDArray[np.float64]


def pair_weights(
    board: Leaderboard, pair_battles: NDArray[np.float64], *, explore: float = 0.1
) -> Array:
    """Probabilities over unordered pairs ``(i < j)``, as an upper-triangular matrix.

    A pair's informativeness is ``4 p (1-p)`` (the outcome variance, 1 for an
    even match), times the chance that the two models' order is wrong,
    ``2 Phi(-|r_i - r_j| / sqrt(se_i^2 + se_j^2))`` (1 when their intervals are
    centred together), over ``sqrt(n_ij + 1)`` so well-sampled pairs yield.
    The weights are mixed with ``explore`` of the uniform distribution over
    pairs: every pair, so every model, keeps a floor of being drawn.
    """
    m = len(board.models)
    if m < 2:
        raise ValueError("a battle needs two models")
    r = board.rating
    p = board.scale.win_probability(r[:, None], r[None, :])
    gap = np.abs(r[:, None] - r[None, :])
    spread = np.sqrt(board.stderr[:, None] ** 2 + board.stderr[None, :] ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        from scipy.special import ndtr  # here: rating files need no SciPy

        overlap = np.where(spread > 0, 2.0 * ndtr(-gap / spread), 1.0)
    score = 4.0 * p * (1.0 - p) * overlap / np.sqrt(pair_battles + 1.0)
    upper = np.triu(np.ones((m, m), dtype=bool), k=1)
    score = np.where(upper, score, 0.0)
    total = score.sum()
    uniform: Array = upper / upper.sum()
    if total <= 0:
        return uniform
    weights: Array = (1.0 - explore) * score / total + explore * uniform
    return weights


def pair_battle_matrix(pairs: PairCounts) -> NDArray[np.float64]:
    """Battles fought by each pair, as a symmetric ``(m, m)`` matrix."""
    m = pairs.n_models
    out = np.zeros((m, m))
    out[pairs.first, pairs.second] = pairs.totals
    out[pairs.second, pairs.first] = pairs.totals
    return out


def choose_next_battle(
    board: Leaderboard,
    pair_battles: NDArray[np.float64],
    rng: np.random.Generator,
    *,
    explore: float = 0.1,
) -> tuple[str, str]:
    """Draw the next pair from :func:`pair_weights`, sides in random order
    (so neither model is always shown on the left)."""
    weights = pair_weights(board, pair_battles, explore=explore).ravel()
    k = int(rng.choice(len(weights), p=weights / weights.sum()))
    i, j = divmod(k, len(board.models))
    if rng.random() < 0.5:
        i, j = j, i
    return board.models[i], board.models[j]

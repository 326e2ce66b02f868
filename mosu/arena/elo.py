"""Online Elo in battle order, shown beside Bradley-Terry for comparison."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from mosu.arena.votes import Battles

_SCORE_A = (1.0, 0.0, 0.5, 0.5)
"""Model A's score for each outcome code: a win, a loss, a tie, a tie (both bad)."""


def online_elo(
    battles: Battles,
    *,
    k: float = 4.0,
    scale: float = 400.0,
    base: float = 10.0,
    init: float = 1000.0,
) -> NDArray[np.float64]:
    """Ratings after one pass of Elo updates in battle order (FastChat's
    ``compute_online_elo``: K=4, a tie counts half). Unlike Bradley-Terry the
    result depends on the order of the votes; it is a sequential loop, about a
    second per million battles."""
    rating = [init] * len(battles.models)
    score = _SCORE_A
    for a, b, o in zip(
        battles.model_a.tolist(), battles.model_b.tolist(), battles.outcome.tolist(), strict=True
    ):
        ra = rating[a]
        rb = rating[b]
        expected_a = 1.0 / (1.0 + base ** ((rb - ra) / scale))
        delta = k * (score[o] - expected_a)
        rating[a] = ra + delta
        rating[b] = rb - delta
    return np.asarray(rating)

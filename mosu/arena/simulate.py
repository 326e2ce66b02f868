"""Simulated arenas for tests, benchmarks and demos."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit

from mosu.arena.votes import MODEL_A, MODEL_B, TIE, TIE_BOTHBAD, Battles


def simulate_battles(
    strengths: NDArray[np.float64],
    n_battles: int,
    rng: np.random.Generator,
    *,
    tie_rate: float = 0.3,
    models: tuple[str, ...] | None = None,
) -> Battles:
    """Battles between uniformly drawn pairs, whose expected score (a tie counting
    half) is exactly the Bradley-Terry ``P(a beats b) = expit(s_a - s_b)``.

    A battle is a tie with probability ``tie_rate * 2 min(p, 1-p)`` (close
    models tie more), half of the ties ``tie (bothbad)``; otherwise model A
    wins with the probability that keeps its expected score at ``p``.
    """
    m = len(strengths)
    names = models or tuple(f"model-{i:03d}" for i in range(m))
    a = rng.integers(0, m, n_battles)
    b = (a + rng.integers(1, m, n_battles)) % m
    p = expit(strengths[a] - strengths[b])
    tie = tie_rate * 2.0 * np.minimum(p, 1.0 - p)
    win_a = (p - tie / 2.0) / (1.0 - tie)
    u = rng.random(n_battles)
    outcome = np.where(
        u < tie,
        np.where(u < tie / 2.0, TIE, TIE_BOTHBAD),
        np.where(rng.random(n_battles) < win_a, MODEL_A, MODEL_B),
    ).astype(np.int8)
    return Battles(names, a.astype(np.int32), b.astype(np.int32), outcome)

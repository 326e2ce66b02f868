"""Shared arena test data and an independent reference fit."""

from __future__ import annotations

import math

import numpy as np
import scipy.optimize
from numpy.typing import NDArray

from mosu.arena.simulate import simulate_battles
from mosu.arena.votes import Battles

POINTS = 400.0 / math.log(10.0)


def arena(n_models: int, n_battles: int, seed: int, tie_rate: float = 0.3) -> Battles:
    rng = np.random.default_rng(seed)
    strengths = rng.normal(0.0, 0.8, n_models)
    return simulate_battles(strengths, n_battles, rng, tie_rate=tie_rate)


def per_row_mle(battles: Battles, ridge: float = 0.0) -> NDArray[np.float64]:
    """Ratings (mean 1000) by a direct logistic maximum likelihood over the raw
    battles, one row each (a tie is the label 0.5), with scipy's trust-region
    Newton on the first model's strength fixed at zero. Shares no code with
    mosu.arena beyond the Battles arrays."""
    m = len(battles.models)
    y = np.select([battles.outcome == 0, battles.outcome == 1], [1.0, 0.0], 0.5)
    x = np.zeros((len(battles), m))
    rows = np.arange(len(battles))
    x[rows, battles.model_a] = 1.0
    x[rows, battles.model_b] = -1.0
    x = x[:, 1:]

    centre = np.eye(m)[:, 1:] - 1.0 / m  # strengths (mean zero) from the free ones

    def loss(theta: NDArray[np.float64]) -> float:
        d = x @ theta
        b = centre @ theta
        return float(np.sum(np.logaddexp(0.0, d) - y * d) + 0.5 * ridge * b @ b)

    def grad(theta: NDArray[np.float64]) -> NDArray[np.float64]:
        p = 1.0 / (1.0 + np.exp(-(x @ theta)))
        g: NDArray[np.float64] = x.T @ (p - y) + ridge * centre.T @ (centre @ theta)
        return g

    def hess(theta: NDArray[np.float64]) -> NDArray[np.float64]:
        p = 1.0 / (1.0 + np.exp(-(x @ theta)))
        h: NDArray[np.float64] = (x * (p * (1.0 - p))[:, None]).T @ x + ridge * centre.T @ centre
        return h

    result = scipy.optimize.minimize(
        loss, np.zeros(m - 1), jac=grad, hess=hess, method="trust-exact", options={"gtol": 1e-9}
    )
    theta = result.x
    # trust-exact may stop where the loss no longer resolves an improvement:
    # polish with plain Newton steps on the gradient, which still resolves
    for _ in range(3):
        theta = theta - np.linalg.solve(hess(theta), grad(theta))
    assert np.abs(grad(theta)).max() < 1e-7
    ratings: NDArray[np.float64] = POINTS * (centre @ theta) + 1000.0
    return ratings

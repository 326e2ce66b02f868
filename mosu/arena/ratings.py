"""Arena leaderboards (竞技场排行榜): Bradley-Terry ratings, 95% intervals, rank by upper bound."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy.stats import norm

from mosu.arena import bradley_terry as bt
from mosu.arena.pairs import PairCounts
from mosu.arena.votes import ArenaError, Battles

Array = NDArray[np.float64]
IntervalMethod = Literal["bootstrap", "sandwich", "none"]


@dataclass(frozen=True)
class RatingScale:
    """The Elo-like scale: ``rating = scale / ln(base) * beta + init`` (FastChat's
    SCALE=400, BASE=10, INIT_RATING=1000), with ``beta`` centred to mean zero, or
    shifted so that the ``anchor`` model sits at ``anchor_rating``."""

    scale: float = 400.0
    base: float = 10.0
    init: float = 1000.0
    anchor: str | None = None
    anchor_rating: float = 1000.0

    @property
    def points_per_logit(self) -> float:
        return self.scale / math.log(self.base)

    def win_probability(self, rating_a: Array, rating_b: Array) -> Array:
        """``P(a beats b)`` for ratings on this scale (a tie counting half)."""
        p: Array = 1.0 / (1.0 + self.base ** ((rating_b - rating_a) / self.scale))
        return p


@dataclass(frozen=True)
class ModelRating:
    """One row of a leaderboard."""

    rank: int
    model: str
    rating: float
    lower: float
    upper: float
    battles: int


@dataclass(frozen=True, eq=False)
class Leaderboard:
    """Ratings with intervals for every model, in ``models`` order.

    ``samples`` holds the bootstrap ratings ``(rounds, models)`` when the
    intervals came from a bootstrap.
    """

    models: tuple[str, ...]
    rating: Array
    lower: Array
    upper: Array
    stderr: Array
    battles: NDArray[np.int64]
    scale: RatingScale
    interval: IntervalMethod
    level: float
    samples: Array | None = None

    @property
    def ranks(self) -> NDArray[np.int64]:
        return rank_by_upper_bound(self.lower, self.upper)

    def rows(self) -> list[ModelRating]:
        """Rows best first: by rank, then rating."""
        ranks = self.ranks
        order = sorted(range(len(self.models)), key=lambda i: (ranks[i], -self.rating[i]))
        return [
            ModelRating(
                rank=int(ranks[i]),
                model=self.models[i],
                rating=float(self.rating[i]),
                lower=float(self.lower[i]),
                upper=float(self.upper[i]),
                battles=int(self.battles[i]),
            )
            for i in order
        ]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view: settings and the rows, best first."""
        return {
            "interval": self.interval,
            "level": self.level,
            "bootstrap_rounds": 0 if self.samples is None else len(self.samples),
            "scale": self.scale.scale,
            "base": self.scale.base,
            "init": self.scale.init,
            "anchor": self.scale.anchor,
            "anchor_rating": self.scale.anchor_rating if self.scale.anchor else None,
            "battles": int(self.battles.sum()) // 2,
            "models": [row.__dict__ for row in self.rows()],
        }


def rank_by_upper_bound(lower: Array, upper: Array) -> NDArray[np.int64]:
    """A model's rank is 1 + the number of models whose lower bound is above its
    upper bound: models that cannot be told apart share a rank."""
    above = lower[None, :] > upper[:, None]
    ranks: NDArray[np.int64] = 1 + above.sum(axis=1).astype(np.int64)
    return ranks


def rate(
    votes: Battles | PairCounts,
    *,
    interval: IntervalMethod = "bootstrap",
    rounds: int = 100,
    seed: int = 0,
    level: float = 0.95,
    scale: RatingScale | None = None,
    ridge: float = 0.0,
) -> Leaderboard:
    """Bradley-Terry maximum likelihood ratings with ``level`` intervals.

    ``bootstrap`` intervals are percentiles of ``rounds`` refits on battles
    resampled with replacement (seeded by ``seed``); ``sandwich`` intervals are
    normal ones from the robust covariance; ``none`` gives the point ratings only.
    """
    scale = scale or RatingScale()
    pairs = votes if isinstance(votes, PairCounts) else PairCounts.from_battles(votes)
    if len(pairs.first) == 0:
        raise ArenaError("no battles to rate")
    models = pairs.models
    anchor = _anchor_index(models, scale.anchor)
    beta = bt.fit(pairs, ridge=ridge)
    alpha = scale.points_per_logit

    def to_points(b: Array) -> Array:
        ref = b[..., anchor, None] if anchor is not None else b.mean(axis=-1, keepdims=True)
        base = scale.anchor_rating if anchor is not None else scale.init
        out: Array = alpha * (b - ref) + base
        return out

    rating = to_points(beta)
    samples = None
    if interval == "bootstrap" and rounds > 0:
        samples = to_points(bt.bootstrap(pairs, beta, rounds=rounds, seed=seed, ridge=ridge))
        tail = (1.0 - level) / 2.0
        lower = np.quantile(samples, tail, axis=0)
        upper = np.quantile(samples, 1.0 - tail, axis=0)
        stderr = samples.std(axis=0, ddof=1) if rounds > 1 else np.zeros_like(rating)
    elif interval == "sandwich":
        cov = bt.sandwich_covariance(pairs, beta)
        if anchor is not None:
            shift = np.eye(len(models))
            shift[:, anchor] -= 1.0
            cov = shift @ cov @ shift.T
        stderr = alpha * np.sqrt(np.clip(np.diag(cov), 0.0, None))
        z = float(norm.ppf(0.5 + level / 2.0))
        lower, upper = rating - z * stderr, rating + z * stderr
    else:
        interval = "none"
        lower, upper, stderr = rating.copy(), rating.copy(), np.zeros_like(rating)
    return Leaderboard(
        models=models,
        rating=rating,
        lower=lower,
        upper=upper,
        stderr=stderr,
        battles=pairs.battles_per_model(),
        scale=scale,
        interval=interval,
        level=level,
        samples=samples,
    )


def _anchor_index(models: tuple[str, ...], anchor: str | None) -> int | None:
    if anchor is None:
        return None
    try:
        return models.index(anchor)
    except ValueError:
        raise ArenaError(f"anchor model {anchor!r} has no battles") from None

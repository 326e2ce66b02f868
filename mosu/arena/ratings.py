"""Arena leaderboards (竞技场排行榜): Bradley-Terry ratings, 95% intervals, rank by upper bound."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

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
    """One row of a leaderboard. ``lower``/``upper`` are ``None`` where the bound is
    infinite; ``insufficient_data`` marks a rating or interval that rests on a penalty
    or on rounds with an infinite rating (too few votes to say); ``rank`` counts within
    the model's ``group`` (models that never met another group's, even indirectly)."""

    rank: int
    model: str
    rating: float
    lower: float | None
    upper: float | None
    battles: int
    group: int = 0
    insufficient_data: bool = False


@dataclass(frozen=True, eq=False)
class Leaderboard:
    """Ratings with intervals for every model, in ``models`` order.

    ``samples`` holds the bootstrap ratings ``(rounds, models)`` when the
    intervals came from a bootstrap. ``group`` is each model's connected component of
    the comparison graph (0 the largest): ratings in different groups are on unrelated
    scales, each centred (or anchored) on its own, and ranks count within a group.
    ``insufficient`` flags models whose rating or interval rests on a penalty or on
    infinite ratings in some bootstrap rounds.
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
    group: NDArray[np.int64] | None = None
    insufficient: NDArray[np.bool_] | None = None

    @property
    def groups(self) -> NDArray[np.int64]:
        return np.zeros(len(self.models), np.int64) if self.group is None else self.group

    @property
    def flagged(self) -> NDArray[np.bool_]:
        none = np.zeros(len(self.models), dtype=bool)
        return none if self.insufficient is None else self.insufficient

    @property
    def n_groups(self) -> int:
        return int(self.groups.max()) + 1 if len(self.models) else 0

    @property
    def ranks(self) -> NDArray[np.int64]:
        """Rank by upper bound within each group."""
        ranks = np.ones(len(self.models), dtype=np.int64)
        for g in range(self.n_groups):
            inside = self.groups == g
            ranks[inside] = rank_by_upper_bound(self.lower[inside], self.upper[inside])
        return ranks

    def rows(self) -> list[ModelRating]:
        """Rows best first within each group (largest group first): by rank, then rating."""
        ranks, groups, flagged = self.ranks, self.groups, self.flagged
        order = sorted(
            range(len(self.models)), key=lambda i: (groups[i], ranks[i], -self.rating[i])
        )
        return [
            ModelRating(
                rank=int(ranks[i]),
                model=self.models[i],
                rating=float(self.rating[i]),
                lower=_finite(self.lower[i]),
                upper=_finite(self.upper[i]),
                battles=int(self.battles[i]),
                group=int(groups[i]),
                insufficient_data=bool(flagged[i]),
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
            "groups": self.n_groups,
            "models": [row.__dict__ for row in self.rows()],
        }


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


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
    Models in separate groups of the comparison graph (never compared, even through
    others) are rated group by group and ranked within their group.
    """
    scale = scale or RatingScale()
    pairs = votes if isinstance(votes, PairCounts) else PairCounts.from_battles(votes)
    if len(pairs.first) == 0:
        raise ArenaError("no battles to rate")
    _anchor_index(pairs.models, scale.anchor)
    n_groups, group = bt.groups(pairs)
    if n_groups == 1:
        return _rate_group(pairs, interval, rounds, seed, level, scale, ridge)
    boards = []
    for g in range(n_groups):
        part = pairs.restricted(np.flatnonzero(group == g))
        own = scale if scale.anchor in part.models else replace(scale, anchor=None)
        boards.append(_rate_group(part, interval, rounds, seed, level, own, ridge))
    return _joined(pairs, group, boards, scale)


def _joined(
    pairs: PairCounts, group: NDArray[np.int64], boards: list[Leaderboard], scale: RatingScale
) -> Leaderboard:
    """One leaderboard from the groups' own, in ``pairs.models`` order."""
    m = pairs.n_models
    at = [np.flatnonzero(group == g) for g in range(len(boards))]

    def gather(field: str, dtype: type = np.float64) -> NDArray[Any]:
        out: NDArray[Any] = np.empty(m, dtype=dtype)
        for where, board in zip(at, boards, strict=True):
            out[where] = getattr(board, field)
        return out

    samples = None
    if all(b.samples is not None for b in boards):
        samples = np.empty((len(boards[0].samples), m))  # type: ignore[arg-type]
        for where, board in zip(at, boards, strict=True):
            samples[:, where] = board.samples
    return Leaderboard(
        models=pairs.models,
        rating=gather("rating"),
        lower=gather("lower"),
        upper=gather("upper"),
        stderr=gather("stderr"),
        battles=gather("battles", np.int64),
        scale=scale,
        interval=boards[0].interval,
        level=boards[0].level,
        samples=samples,
        group=group,
        insufficient=gather("flagged", np.bool_),
    )


def _rate_group(
    pairs: PairCounts,
    interval: IntervalMethod,
    rounds: int,
    seed: int,
    level: float,
    scale: RatingScale,
    ridge: float,
) -> Leaderboard:
    """:func:`rate` on one connected group of models."""
    models = pairs.models
    anchor = _anchor_index(models, scale.anchor)
    beta = bt.fit(pairs, ridge=ridge) if len(models) > 1 else np.zeros(1)
    alpha = scale.points_per_logit
    # with a penalty, models outside the main group are placed by the penalty alone
    insufficient = bt.standing(pairs) != 0.0 if ridge > 0.0 else np.zeros(len(models), bool)

    def to_points(b: Array) -> Array:
        ref = b[..., anchor, None] if anchor is not None else b.mean(axis=-1, keepdims=True)
        base = scale.anchor_rating if anchor is not None else scale.init
        out: Array = alpha * (b - ref) + base
        return out

    rating = to_points(beta)
    samples = None
    if interval == "bootstrap" and rounds > 0 and len(models) > 1:
        drawn = bt.bootstrap(pairs, beta, rounds=rounds, seed=seed, ridge=ridge)
        # rounds arrive aligned on the models each estimates well: not re-centred here
        samples = alpha * drawn + scale.init if anchor is None else to_points(drawn)
        lower, upper = _percentiles(samples, level)
        finite = np.isfinite(samples).all(axis=0)
        spread = np.where(finite, samples, 0.0).std(axis=0, ddof=1) if rounds > 1 else 0.0
        stderr = np.where(finite, spread, np.inf)
        insufficient |= ~(np.isfinite(lower) & np.isfinite(upper))
    elif interval == "sandwich" and len(models) > 1:
        cov = bt.sandwich_covariance(pairs, beta)
        if anchor is not None:
            shift = np.eye(len(models))
            shift[:, anchor] -= 1.0
            cov = shift @ cov @ shift.T
        stderr = alpha * np.sqrt(np.clip(np.diag(cov), 0.0, None))
        z = statistics.NormalDist().inv_cdf(0.5 + level / 2.0)
        lower, upper = rating - z * stderr, rating + z * stderr
    else:
        interval = "none" if interval != "bootstrap" or rounds <= 0 else interval
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
        insufficient=insufficient,
    )


_HUGE = 1e300


def _percentiles(samples: Array, level: float) -> tuple[Array, Array]:
    """Percentile bounds of bootstrap ratings that may hold infinities (and NaN where a
    round could not relate a model to the others: counted as -inf for the lower bound,
    +inf for the upper); a bound that depends on an infinite round is infinite."""
    tail = (1.0 - level) / 2.0
    unrelated = np.isnan(samples)
    low = np.quantile(np.clip(np.where(unrelated, -np.inf, samples), -_HUGE, _HUGE), tail, axis=0)
    high = np.quantile(
        np.clip(np.where(unrelated, np.inf, samples), -_HUGE, _HUGE), 1.0 - tail, axis=0
    )
    lower: Array = np.where(low < -1e250, -np.inf, low)
    upper: Array = np.where(high > 1e250, np.inf, high)
    return lower, upper


def _anchor_index(models: tuple[str, ...], anchor: str | None) -> int | None:
    if anchor is None:
        return None
    try:
        return models.index(anchor)
    except ValueError:
        raise ArenaError(f"anchor model {anchor!r} has no battles") from None

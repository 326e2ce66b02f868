"""The panel's arithmetic (专家评审汇总): pure functions of the experts' scores.

* the weighted total of one expert's criterion scores, on 0–100;
* the panel score of an application: the mean of its experts' totals after dropping one
  highest and one lowest when at least :data:`TRIM_FROM` experts scored (去掉一个最高分和
  一个最低分), the plain mean otherwise; with the spread of the totals, flagged past the
  rubric's threshold;
* the panel's agreement: Kendall's W over the experts' rankings of the applications (with
  the tie correction, its chi-square and p-value) and ICC(2,k), the two-way random,
  absolute-agreement, average-measures intraclass correlation of Shrout & Fleiss, with its
  95% interval (McGraw & Wong).

No database here: :mod:`mosu.review.results` feeds these from the stored scores.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mosu.i18n import N_

TRIM_FROM = 5
"""With this many experts' totals or more, one highest and one lowest are dropped."""


def weighted_total(
    scores: Mapping[str, float],
    criteria: Sequence[Mapping[str, Any]],
    *,
    score_min: float,
    score_max: float,
) -> float:
    """Σ weight × (score − min) / (max − min) over the rubric's criteria (weights sum to
    100), so a total is on 0–100 whatever the score range."""
    span = score_max - score_min
    return float(
        sum(float(c["weight"]) * (float(scores[c["key"]]) - score_min) / span for c in criteria)
    )


@dataclass(frozen=True)
class PanelScore:
    """An application's panel score from its experts' totals.

    ``dropped_high`` and ``dropped_low`` name the experts whose totals were left out (None
    below :data:`TRIM_FROM` experts); ``dispersion`` is the highest total minus the lowest,
    ``flagged`` when it passes the rubric's threshold.
    """

    score: float
    count: int
    dropped_high: int | None
    dropped_low: int | None
    dispersion: float
    flagged: bool


def panel_score(totals: Mapping[int, float], *, threshold: float) -> PanelScore:
    """The (trimmed) mean of ``totals`` (expert id → total). Where several experts share
    the highest (or lowest) total, one instance is dropped: the lowest expert id's (never
    the same expert at both ends)."""
    if not totals:
        raise ValueError("no totals")
    ordered = sorted(totals.items(), key=lambda kv: (kv[1], kv[0]))
    values = [v for _, v in ordered]
    dispersion = values[-1] - values[0]
    high = low = None
    kept = values
    if len(ordered) >= TRIM_FROM:
        low = ordered[0][0]
        top = values[-1]
        high = min(e for e, v in ordered if v == top and e != low)
        kept = [v for e, v in ordered if e not in (low, high)]
    return PanelScore(
        score=float(np.mean(kept)),
        count=len(values),
        dropped_high=high,
        dropped_low=low,
        dispersion=float(dispersion),
        flagged=dispersion > threshold,
    )


@dataclass(frozen=True)
class KendallW:
    """Kendall's coefficient of concordance over ``m`` experts ranking ``n`` applications."""

    w: float
    chi2: float
    df: int
    p: float
    m: int
    n: int


def kendall_w(ratings: np.ndarray) -> KendallW:
    """W of an ``m × n`` array (one row per expert, one column per application; a higher
    total ranks higher), corrected for ties:

    W = 12 S / (m²(n³ − n) − m Σ T), S = Σⱼ (Rⱼ − R̄)², T = Σ (t³ − t) over each expert's
    groups of t tied totals; chi-square = m(n − 1) W on n − 1 degrees of freedom.
    """
    from scipy import stats  # a second's import that only the panel's agreement needs

    data = np.asarray(ratings, dtype=float)
    m, n = data.shape
    if m < 2 or n < 2:
        raise ValueError("Kendall's W needs at least two experts and two applications")
    ranks = np.vstack([stats.rankdata(row) for row in data])
    sums = ranks.sum(axis=0)
    s = float(((sums - sums.mean()) ** 2).sum())
    ties = 0.0
    for row in data:
        _, counts = np.unique(row, return_counts=True)
        ties += float((counts**3 - counts).sum())
    denominator = m**2 * (n**3 - n) - m * ties
    w = 12 * s / denominator if denominator > 0 else 1.0  # every expert tied everything
    chi2 = m * (n - 1) * w
    return KendallW(w=w, chi2=chi2, df=n - 1, p=float(stats.chi2.sf(chi2, n - 1)), m=m, n=n)


@dataclass(frozen=True)
class ICC:
    """ICC(2,k) with its 95% confidence interval."""

    icc: float
    low: float
    high: float
    k: int
    n: int


def icc2k(ratings: np.ndarray, alpha: float = 0.05) -> ICC:
    """ICC(2,k) of an ``k × n`` array (one row per expert, one column per application).

    With the two-way ANOVA mean squares of applications (MSR), experts (MSC) and error
    (MSE): ICC(2,k) = (MSR − MSE) / (MSR + (MSC − MSE) / n). The interval is McGraw &
    Wong's for ICC(A,1), carried to k raters by Spearman–Brown.
    Undefined (NaN) when the experts' totals leave no error variance.
    """
    from scipy import stats

    data = np.asarray(ratings, dtype=float).T  # targets × raters
    n, k = data.shape
    if k < 2 or n < 2:
        raise ValueError("ICC needs at least two experts and two applications")
    grand = data.mean()
    ss_rows = k * float(((data.mean(axis=1) - grand) ** 2).sum())
    ss_cols = n * float(((data.mean(axis=0) - grand) ** 2).sum())
    ss_error = float(((data - grand) ** 2).sum()) - ss_rows - ss_cols
    df_rows, df_error = n - 1, (n - 1) * (k - 1)
    msr, msc = ss_rows / df_rows, ss_cols / (k - 1)
    mse = ss_error / df_error
    if mse <= 0 or msr + (msc - mse) / n <= 0:  # no error variance: the ICC is undefined
        return ICC(icc=math.nan, low=math.nan, high=math.nan, k=k, n=n)
    icc = (msr - mse) / (msr + (msc - mse) / n)
    single = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
    fj = msc / mse
    vn = df_error * (k * single * fj + n * (1 + (k - 1) * single) - k * single) ** 2
    vd = df_rows * k**2 * single**2 * fj**2 + (n * (1 + (k - 1) * single) - k * single) ** 2
    v = vn / vd
    f_upper = stats.f.ppf(1 - alpha / 2, df_rows, v)
    f_lower = stats.f.ppf(1 - alpha / 2, v, df_rows)
    pooled = k * msc + (k * n - k - n) * mse
    low1 = n * (msr - f_upper * mse) / (f_upper * pooled + n * msr)
    high1 = n * (f_lower * msr - mse) / (pooled + n * f_lower * msr)
    return ICC(
        icc=float(icc),
        low=float(low1 * k / (1 + low1 * (k - 1))),
        high=float(high1 * k / (1 + high1 * (k - 1))),
        k=k,
        n=n,
    )


def w_reading(w: float) -> str:
    """Kendall's W in words, a catalogued phrase (the usual bands: < 0.3 weak, < 0.5
    moderate, < 0.7 good)."""
    if w < 0.3:
        return N_("专家排序一致性弱")
    if w < 0.5:
        return N_("专家排序一致性中等")
    if w < 0.7:
        return N_("专家排序一致性较好")
    return N_("专家排序一致性强")


def icc_reading(icc: float) -> str:
    """ICC in words, a catalogued phrase (Koo & Li: < 0.5 poor, < 0.75 moderate, < 0.9
    good, else excellent)."""
    if icc < 0.5:
        return N_("评分信度差")
    if icc < 0.75:
        return N_("评分信度中等")
    if icc < 0.9:
        return N_("评分信度良好")
    return N_("评分信度优秀")

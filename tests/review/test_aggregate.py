"""The panel's arithmetic against a hand computation, scipy and pingouin.

The worked example (also in docs/domains/review-decision.md). Rubric: 技术方案 weight 60,
报价合理性 weight 40, each scored 0–10. Five experts E1–E5 score three applications:

    total = 60 × s₁/10 + 40 × s₂/10

    app  E1          E2          E3          E4            E5
    A    (8,5) 68    (9,7) 82    (7,6) 66    (10,10) 100   (6,5) 56
    B    (6,5) 56    (7,6) 66    (7,6) 66    (6,5) 56      (5,5) 50
    C    (5,5) 50    (6,6) 60    (8,5) 68    (6,5) 56      (6,5) 56

Panel score (five experts: drop one highest and one lowest):
    A: drop E4's 100 and E5's 56 → (68 + 82 + 66) / 3 = 72;        range 100 − 56 = 44
    B: 66 twice (E2, E3): drop one, E2's; drop E5's 50 → (56 + 66 + 56) / 3 = 59⅓; range 16
    C: drop E3's 68 and E1's 50 → (60 + 56 + 56) / 3 = 57⅓;         range 68 − 50 = 18
    With the threshold 20 only A is flagged.

Kendall's W (each expert ranks A, B, C; the highest total ranks 3, ties share the mean):
    E1 3 2 1 · E2 3 2 1 · E3 1.5 1.5 3 · E4 3 1.5 1.5 · E5 2.5 1 2.5
    R = (13, 8, 9), mean 10, S = 3² + 2² + 1² = 14
    ties: E3, E4, E5 each one pair: T = 3 × (2³ − 2) = 18
    W = 12 × 14 / (5² × (3³ − 3) − 5 × 18) = 168 / 510 = 0.32941
    chi-square = m(n − 1)W = 5 × 2 × 168/510 = 3.29412, df 2, p = e^(−χ²/2) = 0.19262

ICC(2,k) (applications are the targets, n = 3; experts the raters, k = 5):
    application means 74.4, 58.8, 58; grand mean 956/15 = 63.7333
    SSR = 5 × Σ(row mean − grand)² = 854.9333, MSR = 854.9333 / 2 = 427.4667
    SSC = 3 × Σ(expert mean − grand)² = 646.9333, MSC = 646.9333 / 4 = 161.7333
    SST = 2390.9333, SSE = SST − SSR − SSC = 889.0667, MSE = 889.0667 / 8 = 111.1333
    ICC(2,k) = (MSR − MSE) / (MSR + (MSC − MSE) / n) = 316.3333 / 444.3333 = 0.71193
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pingouin
import pytest
from pandas.errors import Pandas4Warning
from scipy import stats

from mosu import i18n
from mosu.review.aggregate import (
    icc2k,
    icc_reading,
    kendall_w,
    panel_score,
    w_reading,
    weighted_total,
)

CRITERIA = [{"key": "tech", "weight": 60}, {"key": "price", "weight": 40}]
SCORES = {
    "A": [(8, 5), (9, 7), (7, 6), (10, 10), (6, 5)],
    "B": [(6, 5), (7, 6), (7, 6), (6, 5), (5, 5)],
    "C": [(5, 5), (6, 6), (8, 5), (6, 5), (6, 5)],
}
TOTALS = {"A": [68, 82, 66, 100, 56], "B": [56, 66, 66, 56, 50], "C": [50, 60, 68, 56, 56]}


def totals_of(app: str) -> dict[int, float]:
    return {
        expert: weighted_total({"tech": tech, "price": price}, CRITERIA, score_min=0, score_max=10)
        for expert, (tech, price) in enumerate(SCORES[app], start=1)
    }


def matrix() -> np.ndarray:
    """Experts × applications, as the panel stores them."""
    return np.array([[totals_of(app)[e] for app in "ABC"] for e in range(1, 6)])


def test_weighted_totals_are_the_hand_totals() -> None:
    for app, expected in TOTALS.items():
        assert list(totals_of(app).values()) == pytest.approx(expected)
    # the range is mapped onto 0–100: 1–5 scores give 0 at 1 and 100 at 5
    assert weighted_total({"tech": 1, "price": 5}, CRITERIA, score_min=1, score_max=5) == 40


def test_panel_scores_drop_one_highest_and_one_lowest() -> None:
    a = panel_score(totals_of("A"), threshold=20)
    assert a.score == pytest.approx(72)
    assert (a.dropped_high, a.dropped_low, a.dispersion, a.flagged) == (4, 5, 44, True)
    b = panel_score(totals_of("B"), threshold=20)
    assert b.score == pytest.approx(178 / 3)
    assert (b.dropped_high, b.dropped_low, b.dispersion, b.flagged) == (2, 5, 16, False)
    c = panel_score(totals_of("C"), threshold=20)
    assert c.score == pytest.approx(172 / 3)
    assert (c.dropped_high, c.dropped_low, c.dispersion, c.flagged) == (3, 1, 18, False)
    # below five experts: the plain mean, nothing dropped
    four = panel_score({1: 68, 2: 82, 3: 66, 4: 100}, threshold=50)
    assert four.score == pytest.approx(79) and four.dropped_high is None
    assert four.dropped_low is None and not four.flagged
    # every total equal: one instance dropped at each end, never the same expert twice
    same = panel_score(dict.fromkeys(range(1, 6), 70.0), threshold=20)
    assert same.score == 70 and same.dropped_low != same.dropped_high


def test_kendall_w_is_the_hand_value_and_friedmans() -> None:
    result = kendall_w(matrix())
    assert result.w == pytest.approx(168 / 510)
    assert result.chi2 == pytest.approx(5 * 2 * 168 / 510)
    assert result.df == 2 and (result.m, result.n) == (5, 3)
    assert result.p == pytest.approx(math.exp(-(10 * 168 / 510) / 2))
    assert result.p == pytest.approx(0.19262, abs=1e-5)
    # scipy: Friedman's chi-square, tie-corrected, is m(n − 1)W
    friedman = stats.friedmanchisquare(*matrix().T)
    assert result.chi2 == pytest.approx(friedman.statistic)
    assert result.p == pytest.approx(friedman.pvalue)
    # pingouin reports W itself
    long = _long(matrix())
    pg = pingouin.friedman(data=long, dv="total", within="application", subject="expert")
    assert result.w == pytest.approx(float(pg["W"].iloc[0]))


def test_kendall_w_without_ties_and_in_perfect_agreement() -> None:
    rng = np.random.default_rng(3)
    data = rng.normal(50, 15, size=(6, 8))
    result = kendall_w(data)
    ranks = np.vstack([stats.rankdata(r) for r in data])
    sums = ranks.sum(axis=0)
    direct = 12 * ((sums - sums.mean()) ** 2).sum() / (6**2 * (8**3 - 8))
    assert result.w == pytest.approx(direct)
    assert result.chi2 == pytest.approx(stats.friedmanchisquare(*data.T).statistic)
    same = kendall_w(np.tile(np.arange(5.0), (4, 1)))
    assert same.w == pytest.approx(1.0)
    assert w_reading(same.w) == "专家排序一致性强" and w_reading(0.1) == "专家排序一致性弱"
    assert i18n.gettext("en", w_reading(same.w)) == "strong agreement"


def _long(data: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"expert": f"E{e}", "application": f"P{a}", "total": float(data[e, a])}
            for e in range(data.shape[0])
            for a in range(data.shape[1])
        ]
    )


def _pingouin_icc2k(data: np.ndarray) -> tuple[float, float, float]:
    with warnings.catch_warnings():  # pingouin 0.7 calls DataFrame.dropna(inplace=True)
        warnings.simplefilter("ignore", Pandas4Warning)
        table = pingouin.intraclass_corr(
            data=_long(data), targets="application", raters="expert", ratings="total"
        ).set_index("Type")
    row = table.loc["ICC(A,k)"]  # Shrout & Fleiss' ICC2k: random raters, absolute, k raters
    low, high = row["CI95"]
    return float(row["ICC"]), float(low), float(high)


def test_icc2k_is_the_hand_value_and_pingouins() -> None:
    result = icc2k(matrix())
    assert (result.k, result.n) == (5, 3)
    assert result.icc == pytest.approx(316.3333 / 444.3333, abs=1e-5)
    assert result.icc == pytest.approx(949 / 1333)
    icc, low, high = _pingouin_icc2k(matrix())
    assert result.icc == pytest.approx(icc)
    assert (result.low, result.high) == (
        pytest.approx(low, abs=0.005),
        pytest.approx(high, abs=0.005),
    )
    assert result.low < result.icc < result.high
    assert icc_reading(result.icc) == "评分信度中等"


def test_icc2k_on_a_larger_panel_matches_pingouin() -> None:
    rng = np.random.default_rng(11)
    quality = rng.uniform(30, 90, size=10)
    data = quality + rng.normal(0, 8, size=(7, 10)) + rng.normal(0, 4, size=(7, 1))
    result = icc2k(data)
    icc, low, high = _pingouin_icc2k(data)
    assert result.icc == pytest.approx(icc)
    assert result.low == pytest.approx(low, abs=0.005)
    assert result.high == pytest.approx(high, abs=0.005)
    assert (icc_reading(0.8), icc_reading(0.95)) == ("评分信度良好", "评分信度优秀")
    assert i18n.gettext("en", icc_reading(0.95)) == "excellent reliability"

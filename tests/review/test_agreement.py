"""The judge-agreement figures against scikit-learn and against hand computations."""

from __future__ import annotations

import random

import pytest
from sklearn.metrics import cohen_kappa_score

from mosu.review.agreement import (
    agreement_rate,
    cohen_kappa,
    consensus,
    majority,
    on_scale,
    pairwise_agreement,
    preference,
    rubric_agreement,
)


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_kappa_matches_scikit_learn(weights: str | None) -> None:
    rng = random.Random(7)
    for _ in range(20):
        n = rng.randint(5, 40)
        first = [rng.randint(0, 10) for _ in range(n)]
        second = [min(10, max(0, g + rng.randint(-3, 3))) for g in first]
        ours = cohen_kappa(first, second, labels=list(range(11)), weights=weights)  # type: ignore[arg-type]
        theirs = cohen_kappa_score(first, second, labels=list(range(11)), weights=weights)
        assert ours == pytest.approx(theirs, abs=1e-12)


def test_unweighted_kappa_of_preferences_matches_scikit_learn() -> None:
    judge = ["a", "a", "b", "tie", "b", "a", "tie", "b"]
    experts = ["a", "b", "b", "tie", "b", "a", "a", "tie"]
    ours = cohen_kappa(judge, experts, labels=["a", "b", "tie"])
    assert ours == pytest.approx(cohen_kappa_score(judge, experts, labels=["a", "b", "tie"]))


def test_kappa_by_hand() -> None:
    # 2×2: agree on 3 of 4; marginals (2, 2) and (1, 3): p_o = 0.75, p_e = (2·1 + 2·3)/16 = 0.5
    assert cohen_kappa([0, 0, 1, 1], [0, 1, 1, 1]) == pytest.approx(0.5)
    assert cohen_kappa([], []) is None
    assert cohen_kappa([3, 3, 3], [3, 3, 3], labels=[0, 1, 2, 3], weights="quadratic") is None


def test_consensus_majority_and_preference() -> None:
    assert consensus([7, 8], 10) == 8  # 7.5 rounds up
    assert consensus([6, 7, 7], 10) == 7
    assert consensus([10, 10, 12], 10) == 10
    assert on_scale(0.84, 10) == 8 and on_scale(0.25, 10) == 3
    assert majority(["a", "a", "b"]) == "a"
    assert majority(["a", "b"]) == "tie"
    assert majority(["tie", "tie", "a"]) == "tie"
    assert preference(8, 3) == "a" and preference(2, 9) == "b" and preference(5, 5) == "tie"
    assert agreement_rate(["a", "tie"], ["a", "b"]) == 0.5


def test_rubric_agreement_per_criterion_and_flag() -> None:
    judge = {1: 10, 2: 2, 3: 10, 4: 2, 5: 6}
    experts = {
        1: {"quality": [9, 10], "style": [3, 4]},
        2: {"quality": [2, 3], "style": [8, 9]},
        3: {"quality": [10, 9], "style": [2, 2]},
        4: {"quality": [1, 2], "style": [9, 9]},
        # item 5 not graded by experts: left out
    }
    criteria = [{"key": "quality", "name": "质量"}, {"key": "style", "name": "文风"}]
    quality, style = rubric_agreement(judge, experts, criteria, scale=10, min_agreement=0.4)
    expected_quality = [10, 3, 10, 2]  # 9.5→10, 2.5→3, 9.5→10, 1.5→2
    assert quality.n == 4
    assert quality.kappa == pytest.approx(
        cohen_kappa_score(
            [10, 2, 10, 2], expected_quality, labels=list(range(11)), weights="quadratic"
        )
    )
    assert quality.kappa is not None and quality.kappa > 0.9 and not quality.flagged
    assert style.kappa is not None and style.kappa < 0 and style.flagged


def test_pairwise_agreement_and_flag() -> None:
    judge = {1: "a", 2: "b", 3: "tie", 4: "a", 5: "b"}
    experts = {1: ["a", "a", "b"], 2: ["b"], 3: ["a", "b"], 4: ["b", "b"], 6: ["a"]}
    # majorities: a, b, tie, b (item 5 not graded, item 6 not judged): agree on 3 of 4
    result = pairwise_agreement(judge, experts, min_agreement=0.8)
    assert result.n == 4 and result.rate == pytest.approx(0.75) and result.flagged
    assert result.kappa == pytest.approx(
        cohen_kappa_score(["a", "b", "tie", "a"], ["a", "b", "tie", "b"], labels=["a", "b", "tie"])
    )
    assert not pairwise_agreement(judge, experts, min_agreement=0.7).flagged

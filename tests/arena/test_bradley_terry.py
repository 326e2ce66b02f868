"""Bradley-Terry fits against an independent per-row reference; bootstrap and sandwich."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mosu.arena import NotEstimable, PairCounts, RatingScale, rate
from mosu.arena import bradley_terry as bt
from mosu.arena.sampling import multinomial_rounds
from mosu.arena.simulate import simulate_battles
from mosu.arena.votes import Battles
from tests.arena.helpers import POINTS, arena, per_row_mle


@pytest.fixture(scope="module")
def big() -> Battles:
    return arena(30, 50_000, seed=1)


def test_ratings_match_per_row_logistic_mle(big: Battles) -> None:
    reference = per_row_mle(big)
    board = rate(big, interval="none")
    assert np.abs(board.rating - reference).max() < 1e-4
    assert board.rating.mean() == pytest.approx(1000.0)


def test_ridge_matches_penalised_reference(big: Battles) -> None:
    reference = per_row_mle(big, ridge=50.0)
    board = rate(big, interval="none", ridge=50.0)
    assert np.abs(board.rating - reference).max() < 1e-4
    assert np.ptp(board.rating) < np.ptp(rate(big, interval="none").rating)


def test_anchor_shifts_only() -> None:
    battles = arena(8, 5_000, seed=2)
    free = rate(battles, interval="none")
    anchored = rate(
        battles,
        interval="none",
        scale=RatingScale(anchor=battles.models[3], anchor_rating=1114.0),
    )
    assert anchored.rating[3] == pytest.approx(1114.0)
    np.testing.assert_allclose(
        anchored.rating - free.rating, 1114.0 - free.rating[3], rtol=0, atol=1e-9
    )


def test_scale_and_ties_follow_chatbot_arena() -> None:
    # A beats B 3 times, B beats A once, two ties: MLE p = (3 + 1) / 6
    battles = Battles(
        ("a", "b"),
        np.array([0, 1, 0, 0, 1, 1], dtype=np.int32),
        np.array([1, 0, 1, 1, 0, 0], dtype=np.int32),
        np.array([0, 0, 0, 2, 3, 1], dtype=np.int8),
    )
    board = rate(battles, interval="none")
    gap = board.rating[0] - board.rating[1]
    assert gap == pytest.approx(400.0 * math.log10(4 / 2), abs=1e-9)


def test_infinite_ratings_are_refused_with_names() -> None:
    battles = Battles(
        ("champ", "x", "y"),
        np.array([0, 0, 1, 2], dtype=np.int32),
        np.array([1, 2, 2, 1], dtype=np.int32),
        np.array([0, 1, 0, 0], dtype=np.int8),
    )
    battles_always_wins = Battles(
        battles.models, battles.model_a, battles.model_b, np.array([0, 0, 0, 0], dtype=np.int8)
    )
    rate(battles, interval="none")
    with pytest.raises(NotEstimable, match="champ never lost") as info:
        rate(battles_always_wins, interval="none")
    assert info.value.details["never_lost"] == ["champ"]
    board = rate(battles_always_wins, interval="none", ridge=1.0)
    assert np.argmax(board.rating) == 0


def test_bootstrap_is_reproducible_by_seed() -> None:
    battles = arena(12, 8_000, seed=3)
    one = rate(battles, rounds=50, seed=7)
    two = rate(battles, rounds=50, seed=7)
    other = rate(battles, rounds=50, seed=8)
    assert one.samples is not None and two.samples is not None and other.samples is not None
    np.testing.assert_array_equal(one.samples, two.samples)
    assert not np.array_equal(one.samples, other.samples)
    pairs = PairCounts.from_battles(battles)
    beta = bt.fit(pairs)
    np.testing.assert_array_equal(
        bt.bootstrap(pairs, beta, rounds=20, seed=7, workers=1),
        bt.bootstrap(pairs, beta, rounds=20, seed=7, workers=4),
    )


def test_batched_bootstrap_equals_separate_fits() -> None:
    battles = arena(15, 6_000, seed=4)
    pairs = PairCounts.from_battles(battles)
    beta = bt.fit(pairs)
    batched = bt.bootstrap(pairs, beta, rounds=10, seed=1)
    cells = multinomial_rounds(pairs.cells.ravel(), rounds=10, seed=1).reshape(10, 3, -1)
    for r in range(10):
        alone = bt.fit(pairs.with_cells(cells[r]))
        # rounds are aligned by an information-weighted shift; fits are mean zero
        assert np.abs(batched[r] - batched[r].mean() - alone).max() < 1e-7


def test_resample_is_exactly_multinomial() -> None:
    counts = np.array([3.0, 1.0, 0.0, 2.0])
    draws = multinomial_rounds(counts, rounds=20_000, seed=0)
    assert np.all(draws.sum(axis=1) == 6)
    assert np.all(draws[:, 2] == 0)
    p = counts / 6.0
    np.testing.assert_allclose(draws.mean(axis=0), 6 * p, atol=0.03)
    expected_cov = 6 * (np.diag(p) - np.outer(p, p))
    np.testing.assert_allclose(np.cov(draws.T), expected_cov, atol=0.04)
    # the whole distribution: P(all six land in cell 0) = (1/2)^6
    assert np.mean(draws[:, 0] == 6) == pytest.approx(0.5**6, abs=0.004)


def test_sandwich_agrees_with_bootstrap_spread(big: Battles) -> None:
    boot = rate(big, rounds=200, seed=0)
    sandwich = rate(big, interval="sandwich")
    np.testing.assert_allclose(sandwich.rating, boot.rating)
    ratio = sandwich.stderr / boot.stderr
    assert 0.8 < np.median(ratio) < 1.2
    assert np.all((boot.lower < boot.rating) & (boot.rating < boot.upper))


@pytest.mark.parametrize("interval", ["sandwich", "bootstrap"])
def test_intervals_cover_the_truth(interval: str) -> None:
    rng = np.random.default_rng(11)
    strengths = rng.normal(0.0, 0.7, 10)
    truth = POINTS * (strengths - strengths.mean()) + 1000.0
    covered = []
    for _ in range(30 if interval == "sandwich" else 15):
        battles = simulate_battles(strengths, 3_000, rng)
        board = rate(battles, interval=interval, rounds=100, seed=int(rng.integers(1 << 30)))  # type: ignore[arg-type]
        covered.append((board.lower <= truth) & (truth <= board.upper))
    coverage = float(np.mean(covered))
    assert 0.88 <= coverage <= 0.995


def with_loser(battles: Battles, losses: int, ties: int) -> Battles:
    """``battles`` and one more model that lost ``losses`` battles and tied ``ties``."""
    m = len(battles.models)
    n = losses + ties
    opponent = np.random.default_rng(1).integers(0, m, n).astype(np.int32)
    outcome = np.r_[np.full(losses, 1), np.full(ties, 2)].astype(np.int8)
    return Battles(
        (*battles.models, "zz-loser"),
        np.r_[battles.model_a, np.full(n, m, dtype=np.int32)],
        np.r_[battles.model_b, opponent],
        np.r_[battles.outcome, outcome],
    )


def test_a_degenerate_loser_does_not_widen_the_others() -> None:
    base = arena(20, 20_000, seed=4)
    loser = with_loser(base, 500, 2)  # in ~14% of resamples it draws no tie: rating -inf
    before = rate(base, rounds=400, seed=0)
    after = rate(loser, rounds=400, seed=0)
    ratio = (after.upper - after.lower)[:20] / (before.upper - before.lower)
    assert np.all((ratio > 1 / 1.3) & (ratio < 1.3)), ratio
    assert np.abs(after.ranks[:20] - before.ranks).max() <= 2
    last = after.rows()[-1]
    assert last.model == "zz-loser" and last.insufficient_data and last.lower is None
    assert not after.flagged[:20].any()


def test_standing_places_models_against_the_main_group() -> None:
    # a, b, c beat each other around; d lost to a; e beat a; f tied d; g lost to e only
    records = [("a", "b", "model_a"), ("b", "c", "model_a"), ("c", "a", "model_a")]
    records += [("a", "d", "model_a"), ("e", "a", "model_a"), ("f", "d", "tie")]
    records += [("e", "g", "model_a")]
    battles = Battles.from_records({"model_a": a, "model_b": b, "winner": w} for a, b, w in records)
    place = dict(zip(battles.models, bt.standing(PairCounts.from_battles(battles)), strict=True))
    assert [place[k] for k in "abc"] == [0.0, 0.0, 0.0]
    assert place["d"] == place["f"] == -np.inf and place["e"] == np.inf
    assert np.isnan(place["g"])  # below e, but nothing relates it to a, b, c


def test_groups_that_never_met_are_rated_and_ranked_apart() -> None:
    one, two = arena(5, 3_000, seed=5), arena(3, 2_000, seed=6)
    names = (*one.models, *(f"other-{n}" for n in two.models))
    joined = Battles(
        names,
        np.r_[one.model_a, two.model_a + 5].astype(np.int32),
        np.r_[one.model_b, two.model_b + 5].astype(np.int32),
        np.r_[one.outcome, two.outcome],
    )
    board = rate(joined, rounds=50, seed=2)
    alone = rate(one, rounds=50, seed=2)
    assert board.n_groups == 2 and board.groups.tolist() == [0] * 5 + [1] * 3
    np.testing.assert_allclose(board.rating[:5], alone.rating, atol=1e-9)
    np.testing.assert_allclose(board.lower[:5], alone.lower, atol=1e-9)
    np.testing.assert_allclose(board.rating[5:].mean(), 1000.0)
    rows = board.rows()
    assert [r.group for r in rows] == [0] * 5 + [1] * 3
    assert sorted(r.rank for r in rows if r.group == 1)[0] == 1
    assert board.to_dict()["groups"] == 2

"""Leaderboards: rank by upper bound, rows, JSON view."""

from __future__ import annotations

import json

import numpy as np

from mosu.arena import rank_by_upper_bound, rate
from tests.arena.helpers import arena


def test_rank_by_upper_bound_on_a_crafted_example() -> None:
    #            A       B       C       D       E
    lower = np.array([1100.0, 1080.0, 1000.0, 990.0, 900.0])
    upper = np.array([1150.0, 1120.0, 1090.0, 1010.0, 950.0])
    # B overlaps A -> 1; C's upper 1090 < A's lower 1100 -> 2;
    # D below A, B (lower 1080 > 1010) -> 3; E below all four -> 5
    assert rank_by_upper_bound(lower, upper).tolist() == [1, 1, 2, 3, 5]


def test_rows_are_best_first_and_json_ready() -> None:
    battles = arena(6, 4_000, seed=9)
    board = rate(battles, rounds=30, seed=1)
    rows = board.rows()
    assert [r.rank for r in rows] == sorted(r.rank for r in rows)
    assert rows[0].rating == board.rating.max()
    assert sum(r.battles for r in rows) == 2 * len(battles)
    data = json.loads(json.dumps(board.to_dict()))
    assert data["interval"] == "bootstrap"
    assert data["bootstrap_rounds"] == 30
    assert data["battles"] == len(battles)
    assert {m["model"] for m in data["models"]} == set(battles.models)


def test_no_interval_ranks_by_rating() -> None:
    battles = arena(6, 4_000, seed=10)
    board = rate(battles, interval="none")
    order = np.argsort(-board.rating)
    assert board.ranks[order].tolist() == [1, 2, 3, 4, 5, 6]
    np.testing.assert_array_equal(board.lower, board.rating)

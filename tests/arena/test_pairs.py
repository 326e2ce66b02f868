"""Aggregation of battles into pair counts."""

from __future__ import annotations

import numpy as np
import pytest

from mosu.arena import pairs as pairs_module
from mosu.arena.pairs import PairCounts
from tests.arena.helpers import arena


def test_counts_match_a_plain_loop() -> None:
    battles = arena(9, 3_000, seed=5)
    pc = PairCounts.from_battles(battles)
    expected: dict[tuple[int, int], list[int]] = {}
    for a, b, o in zip(battles.model_a, battles.model_b, battles.outcome, strict=True):
        lo, hi = min(a, b), max(a, b)
        cell = expected.setdefault((int(lo), int(hi)), [0, 0, 0])
        if o >= 2:
            cell[2] += 1
        else:
            cell[0 if (o == 0) == (a == lo) else 1] += 1
    got = {
        (int(i), int(j)): [int(c) for c in pc.cells[:, k]]
        for k, (i, j) in enumerate(zip(pc.first, pc.second, strict=True))
    }
    assert got == expected
    np.testing.assert_array_equal(pc.battles_per_model(), battles.battles_per_model())


def test_sorting_path_equals_dense_path(monkeypatch: pytest.MonkeyPatch) -> None:
    battles = arena(9, 3_000, seed=6)
    dense = PairCounts.from_battles(battles)
    monkeypatch.setattr(pairs_module, "_DENSE_KEYS", 0)
    sorted_ = PairCounts.from_battles(battles)
    np.testing.assert_array_equal(dense.first, sorted_.first)
    np.testing.assert_array_equal(dense.second, sorted_.second)
    np.testing.assert_array_equal(dense.cells, sorted_.cells)

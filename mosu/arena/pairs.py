"""Battles aggregated per pair of models: the sufficient statistic of Bradley-Terry."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from mosu.arena.votes import TIE, Battles

_DENSE_KEYS = 1 << 24
"""Above this many (pair, outcome) keys the pass sorts instead of counting densely."""


@dataclass(frozen=True, eq=False)
class PairCounts:
    """Outcome counts for every pair of models that met, ``first < second``.

    ``cells`` has shape ``(3, pairs)``: rows are wins of ``first``, wins of
    ``second`` and ties (``tie`` and ``tie (bothbad)`` alike), so a bootstrap
    can resample the cells directly. Counts are floats so resampled or
    weighted counts fit the same type.
    """

    models: tuple[str, ...]
    first: NDArray[np.intp]
    second: NDArray[np.intp]
    cells: NDArray[np.float64]

    @classmethod
    def from_battles(cls, battles: Battles) -> PairCounts:
        """Aggregate in one vectorised pass over the battles."""
        m = len(battles.models)
        a = battles.model_a.astype(np.int64)
        b = battles.model_b.astype(np.int64)
        lo = np.minimum(a, b)
        swapped = a > b
        o = battles.outcome.astype(np.int64)
        # 0: first wins, 1: second wins, 2: tie
        cell = np.where(o >= TIE, 2, o ^ swapped)
        keys = (lo * m + (a + b - lo)) * 3 + cell
        if m * m * 3 <= _DENSE_KEYS:
            flat = np.bincount(keys, minlength=m * m * 3).reshape(m * m, 3)
            pair_ids = np.flatnonzero(flat.any(axis=1))
            table = flat[pair_ids]
        else:
            uniq, counts = np.unique(keys, return_counts=True)
            pair_ids, where = np.unique(uniq // 3, return_inverse=True)
            table = np.zeros((len(pair_ids), 3), dtype=np.int64)
            table[where, uniq % 3] = counts
        return cls(
            models=battles.models,
            first=(pair_ids // m).astype(np.intp),
            second=(pair_ids % m).astype(np.intp),
            cells=np.ascontiguousarray(table.T, dtype=np.float64),
        )

    @property
    def n_models(self) -> int:
        return len(self.models)

    @property
    def totals(self) -> NDArray[np.float64]:
        """Battles per pair."""
        total: NDArray[np.float64] = self.cells.sum(axis=0)
        return total

    @property
    def first_scores(self) -> NDArray[np.float64]:
        """Wins of ``first`` with each tie counted as half a win."""
        score: NDArray[np.float64] = self.cells[0] + 0.5 * self.cells[2]
        return score

    def with_cells(self, cells: NDArray[np.float64]) -> PairCounts:
        """The same pairs with other counts (a bootstrap resample)."""
        return PairCounts(self.models, self.first, self.second, cells)

    def battles_per_model(self) -> NDArray[np.int64]:
        m = self.n_models
        t = self.totals
        both = np.bincount(self.first, t, minlength=m) + np.bincount(self.second, t, minlength=m)
        count: NDArray[np.int64] = np.rint(both).astype(np.int64)
        return count

    def matrix(
        self, values: NDArray[np.float64], mirror: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """An ``(m, m)`` matrix with ``values`` at ``[first, second]`` and ``mirror``
        at ``[second, first]``; NaN where the pair never met."""
        m = self.n_models
        out = np.full((m, m), np.nan)
        out[self.first, self.second] = values
        out[self.second, self.first] = mirror
        return out

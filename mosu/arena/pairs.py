"""Battles aggregated per pair of models: the sufficient statistic of Bradley-Terry."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from mosu.arena.votes import MODEL_A, MODEL_B, TIE, Battles

_DENSE_KEYS = 1 << 24
"""Above this many (model_a, model_b, outcome) keys the pass sorts instead of counting densely."""


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
        """Aggregate in one vectorised pass over the battles.

        Up to 2,048 models the pass is a single ``bincount`` of (model_a, model_b, outcome)
        in 32-bit arithmetic, folded into unordered pairs on the small ``(m, m, 4)`` table;
        beyond that it sorts the keys.
        """
        m = len(battles.models)
        if m * m * 4 <= _DENSE_KEYS:
            key = battles.model_a * np.int32(4 * m)
            key += battles.model_b * np.int32(4)
            key += battles.outcome
            ordered = np.bincount(key, minlength=m * m * 4).reshape(m * m, 4)
            upper = np.triu_indices(m, 1)
            # each unordered pair's row (first as model_a) and its mirror (second as model_a)
            row = np.take(ordered, upper[0] * m + upper[1], axis=0)
            mirror = np.take(ordered, upper[1] * m + upper[0], axis=0)
            table = np.empty((3, len(row)), dtype=row.dtype)
            np.add(row[:, MODEL_A], mirror[:, MODEL_B], out=table[0])
            np.add(row[:, MODEL_B], mirror[:, MODEL_A], out=table[1])
            np.add(row[:, TIE:].sum(axis=1), mirror[:, TIE:].sum(axis=1), out=table[2])
            met = table.any(axis=0)
            return cls(
                models=battles.models,
                first=upper[0][met].astype(np.intp),
                second=upper[1][met].astype(np.intp),
                cells=np.ascontiguousarray(table[:, met], dtype=np.float64),
            )
        a = battles.model_a.astype(np.int64)
        b = battles.model_b.astype(np.int64)
        lo = np.minimum(a, b)
        swapped = a > b
        o = battles.outcome.astype(np.int64)
        # 0: first wins, 1: second wins, 2: tie
        cell = np.where(o >= TIE, 2, o ^ swapped)
        keys = (lo * m + (a + b - lo)) * 3 + cell
        uniq, counts = np.unique(keys, return_counts=True)
        pair_ids, where = np.unique(uniq // 3, return_inverse=True)
        sparse = np.zeros((len(pair_ids), 3), dtype=np.int64)
        sparse[where, uniq % 3] = counts
        return cls(
            models=battles.models,
            first=(pair_ids // m).astype(np.intp),
            second=(pair_ids % m).astype(np.intp),
            cells=np.ascontiguousarray(sparse.T, dtype=np.float64),
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

    def restricted(self, keep: NDArray[np.intp]) -> PairCounts:
        """The counts among the models ``keep`` (sorted indices) alone."""
        index = np.full(self.n_models, -1, dtype=np.intp)
        index[keep] = np.arange(len(keep))
        inside = (index[self.first] >= 0) & (index[self.second] >= 0)
        return PairCounts(
            tuple(self.models[i] for i in keep.tolist()),
            index[self.first[inside]],
            index[self.second[inside]],
            np.ascontiguousarray(self.cells[:, inside]),
        )

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

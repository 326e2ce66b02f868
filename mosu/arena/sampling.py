"""Resampling battles fast: exact multinomial draws of cell counts, many rounds at once.

Resampling ``n`` battles with replacement gives, for Bradley-Terry, exactly a multinomial
draw of ``n`` over the (pair, outcome) cells. It is drawn here as independent
``Poisson(count)`` variates per cell, corrected to the exact multinomial (see
:func:`to_multinomial`). The Poisson variates come from inversion with a guide table
(Devroye's "indexed search"): cell counts are small integers shared by many cells, so one
cumulative table per distinct count serves them all, and a draw costs a uniform, a lookup
and on average about one comparison, vectorised over every cell of every round; numpy's
own Poisson sampler, a rejection method, costs several times more per variate. Inversion
is exact to the resolution of the double-precision uniforms: the tails cut off beyond
twelve standard deviations hold less than 1e-30 of the mass.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import scipy.stats
from numpy.typing import NDArray

Array = NDArray[np.float64]
IntArray = NDArray[np.int64]

TABLE_MAX = 4096
"""Counts up to this get an inversion table; larger or fractional counts use numpy's sampler."""

CHUNK = 10
"""Rounds drawn by one generator (child ``k`` of ``SeedSequence(seed)`` draws chunk ``k``),
so the draws do not depend on the number of threads."""


@dataclass(frozen=True)
class PoissonCells:
    """Poisson samplers for a vector of integer means: one cumulative table per distinct
    mean (all tables in one array, each with its guide table), and per cell where its
    table starts."""

    cdf: Array
    guide: NDArray[np.int32]
    scale: Array
    guide_start: NDArray[np.int32]
    shift: NDArray[np.int32]

    @classmethod
    def for_means(cls, means: IntArray) -> PoissonCells:
        """Samplers for ``means`` (integers >= 1)."""
        distinct, which = np.unique(means, return_inverse=True)
        cdfs, guides, sizes, starts, shifts = [], [], [], [], []
        at = 0
        for lam in distinct.tolist():
            spread = 12.0 * math.sqrt(lam) + 12.0
            low = max(0, int(lam - spread))
            support = np.arange(low, int(lam + spread) + 1)
            cdf = scipy.stats.poisson.cdf(support, lam)
            cdf[-1] = 1.0
            size = len(support)
            # guide[j]: the first support point whose cdf exceeds j / size (a global index)
            guides.append(np.searchsorted(cdf, np.arange(size) / size, side="right") + at)
            cdfs.append(cdf)
            sizes.append(float(size))
            starts.append(at)
            shifts.append(low - at)
            at += size
        return cls(
            cdf=np.concatenate(cdfs),
            guide=np.concatenate(guides).astype(np.int32),
            scale=np.asarray(sizes)[which],
            guide_start=np.asarray(starts, dtype=np.int32)[which],
            shift=np.asarray(shifts, dtype=np.int32)[which],
        )

    def draw(self, rng: np.random.Generator, rounds: int, out: IntArray | None = None) -> IntArray:
        """``(rounds, cells)`` Poisson variates by inversion, ``min{x: F(x) > u}``, into
        ``out`` when given."""
        u = rng.random((rounds, len(self.scale)))
        index = (u * self.scale).astype(np.int32)
        index += self.guide_start
        x = self.guide[index]
        flat_x, flat_u = x.reshape(-1), u.reshape(-1)
        todo = np.flatnonzero(self.cdf[flat_x] <= flat_u)
        while todo.size:
            flat_x[todo] += 1
            todo = todo[self.cdf[flat_x[todo]] <= flat_u[todo]]
        if out is None:
            out = np.empty(x.shape, dtype=np.int64)
        np.add(x, self.shift, out=out, casting="unsafe")
        return out


def to_multinomial(
    rng: np.random.Generator, x: IntArray, counts: Array, n: int, cdf: Array | None = None
) -> IntArray:
    """Independent ``Poisson(counts)`` draws ``x`` turned into one ``Multinomial(n, counts/n)``
    draw, in place: given their total ``t``, Poisson draws are ``Multinomial(t, p)``;
    removing ``t - n`` of those ``t`` battles at random without replacement, or adding
    ``n - t`` fresh draws, leaves ``Multinomial(n, p)`` for every ``t``. ``cdf`` is
    ``cumsum(counts)``, when the caller has it."""
    extra = int(x.sum()) - n
    if extra > 0:
        drop = rng.choice(n + extra, size=extra, replace=False)
        drop.sort()
        cell = np.searchsorted(np.cumsum(x), drop, side="right")
        np.subtract.at(x, cell, 1)
    elif extra < 0:
        cdf = np.cumsum(counts) if cdf is None else cdf
        add = rng.random(-extra) * cdf[-1]
        add.sort()
        cell = np.minimum(np.searchsorted(cdf, add, side="right"), len(x) - 1)
        np.add.at(x, cell, 1)
    return x


def multinomial_rounds(
    counts: Array, *, rounds: int, seed: int, workers: int | None = None
) -> IntArray:
    """``rounds`` exact multinomial draws of ``sum(counts)`` over the cells ``counts``
    (all positive), shape ``(rounds, len(counts))``."""
    n = round(float(counts.sum()))
    integral = (counts == np.rint(counts)) & (counts <= TABLE_MAX)
    tabled = np.flatnonzero(integral)
    other = np.flatnonzero(~integral)
    sampler = PoissonCells.for_means(np.rint(counts[tabled]).astype(np.int64))
    chunks = [(k, min(CHUNK, rounds - k)) for k in range(0, rounds, CHUNK)]
    seeds = np.random.SeedSequence(seed).spawn(len(chunks))
    out = np.empty((rounds, len(counts)), dtype=np.int64)
    cdf = np.cumsum(counts)

    def draw(job: int) -> None:
        start, size = chunks[job]
        rng = np.random.default_rng(seeds[job])
        block = out[start : start + size]
        if other.size:
            block[:, tabled] = sampler.draw(rng, size)
            block[:, other] = rng.poisson(counts[other], size=(size, other.size))
        else:
            sampler.draw(rng, size, out=block)
        for row in block:
            to_multinomial(rng, row, counts, n, cdf)

    threads = workers or min(len(chunks), os.cpu_count() or 1)
    if threads <= 1:
        for job in range(len(chunks)):
            draw(job)
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(draw, range(len(chunks))))
    return out

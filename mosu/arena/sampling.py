"""Resampling battles fast: exact multinomial draws of cell counts, many rounds at once.

Resampling ``n`` battles with replacement gives, for Bradley-Terry, exactly a multinomial
draw of ``n`` over the (pair, outcome) cells. It is drawn here as independent
``Poisson(count)`` variates per cell, corrected to the exact multinomial (see
:func:`rows_to_multinomial`). The Poisson variates come from inversion with a guide table
(Devroye's "indexed search"): cell counts are small integers shared by many cells, so one
table per distinct count serves them all. Each table splits ``[0, 1)`` into a power of two
``K`` of equal buckets, at least eight per support point; a bucket that lies inside one
step of the cumulative distribution holds the variate itself, so most draws cost a quarter
of a 64-bit random word (the bucket is the top ``log2 K`` of 16 bits), a shift and one lookup,
vectorised over every cell of every round, and only draws that land in a bucket holding a
step (about 3%) search the cumulative distribution, with their place inside the bucket
drawn afresh in double precision. The buckets' edges are exact for a power of two, so the
inversion is exact to the resolution of the double-precision uniforms; the tails cut off
beyond twelve standard deviations hold less than 1e-30 of the mass. numpy's own Poisson
sampler, a rejection method, costs several times more per variate.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

T = TypeVar("T")
Array = NDArray[np.float64]
IntArray = NDArray[np.int32]

TABLE_MAX = 4096
"""Counts up to this get an inversion table; larger or fractional counts use numpy's sampler."""

BUCKETS_PER_POINT = 8
"""Guide buckets per support point of a table (rounded up to a power of two)."""

WALK = 6
"""Steps a search walks along the cumulative distribution before it bisects what is left."""

CHUNK = 10
"""Rounds drawn by one generator (child ``k`` of ``SeedSequence(seed)`` draws chunk ``k``),
so the draws do not depend on the number of threads."""


def poisson_cdfs(low: NDArray[np.int64], size: NDArray[np.int64], mean: NDArray[Any]) -> Array:
    """``P(X <= k)`` for ``X ~ Poisson(mean[t])`` at ``k = low[t], ..., low[t] + size[t] - 1``,
    every table ``t`` one after another; each range holds all but 1e-30 of its mass. The
    probabilities relative to the mode by the ratio ``p(k) / p(k - 1) = mean / k``
    (products of a few hundred ratios, so relative errors of about 1e-14), normalised to
    sum to one over the range, then summed: many tables at once, as the rows of an array
    padded with ratios of one (at most :data:`CDF_BLOCK` numbers each). Agrees with SciPy's
    ``pdtr`` to about 1e-14 (tested) without importing SciPy."""
    parts = [np.empty(0)]
    start = 0
    while start < len(size):
        rows = max(1, CDF_BLOCK // int(size[start:].max()))
        block = slice(start, start + rows)
        parts.append(_poisson_rows(low[block], size[block], np.asarray(mean[block])))
        start += rows
    return np.concatenate(parts)


CDF_BLOCK = 1 << 20
"""Numbers in one padded array of :func:`poisson_cdfs` (8 MB each; a few at a time)."""


def _poisson_rows(low: NDArray[np.int64], size: NDArray[np.int64], mean: NDArray[Any]) -> Array:
    tables, width = len(size), int(size.max())
    at = np.arange(width)
    inside = at < size[:, None]
    k = (low[:, None] + at).astype(np.float64)
    mu = mean.astype(np.float64)[:, None]
    mode = (np.clip(mean.astype(np.int64), low, low + size - 1) - low)[:, None]
    up = np.ones((tables, width))
    np.divide(mu, k, out=up, where=(at > mode) & inside)
    np.multiply.accumulate(up, axis=1, out=up)  # p(k) / p(mode) above the mode
    down = np.ones((tables, width))
    np.divide(k + 1.0, mu, out=down, where=at < mode)
    down = np.multiply.accumulate(down[:, ::-1], axis=1)[:, ::-1]  # p(k) / p(mode) below it
    pmf = np.where(at < mode, down, up)
    pmf[~inside] = 0.0
    pmf /= pmf.sum(axis=1, keepdims=True)
    cdf: Array = np.minimum(np.cumsum(pmf, axis=1), 1.0)[inside]
    return cdf


@dataclass(frozen=True)
class PoissonCells:
    """Poisson samplers for a vector of integer means: one guide table per distinct mean
    (all in one array) and per cell its table's size and start.

    ``guide`` holds the variate for a bucket inside one step of the distribution, and
    ``-1 - i`` for a bucket holding a step, ``i`` the first point of ``cdf`` to search, up to
    the table's ``last`` point (``cdf`` and ``value`` hold every table's support points, one
    after another).
    """

    guide: IntArray
    cdf: Array
    value: IntArray
    scale: NDArray[np.float32]
    shift: NDArray[np.uint16]
    start: IntArray
    last: IntArray

    @classmethod
    def for_means(cls, means: NDArray[np.int64]) -> PoissonCells:
        """Samplers for ``means`` (whole numbers up to :data:`TABLE_MAX`; a zero mean always
        draws zero)."""
        present = np.bincount(means, minlength=1) > 0  # np.unique's result, without its sort
        distinct = np.flatnonzero(present)
        which = (np.cumsum(present) - 1)[means]
        spread = np.where(distinct > 0, 12.0 * np.sqrt(distinct) + 12.0, 0.0)
        low = np.maximum(0, (distinct - spread).astype(np.int64))
        sizes = (distinct + spread).astype(np.int64) + 1 - low
        table = np.repeat(np.arange(len(distinct)), sizes)
        offset = np.cumsum(sizes) - sizes
        support = np.arange(len(table)) - offset[table] + low[table]
        cdf = poisson_cdfs(low, sizes, distinct)
        cdf[offset + sizes - 1] = 1.0
        # K buckets per table, a power of two; bucket j holds the variate min{x: F(x) > j/K}
        # for its left edge: point x of the table is that for the buckets from
        # ceil(F(x - 1) K) up to ceil(F(x) K) (exact: K is a power of two). All but the last
        # of them lie inside x's step; the last holds the step F(x) K, unless that is a whole
        # number, and there the search starts at x
        buckets = 1 << np.ceil(np.log2(BUCKETS_PER_POINT * sizes)).astype(np.int64)
        scaled = cdf * buckets[table]
        reached = np.ceil(scaled)
        before = np.zeros_like(reached)
        before[1:] = reached[:-1]
        before[offset] = 0.0
        owned = (reached - before).astype(np.int64)  # buckets whose left edge is in x's step
        value = support.astype(np.int32)
        guide = np.repeat(value, owned)
        step = np.flatnonzero((owned > 0) & (scaled != reached))
        guide[np.cumsum(owned)[step] - 1] = -1 - step
        start = np.cumsum(buckets) - buckets
        return cls(
            guide=guide,
            cdf=cdf,
            value=value,
            scale=buckets.astype(np.float32)[which],
            shift=(16 - np.log2(buckets).astype(np.uint16))[which],
            start=start.astype(np.int32)[which],
            last=(offset + sizes - 1).astype(np.int32)[which],
        )

    def draw(self, rng: np.random.Generator, rounds: int, out: IntArray | None = None) -> IntArray:
        """``(rounds, cells)`` Poisson variates by inversion, ``min{x: F(x) > u}``, into
        ``out`` when given."""
        # the bucket from the top log2(K) bits of 16 random bits (four per 64-bit draw;
        # K <= 2**14 for every table up to TABLE_MAX)
        cells = len(self.scale)
        size = rounds * cells
        bits = rng.bit_generator.random_raw((size + 3) // 4).view(np.uint16)[:size]
        bucket = np.empty((rounds, cells), dtype=np.int32)
        np.right_shift(bits.reshape(rounds, cells), self.shift, out=bucket)
        bucket += self.start
        if out is None:
            out = np.empty(bucket.shape, dtype=np.int32)
        np.take(self.guide, bucket, out=out, mode="clip")  # clip: no buffered copy
        flat_x = out.reshape(-1)
        search = np.flatnonzero(flat_x < 0)
        # where the bucket holds a step, the uniform's place in it is drawn afresh in
        # double precision: u = (bucket + v) / K
        cell = search % len(self.scale)
        below = (bucket.reshape(-1)[search] - self.start[cell]).astype(np.float64)
        below += rng.random(len(search))
        below /= self.scale[cell]
        at = -1 - flat_x[search]
        todo = np.flatnonzero(self.cdf[at] <= below)
        for _ in range(WALK):  # most searches end in a step or two
            if not todo.size:
                break
            at[todo] += 1
            todo = todo[self.cdf[at[todo]] <= below[todo]]
        # the rest (deep in a tail) by bisection between there and the table's last point,
        # where F = 1 > u: min{x: F(x) > u} stays in [low, high]
        low, high, u = at[todo], self.last[cell[todo]], below[todo]
        while todo.size:
            middle = (low + high) // 2
            right = self.cdf[middle] <= u
            low = np.where(right, middle + 1, low)
            high = np.where(right, high, middle)
            done = low >= high
            at[todo[done]] = low[done]
            keep = ~done
            todo, low, high, u = todo[keep], low[keep], high[keep], u[keep]
        flat_x[search] = self.value[at]
        return out


def rows_to_multinomial(
    rng: np.random.Generator, rows: IntArray, counts: Array, n: int, cdf: NDArray[Any]
) -> None:
    """Independent ``Poisson(counts)`` draws in each row turned into ``Multinomial(n,
    counts/n)`` draws, in place: given their total ``t``, Poisson draws are
    ``Multinomial(t, p)``; removing ``t - n`` of those ``t`` battles at random without
    replacement, or adding ``n - t`` fresh draws (``cdf`` is ``cumsum(counts)``), leaves
    ``Multinomial(n, p)`` for every ``t``. All rows at once: one pass over all rows for
    the sums, the removals and the additions, one random draw per row only
    for the battles each row removes."""
    cells = rows.shape[1]
    wide = n * len(rows) >= 1 << 30  # int32 sums are exact below this, and many times faster
    total = rows.sum(axis=1, dtype=np.int64 if wide else rows.dtype).astype(np.int64)
    extra = total - n
    flat = rows.reshape(-1)
    over = np.flatnonzero(extra > 0)
    if over.size:
        # positions of the removed battles among each row's t, then offset to the row
        running = np.cumsum(rows[over], axis=1, dtype=np.int64 if wide else rows.dtype)
        where = np.concatenate(
            [
                np.searchsorted(
                    running[i], _distinct(rng, int(total[r]), int(extra[r]), running.dtype), "right"
                )
                for i, r in enumerate(over.tolist())
            ]
        )
        where += np.repeat(over * cells, extra[over])
        _add_sorted(flat, where, -1)
    under = np.flatnonzero(extra < 0)
    if under.size:
        # fresh battles for each row, sorted: a binary search for sorted keys is cache-friendly;
        # with whole counts a battle is a whole number below n (exact, and integer searches
        # let other threads run)
        if np.issubdtype(cdf.dtype, np.integer):
            fresh = [np.sort(rng.integers(0, n, int(-extra[r]))) for r in under.tolist()]
        else:
            fresh = [np.sort(rng.random(int(-extra[r]))) * cdf[-1] for r in under.tolist()]
        # (a uniform rounded up to the total lands on the last cell with any battles)
        last = int(np.searchsorted(cdf, cdf[-1]))
        cell = np.minimum(np.searchsorted(cdf, np.concatenate(fresh), "right"), last)
        _add_sorted(flat, np.repeat(under * cells, -extra[under]) + cell, 1)


def _distinct(rng: np.random.Generator, high: int, k: int, dtype: np.dtype[Any]) -> NDArray[Any]:
    """``k`` distinct whole numbers below ``high``, uniformly among all such sets, sorted:
    the first ``k`` distinct values of a sequence of uniform draws (what is drawn depends on
    nothing but equality, so every set is as likely as any other), drawn in batches."""
    picked = np.empty(0, dtype=np.int64)
    while len(picked) < k:
        picked = np.concatenate([picked, rng.integers(0, high, k - len(picked))])
        picked.sort()
        picked = picked[np.concatenate(([True], picked[1:] != picked[:-1]))]
    return picked.astype(dtype)  # the searched array's type: no cast of it per search


def _add_sorted(x: IntArray, cell: NDArray[np.intp], sign: int) -> None:
    """``x[c] += sign`` for each ``c`` in the sorted ``cell``, repeats included."""
    starts = np.flatnonzero(np.diff(cell, prepend=-1))
    x[cell[starts]] += sign * np.diff(starts, append=len(cell)).astype(x.dtype)


class Resampler:
    """Exact multinomial draws of ``sum(counts)`` over the cells ``counts`` (cells that never
    occurred stay zero), in chunks of :data:`CHUNK` rounds: chunk ``k`` is drawn by child
    ``k`` of ``SeedSequence(seed)``, so any chunk can be drawn alone, in any thread, and the
    draws do not depend on how chunks are shared out."""

    def __init__(self, counts: Array, *, seed: int) -> None:
        self.counts = counts
        self.n = round(float(counts.sum()))
        integral = (counts == np.rint(counts)) & (counts <= TABLE_MAX)
        self.tabled = np.flatnonzero(integral)
        self.other = np.flatnonzero(~integral)
        self.sampler = PoissonCells.for_means(np.rint(counts[self.tabled]).astype(np.int64))
        whole = bool(np.all(counts == np.rint(counts)))
        self.cdf = np.cumsum(np.rint(counts).astype(np.int64) if whole else counts)
        self.seed = seed

    def chunk(self, k: int, rounds: int = CHUNK) -> IntArray:
        """Chunk ``k``: ``rounds`` (at most :data:`CHUNK`) draws, shape ``(rounds, cells)``."""
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(k,)))
        out = np.empty((rounds, len(self.counts)), dtype=np.int32)
        if self.other.size:
            if self.tabled.size:
                out[:, self.tabled] = self.sampler.draw(rng, rounds)
            other = self.counts[self.other]
            out[:, self.other] = rng.poisson(other, size=(rounds, other.size))
        else:
            self.sampler.draw(rng, rounds, out=out)
        rows_to_multinomial(rng, out, self.counts, self.n, self.cdf)
        return out


def chunks(rounds: int) -> list[tuple[int, int]]:
    """``(first round, rounds)`` of each chunk of ``rounds`` bootstrap rounds."""
    return [(start, min(CHUNK, rounds - start)) for start in range(0, rounds, CHUNK)]


def multinomial_rounds(
    counts: Array, *, rounds: int, seed: int, workers: int | None = None
) -> IntArray:
    """``rounds`` exact multinomial draws of ``sum(counts)`` over the cells ``counts``,
    shape ``(rounds, len(counts))``, chunks drawn on ``workers`` threads: the draws
    :func:`~mosu.arena.bradley_terry.bootstrap` makes."""
    resampler = Resampler(counts, seed=seed)
    parts = chunks(rounds)
    return np.concatenate(
        in_threads(lambda k: resampler.chunk(k, parts[k][1]), len(parts), workers)
    )


def in_threads(job: Callable[[int], T], jobs: int, workers: int | None) -> list[T]:
    """``job(k)`` for ``k < jobs`` on ``workers`` threads (default: one per CPU this process
    may run on, so ``taskset -c 0`` means one thread), in order."""
    threads = workers or min(jobs, len(os.sched_getaffinity(0)))
    if threads <= 1:
        return [job(k) for k in range(jobs)]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(job, range(jobs)))

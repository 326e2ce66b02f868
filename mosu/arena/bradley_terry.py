"""Bradley-Terry maximum likelihood on pair counts, its bootstrap and sandwich covariance.

Parameters ``beta`` are natural log-odds strengths, centred to mean zero:
``P(i beats j) = 1 / (1 + exp(beta_j - beta_i))``. A tie counts as half a win
for each side (Chatbot Arena's convention, as in ``arena-rank`` and FastChat),
so the log-likelihood of a pair is ``s*d - n*softplus(d)`` with ``d = beta_i -
beta_j``, ``s`` the wins of ``i`` plus half the ties and ``n`` the battles.

No penalty by default, as in the peers; ``ridge`` adds ``ridge/2 * |beta|^2``
for data in which some ratings would otherwise be infinite.

Only numpy runs on the common path (a connected comparison graph of up to
:data:`DENSE_MODELS` models), bootstrap rounds included, so ``mosu arena rank`` does not
pay for importing SciPy; SciPy's sparse graph routines are imported for graphs that fall
apart, and its sparse product serves bootstrap rounds in a process that loaded it anyway.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import numpy as np
from numpy.typing import NDArray
from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]

from mosu.arena.pairs import PairCounts
from mosu.arena.sampling import CHUNK, Resampler, chunks, in_threads
from mosu.arena.votes import ArenaError

Array = NDArray[np.float64]

TOL = 1e-10
"""Convergence: no rating further than this from the fit, in logits (~ 2e-8 rating points), by
the estimate of :func:`_distance`."""

QUADRATIC = 0.1
"""Newton steps below this (in logits), each under half the last, are taken whole: near the
maximum, where a step's own length bounds how far the curvature changes along it."""

BOOTSTRAP_TOL = 1e-8
"""Convergence of a bootstrap round (1e-8 logits ~ 2e-6 rating points)."""

DENSE_MODELS = 2048
"""Up to this many models, connectivity is checked on a dense adjacency matrix in numpy."""

EXP_RANGE = 300.0
"""Bootstrap rounds compute ``exp(beta)`` while every ``|beta|`` is below this (no overflow)."""


def expit(x: Array) -> Array:
    """The logistic function ``1 / (1 + exp(-x))``, without overflow."""
    out: Array = 0.5 + 0.5 * np.tanh(0.5 * x)
    return out


_P = ParamSpec("_P")
_R = TypeVar("_R")


@functools.cache
def _blas() -> ThreadpoolController:
    return ThreadpoolController()


def single_threaded_blas(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run ``func`` with one BLAS thread: the matrices here are small, and a
    threaded BLAS waiting for a busy second core makes a 1 ms factorisation take 100 ms."""

    @functools.wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with _blas().limit(limits=1, user_api="blas"):
            return func(*args, **kwargs)

    return wrapper


class NotEstimable(ArenaError):
    """Ratings that the votes leave infinite: some models never lost, or never won,
    against all the others (no ties either)."""

    code = "not_estimable"


def _scored_edges(pairs: PairCounts) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Edges ``i -> j`` where ``i`` won or tied against ``j`` at least once."""
    c = pairs.cells
    src = np.concatenate([pairs.first, pairs.second])
    dst = np.concatenate([pairs.second, pairs.first])
    scored = np.concatenate([c[0] + c[2], c[1] + c[2]]) > 0
    return src[scored], dst[scored]


def _scored_graph(pairs: PairCounts) -> Any:
    """The scored edges as a SciPy sparse matrix."""
    import scipy.sparse

    m = pairs.n_models
    src, dst = _scored_edges(pairs)
    return scipy.sparse.csr_matrix((np.ones(len(src)), (src, dst)), shape=(m, m))


def _reaches_all(src: NDArray[np.intp], dst: NDArray[np.intp], m: int) -> bool:
    """Whether every model is reached from model 0 along the edges ``src -> dst``
    (breadth first on a dense adjacency matrix)."""
    adjacent = np.zeros((m, m), dtype=bool)
    adjacent[src, dst] = True
    seen = np.zeros(m, dtype=bool)
    seen[0] = True
    frontier = seen.copy()
    while frontier.any():
        frontier = adjacent[frontier].any(axis=0) & ~seen
        seen |= frontier
    return bool(seen.all())


def _strongly_connected(pairs: PairCounts) -> bool:
    """True when the dense check shows the scored graph strongly connected (False: it is
    not, or there are too many models to check densely)."""
    m = pairs.n_models
    if m > DENSE_MODELS:
        return False
    src, dst = _scored_edges(pairs)
    return _reaches_all(src, dst, m) and _reaches_all(dst, src, m)


def groups(pairs: PairCounts) -> tuple[int, NDArray[np.int64]]:
    """The connected components of the comparison graph (models linked when they met):
    their number and each model's component, largest first (ties: by first model).
    Ratings in different components cannot be compared at all."""
    m = pairs.n_models
    met = pairs.totals > 0
    first, second = pairs.first[met], pairs.second[met]
    if m <= DENSE_MODELS and _reaches_all(
        np.concatenate([first, second]), np.concatenate([second, first]), m
    ):
        return 1, np.zeros(m, dtype=np.int64)
    import scipy.sparse
    from scipy.sparse.csgraph import connected_components

    graph = scipy.sparse.csr_matrix(
        (np.ones(int(met.sum())), (pairs.first[met], pairs.second[met])), shape=(m, m)
    )
    n, label = connected_components(graph, directed=False)
    sizes = np.bincount(label, minlength=n)
    first_seen = np.full(n, m)
    np.minimum.at(first_seen, label, np.arange(m))
    order = np.lexsort((first_seen, -sizes))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    return int(n), rank[label]


def standing(pairs: PairCounts) -> Array:
    """Where the votes place each model against the main group (the largest set of models
    whose ratings are finite among themselves without a penalty): 0 inside it, ``+inf``
    above it (it scored against a chain of models reaching the group, but the group never
    against it), ``-inf`` below it, NaN where the votes do not relate the two."""
    if _strongly_connected(pairs):
        return np.zeros(pairs.n_models)
    from scipy.sparse.csgraph import breadth_first_order, connected_components

    graph = _scored_graph(pairs)
    n_comp, label = connected_components(graph, directed=True, connection="strong")
    out = np.zeros(pairs.n_models)
    if n_comp <= 1:
        return out
    main = label == np.argmax(np.bincount(label))
    root = int(np.flatnonzero(main)[0])
    under = np.zeros(pairs.n_models, dtype=bool)
    under[breadth_first_order(graph, root, return_predecessors=False)] = True
    over = np.zeros(pairs.n_models, dtype=bool)
    over[breadth_first_order(graph.T.tocsr(), root, return_predecessors=False)] = True
    out[under & ~over] = -np.inf
    out[over & ~under] = np.inf
    out[~over & ~under] = np.nan
    out[main] = 0.0
    return out


def check_estimable(pairs: PairCounts) -> None:
    """Raise :class:`NotEstimable` unless the maximum likelihood ratings are finite.

    They are finite exactly when the graph "i won or tied against j" is
    strongly connected.
    """
    place = standing(pairs)
    if not np.any(place != 0):
        return
    never_lost = [pairs.models[i] for i in np.flatnonzero(place > 0)]
    never_won = [pairs.models[i] for i in np.flatnonzero(place < 0)]
    apart = [pairs.models[i] for i in np.flatnonzero(np.isnan(place))]
    unrelated = f"; {_names(apart)} cannot be compared with them" if apart else ""
    raise NotEstimable(
        "ratings are infinite without a penalty: "
        f"{_names(never_lost)} never lost or tied to the main group of models, "
        f"{_names(never_won)} never won or tied against it{unrelated}; "
        "add votes or a ridge penalty",
        details={"never_lost": never_lost, "never_won": never_won, "unrelated": apart},
    )


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:5])
    return shown + (f" (+{len(names) - 5} more)" if len(names) > 5 else "")


def _gradient(pairs: PairCounts, residual: Array) -> Array:
    """Scatter per-pair residuals to per-model gradients."""
    m = pairs.n_models
    into_first = np.bincount(pairs.first, residual, minlength=m)
    grad: Array = (into_first - np.bincount(pairs.second, residual, minlength=m)).astype(np.float64)
    return grad


def _pair_sums(pairs: PairCounts) -> _Scatter | _SparseSums:
    """``work -> D.T @ work``: SciPy's sparse product where SciPy is loaded already (about
    three times faster per call), else :class:`_Scatter` (importing SciPy would cost the
    command more than a bootstrap saves with it). Equal to rounding."""
    if "scipy.sparse" not in sys.modules:
        return _Scatter(pairs)
    return _SparseSums(pairs)


class _SparseSums:
    """``D.T @ work`` (or ``|D|.T @ work``, with ``plus``) as SciPy sparse products."""

    def __init__(self, pairs: PairCounts) -> None:
        import scipy.sparse

        p = len(pairs.first)
        rows = np.tile(np.arange(p), 2)
        cols = np.concatenate([pairs.first, pairs.second])
        ones = np.ones(p)

        def summed(vals: Array) -> Any:
            d = scipy.sparse.csr_matrix((vals, (rows, cols)), shape=(p, pairs.n_models))
            return d.T.tocsr()

        self.difference = summed(np.concatenate([ones, -ones]))
        self.both = summed(np.concatenate([ones, ones]))

    def __call__(self, work: Array, *, plus: bool = False) -> Array:
        out: Array = (self.both if plus else self.difference) @ work
        return out


class _Scatter:
    """``D.T @ work`` for per-pair rows ``work`` (pairs, rounds) and the difference operator
    ``D`` (``(D @ beta)[k] = beta[first[k]] - beta[second[k]]``): per-model sums, ``+``
    from pairs where the model is ``first``, ``-`` where it is ``second``, each a
    ``np.add.reduceat`` over runs of pairs sorted by that model (no SciPy)."""

    def __init__(self, pairs: PairCounts) -> None:
        self.m = pairs.n_models
        self.sides = [self._runs(pairs.first), self._runs(pairs.second)]

    @staticmethod
    def _runs(model: NDArray[np.intp]) -> tuple[NDArray[np.intp] | None, Any, Any]:
        order = np.argsort(model, kind="stable")
        ordered = model[order]
        starts = np.flatnonzero(np.diff(ordered, prepend=-1))
        kept = None if np.array_equal(order, np.arange(len(order))) else order
        models = ordered[starts]
        if len(models) and np.array_equal(models, np.arange(models[0], models[0] + len(models))):
            return kept, starts, slice(int(models[0]), int(models[0]) + len(models))
        return kept, starts, models

    def __call__(self, work: Array, *, plus: bool = False) -> Array:
        """``D.T @ work``, or with ``plus`` the sums over both sides, ``|D|.T @ work``."""
        out = np.zeros((self.m, work.shape[1]))
        for k, (order, starts, models) in enumerate(self.sides):
            if not len(starts):
                continue
            rows = work if order is None else np.take(work, order, axis=0)
            summed = np.add.reduceat(rows, starts, axis=0)
            if k and not plus:
                out[models] -= summed
            else:
                out[models] += summed
        return out


def hessian(pairs: PairCounts, beta: Array, ridge: float = 0.0) -> Array:
    """The negative log-likelihood's Hessian: a graph Laplacian with weights ``n p (1-p)``."""
    p = expit(beta[pairs.first] - beta[pairs.second])
    return _laplacian(pairs, pairs.totals * p * (1.0 - p), ridge)


def _laplacian(pairs: PairCounts, w: Array, ridge: float) -> Array:
    """The graph Laplacian with weight ``w`` per pair, plus ``ridge`` on the diagonal."""
    m = pairs.n_models
    h = np.zeros((m, m))
    h[pairs.first, pairs.second] = -w
    h[pairs.second, pairs.first] = -w
    h[np.diag_indices(m)] = -h.sum(axis=1) + ridge
    return h


def _distance(size: Array | float, previous: Array | float | None) -> Array:
    """How far the ratings may still be from the fixed point after a step whose largest
    change is ``size``, the one before it ``previous``: steps that go on shrinking by their
    ratio ``rho`` add up to ``rho / (1 - rho) * size``, taken twice for safety (the ratio just
    after the switch from single precision underestimates the next about 1.6-fold,
    measured), and never more than ``size``, the step's own length (so a round whose steps
    stop shrinking is held to the plain test "the last step was below ``tol``")."""
    size = np.asarray(size, dtype=np.float64)
    if previous is None:
        return size
    rho = np.divide(size, previous, out=np.ones_like(size), where=np.asarray(previous) > 0)
    factor = np.minimum(1.0, 2.0 * rho / np.maximum(1.0 - rho, 1e-300))
    out: Array = size * factor
    return out


def _objective(pairs: PairCounts, beta: Array, ridge: float) -> float:
    d = beta[pairs.first] - beta[pairs.second]
    nll = float(np.sum(pairs.totals * np.logaddexp(0.0, d) - pairs.first_scores * d))
    return nll + 0.5 * ridge * float(beta @ beta)


def _lifted(h: Array) -> Array:
    """The Hessian with the null direction (a common shift) filled in: positive definite."""
    m = len(h)
    lift = max(float(np.mean(np.diag(h))), 1.0) / m
    out: Array = h + lift
    return out


@single_threaded_blas
def fit(
    pairs: PairCounts,
    *,
    ridge: float = 0.0,
    beta0: Array | None = None,
    tol: float = TOL,
    max_iter: int = 200,
) -> Array:
    """Maximum likelihood ``beta`` (mean zero) by Newton's method with backtracking, until
    :func:`_distance` puts it within ``tol`` of the maximum."""
    if ridge == 0.0:
        check_estimable(pairs)
    m = pairs.n_models
    beta = np.zeros(m) if beta0 is None else beta0 - beta0.mean()
    score = pairs.first_scores
    total = pairs.totals
    f: float | None = _objective(pairs, beta, ridge)
    previous = None
    for _ in range(max_iter):
        p = expit(beta[pairs.first] - beta[pairs.second])
        grad = _gradient(pairs, score - total * p) - ridge * beta
        step = np.linalg.solve(_lifted(_laplacian(pairs, total * p * (1.0 - p), ridge)), grad)
        step -= step.mean()
        size = float(np.max(np.abs(step)))
        if _distance(size, previous) < tol:
            done: Array = beta + step
            return done
        if previous is not None and size < min(0.5 * previous, QUADRATIC):
            # steps shrinking fast and small: Newton's own basin, where the full step is
            # taken without the line search (its objective costs as much as a gradient)
            beta, f, previous = beta + step, None, size
            continue
        if f is None:
            f = _objective(pairs, beta, ridge)
        descent = float(grad @ step)  # the objective falls at this rate along the step
        t = 1.0
        while True:
            candidate = beta + t * step
            f_new = _objective(pairs, candidate, ridge)
            if f_new <= f - 1e-4 * t * descent + 1e-12 * abs(f) or t < 1e-10:
                break
            t *= 0.5
        beta, f = candidate, f_new
        previous = size if t == 1.0 else None  # a damped step says nothing of the rate
    raise ArenaError(f"Bradley-Terry fit did not converge in {max_iter} Newton steps")


@single_threaded_blas
def bootstrap(
    pairs: PairCounts,
    beta_hat: Array,
    *,
    rounds: int,
    seed: int,
    ridge: float = 0.0,
    tol: float = BOOTSTRAP_TOL,
    workers: int | None = None,
    max_chord_steps: int = 30,
) -> Array:
    """``beta`` refitted on ``rounds`` resamples of the battles, shape ``(rounds, m)``.

    Without a penalty, a round in which some model's rating is infinite (a model that
    lost every resampled battle, say) gives that model ``-inf`` (or ``+inf``, or NaN
    where the round does not relate it to the others), and the rest of that round is
    placed by the models it can estimate. Every round is aligned to ``beta_hat`` by
    the information-weighted mean of its finite ratings (:func:`_aligned`), so neither an
    infinite nor a barely estimable rating drags everyone's interval with it.

    Resampling all battles with replacement is, for the fit, exactly a
    multinomial draw of the total over the (pair, outcome) cells, so each
    round draws one (:class:`~mosu.arena.sampling.Resampler`: the same
    draws whatever the number of threads). Each chunk of rounds is drawn and
    fitted in one go, chunks shared out among ``workers`` threads (default one
    per CPU): chord-Newton steps with the point estimate's Hessian, which is close
    to every round's; a round that has not converged after that is refitted alone.
    """
    chord = _Chord(pairs, beta_hat, ridge, tol, max_chord_steps)
    resampler = Resampler(pairs.cells.ravel(), seed=seed)
    parts = chunks(rounds)

    def fit_chunk(k: int) -> tuple[NDArray[np.int32], Array, Array]:
        size = parts[k][1]
        drawn = resampler.chunk(k, size).reshape(size, *pairs.cells.shape)
        return (drawn, *chord(drawn))

    fitted = in_threads(fit_chunk, len(parts), workers)
    beta = np.concatenate([b for _, b, _ in fitted], axis=1)
    distance = np.concatenate([s for _, _, s in fitted])
    for r in np.flatnonzero(~(distance < tol)).tolist():
        drawn = fitted[r // CHUNK][0][r % CHUNK]  # every chunk but the last holds CHUNK rounds
        alone = pairs.with_cells(drawn.astype(np.float64))
        beta[:, r] = _refit(alone, beta_hat, ridge, tol)
    return _aligned(beta.T, beta_hat, chord.diagonal)


def _aligned(rounds: Array, beta_hat: Array, information: Array) -> Array:
    """Each round shifted so that its finite ratings sit, on average weighted by each
    model's Fisher information, where ``beta_hat`` puts them: the scale is fixed by the
    models the votes determine well, and a model that a round can hardly (or not)
    estimate does not move everyone else with it."""
    finite = np.isfinite(rounds)
    weight = np.where(finite, information, 0.0)
    gap = np.where(finite, rounds - beta_hat, 0.0)
    shift = (gap * weight).sum(axis=1) / np.maximum(weight.sum(axis=1), 1e-300)
    out: Array = rounds - shift[:, None]
    return out


def _refit(pairs: PairCounts, beta_hat: Array, ridge: float, tol: float) -> Array:
    """One bootstrap round fitted alone: the main group by maximum likelihood, every other
    model at its :func:`standing` (infinite, or NaN)."""
    if ridge > 0.0:
        return fit(pairs, ridge=ridge, beta0=beta_hat, tol=tol)
    out = standing(pairs)
    main = np.flatnonzero(out == 0.0)
    if len(main) == pairs.n_models:
        return fit(pairs, beta0=beta_hat, tol=tol)
    if len(main) > 1:
        sub = pairs.restricted(main)
        out[main] = fit(sub, beta0=beta_hat[main], tol=tol)
    else:
        out[main] = beta_hat[main]
    return out


class _Chord:
    """Chord-Newton steps for a block of bootstrap rounds, all with the point estimate's
    Hessian (inverted once); blocks are independent, so threads can share them. Every
    array operation of a step lets go of the GIL (``np.take`` for the gathers and
    ``np.add.reduceat`` for the sums, a BLAS product for the solve), so blocks on two threads take about half the time."""

    def __init__(
        self, pairs: PairCounts, beta_hat: Array, ridge: float, tol: float, max_steps: int
    ) -> None:
        h = hessian(pairs, beta_hat, ridge)
        self.inverse = np.linalg.inv(_lifted(h))
        self.first, self.second = pairs.first, pairs.second
        self.scatter = _pair_sums(pairs)
        self.p_hat = expit(beta_hat[self.first] - beta_hat[self.second])[:, None]
        self.diagonal = np.diag(h).copy()  # each model's information at the point estimate
        self.beta_hat, self.ridge, self.tol, self.max_steps = beta_hat, ridge, tol, max_steps

    def __call__(self, cells: NDArray[np.int32]) -> tuple[Array, Array]:
        """``beta`` (models, rounds) for the resampled ``cells`` (rounds, 3, pairs) and each
        round's :func:`_distance` from its fit (converged where below ``tol``).

        The first steps compute the per-pair residuals in single precision (half the
        memory traffic; the sums and the solve stay double), which takes ``beta`` to
        within about 1e-7 of the fit; the last steps, in double precision, from there to
        ``tol``: the fixed point is double precision's."""
        rounds = len(cells)
        # (pairs, rounds) layout; the residual s - n expit(b_i - b_j) is computed as
        # s - n e_i / (e_i + e_j) with e = exp(b) per model: a division per pair, no
        # exponential (while no |b| could overflow it)
        counts = cells.sum(axis=1, dtype=np.int32)
        twice_score = cells[:, 0] * 2
        twice_score += cells[:, 2]
        # single precision holds these counts (and halves) exactly, so the double precision
        # copies for the last steps are conversions
        single = np.float32 if int(counts.max(initial=0)) < 1 << 23 else np.float64
        total, score = _transposed(counts, 1.0, single), _transposed(twice_score, 0.5, single)
        beta = np.repeat(self.beta_hat[:, None], rounds, axis=1)
        size = distance = np.full(rounds, np.inf)
        previous = None  # the last step's sizes, once in double precision
        scale = None
        last = np.inf
        for k in range(self.max_steps):
            largest = float(size.max())
            if total.dtype != np.float64 and (largest < SINGLE_UNTIL or largest > 0.5 * last):
                total, score = total.astype(np.float64), score.astype(np.float64)
            last = largest
            if k == 0:  # every round starts at beta_hat: one probability per pair serves all
                work = np.multiply(total, self.p_hat, dtype=total.dtype)
            else:
                if float(np.abs(beta).max()) < EXP_RANGE:
                    e = np.exp(beta).astype(total.dtype, copy=False)
                    work = np.take(e, self.first, axis=0)
                    denominator = np.take(e, self.second, axis=0)
                    denominator += work
                    work /= denominator
                else:
                    work = np.take(beta, self.first, axis=0)
                    work -= np.take(beta, self.second, axis=0)
                    work = expit(work).astype(total.dtype, copy=False)
                if scale is None:
                    scale = self._scale(work, total)
                work *= total
            np.subtract(score, work, out=work)
            grad = self.scatter(work) - self.ridge * beta
            if scale is None:
                step = self.inverse @ grad
            else:
                step = self.inverse @ (grad * scale)
                step *= scale
            step -= step.mean(axis=0)
            beta += step
            size = np.max(np.abs(step), axis=0)
            if total.dtype == np.float64:
                distance = _distance(size, previous)
                if np.all(distance < self.tol):
                    break
                previous = size
        return beta, distance

    def _scale(self, p: Array, total: Array) -> Array:
        """Per model and round, ``sqrt(h / h_r)``: ``h`` the point estimate's Hessian diagonal,
        ``h_r`` the round's at its ``beta`` after the first step (probabilities ``p`` per
        pair). Steps ``S H^-1 S g`` with ``S`` this diagonal follow each round's own
        curvature: they shrink the error about 100-fold a step where plain chord steps
        shrink it 25-fold (the fixed point, ``g = 0``, is the same)."""
        curvature = 1.0 - p
        curvature *= p
        curvature *= total
        own = self.scatter(curvature, plus=True) + self.ridge
        return np.sqrt(np.divide(self.diagonal[:, None], own, where=own > 0, out=np.ones_like(own)))


SINGLE_UNTIL = 1e-4
"""Chord steps compute residuals in single precision until every round's step is below
this (or stops shrinking): single precision's rounding leaves steps of about 1e-7."""


def _transposed(
    counts: NDArray[np.int32], factor: float = 1.0, dtype: type[np.floating[Any]] = np.float64
) -> NDArray[Any]:
    """``counts.T * factor`` as a C-ordered float array: ``(rounds, pairs)`` -> ``(pairs,
    rounds)``."""
    out = np.empty(counts.shape[::-1], dtype=dtype)
    np.multiply(counts.T, factor, out=out, dtype=dtype)
    return out


def sandwich_covariance(pairs: PairCounts, beta: Array) -> Array:
    """Robust covariance of centred ``beta``: ``H+ G H+`` with ``G`` the sum over
    battles of the outer products of their scores (constant within a cell)."""
    c = pairs.cells
    p = expit(beta[pairs.first] - beta[pairs.second])
    g = c[0] * (1.0 - p) ** 2 + c[1] * p**2 + c[2] * (0.5 - p) ** 2
    outer = _laplacian(pairs, g, 0.0)
    h_inv = np.linalg.pinv(hessian(pairs, beta), hermitian=True)
    cov: Array = h_inv @ outer @ h_inv
    return cov

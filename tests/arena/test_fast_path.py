"""The fast path of ``mosu arena rank``: numpy connectivity checks, sums over pairs and
Poisson distribution against SciPy's, the bootstrap's two residual forms, names learned
block by block, and no SciPy on the way."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse
from scipy.sparse.csgraph import connected_components
from scipy.special import pdtr

from mosu.arena import PairCounts, reader
from mosu.arena import bradley_terry as bt
from mosu.arena.reader import parse_vote_bytes
from mosu.arena.sampling import poisson_cdfs
from mosu.arena.votes import write_votes
from tests.arena.helpers import arena


def random_pairs(rng: np.random.Generator, m: int, density: float) -> PairCounts:
    first, second = np.triu_indices(m, 1)
    met = rng.random(len(first)) < density
    cells = rng.integers(0, 2, (3, int(met.sum()))).astype(np.float64)
    cells[:, cells.sum(axis=0) == 0] = [[1.0], [0.0], [0.0]]
    names = tuple(f"m{k:02d}" for k in range(m))
    return PairCounts(names, first[met], second[met], cells)


def test_dense_connectivity_agrees_with_scipy() -> None:
    rng = np.random.default_rng(0)
    seen = {True: 0, False: 0}
    for trial in range(120):
        pairs = random_pairs(rng, int(rng.integers(2, 12)), float(rng.uniform(0.1, 0.9)))
        src, dst = bt._scored_edges(pairs)
        m = pairs.n_models
        graph = scipy.sparse.csr_matrix((np.ones(len(src)), (src, dst)), shape=(m, m))
        strong = connected_components(graph, directed=True, connection="strong")[0] == 1
        assert bt._strongly_connected(pairs) == strong, trial
        seen[strong] += 1
        weak = connected_components(graph, directed=False)[0] == 1
        assert (bt.groups(pairs)[0] == 1) == weak, trial
        assert np.all(bt.standing(pairs) == 0.0) == strong, trial
    assert min(seen.values()) > 10  # both cases drawn


def test_pair_sums_and_poisson_tables_agree_with_scipy() -> None:
    rng = np.random.default_rng(1)
    for density in (0.3, 1.0):
        pairs = random_pairs(rng, 9, density)
        order = rng.permutation(len(pairs.first))  # pairs in any order
        shuffled = PairCounts(pairs.models, pairs.first[order], pairs.second[order], pairs.cells)
        work = rng.normal(size=(len(order), 4))
        p = len(order)
        d = scipy.sparse.csr_matrix(
            (
                np.r_[np.ones(p), -np.ones(p)],
                (np.tile(np.arange(p), 2), np.r_[shuffled.first, shuffled.second]),
            ),
            shape=(p, 9),
        )
        np.testing.assert_allclose(bt._Scatter(shuffled)(work), d.T @ work, atol=1e-12)
    means = np.r_[0:200, 999, 4095, 4096]  # tables of many widths in one padded array
    spread = np.where(means > 0, 12 * np.sqrt(means) + 12, 0)
    low = np.maximum(0, (means - spread).astype(np.int64))
    size = (means + spread).astype(np.int64) + 1 - low
    ours = poisson_cdfs(low, size, means)
    theirs = [pdtr(np.arange(a, a + n), mu) for a, n, mu in zip(low, size, means, strict=True)]
    np.testing.assert_allclose(ours, np.concatenate(theirs), rtol=0, atol=1e-14)


def test_bootstrap_residuals_and_sums_in_every_form_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    pairs = PairCounts.from_battles(arena(10, 5_000, seed=8))
    beta = bt.fit(pairs)
    assert "scipy.sparse" in sys.modules  # this module imports it: SciPy's sparse product
    by_sparse = bt.bootstrap(pairs, beta, rounds=20, seed=3, tol=1e-10)
    monkeypatch.delitem(sys.modules, "scipy.sparse")  # as in the command: numpy's sums
    by_numpy = bt.bootstrap(pairs, beta, rounds=20, seed=3, tol=1e-10)
    monkeypatch.setattr(bt, "EXP_RANGE", 0.0)  # every step by the logistic of differences
    by_logistic = bt.bootstrap(pairs, beta, rounds=20, seed=3, tol=1e-10)
    np.testing.assert_allclose(by_numpy, by_sparse, rtol=0, atol=1e-9)
    np.testing.assert_allclose(by_logistic, by_sparse, rtol=0, atol=1e-9)


@pytest.mark.parametrize("named_models", [reader.NAMED_MODELS, 0])
def test_names_new_in_a_later_block_are_read(
    monkeypatch: pytest.MonkeyPatch, named_models: int
) -> None:
    monkeypatch.setattr(reader, "BLOCK", 64)  # about a block a line
    monkeypatch.setattr(reader, "NAMED_MODELS", named_models)
    records = [{"model_a": "x", "model_b": "y", "winner": "tie"}] * 5
    records += [{"model_a": "z", "model_b": "x", "winner": "model_a"}]
    records += [{"model_a": "y", "model_b": "x", "winner": "model_b"}] * 3
    read = parse_vote_bytes("\n".join(json.dumps(r) for r in records).encode()).battles
    assert read.models == ("x", "y", "z")
    assert read.model_a.tolist() == [0] * 5 + [2] + [1] * 3
    assert read.outcome.tolist() == [2] * 5 + [0] + [1] * 3


def test_a_key_spelled_with_an_escape_is_read() -> None:
    lines = [
        '{"model_a": "x", "model_b": "y", "winner": "tie"}',
        '{"model_a": "y", "model_b": "x", "\\u0061nony": false, "winner": "tie"}',
    ]
    read = parse_vote_bytes("\n".join(lines).encode())
    assert (read.named, len(read.battles)) == (1, 1)


CHECK = """
import sys
from mosu.cli import app
try:
    app(sys.argv[1:])
except SystemExit:
    pass
import json
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "scipy" and m.count(".") == 1)))
"""


def test_rank_loads_no_scipy(tmp_path: Path) -> None:
    path = tmp_path / "votes.jsonl"
    write_votes(arena(6, 2_000, seed=9), path)
    command = [
        sys.executable,
        "-c",
        CHECK,
        "arena",
        "rank",
        str(path),
        "--json",
        "--bootstrap",
        "5",
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    board = json.loads(out[: out.rindex("}") + 1])
    assert len(board["models"]) == 6 and board["bootstrap_rounds"] == 5
    assert json.loads(out.strip().splitlines()[-1]) == []  # no SciPy module, bootstrap included


def test_the_distance_estimate_is_the_tail_of_shrinking_steps_and_never_above_a_step() -> None:
    assert bt._distance(1e-5, None) == 1e-5  # no ratio yet: the step itself
    rho = 1e-5 / 1e-3
    assert bt._distance(1e-5, 1e-3) == pytest.approx(2 * rho / (1 - rho) * 1e-5)
    assert bt._distance(1e-5, 1.5e-5) == 1e-5  # steps that hardly shrink: the step itself
    assert bt._distance(0.0, 0.0) == 0.0
    np.testing.assert_allclose(
        bt._distance(np.array([1e-9, 2e-9]), np.array([1e-7, 1e-9])), [2e-11 / 0.99, 2e-9]
    )


def test_fits_and_rounds_stop_within_their_tolerance_of_the_exact_fit() -> None:
    pairs = PairCounts.from_battles(arena(40, 200_000, seed=21))
    exact = bt.fit(pairs, tol=1e-14)
    assert np.abs(bt.fit(pairs, tol=1e-10) - exact).max() < 1e-10
    loose = bt.bootstrap(pairs, exact, rounds=30, seed=4, tol=1e-10)
    tight = bt.bootstrap(pairs, exact, rounds=30, seed=4, tol=1e-14)
    gap = np.abs(loose - tight).max()
    assert 1e-14 < gap < 1e-10  # stopped early, by the estimate, yet within the tolerance

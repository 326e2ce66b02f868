"""Scoring benchmark: bootstrap intervals, ranks and paired comparisons at a million samples
(a script, not a test).

Each measurement runs in its own process, so its peak RSS (``ru_maxrss``) is its own:
synthetic answers of ``--models`` models (accuracy from 50% to 80%, errors correlated
through a shared difficulty) are scored with :mod:`mosu.evals.scorers`, then bootstrapped
with ``--replicates`` replicates, ranked and compared pairwise, as ``score_race`` does.
``grouped`` is mosu's method (multinomials over groups of identical statistics rows);
``dense`` is the method it replaced (``B × n`` multiplicities of the samples, in chunks of
100 replicates), kept here as the reference: its time and memory grow with ``n × B``.

    python bench/scoring.py                                  # 1M grouped, 100k both ways
    python bench/scoring.py --sizes 1000000 --dense-sizes 1000000   # the old method at 1M
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def dense_replicates(stats: list, aggregate: object, replicates: int, seed: int) -> object:
    """The replaced method: per chunk of 100 replicates a dense ``(100, n)`` weight matrix."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = stats[0].shape[0]
    parts, done = [], 0
    while done < replicates:
        b = min(100, replicates - done)
        idx = rng.integers(0, n, size=(b, n))
        flat = (idx + (np.arange(b) * n)[:, None]).ravel()
        w = np.bincount(flat, minlength=b * n).reshape(b, n).astype(np.float64)
        parts.append(np.stack([aggregate(w @ s, n) for s in stats]))  # type: ignore[operator]
        done += b
    return np.concatenate(parts, axis=1)


def measure(method: str, n: int, models: int, replicates: int) -> dict[str, float]:
    """One measurement, in this process: seconds to build statistics and to bootstrap."""
    import numpy as np

    from mosu.evals import stats as st
    from mosu.evals.scorers import accuracy

    rng = np.random.default_rng(0)
    difficulty = rng.random(n)
    gold = ["A"] * n
    scorer = accuracy()
    start = time.perf_counter()
    matrices = []
    for m in range(models):
        skill = 0.5 + 0.3 * m / max(models - 1, 1)
        noisy = difficulty + rng.normal(0, 0.1, n)
        answers = np.where(noisy < skill, "A", "B").tolist()
        matrices.append(scorer.stats(answers, gold))
    built = time.perf_counter()
    if method == "grouped":
        reps = st.bootstrap_replicates(matrices, scorer.aggregate, replicates=replicates, seed=0)
    else:
        reps = dense_replicates(matrices, scorer.aggregate, replicates, 0)
    points = [float(scorer.aggregate(m.sum(axis=0), n)) for m in matrices]
    names = [f"m{i}" for i in range(models)]
    st.rank_groups(names, points, reps)  # type: ignore[arg-type]
    for i, j in itertools.combinations(range(models), 2):
        st.compare(names[i], names[j], points[i] - points[j], reps[i] - reps[j])  # type: ignore[index]
    done = time.perf_counter()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"stats_s": built - start, "bootstrap_s": done - built, "rss_mb": rss}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--dense-sizes", default="100000", help="sizes for the old method")
    parser.add_argument("--models", type=int, default=5)
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # method:n, run in a child process
    args = parser.parse_args()
    if args.one:
        method, n = args.one.split(":")
        print(json.dumps(measure(method, int(n), args.models, args.replicates)))
        return
    from rich.console import Console
    from rich.table import Table

    plan = [("grouped", int(n)) for n in args.sizes.split(",") if n]
    plan += [("dense", int(n)) for n in args.dense_sizes.split(",") if n]
    results: dict[tuple[str, int], dict[str, float]] = {}
    for method, n in sorted(plan, key=lambda p: (p[1], p[0])):
        command = [sys.executable, __file__, "--one", f"{method}:{n}"]
        command += ["--models", str(args.models), "--replicates", str(args.replicates)]
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True)
        results[(method, n)] = json.loads(done.stdout.strip().splitlines()[-1])
    table = Table(
        title=f"{args.models} models × {args.replicates:,} replicates, accuracy; "
        "goal at 1M: bootstrap < 5 s, peak RSS < 1 GB"
    )
    for column in (
        "method",
        "samples",
        "statistics s",
        "bootstrap+rank s",
        "peak RSS MB",
        "vs dense",
    ):
        table.add_column(column, justify="left" if column == "method" else "right")
    for (method, n), r in results.items():
        dense = results.get(("dense", n))
        ratio = (
            f"{dense['bootstrap_s'] / r['bootstrap_s']:.0f}× faster"
            if dense and method == "grouped"
            else ""
        )
        table.add_row(
            method,
            f"{n:,}",
            f"{r['stats_s']:.2f}",
            f"{r['bootstrap_s']:.2f}",
            f"{r['rss_mb']:.0f}",
            ratio,
        )
    Console(width=140).print(table)


if __name__ == "__main__":
    main()

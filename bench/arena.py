"""Arena rating speed: mosu against LMArena's ``arena-rank`` and ``choix``.

2,000,000 simulated battles among 200 models (30% of close matches tie), then
time: the Bradley-Terry fit, and the fit with 100 bootstrap rounds. The peers
run in a throwaway venv under /tmp (created on first use, ``pip install
arena-rank choix pandas``), each in its own subprocess, on the same battles.
Ratings are compared after centring both to mean 1000 (the peers' convention).

    .venv/bin/python bench/arena.py [--battles 2000000] [--models 200]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from mosu.arena import PairCounts, online_elo, rate
from mosu.arena.simulate import simulate_battles
from mosu.arena.votes import WINNERS

PEER_VENV = Path("/tmp/mosu-arena-bench-venv")
PEER_PACKAGES = ["arena-rank", "choix", "pandas"]
ROUNDS = 100

PEER_SCRIPT = textwrap.dedent(
    """
    import json, math, sys, time
    import multiprocessing as mp
    import numpy as np


    def main():
        data = np.load(sys.argv[2])
        a, b, o = data["a"], data["b"], data["o"]
        names = [str(n) for n in data["names"]]
        rounds = int(sys.argv[3])
        out = {}
        if sys.argv[1] == "arena-rank":
            import pandas as pd
            from arena_rank.models.bradley_terry import BradleyTerry
            from arena_rank.utils.data_utils import PairDataset
            winners = np.array(["model_a", "model_b", "tie", "tie (bothbad)"])
            df = pd.DataFrame({"model_a": np.array(names)[a], "model_b": np.array(names)[b],
                               "winner": winners[o]})
            def fit():
                ds = PairDataset.from_pandas(df)
                model = BradleyTerry(n_competitors=len(ds.competitors))
                model.fit(ds)
                res = model.compute_ratings_and_cis(ds, ci_method="sandwich")
                return ds, model, res
            t = time.perf_counter(); fit(); out["cold_fit_s"] = time.perf_counter() - t
            t = time.perf_counter(); ds, model, res = fit(); out["fit_s"] = time.perf_counter() - t
            ratings = dict(zip(res["competitors"], np.asarray(res["ratings"]).tolist()))
            out["ratings"] = [ratings[n] for n in names]
            t = time.perf_counter()
            ds = PairDataset.from_pandas(df)
            model = BradleyTerry(n_competitors=len(ds.competitors))
            model.compute_ratings_and_cis(ds, ci_method="bootstrap", num_bootstrap=rounds, seed=0)
            out["fit_boot_s"] = time.perf_counter() - t
            out["note"] = "JAX L-BFGS; warm (JIT compiled by a first run); bootstrap in its process pool (spawn)"
        else:
            import choix
            m = len(names)
            def cells():
                lo = np.minimum(a, b); hi = np.maximum(a, b)
                cell = np.where(o >= 2, 2, o.astype(np.int64) ^ (a > b))
                flat = np.bincount(cell * m * m + lo.astype(np.int64) * m + hi, minlength=3 * m * m)
                c = flat.reshape(3, m * m).astype(float)
                # comp[i, j] = wins of i over j + half the ties, both directions
                first = c[0] + 0.5 * c[2]
                second = c[1] + 0.5 * c[2]
                return c, first, second
            def matrix(first, second):
                mat = first.reshape(m, m) + second.reshape(m, m).T
                return mat
            t = time.perf_counter()
            c, first, second = cells()
            params = choix.ilsr_pairwise_dense(matrix(first, second), tol=1e-10)
            out["fit_s"] = time.perf_counter() - t
            points = 400 / math.log(10)
            out["ratings"] = (points * (params - params.mean()) + 1000).tolist()
            t = time.perf_counter()
            c, first, second = cells()
            params = choix.ilsr_pairwise_dense(matrix(first, second), tol=1e-10)
            flat = c.ravel(); n = int(flat.sum()); rng = np.random.default_rng(0)
            for _ in range(rounds):
                r = rng.multinomial(n, flat / n).reshape(3, -1).astype(float)
                choix.ilsr_pairwise_dense(matrix(r[0] + 0.5 * r[2], r[1] + 0.5 * r[2]),
                                          initial_params=params, tol=1e-10)
            out["fit_boot_s"] = time.perf_counter() - t
            out["note"] = "ilsr_pairwise_dense on the aggregated matrix (its fastest path); " \\
                          "bootstrap: numpy multinomial + warm-started refits"

        print(json.dumps(out))


    if __name__ == "__main__":
        # arena-rank bootstraps in a process pool; forked after JAX started, it deadlocks
        mp.set_start_method("spawn")
        main()
    """
)


def timed(func: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peer_python(console: Console) -> Path | str:
    """The throwaway venv's python, or why it could not be made."""
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        console.print(f"creating {PEER_VENV} and installing {', '.join(PEER_PACKAGES)} …")
        try:
            subprocess.run(
                [sys.executable, "-m", "venv", "--clear", str(PEER_VENV)],
                check=True,
                capture_output=True,
            )
            subprocess.run(
                [str(python), "-m", "pip", "install", "-q", *PEER_PACKAGES],
                check=True,
                capture_output=True,
                timeout=900,
            )
        except (subprocess.SubprocessError, OSError) as exc:
            return f"could not install peers: {exc}"
    return python


SINGLE_THREADED_BLAS = {
    name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
}
"""The peers run with one BLAS thread, as mosu does: on a shared two-core machine a
threaded BLAS waiting for a busy core made choix's 200x200 solves twenty times slower."""


def run_peer(python: Path | str, name: str, data: Path, script: Path) -> dict[str, object]:
    if isinstance(python, str):
        return {"error": python}
    try:
        proc = subprocess.run(
            [str(python), str(script), name, str(data), str(ROUNDS)],
            capture_output=True,
            text=True,
            timeout=1800,
            env={**os.environ, **SINGLE_THREADED_BLAS},
        )
    except subprocess.TimeoutExpired:
        return {"error": "timed out after 30 minutes"}
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--battles", type=int, default=2_000_000)
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--no-peers", action="store_true")
    args = parser.parse_args()
    console = Console(width=220)
    rng = np.random.default_rng(0)
    strengths = rng.normal(0.0, 1.0, args.models)
    battles = simulate_battles(strengths, args.battles, rng)
    console.print(
        f"{len(battles):,} battles, {args.models} models, {np.mean(battles.outcome >= 2):.1%} ties"
    )

    m = len(battles.models)
    key = battles.model_a.astype(np.int64) * m + battles.model_b
    floor = timed(lambda: np.bincount(key, minlength=m * m), 5)
    fit_s = timed(lambda: rate(battles, interval="none"), 5)
    boot_s = timed(lambda: rate(battles, rounds=ROUNDS, seed=0), 3)
    sandwich_s = timed(lambda: rate(battles, interval="sandwich"), 3)
    pairs = PairCounts.from_battles(battles)
    fit_pairs_s = timed(lambda: rate(pairs, interval="none"), 5)
    start = time.perf_counter()
    online_elo(battles)
    elo_s = time.perf_counter() - start
    ours = rate(battles, interval="none").rating

    peers: dict[str, dict[str, object]] = {}
    if not args.no_peers:
        python = peer_python(console)
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "battles.npz"
            np.savez(
                data,
                a=battles.model_a,
                b=battles.model_b,
                o=battles.outcome,
                names=np.array(battles.models),
            )
            script = Path(tmp) / "peer.py"
            script.write_text(PEER_SCRIPT)
            for name in ("arena-rank", "choix"):
                console.print(f"running {name} …")
                peers[name] = run_peer(python, name, data, script)

    fastest_fit = min((float(p["fit_s"]) for p in peers.values() if "fit_s" in p), default=None)  # type: ignore[arg-type]
    fastest_boot = min(
        (float(p["fit_boot_s"]) for p in peers.values() if "fit_boot_s" in p),  # type: ignore[arg-type]
        default=None,
    )

    def ratio(peer: float | None, own: float) -> str:
        return "" if peer is None else f"{peer / own:,.1f}x"

    table = Table(
        title=f"Bradley-Terry on {len(battles):,} battles, {m} models ({WINNERS[2]}s count half)"
    )
    for col in (
        "tool",
        "fit",
        f"fit + {ROUNDS} bootstrap",
        "speedup fit",
        "speedup fit+boot",
        "max |Δ rating|",
        "note",
    ):
        table.add_column(col, justify="left" if col in ("tool", "note") else "right")
    table.add_row(
        "floor: one bincount pass over the battles",
        f"{floor * 1e3:.1f} ms",
        "",
        "",
        "",
        "",
        f"fit is {fit_s / floor:.1f}x this pass",
    )
    table.add_row(
        "mosu",
        f"{fit_s * 1e3:.1f} ms",
        f"{boot_s * 1e3:.0f} ms",
        ratio(fastest_fit, fit_s),
        ratio(fastest_boot, boot_s),
        "0",
        f"from pair counts {fit_pairs_s * 1e3:.1f} ms; sandwich {sandwich_s * 1e3:.0f} ms; "
        f"online Elo {elo_s:.2f} s",
    )
    for name, peer in peers.items():
        if "error" in peer:
            table.add_row(name, "", "", "", "", "", f"did not run: {peer['error']}")
            continue
        theirs = np.asarray(peer["ratings"], dtype=float)
        diff = np.abs((theirs - theirs.mean()) - (ours - ours.mean())).max()
        pf, pb = float(peer["fit_s"]), float(peer["fit_boot_s"])  # type: ignore[arg-type]
        note = str(peer.get("note", ""))
        if "cold_fit_s" in peer:
            note += f"; cold fit {float(peer['cold_fit_s']):.2f} s"  # type: ignore[arg-type]
        table.add_row(
            name,
            f"{pf * 1e3:.0f} ms",
            f"{pb:.2f} s",
            f"{pf / fit_s:,.1f}x slower",
            f"{pb / boot_s:,.1f}x slower",
            f"{diff:.2e}",
            note,
        )
    console.print(table)
    goal = boot_s < 1.0 and fastest_boot is not None and fastest_boot / boot_s >= 10
    console.print(
        f"goal (fit + {ROUNDS} bootstrap < 1 s and ≥ 10x the fastest peer): "
        + ("met" if goal else "NOT met")
        + f"; points per logit {400 / math.log(10):.2f}"
    )


if __name__ == "__main__":
    main()

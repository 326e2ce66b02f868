"""Arena rating speed: mosu against LMArena's ``arena-rank`` and ``choix``.

2,000,000 simulated battles among 200 models (30% of close matches tie), then
time: the Bradley-Terry fit, and the fit with 100 bootstrap rounds. The peers
run in a throwaway venv under /tmp (created on first use, ``pip install
arena-rank choix pandas``), each in its own subprocess, on the same battles.
Ratings are compared after centring both to mean 1000 (the peers' convention).

    .venv/bin/python bench/arena.py [--battles 2000000] [--models 200] [--peers choix]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
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
from mosu.arena import bradley_terry as bt
from mosu.arena.simulate import simulate_battles
from mosu.arena.votes import WINNERS, Battles, write_votes

PEER_VENV = Path("/tmp/mosu-arena-bench-venv")
ONE_THREAD = "mosu arena rank, one thread (taskset -c 0)"
PEER_PACKAGES = ["arena-rank", "choix", "pandas"]
PEERS = ("arena-rank", "choix")
ROUNDS = 100

PEER_SCRIPT = textwrap.dedent(
    """
    import json, math, resource, sys, time
    import multiprocessing as mp
    import numpy as np


    ACCURACY_ROUNDS = 3


    def cpu():
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


    def choix_fit_boot(a, b, o, m, rounds):
        import choix
        lo = np.minimum(a, b); hi = np.maximum(a, b)
        cell = np.where(o >= 2, 2, o.astype(np.int64) ^ (a > b))
        flat = np.bincount(cell * m * m + lo.astype(np.int64) * m + hi, minlength=3 * m * m)
        c = flat.reshape(3, m * m).astype(float)
        def matrix(first, second):
            return first.reshape(m, m) + second.reshape(m, m).T
        params = choix.ilsr_pairwise_dense(matrix(c[0] + 0.5 * c[2], c[1] + 0.5 * c[2]), tol=1e-10)
        flat = c.ravel(); n = int(flat.sum()); rng = np.random.default_rng(0)
        kept = []  # the first rounds' counts and ratings, to measure how close they land
        for _ in range(rounds):
            r = rng.multinomial(n, flat / n).reshape(3, -1).astype(float)
            fitted = choix.ilsr_pairwise_dense(matrix(r[0] + 0.5 * r[2], r[1] + 0.5 * r[2]),
                                               initial_params=params, tol=1e-10)
            if len(kept) < ACCURACY_ROUNDS:
                kept.append((r, fitted))
        return params, kept


    def end_to_end(tool, path, rounds):
        # the whole command: read the vote file (JSON lines), fit, bootstrap rounds
        if tool == "e2e-arena-rank":
            import pandas as pd
            from arena_rank.models.bradley_terry import BradleyTerry
            from arena_rank.utils.data_utils import PairDataset
            df = pd.read_json(path, lines=True)
            ds = PairDataset.from_pandas(df)
            model = BradleyTerry(n_competitors=len(ds.competitors))
            model.compute_ratings_and_cis(ds, ci_method="bootstrap", num_bootstrap=rounds, seed=0)
        else:
            index = {}
            a, b, o = [], [], []
            code = {"model_a": 0, "model_b": 1, "tie": 2, "tie (bothbad)": 3}
            with open(path, encoding="utf-8") as f:
                for line in f:
                    r = json.loads(line)
                    a.append(index.setdefault(r["model_a"], len(index)))
                    b.append(index.setdefault(r["model_b"], len(index)))
                    o.append(code[r["winner"]])
            choix_fit_boot(np.array(a), np.array(b), np.array(o), len(index), rounds)


    def main():
        if sys.argv[1].startswith("e2e-"):
            end_to_end(sys.argv[1], sys.argv[2], int(sys.argv[3]))
            return
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
            t = cpu(); fit(); out["cold_fit_s"] = cpu() - t
            t = cpu(); ds, model, res = fit(); out["fit_s"] = cpu() - t
            ratings = dict(zip(res["competitors"], np.asarray(res["ratings"]).tolist()))
            out["ratings"] = [ratings[n] for n in names]
            t = cpu()
            ds = PairDataset.from_pandas(df)
            model = BradleyTerry(n_competitors=len(ds.competitors))
            model.compute_ratings_and_cis(ds, ci_method="bootstrap", num_bootstrap=rounds, seed=0)
            out["fit_boot_s"] = cpu() - t
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
            t = cpu()
            c, first, second = cells()
            params = choix.ilsr_pairwise_dense(matrix(first, second), tol=1e-10)
            out["fit_s"] = cpu() - t
            points = 400 / math.log(10)
            out["ratings"] = (points * (params - params.mean()) + 1000).tolist()
            t = cpu()
            _, kept = choix_fit_boot(a, b, o, m, rounds)
            out["fit_boot_s"] = cpu() - t
            np.savez(sys.argv[2] + ".rounds.npz", cells=np.array([r for r, _ in kept]),
                     params=np.array([fitted for _, fitted in kept]))
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
    """Median CPU time (all of this process's threads) of ``repeat`` calls: the machine's
    cores are shared, so wall time would measure the neighbours."""
    times = []
    for _ in range(repeat):
        start = time.process_time()
        func()
        times.append(time.process_time() - start)
    return statistics.median(times)


def child_cpu(command: list[str], env: dict[str, str] | None = None) -> float:
    """CPU seconds (user + system, all threads and processes) of one run of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError((proc.stderr.strip().splitlines() or ["failed"])[-1])
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def fit_boot(
    battles: Battles, *, workers: int | None, tol: float, fit_tol: float = bt.TOL
) -> object:
    """mosu's fit and 100 bootstrap rounds from the battles (aggregation included)."""
    pairs = PairCounts.from_battles(battles)
    beta = bt.fit(pairs, tol=fit_tol)
    return bt.bootstrap(pairs, beta, rounds=ROUNDS, seed=0, workers=workers, tol=tol)


MATCHED = 1e-12
"""mosu's tolerance in the paired runs' second column: its rounds then land about as close
to their exact fits as choix's do at 1e-10 (the caption gives both distances)."""


def paired_choix(
    python: Path | str, battles: Battles, data: Path, script: Path, repeats: int
) -> Table:
    """choix's fit + bootstrap (tol 1e-10) against mosu's at one thread, at the same
    tolerance and at :data:`MATCHED`, in ``repeats`` interleaved runs, CPU time."""
    table = Table(title=f"fit + {ROUNDS} bootstrap, one thread, tolerance 1e-10: paired runs")
    for col in ("run", "choix CPU", "mosu CPU", "ratio", f"mosu at {MATCHED:g}", "ratio"):
        table.add_column(col, justify="right")
    ratios, matched = [], []
    for k in range(repeats):
        peer = run_peer(python, "choix", data, script)
        if "error" in peer:
            table.add_row(str(k + 1), f"did not run: {peer['error']}", "", "")
            return table
        ours = timed(lambda: fit_boot(battles, workers=1, tol=1e-10), 1)
        close = timed(lambda: fit_boot(battles, workers=1, tol=MATCHED, fit_tol=MATCHED), 1)
        theirs = float(peer["fit_boot_s"])  # type: ignore[arg-type]
        ratios.append(theirs / ours)
        matched.append(theirs / close)
        table.add_row(
            str(k + 1),
            f"{theirs:.2f} s",
            f"{ours * 1e3:.0f} ms",
            f"{ratios[-1]:.1f}x",
            f"{close * 1e3:.0f} ms",
            f"{matched[-1]:.1f}x",
        )
    goal = "met" if statistics.median(ratios) >= 10 else "NOT met"
    table.add_row(
        "median",
        "",
        "",
        f"{statistics.median(ratios):.1f}x (goal ≥ 10x: {goal})",
        "",
        f"{statistics.median(matched):.1f}x",
    )
    table.caption = accuracy(battles, data)
    return table


def accuracy(battles: Battles, data: Path) -> str:
    """How far each tool's bootstrap rounds land from the exact fit of the same resampled
    counts (mosu fitted to 1e-14), the largest gap over models, in logits: choix's first
    rounds at 1e-10 (kept by the peer script) and every mosu round, at 1e-10 and at
    :data:`MATCHED`."""
    pairs = PairCounts.from_battles(battles)
    beta = bt.fit(pairs, tol=1e-14)
    exact = bt.bootstrap(pairs, beta, rounds=ROUNDS, seed=0, workers=1, tol=1e-14)
    gaps = []
    for tol in (1e-10, MATCHED):
        ours = bt.bootstrap(pairs, beta, rounds=ROUNDS, seed=0, workers=1, tol=tol)
        gaps.append(float(np.abs(ours - exact).max()))
    kept = np.load(str(data) + ".rounds.npz")
    m = len(battles.models)
    first, second = np.triu_indices(m, 1)
    choix_gap = 0.0
    for cells, params in zip(kept["cells"], kept["params"], strict=True):
        upper = cells[:, first * m + second]  # choix's cells are (lower, higher) pairs
        met = upper.sum(axis=0) > 0
        resampled = PairCounts(battles.models, first[met], second[met], upper[:, met])
        fitted = bt.fit(resampled, beta0=beta, tol=1e-14)
        choix_gap = max(choix_gap, float(np.abs((params - params.mean()) - fitted).max()))
    return (
        f"largest distance from the exact fit of the same resample, logits: mosu {gaps[0]:.1e} "
        f"at 1e-10 and {gaps[1]:.1e} at {MATCHED:g} ({ROUNDS} rounds), choix {choix_gap:.1e} "
        f"at 1e-10 (its first {len(kept['params'])} rounds)"
    )


def end_to_end(
    python: Path | str,
    battles: Battles,
    tmp: Path,
    script: Path,
    repeats: int,
    names: tuple[str, ...] = PEERS,
) -> Table:
    """The whole command, file to leaderboard (parse included), in interleaved rounds:
    ``mosu arena rank`` (all CPUs, and pinned to one by taskset; on JSON lines and on the
    same battles as one JSON array) against the reference (lmarena's arena-rank after
    pandas.read_json) and choix after json.loads per line."""
    path = tmp / "votes.jsonl"
    write_votes(battles, path)
    array = tmp / "votes.json"
    write_votes(battles, array, fmt="json")

    def mosu(votes: Path) -> list[str]:
        command = [sys.executable, "-c", "from mosu.cli import app; app()", "arena", "rank"]
        return [*command, str(votes), "--json"]

    single = {**os.environ, **SINGLE_THREADED_BLAS}
    pinned = ["taskset", "-c", "0"]
    tools: dict[str, tuple[list[str], dict[str, str] | None]] = {
        "mosu arena rank": (mosu(path), None),
        ONE_THREAD: ([*pinned, *mosu(path)], single),
        "mosu arena rank, one thread, JSON array": ([*pinned, *mosu(array)], single),
    }
    if not isinstance(python, str):
        for peer in names:
            command = [str(python), str(script), f"e2e-{peer}", str(path), str(ROUNDS)]
            tools[f"{peer}: read + fit + {ROUNDS} bootstrap"] = (command, single)
    cpu: dict[str, list[float]] = {name: [] for name in tools}
    for _ in range(repeats):
        for name, (command, env) in tools.items():
            try:
                cpu[name].append(child_cpu(command, env))
            except (RuntimeError, subprocess.SubprocessError) as exc:
                cpu[name].append(math.nan)
                print(f"{name}: {exc}", file=sys.stderr)
    table = Table(
        title=f"whole command on {len(battles):,} battles ({path.stat().st_size / 1e6:.0f} MB of JSON lines), CPU time"
    )
    for col in ("tool", "CPU per run", "median", "mosu (one thread) is"):
        table.add_column(col, justify="left" if col == "tool" else "right")
    own = statistics.median(cpu[ONE_THREAD])
    for name, runs in cpu.items():
        median = statistics.median(runs)
        shown = ", ".join(f"{x:.2f}" for x in runs)
        table.add_row(
            name,
            shown,
            f"{median:.2f} s",
            f"{median / own:.1f}x faster" if "mosu" not in name else "",
        )
    goal = "met" if own <= 1.5 else "NOT met"
    table.add_row("goal: whole command ≤ 1.5 s CPU", "", "", goal)
    return table


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
    parser.add_argument(
        "--peers",
        default=",".join(PEERS),
        help="peers to run, comma-separated (arena-rank's bootstrap takes minutes)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="paired runs of each tool")
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
    boot1_s = timed(lambda: fit_boot(battles, workers=1, tol=bt.BOOTSTRAP_TOL), 3)
    sandwich_s = timed(lambda: rate(battles, interval="sandwich"), 3)
    pairs = PairCounts.from_battles(battles)
    fit_pairs_s = timed(lambda: rate(pairs, interval="none"), 5)
    elo_s = timed(lambda: online_elo(battles), 1)
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
            chosen = tuple(name for name in PEERS if name in args.peers.split(","))
            for name in chosen:
                console.print(f"running {name} …")
                peers[name] = run_peer(python, name, data, script)
            if "choix" in chosen:
                console.print(paired_choix(python, battles, data, script, args.repeats))
            table = end_to_end(python, battles, Path(tmp), script, args.repeats, chosen)
            console.print(table)

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
        f"one thread: fit + boot {boot1_s * 1e3:.0f} ms; "
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

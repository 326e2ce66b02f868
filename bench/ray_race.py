"""A race of a million samples through the Ray executor, measured (a script, not a test).

Starts ``--endpoints`` fake OpenAI-compatible servers (each its own process, answering after
``--latency`` seconds) and races one model per endpoint on a synthetic task of ``--samples``
samples: ``samples × endpoints`` requests in all, sharded over a local Ray cluster of
``--cpus`` CPUs (``ray.init`` on this machine), the driver in this process. Prints:

- wall time, and the request rate against the limit the endpoints set
  (``endpoints × concurrency / latency`` requests per second), first to last request and
  from the start of the race;
- the driver's CPU per sample (this process: receiving outcomes, committing them, scoring)
  and the Ray workers' CPU per sample (the shards' HTTP clients), and the fake servers';
- the run store's size on disk;
- scoring: the time and peak RSS of scoring the finished race again from its store (a resume
  that sends nothing, then the bootstrap over every sample), and the driver's peak RSS.

lm-evaluation-harness and Inspect AI have no cluster executor, so no peer runs here; their
single-process rates are in ``bench/engine.py``.

    python bench/ray_race.py                                  # 1,000,000 samples
    python bench/ray_race.py --samples 2000 --endpoints 2     # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
console = Console(width=150)


def write_task(folder: Path, n: int) -> tuple[Path, Path]:
    """The task (``n`` four-choice questions) and the fake servers' answer key."""
    data, key = folder / "data.jsonl", folder / "key.jsonl"
    with data.open("w", encoding="utf-8") as d, key.open("w", encoding="utf-8") as k:
        for i in range(n):
            q = f"第{i}题：下列选项中哪一个是正确的？请只回答选项字母。"
            y = "ABCD"[(i * 7) % 4]
            d.write(json.dumps({"id": i, "q": q, "y": y}, ensure_ascii=False) + "\n")
            k.write(json.dumps({"prompt": q, "answer": y}, ensure_ascii=False) + "\n")
    task = folder / "task.yaml"
    task.write_text(
        "name: ray-bench\nsplits:\n  test: {format: jsonl, path: "
        + json.dumps(str(data))
        + ", id_field: id, label_field: y, input_fields: [q]}\n"
        "prompt: {template: '{{ q }}'}\nparser: {name: choice_letter}\nscorers: [accuracy]\n",
        encoding="utf-8",
    )
    return task, key


def start_servers(key: Path, count: int, latency: float) -> list[tuple[subprocess.Popen[str], str]]:
    servers = []
    for _ in range(count):
        command = [sys.executable, "-m", "mosu.evals.fakeserver", "--latency", str(latency)]
        command += ["--answers", str(key)]
        proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        servers.append((proc, proc.stdout.readline().split()[-1]))
    return servers


def stats(url: str) -> dict[str, float]:
    with urllib.request.urlopen(url.removesuffix("/v1") + "/stats", timeout=60) as response:
        found = json.loads(response.read())
    return {"requests": found["requests"], "first": found["first"], "last": found["last"]}


def cpu_of(pid: int) -> float:
    """CPU seconds (user + system) a running process has used, from ``/proc``."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ray_worker_cpu() -> float:
    """CPU seconds of every live Ray worker process (``ray::…``) on this machine."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                name = (entry / "cmdline").read_bytes().split(b"\0")[0]
            except OSError:
                continue
            if name.startswith(b"ray::"):
                total += cpu_of(int(entry.name))
    return total


def self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=100_000, help="samples per endpoint")
    parser.add_argument("--endpoints", type=int, default=10)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per answer")
    parser.add_argument("--concurrency", type=int, default=32, help="per endpoint")
    parser.add_argument("--cpus", type=int, default=os.cpu_count() or 2, help="Ray's CPUs")
    parser.add_argument("--shard-size", type=int, default=5_000)
    parser.add_argument(
        "--cpus-per-shard",
        type=float,
        default=0.2,
        help="Ray CPUs a shard holds: how many shards (and so endpoints) run at once",
    )
    parser.add_argument("--replicates", type=int, default=1_000, help="bootstrap replicates")
    args = parser.parse_args()

    import ray

    from mosu.evals.ray_executor import RayExecutor
    from mosu.evals.run import arun
    from mosu.evals.tasks import load_task

    folder = Path(tempfile.mkdtemp(prefix="mosu-ray-race-"))
    task_file, key = write_task(folder, args.samples)
    servers = start_servers(key, args.endpoints, args.latency)
    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
    try:
        task = load_task(task_file)
        models = {
            f"m{i}": f"openai:{url}#m?concurrency={args.concurrency}"
            for i, (_, url) in enumerate(servers)
        }
        store = folder / "run.sqlite"
        executor = RayExecutor(shard_size=args.shard_size, cpus_per_shard=args.cpus_per_shard)
        cpu0, start = self_cpu(), time.monotonic()  # the fake servers stamp requests by it
        result = asyncio.run(
            arun(task, models, store=store, executor=executor, replicates=args.replicates)
        )
        wall, driver_cpu = time.monotonic() - start, self_cpu() - cpu0
        workers_cpu = ray_worker_cpu()
        rss_race = peak_rss_mb()
        seen = [stats(url) for _, url in servers]
        server_cpu = sum(cpu_of(proc.pid) for proc, _ in servers)
        cpu1, t1 = self_cpu(), time.perf_counter()
        again = asyncio.run(
            arun(task, models, store=store, executor=executor, replicates=args.replicates)
        )
        rescore, rescore_cpu = time.perf_counter() - t1, self_cpu() - cpu1
        assert [m.metrics for m in again.models] == [m.metrics for m in result.models]
    finally:
        ray.shutdown()
        for proc, _ in servers:
            proc.terminate()
    report(args, result, seen, wall, start, driver_cpu, workers_cpu, server_cpu, rss_race)
    size = sum(p.stat().st_size for p in folder.glob("run.sqlite*"))
    total = args.samples * args.endpoints
    console.print(
        f"store {size / 1e6:,.0f} MB ({size / total:,.0f} bytes per sample); scoring again "
        f"from the store (a resume that sends nothing, then {args.replicates:,} bootstrap "
        f"replicates × {args.endpoints} models × {args.samples:,} samples): {rescore:.1f} s "
        f"wall, {rescore_cpu:.1f} s CPU; the driver's peak RSS {peak_rss_mb():,.0f} MB "
        f"({rss_race:,.0f} MB after the race)"
    )


def report(
    args: argparse.Namespace,
    result: object,
    seen: list[dict[str, float]],
    wall: float,
    start: float,
    driver_cpu: float,
    workers_cpu: float,
    server_cpu: float,
    rss: float,
) -> None:
    total = args.samples * args.endpoints
    requests = sum(s["requests"] for s in seen)
    first, last = min(s["first"] for s in seen), max(s["last"] for s in seen)
    limit = args.endpoints * args.concurrency / args.latency
    table = Table(title=f"{total:,} samples over {args.endpoints} fake endpoints through Ray")
    for column in ("figure", "value"):
        table.add_column(column)
    rows = [
        ("requests received", f"{requests:,}"),
        ("wall time of the race", f"{wall:,.1f} s (the limit alone: {total / limit:,.1f} s)"),
        ("limit: endpoints × concurrency / latency", f"{limit:,.0f} requests/s"),
        ("rate, first to last request", f"{requests / (last - first):,.0f}/s = "
         f"{requests / (last - first) / limit:.0%} of the limit"),
        ("rate, from the start of the race", f"{requests / (last - start):,.0f}/s = "
         f"{requests / (last - start) / limit:.0%} of the limit"),
        ("driver CPU per sample (receive, commit, score)", f"{driver_cpu / total * 1e3:.3f} ms"),
        ("Ray workers' CPU per sample (HTTP clients)", f"{workers_cpu / total * 1e3:.3f} ms"),
        ("fake servers' CPU per request", f"{server_cpu / max(requests, 1) * 1e3:.3f} ms"),
        ("driver peak RSS after the race", f"{rss:,.0f} MB"),
        ("shards at once (Ray CPUs / CPUs per shard)", f"{args.cpus / args.cpus_per_shard:g}"),
        ("machine", f"{os.cpu_count()} CPUs, Ray given {args.cpus}, load "
         f"{os.getloadavg()[0]:.1f}"),
    ]  # fmt: skip
    for row in rows:
        table.add_row(*row)
    console.print(table)


if __name__ == "__main__":
    main()

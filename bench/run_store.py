"""The engine's rate with each run store (a script, not a test).

A race commits its outcomes in batches (every 20 ms, by a writer thread). The CLI keeps them
in a SQLite file; the platform in its database, so that a worker on another machine resumes
a race. This races one model on a synthetic task against mosu's fake server (50 ms latency,
concurrency 64: a limit of 1,280 requests per second) with each store in turn, interleaved
across repeats, each race in a process of its own:

- ``file``: the run store file (``mosu eval run``'s ``run.sqlite``);
- ``sqlite``: the platform's store in an embedded SQLite database;
- ``postgresql``: the platform's store in PostgreSQL (``--postgres URL``; skipped when none
  answers).

It prints the request rate (first to last request, as the fake server saw them) against the
limit and against the file store, and the CPU milliseconds per sample of the race (the
child's CPU time in ``run``: the store's writes and reads, requests, scoring; not its
imports), medians over the repeats.

    python bench/run_store.py                          # 20,000 samples, 3 repeats
    python bench/run_store.py --samples 2000 --repeat 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
LATENCY = 0.05
CONCURRENCY = 64
LIMIT = CONCURRENCY / LATENCY
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
KINDS = ("file", "sqlite", "postgresql")
console = Console(width=140)


def write_task(folder: Path, n: int) -> Path:
    """A task over ``n`` samples ``{"id", "q", "y"}`` and the fake server's answer key."""
    data, key = folder / "data.jsonl", folder / "key.jsonl"
    with data.open("w", encoding="utf-8") as d, key.open("w", encoding="utf-8") as k:
        for i in range(n):
            q = f"第{i}题：下列选项中哪一个是正确的？请只回答选项字母。"
            y = "ABCD"[(i * 7) % 4]
            d.write(json.dumps({"id": i, "q": q, "y": y}, ensure_ascii=False) + "\n")
            k.write(json.dumps({"prompt": q, "answer": y}, ensure_ascii=False) + "\n")
    (folder / "task.yaml").write_text(
        "name: bench\nsplits:\n  test: {format: jsonl, path: "
        + json.dumps(str(data))
        + ", id_field: id, label_field: y, input_fields: [q]}\n"
        "prompt: {template: '{{ q }}'}\nparser: {name: choice_letter}\nscorers: [accuracy]\n",
        encoding="utf-8",
    )
    return key


def start_server(key: Path) -> tuple[subprocess.Popen[str], str]:
    """mosu's fake server answering from ``key`` after ``LATENCY``, and its URL."""
    command = [sys.executable, "-m", "mosu.evals.fakeserver", "--latency", str(LATENCY)]
    env = {k: v for k, v in os.environ.items() if k != "MOSU_EVAL_LOOP"}  # its default loop
    proc = subprocess.Popen(
        [*command, "--answers", str(key)], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().split()[-1]


def child(kind: str, folder: Path, url: str, database: str) -> None:
    """Race the task in ``folder`` with one store (run in a process of its own)."""
    from mosu.core.db import make_engine
    from mosu.evals.run import run
    from mosu.evals.tasks import load_task
    from mosu.jobs.run_store import META, PROMPTS, RESULTS, DatabaseRunStore
    from mosu.tables import Base

    task = load_task(folder / "task.yaml")
    models = {"m": f"openai:{url}#m?concurrency={CONCURRENCY}"}
    if kind == "file":
        store: Path | DatabaseRunStore = folder / f"{uuid.uuid4().hex}.sqlite"
    else:
        engine = make_engine(database)
        Base.metadata.create_all(engine, tables=[META, RESULTS, PROMPTS])
        store = DatabaseRunStore(engine, f"bench-{uuid.uuid4().hex}")
    before = time.process_time()
    result = run(task, models, store=store, replicates=100)
    cpu = time.process_time() - before
    print(json.dumps({"cpu": cpu, "accuracy": result.models[0].metrics["accuracy"].value}))


def server_stats(url: str) -> dict[str, float]:
    with urllib.request.urlopen(url.removesuffix("/v1") + "/stats", timeout=30) as response:
        stats = json.loads(response.read())
    return {"requests": stats["requests"], "first": stats["first"], "last": stats["last"]}


def measure(kind: str, folder: Path, database: str) -> tuple[float, float, float]:
    """Requests, seconds from first to last request, and the CPU seconds of the race in the
    child (against a fake server of its own, whose first and last request are this race's)."""
    server, url = start_server(folder / "key.jsonl")
    try:
        command = [sys.executable, __file__, "--child", kind, str(folder), url, database]
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=3600)
        if done.returncode != 0:
            raise SystemExit(f"{kind}: {done.stderr[-2000:]}")
        stats = server_stats(url)
    finally:
        server.terminate()
        server.wait()
    cpu = json.loads(done.stdout.strip().splitlines()[-1])["cpu"]
    return stats["requests"], stats["last"] - stats["first"], cpu


def postgres_schema(url: str) -> str | None:
    """A URL on a schema of its own in the PostgreSQL at ``url``, or None if none answers."""
    import sqlalchemy as sa

    schema = f"bench_run_store_{os.getpid()}"
    try:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
        engine.dispose()
    except sa.exc.OperationalError:
        return None
    return f"{url}?options=-csearch_path%3D{schema}"


def drop_schema(url: str, schema_url: str) -> None:
    import sqlalchemy as sa

    schema = schema_url.rsplit("%3D", 1)[1]
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", default=POSTGRES)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mosu-bench-store-") as tmp:
        folder = Path(tmp)
        write_task(folder, args.samples)
        databases = {"file": "", "sqlite": f"sqlite:///{folder / 'platform.db'}"}
        pg = postgres_schema(args.postgres)
        if pg is not None:
            databases["postgresql"] = pg
        runs: dict[str, list[tuple[float, float, float]]] = {k: [] for k in databases}
        try:
            for _ in range(args.repeat):  # interleaved, so a change in load falls on all
                for kind, database in databases.items():
                    runs[kind].append(measure(kind, folder, database))
                    time.sleep(0.5)
        finally:
            if pg is not None:
                drop_schema(args.postgres, pg)
    report(runs, args.samples)


def report(runs: dict[str, list[tuple[float, float, float]]], samples: int) -> None:
    table = Table(title=f"run stores: {samples:,} samples, limit {LIMIT:,.0f} requests/s")
    for column in ("store", "requests", "rate/s", "vs limit", "vs file", "CPU ms/sample"):
        table.add_column(column, justify="right")
    rates = {k: statistics.median(n / s for n, s, _ in r) for k, r in runs.items()}
    for kind, measured in runs.items():
        cpu = statistics.median(c for _, _, c in measured) / samples * 1000
        table.add_row(
            kind,
            f"{int(statistics.median(n for n, _, _ in measured)):,}",
            f"{rates[kind]:,.0f}",
            f"{rates[kind] / LIMIT:.0%}",
            f"{rates[kind] / rates['file']:.2f}",
            f"{cpu:.3f}",
        )
    console.print(table)
    console.print(f"load average: {os.getloadavg()[0]:.1f} (the CPUs may be shared)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], Path(sys.argv[3]), sys.argv[4], sys.argv[5])
    else:
        main()

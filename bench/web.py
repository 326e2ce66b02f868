"""Load benchmark of the web UI and API under a running race (a script, not a test).

For SQLite and for PostgreSQL: builds a fresh database with the demo community, starts
mosu's fake OpenAI-compatible server and ``mosu serve`` (with its embedded worker) as
subprocesses on loopback, queues an ``eval.race`` job that the worker runs against the
fake server while the load runs, then drives the routes below with ``--clients``
concurrent keep-alive clients (an aiohttp client pool in this script) for ``--seconds``
after a one-second warm-up. Prints each route's latency with one client, then under load
p50/p95/p99 latency, throughput and errors per route, the p95 against the 50 ms goal, and
against the floor: a static file served by the same process (what uvicorn costs without
mosu's work).

    python bench/web.py                          # both databases, 50 clients, 10 s each
    python bench/web.py --databases sqlite --seconds 5
    python bench/web.py --web-workers 2          # mosu serve --workers 2

The machine's CPUs are shared by the load generator, the server and the race.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import numpy as np
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
GOAL_P95_MS = 50.0
FLOOR = "/static/mosu.css"
# Pages and API routes under load; one line per route.
ROUTES = [
    "/",
    "/orgs",
    "/models",
    "/filings",
    "/orgs?q=大模型",
    "/api/v1/overview",
    "/api/v1/orgs",
    "/api/v1/models",
    "/api/v1/filings",
    "/api/v1/orgs?q=大模型",
]
# Challenge pages and public leaderboards of the demo's decided challenge (id 1, stages 1-2).
CHALLENGE_ROUTES: list[str] = [
    "/challenges",
    "/challenges/1",
    "/challenges/1/race",
    "/api/v1/challenges/1",
    "/api/v1/challenges/1/race",
    "/api/v1/stages/1/leaderboard",
    "/api/v1/stages/2/leaderboard?part=final",
]
POSTGRES_URL = os.environ.get(
    "MOSU_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
console = Console(width=150)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer") from None
            time.sleep(0.1)


@contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    """A fresh database URL: a SQLite file, or a throwaway PostgreSQL database."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    name = f"mosu_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def prepare(url: str, folder: Path, fake_url: str, samples: int) -> None:
    """Migrate, load the demo community, and queue a race of ``samples`` samples."""
    from mosu import migrate
    from mosu.config import Settings
    from mosu.db import make_engine, make_sessionmaker, transaction
    from mosu.demo.challenge import build_demo_challenges
    from mosu.demo.loader import load_community
    from mosu.jobs.queue import enqueue

    engine = make_engine(url)
    migrate.upgrade(engine)
    rows = [
        {"id": i, "text": f"第{i}号工单：路灯不亮，请尽快处理。", "label": "城管"}
        for i in range(samples)
    ]
    task = {
        "name": "bench_web",
        "splits": {
            "test": {"format": "inline", "rows": rows, "id_field": "id", "label_field": "label"}
        },
        "prompt": {"template": "{{ text }}"},
        "parser": "first_line",
        "scorers": ["accuracy"],
    }
    task_file = folder / "task.yaml"
    task_file.write_text(json.dumps(task, ensure_ascii=False), encoding="utf-8")
    with transaction(make_sessionmaker(engine)) as session:
        load_community(session)
    settings = Settings.from_env(
        {}, database_url=url, secret_key="bench-web-" + "x" * 40, data_dir=folder / "demo-data"
    )
    build_demo_challenges(engine, settings)  # the challenge pages under load have real boards
    with transaction(make_sessionmaker(engine)) as session:
        if not samples:
            return
        enqueue(
            session,
            kind="eval.race",
            payload={
                "task": str(task_file),
                "models": {"m": f"openai:{fake_url}#m?concurrency=16"},
                "store": str(folder / "race" / "run.sqlite"),
                "replicates": 100,
            },
        )
    engine.dispose()


async def alone(base: str, routes: list[str], repeat: int = 20) -> dict[str, float]:
    """Median latency (s) of each route with one client (the race still running)."""
    found: dict[str, float] = {}
    async with aiohttp.ClientSession() as session:
        for route in routes:
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                async with session.get(base + route) as response:
                    await response.read()
                times.append(time.perf_counter() - start)
            found[route] = float(np.median(times))
    return found


async def load(base: str, routes: list[str], clients: int, seconds: float) -> dict[str, list]:
    """``clients`` keep-alive clients cycling through ``routes``; latencies (s) and errors."""
    found: dict[str, list] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.perf_counter()
        warm, stop = start + 1.0, start + 1.0 + seconds

        async def client(k: int) -> None:
            i = k
            while (now := time.perf_counter()) < stop:
                route = routes[i % len(routes)]
                i += 1
                try:
                    async with session.get(base + route) as response:
                        await response.read()
                        ok = response.status == 200
                except aiohttp.ClientError:
                    ok = False
                if now >= warm:
                    found[route].append(time.perf_counter() - now)
                    errors[route] += not ok

        await asyncio.gather(*(client(k) for k in range(clients)))
    return {r: [found[r], errors[r]] for r in routes}


def job_state(url: str) -> str:
    engine = create_engine(url)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT state, progress FROM jobs")).first()
    engine.dispose()
    return (
        f"{row[0]} {json.loads(row[1]) if isinstance(row[1], str) else row[1]}" if row else "none"
    )


def bench(kind: str, clients: int, seconds: float, samples: int, web_workers: int) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="mosu-bench-web-") as tmp,
        database(kind, Path(tmp)) as url,
    ):
        folder = Path(tmp)
        fake_port, port = free_port(), free_port()
        fake = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mosu.evals.fakeserver",
                "--port",
                str(fake_port),
                "--latency",
                "0.02",
            ],
            stdout=subprocess.DEVNULL,
        )
        fake_url = f"http://127.0.0.1:{fake_port}/v1"
        prepare(url, folder, fake_url, samples)
        env = {
            **os.environ,
            "MOSU_DATABASE_URL": url,
            "MOSU_SECRET_KEY": secrets.token_urlsafe(24),
            "MOSU_PORT": str(port),
            "MOSU_DATA_DIR": str(folder / "data"),
            "MOSU_EMBEDDED_WORKER": "true",
            "MOSU_WEB_WORKERS": str(web_workers),
        }
        server = subprocess.Popen(
            [sys.executable, "-c", "from mosu.cli import main; main()", "serve"],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_http(base + FLOOR)
            routes = [*ROUTES, *CHALLENGE_ROUTES, FLOOR]
            service = asyncio.run(alone(base, routes))
            before = job_state(url)
            started = time.perf_counter()
            results = asyncio.run(load(base, routes, clients, seconds))
            elapsed = time.perf_counter() - started - 1.0
            after = job_state(url)
        finally:
            server.terminate()
            server.wait(30)
            fake.terminate()
            fake.wait(10)
    floor = np.percentile(results[FLOOR][0], 95) * 1000 if results[FLOOR][0] else float("nan")
    table = Table(
        "route",
        "1 client p50 ms",
        "requests",
        "errors",
        "req/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "p95 / goal",
        "p95 / floor",
        title=f"{kind}, {web_workers} web process(es): {clients} clients, {seconds:g} s, "
        f"race job {before} → {after}",
    )
    total = errors_all = 0
    for route, (lat, errors) in results.items():
        ms = np.array(lat) * 1000
        p50, p95, p99 = np.percentile(ms, [50, 95, 99]) if len(ms) else (float("nan"),) * 3
        total += len(ms)
        errors_all += errors
        table.add_row(
            route + (" (floor)" if route == FLOOR else ""),
            f"{service[route] * 1000:.1f}",
            f"{len(ms):,}",
            str(errors),
            f"{len(ms) / elapsed:,.0f}",
            f"{p50:.1f}",
            f"{p95:.1f}",
            f"{p99:.1f}",
            f"{p95 / GOAL_P95_MS:.2f}",
            f"{p95 / floor:.1f}",
        )
    rate = total / elapsed
    table.add_row(
        "all",
        f"{float(np.mean(list(service.values()))) * 1000:.1f}",
        f"{total:,}",
        str(errors_all),
        f"{rate:,.0f}",
    )
    console.print(table)
    console.print(
        f"{clients} clients that never pause wait {clients / rate * 1000:,.0f} ms per request "
        f"on average at {rate:,.0f} req/s (Little's law); p95 under {GOAL_P95_MS:g} ms needs "
        f"well above {clients / GOAL_P95_MS * 1000:,.0f} req/s. Load average now: "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--web-workers", type=int, default=1, help="mosu serve --workers")
    parser.add_argument(
        "--samples", type=int, default=20_000, help="samples in the race (0: no race)"
    )
    args = parser.parse_args()
    for kind in args.databases:
        bench(kind, args.clients, args.seconds, args.samples, args.web_workers)


if __name__ == "__main__":
    main()

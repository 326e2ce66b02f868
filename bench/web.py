"""Load benchmark of the web UI and API under a running race (a script, not a test).

For SQLite and for PostgreSQL: builds a fresh database with the demo community, starts
mosu's fake OpenAI-compatible server and ``mosu serve`` (with its embedded worker) as
subprocesses on loopback, queues an ``eval.race`` job that the worker runs against the
fake server while the load runs, then drives the routes below with ``--clients``
concurrent keep-alive clients for ``--seconds`` after a one-second warm-up, as anonymous
visitors (the public's pages, which mosu's micro-cache may answer; see README). The load
comes from ``wrk`` (C, with ``bench/web.lua`` cycling the routes on one connection per wrk
thread and timing each request); where wrk is missing the script installs Debian's package
when it runs as root, and otherwise falls back to an aiohttp client pool in this process,
which spends much of the same CPUs and says so in the title. Prints each route's latency
with one client (as the public, and rendered: with a session cookie, which the micro-cache
never answers), then under load p50/p95/p99 latency, throughput and errors (answers that
are not 2xx, and requests lost to socket errors) per route, the p95 against the 50 ms goal
and against the floor: a static file served by the same process (what uvicorn costs
without mosu's work). The closing lines say where the CPU went while the load ran: the
server (web processes and the embedded worker running the race), the load generator and
the fake endpoint, and the server's CPU per request.

    python bench/web.py                          # both databases, 50 clients, 10 s each
    python bench/web.py --databases sqlite --seconds 5
    python bench/web.py --web-workers 2          # mosu serve --workers 2
    python bench/web.py --generator aiohttp      # the in-process client pool instead of wrk
    python bench/web.py --public-cache-seconds 0 # every request rendered (micro-cache off)
    python bench/web.py --mix signed-in --clients 200 --seconds 60 --samples 0

``--mix signed-in`` runs ``bench/signed_in.py`` instead: every client signed in (a session
cookie or an API token, which the micro-cache never answers), reads mixed with writes
(voucher applications, challenge applications and withdrawals, arena battles and votes),
from an aiohttp client pool in this process; it prints per action the statuses, client
timeouts and p50/p95/p99, then the server's CPU per request and its peak memory.

The machine's CPUs are shared by the load generator, the server and the race.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import resource
import secrets
import shutil
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
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

import aiohttp
import numpy as np
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).parent))
import signed_in  # bench/signed_in.py, beside this script

REPO = Path(__file__).resolve().parents[1]
WRK_SCRIPT = Path(__file__).with_name("web.lua")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
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
console = Console(width=175)


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
    from mosu.core.db import make_engine, make_sessionmaker, transaction
    from mosu.core.settings import Settings
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
        {},
        database_url=url,
        secret_key=secrets.token_urlsafe(32),
        data_dir=folder / "demo-data",
        allow_private_endpoints=True,  # the demo's fake endpoints are on loopback
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


def alone(base: str, routes: list[str], repeat: int = 20) -> dict[str, tuple[float, float]]:
    """Median latency (s) of each route with one keep-alive client (the race still running):
    as an anonymous visitor (whom the micro-cache may answer), and rendered (a request with
    a session cookie, which the cache never answers; an unknown session is the public)."""
    found: dict[str, tuple[float, float]] = {}
    address = urlsplit(base)
    connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port)
    rendered = {"Cookie": "mosu_session=not-a-session"}
    for route in routes:
        medians = []
        for headers in ({}, rendered):
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                connection.request("GET", quote(route, safe="/?=&"), headers=headers)
                connection.getresponse().read()
                times.append(time.perf_counter() - start)
            medians.append(float(np.median(times)))
        found[route] = (medians[0], medians[1])
    connection.close()
    return found


def wrk_binary() -> str | None:
    """The ``wrk`` executable; installed with apt-get when missing and this runs as root."""
    found = shutil.which("wrk")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        console.print("installing Debian's wrk for the load")
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        subprocess.run(["apt-get", "update", "-qq"], check=False, **quiet)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"],
            check=False,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            **quiet,
        )
        found = shutil.which("wrk")
    return found


def load_wrk(
    wrk: str, base: str, routes: list[str], clients: int, seconds: float
) -> tuple[dict[str, list], dict[str, int], float]:
    """``clients`` wrk connections (one per wrk thread) cycling through ``routes``: per route
    the latencies (s) and the errors, wrk's socket error counts, and wrk's CPU seconds."""
    command = [
        wrk,
        f"--threads={clients}",
        f"--connections={clients}",
        f"--duration={seconds + 1.0:g}s",
        "--timeout=10s",
        f"--script={WRK_SCRIPT}",
        base,
        "--",
        "1",
        *(quote(route, safe="/?=&") for route in routes),
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    output, _ = process.communicate()
    if process.returncode:
        raise RuntimeError(f"wrk failed ({process.returncode}): {output[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    found: dict[str, list] = {route: [[], 0] for route in routes}
    socket_errors: dict[str, int] = {}
    lines = output.splitlines()
    for line in lines[next(i for i, line in enumerate(lines) if line.startswith("summary")) :]:
        fields = line.split()
        if fields[0] == "summary":
            names = ["connect", "read", "write", "status", "timeout"]
            socket_errors = dict(zip(names, map(int, fields[3:]), strict=True))
        elif fields[0] == "route":
            found[routes[int(fields[1]) - 1]][1] += int(fields[3])
        else:
            found[routes[int(fields[0]) - 1]][0].append(int(fields[1]) / 1e6)
    return found, socket_errors, cpu


async def load_aiohttp(
    base: str, routes: list[str], clients: int, seconds: float
) -> dict[str, list]:
    """``clients`` aiohttp keep-alive clients in this process cycling through ``routes``;
    latencies (s) and errors. Used only without wrk: it spends much of the machine's CPU."""
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
                        ok = 200 <= response.status < 300
                except aiohttp.ClientError:
                    ok = False
                if now >= warm:
                    found[route].append(time.perf_counter() - now)
                    errors[route] += not ok

        await asyncio.gather(*(client(k) for k in range(clients)))
    return {r: [found[r], errors[r]] for r in routes}


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of process ``pid`` and its living descendants, from /proc."""
    total = 0.0
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += cpu_seconds(int(child))
    except (FileNotFoundError, ProcessLookupError):
        pass
    return total


def job_state(url: str) -> str:
    engine = create_engine(url)
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT state, progress FROM jobs WHERE kind = 'eval.race'")
        ).first()
    engine.dispose()
    return (
        f"{row[0]} {json.loads(row[1]) if isinstance(row[1], str) else row[1]}" if row else "none"
    )


@dataclass
class Server:
    """A running ``mosu serve`` (and the fake endpoint its race calls), for one database."""

    kind: str
    url: str
    base: str
    process: subprocess.Popen
    fake: subprocess.Popen
    folder: Path


@contextmanager
def serving(
    kind: str, samples: int, web_workers: int, cache_seconds: float | None, clients: int = 0
) -> Iterator[tuple[Server, signed_in.Scene | None]]:
    """A fresh demo database of ``kind`` served by ``mosu serve`` with its embedded worker
    running a race of ``samples`` samples; with ``clients``, the signed-in mix's scene."""
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
        scene = signed_in.build_scene(url, clients) if clients else None
        env = {
            **os.environ,
            "MOSU_DATABASE_URL": url,
            "MOSU_SECRET_KEY": secrets.token_urlsafe(32),
            "MOSU_PORT": str(port),
            "MOSU_DATA_DIR": str(folder / "data"),
            "MOSU_EMBEDDED_WORKER": "true",
            "MOSU_ALLOW_PRIVATE_ENDPOINTS": "true",  # the fake endpoint is on loopback
            "MOSU_WEB_WORKERS": str(web_workers),
        }
        if cache_seconds is not None:
            env["MOSU_PUBLIC_CACHE_SECONDS"] = str(cache_seconds)
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
            yield Server(kind, url, base, server, fake, folder), scene
        finally:
            for process, seconds in ((server, 30), (fake, 10)):
                process.terminate()
                try:
                    process.wait(seconds)
                except subprocess.TimeoutExpired:  # stuck (a request that never ends)
                    process.kill()
                    process.wait()


def peak_rss_mib(pid: int) -> float:
    """The peak resident memory (VmHWM) of ``pid`` and its living descendants, in MiB."""
    total = 0.0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1]) / 1024
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += peak_rss_mib(int(child))
    except (FileNotFoundError, ProcessLookupError):
        pass
    return total


def bench_signed_in(
    kind: str, clients: int, seconds: float, samples: int, web_workers: int, timeout: float
) -> None:
    """The signed-in mix (see ``bench/signed_in.py``): per action p50/p95/p99 and statuses,
    client timeouts, the server's CPU per request and its peak memory."""
    with serving(kind, samples, web_workers, None, clients) as (server, scene):
        assert scene is not None
        before = job_state(server.url)
        cpu_before = cpu_seconds(server.process.pid)
        started = time.perf_counter()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        results = asyncio.run(signed_in.run(server.base, scene, clients, seconds, timeout))
        now = resource.getrusage(resource.RUSAGE_SELF)
        elapsed = time.perf_counter() - started
        server_cpu = cpu_seconds(server.process.pid) - cpu_before
        rss = peak_rss_mib(server.process.pid)
        after = job_state(server.url)
        load_average = os.getloadavg()
    generator_cpu = now.ru_utime - usage.ru_utime + now.ru_stime - usage.ru_stime
    table = Table(
        "action",
        "requests",
        "2xx",
        "4xx",
        "5xx",
        "timeouts",
        "socket errors",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        title=f"{kind}, {web_workers} web process(es): {clients} signed-in clients (aiohttp in "
        f"this process), {seconds:g} s, reads and writes, each request given up after "
        f"{timeout:g} s; race job {before} → {after}",
    )
    everything: list[tuple[float, int]] = []
    for action, name in enumerate(signed_in.ACTIONS):
        rows = results.get(action, [])
        everything += rows
        table.add_row(name, *_status_columns(rows))
    table.add_row("all", *_status_columns(everything))
    console.print(table)
    total = len(everything)
    console.print(
        f"{total / elapsed:,.0f} req/s. Server (web + embedded worker's race): "
        f"{server_cpu / elapsed:.2f} cores, {server_cpu / max(total, 1) * 1e6:,.0f} µs of CPU "
        f"per request, peak RSS {rss:,.0f} MiB; load generator {generator_cpu / elapsed:.2f} "
        f"cores ({os.cpu_count()} CPUs). Load average at the end: "
        f"{', '.join(f'{x:.1f}' for x in load_average)}"
    )


def _status_columns(rows: list[tuple[float, int]]) -> list[str]:
    statuses = [status for _, status in rows]
    answered = np.array([lat for lat, status in rows if status > 0]) * 1000
    p50, p95, p99 = np.percentile(answered, [50, 95, 99]) if len(answered) else (float("nan"),) * 3
    return [
        f"{len(rows):,}",
        str(sum(200 <= s < 300 for s in statuses)),
        str(sum(400 <= s < 500 for s in statuses)),
        str(sum(s >= 500 for s in statuses)),
        str(statuses.count(0)),
        str(statuses.count(-1)),
        f"{p50:.1f}",
        f"{p95:.1f}",
        f"{p99:.1f}",
    ]


def bench(
    kind: str,
    clients: int,
    seconds: float,
    samples: int,
    web_workers: int,
    wrk: str | None,
    cache_seconds: float | None,
) -> None:
    with serving(kind, samples, web_workers, cache_seconds) as (server, _):
        base, url = server.base, server.url
        routes = [*ROUTES, *CHALLENGE_ROUTES, FLOOR]
        service = alone(base, routes)
        before = job_state(url)
        cpu_before = cpu_seconds(server.process.pid), cpu_seconds(server.fake.pid)
        started = time.perf_counter()
        if wrk is not None:
            results, socket_errors, generator_cpu = load_wrk(wrk, base, routes, clients, seconds)
        else:
            usage = resource.getrusage(resource.RUSAGE_SELF)
            results = asyncio.run(load_aiohttp(base, routes, clients, seconds))
            socket_errors = {}
            now = resource.getrusage(resource.RUSAGE_SELF)
            generator_cpu = sum((now.ru_utime - usage.ru_utime, now.ru_stime - usage.ru_stime))
        elapsed = time.perf_counter() - started
        server_cpu = cpu_seconds(server.process.pid) - cpu_before[0]
        fake_cpu = cpu_seconds(server.fake.pid) - cpu_before[1]
        elapsed -= 1.0  # the warm-up, not measured
        load_average = os.getloadavg()
        after = job_state(url)
    floor = np.percentile(results[FLOOR][0], 95) * 1000 if results[FLOOR][0] else float("nan")
    table = Table(
        "route",
        "1 client p50 ms",
        "rendered p50 ms",
        "requests",
        "errors",
        "req/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "p95 / goal",
        "p95 / floor",
        title=f"{kind}, {web_workers} web process(es): {clients} clients "
        f"({'wrk' if wrk else 'aiohttp in this process: wrk is not installed'}), "
        f"{seconds:g} s, micro-cache "
        f"{'mosu default' if cache_seconds is None else f'{cache_seconds:g} s'}, "
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
            f"{service[route][0] * 1000:.1f}",
            f"{service[route][1] * 1000:.1f}",
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
        f"{float(np.mean([a for a, _ in service.values()])) * 1000:.1f}",
        f"{float(np.mean([r for _, r in service.values()])) * 1000:.1f}",
        f"{total:,}",
        str(errors_all),
        f"{rate:,.0f}",
    )
    console.print(table)
    window = elapsed + 1.0  # the CPU was counted over the warm-up too
    lost = ", ".join(f"{n} {name}" for name, n in socket_errors.items() if n and name != "status")
    console.print(
        f"{clients} clients that never pause wait {clients / rate * 1000:,.0f} ms per request "
        f"on average at {rate:,.0f} req/s (Little's law); p95 under {GOAL_P95_MS:g} ms needs "
        f"well above {clients / GOAL_P95_MS * 1000:,.0f} req/s. Socket errors (in the errors "
        f"column): {lost or 'none'}.\n"
        f"CPU while loaded ({os.cpu_count()} CPUs): server (web + embedded worker's race) "
        f"{server_cpu / window:.2f} cores, {server_cpu / (window / elapsed * total) * 1e6:,.0f} "
        f"µs per request; load generator {generator_cpu / window:.2f} cores; fake endpoint "
        f"{fake_cpu / window:.2f} cores. Load average at the end: "
        f"{', '.join(f'{x:.1f}' for x in load_average)}"
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
    parser.add_argument(
        "--generator",
        choices=["wrk", "aiohttp"],
        default="wrk",
        help="the load generator (aiohttp: in this process, also used where wrk is missing)",
    )
    parser.add_argument(
        "--public-cache-seconds",
        type=float,
        default=None,
        help="MOSU_PUBLIC_CACHE_SECONDS of the server (0: the micro-cache off; default: mosu's)",
    )
    parser.add_argument(
        "--mix",
        choices=["public", "signed-in"],
        default="public",
        help="public: anonymous GETs (wrk); signed-in: reads and writes with a cookie or a "
        "token, never answered by the micro-cache (aiohttp; see bench/signed_in.py)",
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="signed-in mix: a request's client timeout"
    )
    args = parser.parse_args()
    if args.mix == "signed-in":
        for kind in args.databases:
            bench_signed_in(
                kind, args.clients, args.seconds, args.samples, args.web_workers, args.timeout
            )
        return
    wrk = wrk_binary() if args.generator == "wrk" else None
    if args.generator == "wrk" and wrk is None:
        console.print("wrk is not installed (and this is not root): aiohttp generates the load")
    for kind in args.databases:
        bench(
            kind,
            args.clients,
            args.seconds,
            args.samples,
            args.web_workers,
            wrk,
            args.public_cache_seconds,
        )


if __name__ == "__main__":
    main()

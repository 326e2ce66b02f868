"""Server CPU per rendered page for a signed-in visitor (a script, not a test).

For each database asked for: builds the demo world as ``bench/web.py`` does (no race
running), signs the operator in, and requests each page of :data:`PAGES` ``--repeat``
times in a row from one client over loopback, reading the ``mosu serve`` process's CPU
time (user + system, from /proc) before and after each page's run, and the process's CPU
clock (nanoseconds, ``clock_gettime`` of its CPU-time clock) around each request. The
session cookie means the micro-cache never answers. Prints the ms of server CPU per request
of each page (the mean over the run, and the median of single requests, which a machine
shared with other work disturbs less) and their mean over the pages, which is the figure
issue 14 asks to halve.

    python bench/page_cpu.py                       # both databases, 200 requests a page
    python bench/page_cpu.py --databases sqlite --repeat 100
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))
import web  # bench/web.py, beside this script

PAGES = [
    "/",
    "/orgs",
    "/models",
    "/filings",
    "/challenges",
    "/challenges/1",
    "/scenarios",
    "/corpus",
    "/arena",
    "/account",
    "/notifications",
]
console = Console(width=120)


def sign_in(url: str) -> str:
    """A web session of the demo's operator in the database at ``url``."""
    from sqlalchemy import select

    from mosu.accounts.models import User
    from mosu.accounts.service import start_web_session
    from mosu.core.db import make_engine, make_sessionmaker, transaction

    engine = make_engine(url)
    with transaction(make_sessionmaker(engine)) as session:
        operator = session.scalars(select(User).where(User.username == "operator")).one()
        token = start_web_session(session, user=operator, hours=2)
    engine.dispose()
    return token


def cpu_clock(pid: int) -> int:
    """Linux's CPU-time clock of process ``pid`` (all its threads), for ``clock_gettime``."""
    return ((~pid) << 3) | 2  # CPUCLOCK_SCHED of a whole process, as clock_getcpuclockid


def measure(kind: str, repeat: int) -> dict[str, tuple[float, float, float]]:
    """Per page: ms of server CPU per request (mean, and median of single requests) and ms
    of wall time per request."""
    found: dict[str, tuple[float, float, float]] = {}
    with web.serving(kind, 0, 1, None) as (server, _):
        headers = {"Cookie": f"mosu_session={sign_in(server.url)}"}
        host, port = server.base.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port))
        pid = server.process.pid
        for page in PAGES:
            for _ in range(5):  # warm up: templates compiled, statements cached
                connection.request("GET", page, headers=headers)
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    raise RuntimeError(f"{page}: {response.status}")
            cpu = web.cpu_seconds(pid)
            clock = cpu_clock(pid)
            single = []
            start = time.perf_counter()
            for _ in range(repeat):
                before = time.clock_gettime_ns(clock)
                connection.request("GET", page, headers=headers)
                connection.getresponse().read()
                single.append(time.clock_gettime_ns(clock) - before)
            wall = time.perf_counter() - start
            found[page] = (
                (web.cpu_seconds(pid) - cpu) / repeat * 1e3,
                statistics.median(single) / 1e6,
                wall / repeat * 1e3,
            )
        connection.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--repeat", type=int, default=200, help="requests of each page")
    args = parser.parse_args()
    for kind in args.databases:
        found = measure(kind, args.repeat)
        table = Table(
            "page",
            "server CPU ms / request",
            "median",
            "wall ms / request",
            title=f"{kind}: signed in as the operator, {args.repeat} requests a page, one "
            "client, server CPU from /proc (1 web process, embedded worker idle)",
        )
        for page, (cpu, median, wall) in found.items():
            table.add_row(page, f"{cpu:.2f}", f"{median:.2f}", f"{wall:.2f}")
        means = [statistics.fmean(column) for column in zip(*found.values(), strict=True)]
        table.add_row("mean", *(f"{x:.2f}" for x in means))
        console.print(table)


if __name__ == "__main__":
    main()
